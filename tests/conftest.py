"""Session-wide test setup: offline, quiet, single-threaded BLAS (see ../shared/ENVIRONMENT.md)."""

from __future__ import annotations

import os

for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "OPENBLAS_NUM_THREADS": "1",
}.items():
    os.environ.setdefault(_key, _value)

# Tests never read a developer's .env or SHELFWISE_* settings by accident.
for _key in [k for k in os.environ if k.startswith("SHELFWISE_") and k != "SHELFWISE_DATASETS"]:
    del os.environ[_key]
