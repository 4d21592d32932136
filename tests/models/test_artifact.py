"""The artifact contract: meta.json checks, pickle-free npz, the model-type table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.artifact import check_is_fitted, load_npz, read_meta, save_npz, write_meta
from models.errors import ArtifactError, NotFittedError
from models.loader import load_model, model_class


def _meta(tmp_path: Path, **kw: object) -> Path:
    args = {"family": "fraud", "model_type": "lgbm_raw", "format_version": 1, "params": {"a": np.int64(3)}}
    args.update(kw)
    return write_meta(tmp_path / "m", **args)  # type: ignore[arg-type]


def test_meta_roundtrip_and_checks(tmp_path: Path) -> None:
    d = _meta(tmp_path, data_window={"start": "2026-01-01"})
    meta = read_meta(d, family="fraud", model_type="lgbm_raw", format_version=1)
    assert meta["params"] == {"a": 3} and meta["data_window"]["start"] == "2026-01-01"
    assert meta["code_version"]
    with pytest.raises(ArtifactError, match="family 'fraud', but 'recsys' was expected"):
        read_meta(d, family="recsys")
    with pytest.raises(ArtifactError, match="format_version 1; this code reads version 2"):
        read_meta(d, format_version=2)


def test_bad_meta_files(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="No meta.json"):
        read_meta(tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        read_meta(tmp_path)
    with pytest.raises(ArtifactError, match="Unknown family"):
        write_meta(tmp_path / "x", family="weather", model_type="t", format_version=1, params={})


def test_npz_refuses_object_arrays_and_loads_without_pickle(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="dtype object"):
        save_npz(tmp_path / "a.npz", ids=np.array(["a", None], dtype=object))
    save_npz(tmp_path / "b.npz", ids=np.array(["a", "b"]), x=np.arange(3.0))
    out = load_npz(tmp_path / "b.npz")
    assert out["ids"].tolist() == ["a", "b"] and out["x"].sum() == 3.0
    with pytest.raises(ArtifactError, match="Missing payload"):
        load_npz(tmp_path / "nope.npz")


def test_unknown_model_type_names_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        ArtifactError, match=r"Unknown model_type 'gbm9' for family 'fraud'; expected one of \['lgbm_raw'"
    ):
        model_class("fraud", "gbm9")
    d = _meta(tmp_path, model_type="gbm9")
    with pytest.raises(ArtifactError, match="gbm9"):
        load_model(d)
    meta = json.loads((d / "meta.json").read_text())
    assert meta["family"] == "fraud"


def test_check_is_fitted_names_the_class() -> None:
    class Thing:
        coef_ = None

    with pytest.raises(NotFittedError, match="This Thing instance is not fitted yet"):
        check_is_fitted(Thing(), ["coef_"])


def _saved(tmp_path: Path) -> Path:
    d = _meta(tmp_path)
    (d / "payload.npz").write_bytes(b"weights")
    (d / "nested").mkdir()
    (d / "nested" / "index.bin").write_bytes(b"index")
    return d


def test_a_manifest_covers_every_file_and_any_change_is_refused(tmp_path: Path) -> None:
    from models.artifact import manifest_digest, verify_manifest, write_manifest

    d = _saved(tmp_path)
    digest = write_manifest(d)
    assert manifest_digest(d) == digest and len(digest) == 64
    listed = json.loads((d / "manifest.json").read_text())["sha256"]
    assert sorted(listed) == ["meta.json", "nested/index.bin", "payload.npz"]
    verify_manifest(d)  # untouched: fine
    (d / "payload.npz").write_bytes(b"weightz")
    with pytest.raises(ArtifactError, match="payload.npz changed"):
        verify_manifest(d)
    with pytest.raises(ArtifactError, match="integrity check failed"):
        load_model(d)  # the loader checks before reading anything
    (d / "payload.npz").write_bytes(b"weights")
    (d / "extra.onnx").write_bytes(b"injected")
    with pytest.raises(ArtifactError, match="extra.onnx is not in the manifest"):
        verify_manifest(d)
    (d / "extra.onnx").unlink()
    (d / "nested" / "index.bin").unlink()
    with pytest.raises(ArtifactError, match="nested/index.bin is missing"):
        verify_manifest(d)


def test_a_model_without_a_manifest_still_loads_its_checks(tmp_path: Path) -> None:
    from models.artifact import manifest_digest, verify_manifest

    d = _saved(tmp_path)
    verify_manifest(d)  # saved by hand or before manifests: nothing to compare
    assert manifest_digest(d) is None
