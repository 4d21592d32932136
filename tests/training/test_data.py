"""The store data contract: loading, normalised dtypes, skip reports (errors: test_data_errors.py)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from models.errors import InvalidInputError
from training.data import load_store, normalize_frame, skipped_rows
from training.store import FILES

DTYPES = {
    "catalog": {
        "item_id": "object",
        "title": "object",
        "description": "object",
        "category": "object",
        "brand": "object",
        "price": "float64",
        "in_stock": "bool",
        "created_at": "datetime64[ns]",
    },
    "events": {
        "user_id": "object",
        "item_id": "object",
        "event_type": "object",
        "timestamp": "datetime64[ns]",
        "session_id": "object",
        "order_id": "object",
        "quantity": "int64",
    },
    "transactions": {
        "transaction_id": "object",
        "timestamp": "datetime64[ns]",
        "customer_id": "object",
        "amount": "float64",
        "is_fraud": "int8",
    },
    "sales": {
        "item_id": "object",
        "store_id": "object",
        "date": "datetime64[ns]",
        "quantity": "float64",
        "price": "float64",
        "promotion": "int8",
        "holiday": "int8",
    },
    "search_judgments": {"query": "object", "item_id": "object", "relevance": "float64"},
}


# ---------------------------------------------------------------- round trip on the demo store


def test_demo_store_loads_with_documented_dtypes(demo_store):
    for name, expected in DTYPES.items():
        frame = getattr(demo_store, name)
        assert frame is not None, name
        actual = {c: str(frame[c].dtype) for c in expected}
        assert actual == expected, name
        assert list(frame.columns[: len(expected)]) == list(expected), name
        assert len(frame) > 0


def test_demo_store_keeps_extra_columns(demo_store):
    assert {"color", "material"} <= set(demo_store.catalog.columns)
    extras = {
        "merchant_id",
        "terminal_id",
        "device_id",
        "channel",
        "merchant_category",
        "country",
        "card_country",
        "ip_country",
    }
    assert extras <= set(demo_store.transactions.columns)


def test_ids_are_plain_strings_and_timestamps_naive(demo_store):
    for name, id_cols in {
        "catalog": ["item_id"],
        "events": ["user_id", "item_id"],
        "transactions": ["transaction_id", "customer_id"],
    }.items():
        for col in id_cols:
            assert getattr(demo_store, name)[col].map(type).eq(str).all(), (name, col)
    assert demo_store.events["timestamp"].dt.tz is None
    assert (demo_store.sales["date"] == demo_store.sales["date"].dt.normalize()).all()


def test_fingerprints_are_sha256_of_file_bytes(demo_store, demo_dir):
    for name in FILES:
        digest = hashlib.sha256((demo_dir / f"{name}.parquet").read_bytes()).hexdigest()
        assert demo_store.fingerprints[name] == digest
    assert len(demo_store.fingerprint()) == 64


def test_the_demo_store_is_clean_every_event_names_a_catalog_item(demo_store, demo_raw):
    raw = demo_raw["events"]
    assert raw["item_id"].isin(demo_raw["catalog"]["item_id"]).all()
    assert skipped_rows(demo_store, "events") == 0
    gone = demo_raw["catalog"].loc[~demo_raw["catalog"]["in_stock"], "item_id"]
    assert raw["item_id"].isin(gone).any()  # discontinued products stay listed, out of stock
    assert not any(line.startswith("skipped") for lines in demo_store.report.values() for line in lines)


def test_events_of_items_missing_from_catalog_are_skipped_and_counted(demo_raw, tmp_path):
    for name, frame in demo_raw.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    raw = demo_raw["events"]
    planted = raw.head(7).assign(item_id=[f"gone{i}" for i in range(7)])
    pd.concat([raw, planted], ignore_index=True).to_parquet(tmp_path / "events.parquet")
    store = load_store(tmp_path)
    assert skipped_rows(store, "events") == 7
    assert len(store.events) == len(raw)
    assert store.events["item_id"].isin(store.catalog["item_id"]).all()
    assert any(line.startswith(f"skipped 7 of {len(raw) + 7} rows") for line in store.report["events"])


def test_csv_loads_identically_to_parquet(demo_dir, tmp_path):
    for path in demo_dir.glob("*.parquet"):
        pd.read_parquet(path).to_csv(tmp_path / f"{path.stem}.csv", index=False)
    from_parquet, from_csv = load_store(demo_dir), load_store(tmp_path)
    for name in FILES:
        pd.testing.assert_frame_equal(getattr(from_csv, name), getattr(from_parquet, name), check_exact=True)
        assert len(from_csv.report[name]) == len(from_parquet.report[name])


def test_only_restricts_files_and_item_check_needs_catalog(demo_dir):
    store = load_store(demo_dir, only=["events"])
    assert store.catalog is None and store.sales is None
    assert set(store.fingerprints) == {"events"}
    assert skipped_rows(store, "events") == 0
    assert any("not checked against the catalog" in line for line in store.report["events"])
    assert load_store(demo_dir, only="sales").sales is not None


def test_missing_files_give_none(store_dir):
    (store_dir / "sales.parquet").unlink()
    (store_dir / "search_judgments.parquet").unlink()
    store = load_store(store_dir)
    assert store.sales is None and store.search_judgments is None and store.catalog is not None


# ---------------------------------------------------------------- normalisation


def test_ids_from_numbers_have_no_decimal_suffix():
    events = pd.DataFrame(
        {
            "user_id": np.array([7, 8]),
            "item_id": np.array([17.0, 18.0]),
            "event_type": ["view", "VIEW "],
            "timestamp": ["2026-01-01", "2026-01-02"],
        }
    )
    frame, _ = normalize_frame("events", events)
    assert frame["user_id"].tolist() == ["7", "8"] and frame["item_id"].tolist() == ["17", "18"]
    assert frame["event_type"].tolist() == ["view", "view"]


def test_csv_ids_keep_leading_zeros_and_lose_float_suffix(tiny, write_frame, tmp_path):
    frames = tiny
    frames["catalog"]["item_id"] = ["001", "17.0", "A-3"]
    write_frame(tmp_path, "catalog", frames["catalog"])
    assert load_store(tmp_path).catalog["item_id"].tolist() == ["001", "17", "A-3"]


def test_timestamps_become_naive_utc(tiny, write_frame, tmp_path):
    events = tiny["events"]
    events["timestamp"] = ["2026-02-01T12:00:00+02:00", "2026-02-01 10:00", "2026-02-01T10:00:00Z"]
    frame, _ = normalize_frame("events", events)
    assert frame["timestamp"].tolist() == [pd.Timestamp("2026-02-01 10:00")] * 3
    aware = events.assign(
        timestamp=pd.date_range("2026-06-01 12:00", periods=3, freq="h", tz="Europe/Berlin")
    )
    write_frame(tmp_path, "events", aware, "parquet")
    loaded = load_store(tmp_path).events["timestamp"]
    assert str(loaded.dtype) == "datetime64[ns]" and loaded.iloc[0] == pd.Timestamp("2026-06-01 10:00")


def test_optional_columns_get_documented_defaults(tiny):
    frames = tiny
    events, _ = normalize_frame("events", frames["events"])
    assert events["session_id"].isna().all() and events["order_id"].isna().all()
    assert events["quantity"].tolist() == [1, 1, 1]
    sales, notes = normalize_frame("sales", frames["sales"].drop(columns="store_id"))
    assert sales["store_id"].eq("all").all() and any("store_id" in n for n in notes)
    catalog, _ = normalize_frame("catalog", frames["catalog"])
    assert catalog["description"].eq("").all()
    assert catalog["in_stock"].tolist() == [True, False, True]
    assert catalog["category"].iloc[0] == "Kitchen > Cookware > Pans"


def test_missing_optional_values_are_filled_and_reported(tiny):
    events = tiny["events"].assign(quantity=["2", "", "1"])
    frame, notes = normalize_frame("events", events)
    assert frame["quantity"].tolist() == [2, 1, 1] and "1 rows without quantity: set to 1" in notes


def test_extra_columns_normalised_the_same_from_csv_and_parquet(tiny, write_frame, tmp_path):
    tx = tiny["transactions"].assign(
        device_id=["d1", None], score=[0.5, 1.5], seen_at=["2026-01-01T00:00:00+01:00", "2026-01-02"]
    )
    write_frame(tmp_path / "csv", "transactions", tx, "csv")
    write_frame(tmp_path / "pq", "transactions", tx, "parquet")
    a, b = load_store(tmp_path / "csv").transactions, load_store(tmp_path / "pq").transactions
    pd.testing.assert_frame_equal(a, b)
    assert a["device_id"].tolist() == ["d1", None] and str(a["seen_at"].dtype) == "datetime64[ns]"


def test_unknown_judged_items_are_skipped_and_counted(tiny, write_frame, tmp_path):
    frames = tiny
    frames["search_judgments"]["item_id"] = ["1", "999"]
    for name in ("catalog", "search_judgments"):
        write_frame(tmp_path, name, frames[name])
    store = load_store(tmp_path)
    assert store.search_judgments["item_id"].tolist() == ["1"]
    assert skipped_rows(store, "search_judgments") == 1


def test_normalize_frame_rejects_unknown_name():
    with pytest.raises(InvalidInputError, match="'orders'"):
        normalize_frame("orders", pd.DataFrame({"a": [1]}))


def test_a_family_reads_only_its_own_files_and_reports_nothing_about_others(demo_dir):
    from training.pipeline import inputs_of

    assert inputs_of(["fraud"]) == ["transactions"]
    assert inputs_of(["search"]) == ["catalog", "search_judgments"]
    assert inputs_of(["recsys", "forecasting"]) == ["catalog", "events", "sales"]
    store = load_store(demo_dir, only=inputs_of(["fraud"]))
    notes = [line for lines in store.report.values() for line in lines]
    assert not any("not loaded" in line or "search_judgments" in line for line in notes), notes
