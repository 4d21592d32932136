"""The environment every Shelfwise process runs with unless the user says otherwise: offline (the
sentence model ships in a package, nothing is fetched from a hub), quiet (no progress bars in
logs), no tokenizer thread pools beside our own, no MLflow telemetry.

``use_offline_defaults()`` sets what is not set already; the CLI calls it at import, the Dask
runner ships ``OFFLINE_ENV`` to its workers, the tests and benchmarks call it first thing.
"""

from __future__ import annotations

import os

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
}


def use_offline_defaults() -> None:
    """Set each of ``OFFLINE_ENV`` that the environment does not set (the user's values win)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
