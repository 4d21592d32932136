"""Sentence embeddings with ONNX Runtime and ``tokenizers``: the serving-side encoder, no torch.

The graph (made by :mod:`embedding.export`) already pools and L2-normalises, so an embedding is one
``session.run``. Training encodes the catalog with this same class, so catalog and query vectors
come from one implementation.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from models.errors import ArtifactError
from storage.lru import LruCache

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"


class QueryEncoder:
    """Encode texts into unit-length vectors with an exported MiniLM graph.

    Args:
        directory: a folder holding ``model.onnx``, ``tokenizer.json`` and ``encoder.json``.
        max_length: tokens kept per text; product titles and queries are far shorter.
        threads: onnxruntime intra-op threads (0 = its default: one per core). A loaded model
            (serving) uses 1: a server parallelises over requests, and a second thread per query
            costs more CPU without answering faster on a busy machine (docs/ARCHITECTURE.md).
        model_file: the graph's file name (``model_fp32.onnx`` selects the unquantised export).
        cache_mb: memory for :meth:`encode_one`'s vectors of recent texts (least recently used
            first out; 0: none). A query vector is 1.5 KB at 384 dimensions, so 8 MB holds about
            5,000 queries. Shoppers repeat queries, and a hit skips the whole ONNX run.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        max_length: int = 128,
        threads: int = 0,
        model_file: str = MODEL_FILE,
        cache_mb: float = 0.0,
    ) -> None:
        self.directory = Path(directory)
        self.max_length = max_length
        self.cache: LruCache[np.ndarray] = LruCache(int(cache_mb * 2**20))
        for name in (model_file, TOKENIZER_FILE, CONFIG_FILE):
            if not (self.directory / name).exists():
                raise ArtifactError(f"Missing encoder file {self.directory / name}")
        self.config = json.loads((self.directory / CONFIG_FILE).read_text())
        self.dim = int(self.config["dim"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # No busy-waiting between runs: on a shared 2-core box spinning threads starve the
        # other request threads (as OpenMP thread teams spin-wait in LightGBM).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(self.directory / model_file), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(self.directory / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: Sequence[str], *, batch_size: int = 1) -> np.ndarray:
        """Embed ``texts``; returns float32 ``(len(texts), dim)`` rows of unit length.

        One text per run by default: the int8 graph quantises activations dynamically, per
        batch, so a batched text's vector depends on its neighbours (up to 0.02 per component).
        Singly, an item added live gets exactly the vector a full re-encode would give, at about
        the same throughput on 2 cores (~1,100 titles/s vs ~1,200/s in batches of 16).
        Larger batches are grouped by length (less padding); output is in input order.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(order), batch_size):
            pick = order[start : start + batch_size]
            out[pick] = self._run([texts[i] for i in pick])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one query: a ``(dim,)`` float32 unit vector (read-only: it may be the cached one)."""
        if not self.cache.enabled:
            return self._run([text])[0]
        vector = self.cache.get(text)
        if vector is None:
            vector = self._run([text])[0]
            vector.flags.writeable = False
            self.cache.put(text, vector, vector.nbytes + len(text))
        return vector

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)

    def copy_to(self, directory: Path) -> None:
        """Copy the int8 graph, tokenizer and config into ``directory`` (an artifact's payload)."""
        directory.mkdir(parents=True, exist_ok=True)
        for name in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE):
            shutil.copyfile(self.directory / name, directory / name)
