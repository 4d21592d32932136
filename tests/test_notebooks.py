"""Every notebook in notebooks/ runs top to bottom on the small demo store (so none can rot)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PYTHONPATH = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.demo import generate_store

    out = tmp_path_factory.mktemp("nb-store")
    generate_store(out, seed=42, scale="small")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


def _run(path: Path, store: Path, home: Path) -> list[Any]:
    """Execute one notebook in its own kernel; the error outputs it produced."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute(
        env={
            **os.environ,
            "SHELFWISE_DATA": str(store),
            "SHELFWISE_HOME": str(home),
            "PYTHONPATH": PYTHONPATH,
        }
    )
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


@pytest.fixture(scope="module")
def executed(
    small_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[list[Any]]]]:
    """Every notebook, run two at a time: each kernel is one busy process, and this machine's two
    cores would otherwise take turns idling while the longest one trains."""
    pool = ThreadPoolExecutor(max_workers=2)
    runs = {
        path.name: pool.submit(_run, path, small_store, tmp_path_factory.mktemp(f"nb-{path.stem}"))
        for path in sorted(NOTEBOOKS, key=lambda p: p.name != "quickstart.ipynb")  # longest first
    }
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, executed: dict[str, Future[list[Any]]]) -> None:
    errors = executed[path.name].result()
    assert not errors, f"{path.name}: {[e.get('ename') for e in errors]}"
