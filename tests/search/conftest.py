"""A tiny catalog whose right answers are known by reading it, fitted once per session.

Test modules here carry a ``test_search_`` prefix: ``tests/`` has no ``__init__.py``, so two test
files with one basename anywhere under ``tests/`` would collide.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from search_support import ROWS, make_catalog

from search.bm25 import BM25Search


@pytest.fixture
def catalog() -> pd.DataFrame:
    """A fresh copy per test, so a test may edit it."""
    return make_catalog()


@pytest.fixture(scope="session")
def catalog_rows() -> list[tuple]:
    """The raw rows, for brute-force expectations."""
    return list(ROWS)


@pytest.fixture(scope="session")
def fitted() -> BM25Search:
    """Fitted once; query methods never mutate the model, so sharing it is safe."""
    return BM25Search().fit(make_catalog())


@pytest.fixture(scope="session")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[BM25Search, Path]:
    """A non-default model and the directory it was saved to (tests only read it)."""
    model = BM25Search(k1=1.2, title_boost=3).fit(make_catalog())
    path = tmp_path_factory.mktemp("bm25")
    assert model.save(path) == path
    return model, path


@pytest.fixture(scope="session")
def hybrid():
    """The hybrid model fitted once on ROWS (tests that update the catalog fit their own)."""
    from search.hybrid import HybridSearch

    return HybridSearch().fit(make_catalog())
