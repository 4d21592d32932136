"""Reorder advice from a forecast's distribution over the lead time (maths in docs/FORECASTING.md).

Each forecast period ``h`` is read as a normal demand ``N(mean_h, sigma_h^2)`` whose ``sigma_h``
comes from the interval: the upper bound is ``mean_h + z_p * sigma_h`` with
``z_p = Phi^-1((1 + level) / 2)`` (the upper half-width, because the lower bound may be clipped
at zero). Errors of different periods are taken as independent, so over ``L`` periods

    mu_L = sum(mean_h),  sigma_L = sqrt(sum(sigma_h^2)),  h = 1..L.

With the cycle service level ``alpha`` (the probability of no stock-out in a cycle) and
``z = Phi^-1(alpha)``:

* safety stock ``SS = z * sigma_L``
* reorder point ``ROP = mu_L + SS`` (continuous review: order when the inventory position
  falls to it)
* order-up-to level ``S`` = the same over ``L + R`` periods, ``R`` the review period (periodic
  review: every ``R`` periods order ``S`` minus the inventory position)
* suggested order quantity ``max(0, S - on_hand)`` when ``on_hand <= ROP``, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from scipy.stats import norm

from forecasting.interface import Forecaster
from forecasting.types import ForecastPoint
from models.errors import InvalidInputError


@dataclass(frozen=True)
class ReorderAdvice:
    """What to order for one series (quantities in the sales' units, periods in its frequency).

    Attributes:
        lead_time: periods between ordering and receiving.
        review_period: periods between order decisions.
        service_level: the target probability of no stock-out per replenishment cycle.
        lead_time_demand: expected demand over the lead time (``mu_L``).
        demand_std: its standard deviation (``sigma_L``).
        safety_stock: ``z * sigma_L``.
        reorder_point: ``mu_L + safety_stock``.
        order_up_to: target inventory position after ordering (over lead time + review period).
        suggested_order_quantity: ``max(0, order_up_to - on_hand)`` if ``on_hand <= reorder_point``.
    """

    lead_time: int
    review_period: int
    service_level: float
    on_hand: float
    lead_time_demand: float
    demand_std: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    suggested_order_quantity: float


def demand_std(points: Sequence[ForecastPoint], level: float) -> list[float]:
    """Per-period standard deviations implied by the intervals (normal errors, ``level`` coverage)."""
    z_interval = _z((1 + level) / 2)
    return [max(p.upper - p.mean, 0.0) / z_interval for p in points]


def reorder_advice(
    points: Sequence[ForecastPoint],
    *,
    level: float,
    lead_time: int,
    service_level: float = 0.95,
    on_hand: float = 0.0,
    review_period: int = 1,
) -> ReorderAdvice:
    """Safety stock, reorder point and order quantity from ``lead_time + review_period`` forecast points.

    Args:
        points: the forecast, from the next period on; at least ``lead_time + review_period``.
        level: the coverage of the points' intervals (the model's ``level``).
        lead_time: periods until an order arrives, >= 1.
        service_level: cycle service level in (0, 1), e.g. 0.95.
        on_hand: the inventory position (on hand + on order - backorders), >= 0.
        review_period: periods until the next order decision, >= 0 (0: continuous review).

    Raises:
        InvalidInputError: an argument out of range (``field`` names it).
    """
    _check(lead_time, service_level, on_hand, review_period, len(points))
    sigmas = demand_std(points, level)
    z = _z(service_level)
    cover = lead_time + review_period
    mu_l = sum(p.mean for p in points[:lead_time])
    sigma_l = math.sqrt(sum(s * s for s in sigmas[:lead_time]))
    mu_s = sum(p.mean for p in points[:cover])
    sigma_s = math.sqrt(sum(s * s for s in sigmas[:cover]))
    # A negative safety stock (service level below 50 %) is allowed: it is what the maths says.
    reorder_point = mu_l + z * sigma_l
    order_up_to = max(mu_s + z * sigma_s, reorder_point)
    quantity = max(0.0, order_up_to - on_hand) if on_hand <= reorder_point else 0.0
    return ReorderAdvice(
        lead_time=lead_time,
        review_period=review_period,
        service_level=service_level,
        on_hand=on_hand,
        lead_time_demand=mu_l,
        demand_std=sigma_l,
        safety_stock=z * sigma_l,
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        suggested_order_quantity=quantity,
    )


@lru_cache(maxsize=256)
def _z(probability: float) -> float:
    """``Phi^-1(probability)``, cached: scipy's ppf is slow next to a request, which needs two."""
    return float(norm.ppf(probability))


def _check(lead_time: int, service_level: float, on_hand: float, review_period: int, available: int) -> None:
    def is_int(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not is_int(lead_time) or lead_time < 1:
        raise InvalidInputError(f"lead_time must be an integer >= 1, got {lead_time!r}", field="lead_time")
    if not is_int(review_period) or review_period < 0:
        raise InvalidInputError(
            f"review_period must be an integer >= 0, got {review_period!r}", field="review_period"
        )
    if lead_time + review_period > available:
        raise InvalidInputError(
            f"lead_time + review_period must be at most {available} (the forecast's horizon), "
            f"got {lead_time} + {review_period}",
            field="lead_time",
            value=lead_time,
        )
    if not isinstance(service_level, int | float) or not 0 < service_level < 1:
        raise InvalidInputError(
            f"service_level must be in (0, 1), e.g. 0.95, got {service_level!r}", field="service_level"
        )
    if not isinstance(on_hand, int | float) or not math.isfinite(on_hand) or on_hand < 0:
        raise InvalidInputError(f"on_hand must be a finite number >= 0, got {on_hand!r}", field="on_hand")


def advise(
    model: Forecaster,
    item_id: str,
    *,
    store_id: str | None = None,
    lead_time: int,
    service_level: float = 0.95,
    on_hand: float = 0.0,
    review_period: int = 1,
) -> ReorderAdvice:
    """``reorder_advice`` on ``model.forecast`` of one series (any forecaster with ``level``).

    Raises:
        InvalidInputError: ``lead_time + review_period`` beyond the model's ``max_horizon``, or
            another argument out of range.
        UnknownIdError: the model has no such series.
    """
    max_horizon = int(model.max_horizon)
    _check(lead_time, service_level, on_hand, review_period, max_horizon)
    points = model.forecast(item_id, store_id=store_id, horizon=lead_time + review_period)
    return reorder_advice(
        points,
        level=float(model.level),
        lead_time=lead_time,
        service_level=service_level,
        on_hand=on_hand,
        review_period=review_period,
    )
