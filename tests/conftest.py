"""Session-wide test setup: offline and quiet (training.offline), single-threaded BLAS."""

from __future__ import annotations

import os

from training.offline import use_offline_defaults

use_offline_defaults()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Tests never read a developer's .env or SHELFWISE_* settings by accident.
# (Kept: the datasets folder, and where the browser tests find Chromium and keep screenshots.)
_KEEP = ("SHELFWISE_DATASETS", "SHELFWISE_CHROMIUM", "SHELFWISE_SCREENSHOTS")
for _key in [k for k in os.environ if k.startswith("SHELFWISE_") and k not in _KEEP]:
    del os.environ[_key]
# Training in tests runs the defaults without a settings search unless a test asks for one (the
# search itself is tested with small trial counts in tests/training/test_tuning.py).
os.environ["SHELFWISE_TUNE_BUDGET_MINUTES"] = "0"


import pytest  # noqa: E402

from training.real_data import dataset_path  # noqa: E402


@pytest.fixture(scope="session")
def real_dataset():
    """``real_dataset(name) -> Path``: skips when absent, but fails under ``CI=true``."""

    def _get(name: str):
        try:
            return dataset_path(name)
        except FileNotFoundError as exc:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"CI=true but the real dataset is missing: {exc}")
            pytest.skip(f"real dataset not available: {exc}")

    return _get


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory):
    """The small demo store trained by the installed ``shelfwise`` (once per session): the
    environment pointing at its home, and the store folder (``tests/e2e_support.py``)."""
    from e2e_support import train_demo_home

    return train_demo_home(tmp_path_factory.mktemp("demo"))
