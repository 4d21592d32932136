"""Reorder advice: hand-computed values, monotonicity, order logic and input errors."""

from __future__ import annotations

import datetime
import math

import pytest
from scipy.stats import norm

from forecasting.inventory import advise, demand_std, reorder_advice
from forecasting.types import ForecastPoint
from models.errors import InvalidInputError, UnknownIdError

LEVEL = 0.8
Z80 = norm.ppf(0.9)  # an 80 % interval spans mean +- 1.2816 sigma


def _points(means: list[float], sigma: float | list[float]) -> list[ForecastPoint]:
    sigmas = sigma if isinstance(sigma, list) else [sigma] * len(means)
    start = datetime.date(2026, 1, 1)
    return [
        ForecastPoint(start + datetime.timedelta(days=d), m, max(m - Z80 * s, 0.0), m + Z80 * s)
        for d, (m, s) in enumerate(zip(means, sigmas, strict=True))
    ]


def test_by_hand_four_periods_of_demand_ten_sigma_two():
    points = _points([10.0] * 6, 2.0)
    advice = reorder_advice(
        points, level=LEVEL, lead_time=4, service_level=0.95, on_hand=20.0, review_period=1
    )
    z = norm.ppf(0.95)
    assert advice.lead_time_demand == pytest.approx(40.0)
    assert advice.demand_std == pytest.approx(4.0)  # sqrt(4 * 2^2)
    assert advice.safety_stock == pytest.approx(4.0 * z)
    assert advice.reorder_point == pytest.approx(40.0 + 4.0 * z)
    assert advice.order_up_to == pytest.approx(50.0 + math.sqrt(5) * 2.0 * z)
    assert advice.suggested_order_quantity == pytest.approx(advice.order_up_to - 20.0)


def test_sigma_comes_from_the_upper_half_width_even_when_the_lower_bound_is_clipped():
    points = _points([1.0, 1.0], 3.0)  # lower bounds clipped at 0
    assert points[0].lower == 0.0
    assert demand_std(points, LEVEL) == pytest.approx([3.0, 3.0])


def test_reorder_point_grows_with_service_level_and_lead_time():
    points = _points([5.0, 8.0, 6.0, 7.0, 9.0, 4.0, 6.0, 5.0], [1.0, 2.0, 1.5, 2.5, 1.0, 2.0, 1.0, 1.0])
    by_level = [
        reorder_advice(points, level=LEVEL, lead_time=3, service_level=s).reorder_point
        for s in (0.5, 0.8, 0.9, 0.95, 0.99)
    ]
    assert all(b > a for a, b in zip(by_level, by_level[1:], strict=False))
    by_lead = [reorder_advice(points, level=LEVEL, lead_time=lt).reorder_point for lt in range(1, 7)]
    assert all(b > a for a, b in zip(by_lead, by_lead[1:], strict=False))
    assert reorder_advice(points, level=LEVEL, lead_time=3, service_level=0.5).safety_stock == pytest.approx(
        0.0
    )


def test_no_order_above_the_reorder_point_and_no_safety_stock_without_uncertainty():
    points = _points([10.0] * 5, 0.0)
    advice = reorder_advice(points, level=LEVEL, lead_time=2, on_hand=25.0)
    assert advice.safety_stock == 0.0 and advice.reorder_point == pytest.approx(20.0)
    assert advice.suggested_order_quantity == 0.0  # 25 on hand is above the reorder point
    low = reorder_advice(points, level=LEVEL, lead_time=2, on_hand=5.0, review_period=2)
    assert low.suggested_order_quantity == pytest.approx(40.0 - 5.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lead_time": 0}, "lead_time"),
        ({"lead_time": 2.5}, "lead_time"),
        ({"lead_time": 5, "review_period": 1}, "lead_time"),  # beyond the 5 points available
        ({"lead_time": 2, "service_level": 1.0}, "service_level"),
        ({"lead_time": 2, "on_hand": -1.0}, "on_hand"),
        ({"lead_time": 2, "review_period": -1}, "review_period"),
    ],
)
def test_bad_arguments_name_their_field(kwargs, field):
    with pytest.raises(InvalidInputError) as err:
        reorder_advice(_points([1.0] * 5, 1.0), level=LEVEL, **kwargs)
    assert err.value.field == field


def test_advise_uses_the_model_forecast_and_names_the_maximum(fitted):
    # The seasonal naive baseline works too: any forecaster with forecast/level/max_horizon.
    advice = advise(fitted, "a", store_id="s1", lead_time=7, review_period=0)
    assert advice.lead_time_demand == pytest.approx(sum(range(1, 8)))
    with pytest.raises(InvalidInputError, match="at most 56") as err:
        advise(fitted, "a", lead_time=56)
    assert err.value.field == "lead_time"
    with pytest.raises(UnknownIdError):
        advise(fitted, "nope", lead_time=3)
