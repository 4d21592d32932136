"""ModelBase: params from the signature, repr, and the meta.json round trip with its checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.base import ModelBase
from models.errors import ArtifactError


class Toy(ModelBase):
    family = "forecasting"
    model_type = "toy"
    format_version = 2

    def __init__(self, *, alpha: float = 1.0, weights: dict[str, float] | None = None) -> None:
        self.alpha = alpha
        self.weights = weights


class Other(Toy):
    model_type = "other"


def test_params_repr_and_meta(tmp_path: Path) -> None:
    toy = Toy(alpha=0.5, weights={"a": 1.0})
    assert toy.get_params() == {"alpha": 0.5, "weights": {"a": 1.0}}
    assert Toy(weights=None).get_params()["weights"] is None
    assert repr(toy) == "Toy(alpha=0.5, weights={'a': 1.0})"
    assert repr(Toy()) == "Toy()"
    toy.data_window_ = {"start": "2026-01-01"}
    toy._write_meta(tmp_path / "m", extra={"k": 1})
    meta = Toy._read_meta(tmp_path / "m")
    assert meta["params"]["alpha"] == 0.5 and meta["extra"] == {"k": 1}
    assert meta["data_window"] == {"start": "2026-01-01"}
    with pytest.raises(ArtifactError, match="model_type 'toy', but 'other' was expected"):
        Other._read_meta(tmp_path / "m")
