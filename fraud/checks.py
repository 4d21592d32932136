"""Checks on one transaction before it may touch the online state.

A request that fails here gets a 422 naming the field and changes nothing: no history entry,
no stored answer. ``currency`` is optional; when present it must be an active ISO 4217 code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from models.errors import InvalidInputError

# Active ISO 4217 currency codes (2024 list, funds and precious-metal codes left out).
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()
)
EPOCH = datetime(1970, 1, 1)


def seconds(value: Any, field: str = "timestamp") -> float:
    """A timestamp (datetime, numpy/pandas, ISO-8601 string) as float seconds since 1970, naive UTC.

    Raises:
        InvalidInputError: missing or unparseable.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    elif isinstance(value, np.datetime64 | pd.Timestamp):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
        return (stamp - pd.Timestamp(EPOCH)).total_seconds()
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{field} must be an ISO-8601 date-time, got {value!r}", field=field)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - EPOCH).total_seconds()


def check_transaction(
    tx: Mapping[str, Any], *, now: float | None, max_future_s: float
) -> tuple[float, float]:
    """Validate a transaction to score online; return its ``(time_seconds, amount)``.

    Args:
        tx: the request mapping.
        now: current time in seconds since 1970 (None skips the future check, e.g. replays).
        max_future_s: how far past ``now`` a timestamp may lie (clock skew tolerance).

    Raises:
        InvalidInputError: ``amount`` missing, not a number, not finite or negative; ``timestamp``
            missing, unparseable or in the future; ``currency`` not an ISO 4217 code.
    """
    amount = tx.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float | np.integer | np.floating):
        raise InvalidInputError(
            f"amount is required and must be a number, got {amount!r}", field="amount", value=amount
        )
    if not math.isfinite(float(amount)) or amount < 0:
        raise InvalidInputError(
            f"amount must be a finite number >= 0, got {amount!r}", field="amount", value=amount
        )
    time = seconds(tx.get("timestamp"))
    if now is not None and time > now + max_future_s:
        raise InvalidInputError(
            f"timestamp {tx.get('timestamp')} is more than {max_future_s:g} s in the future",
            field="timestamp",
        )
    currency = tx.get("currency")
    if currency is not None and (not isinstance(currency, str) or currency.upper() not in CURRENCIES):
        raise InvalidInputError(
            f"currency must be an ISO 4217 code such as EUR or USD, got {currency!r}",
            field="currency",
            value=currency,
        )
    return time, float(amount)
