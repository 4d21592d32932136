"""Where the real public datasets live (for benchmarks and real-data tests).

The folder comes from an argument or ``SHELFWISE_DATASETS``; the default is ``../shared/data``
next to the repository. The data is read in place and never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def datasets_root(folder: str | Path | None = None) -> Path:
    """The datasets folder: the argument, else ``SHELFWISE_DATASETS``, else ``<repo>/../shared/data``."""
    if folder is not None:
        return Path(folder).expanduser().resolve()
    env = os.environ.get("SHELFWISE_DATASETS")
    return Path(env).expanduser().resolve() if env else (REPO.parent / "shared" / "data").resolve()


def dataset_path(name: str, folder: str | Path | None = None) -> Path:
    """The folder of one dataset, e.g. ``dataset_path("amazon-beauty-seq")``.

    Raises:
        FileNotFoundError: the dataset is not there; the message says where it looked.
    """
    path = datasets_root(folder) / name
    if not path.is_dir():
        raise FileNotFoundError(
            f"Dataset {name!r} not found at {path}; pass the folder or set SHELFWISE_DATASETS"
        )
    return path
