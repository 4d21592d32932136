"""Every way a store folder or file can break the data contract raises a clear error."""

from __future__ import annotations

import pandas as pd
import pytest

from models.errors import DataValidationError, InvalidInputError
from training.data import load_store

# case -> (file, column to change, new values (None: drop the column), error column, problem words)
ERROR_CASES = {
    "missing column": ("catalog", "price", None, "price", "is missing"),
    "price not a number": ("catalog", "price", ["1", "abc", "2"], "price", "not numbers"),
    "negative price": ("catalog", "price", ["1", "-2", "2"], "price", "negative"),
    "duplicate item_id": ("catalog", "item_id", ["1", "2", "1"], "item_id", "duplicate"),
    "in_stock not a flag": ("catalog", "in_stock", ["1", "perhaps", "0"], "in_stock", "not a 0/1 flag"),
    "empty category level": ("catalog", "category", ["A > B", "A >  > B", "A"], "category", "empty level"),
    "missing title": ("catalog", "title", ["a", "", "c"], "title", "missing values"),
    "bad created_at": (
        "catalog",
        "created_at",
        ["2026-01-01", "2026-13-45", "x"],
        "created_at",
        "unparseable",
    ),
    "unknown event_type": ("events", "event_type", ["view", "click", "view"], "event_type", "not allowed"),
    "unparseable timestamp": (
        "events",
        "timestamp",
        ["2026-02-01", "yesterday", "x"],
        "timestamp",
        "unparseable",
    ),
    "quantity zero": ("events", "quantity", ["1", "0", "2"], "quantity", "below 1"),
    "negative amount": ("transactions", "amount", ["1", "-5"], "amount", "negative"),
    "duplicate transaction": ("transactions", "transaction_id", ["t1", "t1"], "transaction_id", "duplicate"),
    "bad label": ("transactions", "is_fraud", ["0", "2"], "is_fraud", "0/1 flag"),
    "duplicate sales key": ("sales", "date", ["2026-02-01"] * 3, "item_id, store_id, date", "duplicate"),
    "negative sales quantity": ("sales", "quantity", ["1", "-1", "2"], "quantity", "negative"),
    "negative relevance": ("search_judgments", "relevance", ["3", "-1"], "relevance", "negative"),
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_validation_errors_name_file_column_and_row(case, fmt, tiny, write_frame, tmp_path):
    name, column, values, error_column, problem = ERROR_CASES[case]
    frame = tiny[name].drop(columns=column) if values is None else tiny[name].assign(**{column: values})
    if name != "catalog":
        write_frame(tmp_path, "catalog", tiny["catalog"], fmt)
    write_frame(tmp_path, name, frame, fmt)
    with pytest.raises(DataValidationError) as err:
        load_store(tmp_path)
    message, filename = str(err.value), f"{name}.{fmt}"
    assert err.value.file == filename and message.startswith(filename)
    assert err.value.column == error_column and repr(error_column) in message
    assert problem in message and "Allowed:" in message
    if values is not None:
        assert err.value.example["row"] >= 1 and f"row {err.value.example['row']}" in message


def test_error_example_shows_the_offending_row(tiny, write_frame, tmp_path):
    write_frame(tmp_path, "events", tiny["events"].assign(event_type=["view", "view", "click"]))
    with pytest.raises(DataValidationError) as err:
        load_store(tmp_path)
    assert "row 3 (line 4)" in str(err.value) and "'click'" in str(err.value)
    expected = {"user_id": "u2", "item_id": "3", "timestamp": "2026-02-02 09:00:00", "event_type": "click"}
    assert err.value.example == {"row": 3, **expected}


def test_fractional_number_ids_are_rejected(tiny, write_frame, tmp_path):
    write_frame(tmp_path, "events", tiny["events"].assign(user_id=[1.0, 2.5, 3.0]), "parquet")
    with pytest.raises(DataValidationError, match="not whole") as err:
        load_store(tmp_path)
    assert err.value.column == "user_id" and err.value.example["row"] == 2


def test_missing_column_hints_at_case(tiny, write_frame, tmp_path):
    write_frame(tmp_path, "catalog", tiny["catalog"].rename(columns={"price": "Price"}))
    with pytest.raises(DataValidationError, match="found 'Price'"):
        load_store(tmp_path)


@pytest.mark.parametrize("content", ["", "item_id,title,category,brand,price,in_stock,created_at\n"])
def test_empty_csv_file_raises(content, tmp_path):
    (tmp_path / "catalog.csv").write_text(content)
    with pytest.raises(DataValidationError, match="empty") as err:
        load_store(tmp_path)
    assert err.value.file == "catalog.csv"


def test_empty_parquet_file_raises(tiny, write_frame, tmp_path):
    write_frame(tmp_path, "sales", tiny["sales"].iloc[:0], "parquet")
    with pytest.raises(DataValidationError, match=r"sales.parquet: is empty"):
        load_store(tmp_path)


def test_unreadable_parquet_raises(tmp_path):
    (tmp_path / "catalog.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataValidationError, match="cannot be read as Parquet"):
        load_store(tmp_path)


def test_all_events_unknown_is_an_error_not_a_skip(tiny, write_frame, tmp_path):
    write_frame(tmp_path, "catalog", tiny["catalog"])
    write_frame(tmp_path, "events", tiny["events"].assign(item_id=["SKU-1", "SKU-2", "SKU-3"]))
    with pytest.raises(DataValidationError, match="none of the 3 rows") as err:
        load_store(tmp_path)
    assert err.value.column == "item_id"


# ---------------------------------------------------------------- folder-level errors


def test_empty_folder_raises(tmp_path):
    with pytest.raises(DataValidationError, match="no store data files found"):
        load_store(tmp_path)


def test_folder_without_contract_files_lists_what_it_found(tmp_path):
    (tmp_path / "catalogue.csv").write_text("item_id\n1\n")
    with pytest.raises(DataValidationError, match="catalogue.csv"):
        load_store(tmp_path)


def test_missing_folder_raises(tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        load_store(tmp_path / "nope")


def test_unknown_only_name_raises(demo_dir):
    with pytest.raises(InvalidInputError, match="'catalogue'") as err:
        load_store(demo_dir, only=["catalogue"])
    assert err.value.field == "only"


def test_csv_and_parquet_of_the_same_name_clash(store_dir):
    pd.read_parquet(store_dir / "sales.parquet").head().to_csv(store_dir / "sales.csv", index=False)
    with pytest.raises(DataValidationError, match="both sales.parquet and sales.csv") as err:
        load_store(store_dir)
    assert err.value.file == "sales.parquet"
