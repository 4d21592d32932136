"""Wall time of `shelfwise train` in this process vs on a local Dask cluster, and registry parity.

Both runs use the same store folder and seed and register into separate throwaway homes; the
table shows each family's seconds on both paths and whether its quality metrics (all but the
timings) and registered version are identical.

    nice -n 10 .venv/bin/python -m benchmarks.train_dask --scale small --workers 2
    nice -n 10 .venv/bin/python -m benchmarks.train_dask --data path/to/store --family fraud

On a machine whose cores are busy with other work the Dask run cannot be faster: its workers
compete for the same cores and each pays its own imports and model loads (cold start).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from training.offline import use_offline_defaults

use_offline_defaults()  # before anything imports the model libraries

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from models.settings import get_settings  # noqa: E402
from training.commands import train_from_folder  # noqa: E402


def _quality(metrics: dict[str, float]) -> dict[str, float]:
    """The metrics that depend on the data and seed only (timings such as recsys's
    ``train_seconds_*`` differ from run to run on any path)."""
    return {k: v for k, v in metrics.items() if "seconds" not in k}


def main() -> None:
    """Parse the options, run both paths and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="store folder (default: generate the demo store)")
    parser.add_argument("--scale", default="small", help="demo store size when --data is absent")
    parser.add_argument("--family", default="all", help="recsys | search | fraud | forecasting | all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes, 1 thread each")
    args = parser.parse_args()
    out = Console(width=140)
    quiet = Console(quiet=True)
    with tempfile.TemporaryDirectory(prefix="shelfwise-bench-dask-") as tmp:
        data = args.data
        if data is None:
            from training.demo import generate_store

            data = Path(tmp) / "store"
            generate_store(data, seed=42, scale=args.scale)
        start = time.perf_counter()
        local = train_from_folder(
            args.family, data, get_settings(home=Path(tmp) / "local"), seed=args.seed, console=quiet
        )
        local_s = time.perf_counter() - start

        from distributed import LocalCluster

        start = time.perf_counter()
        with LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            ready_s = time.perf_counter() - start
            dask = train_from_folder(
                args.family,
                data,
                get_settings(home=Path(tmp) / "dask"),
                seed=args.seed,
                console=quiet,
                dask_scheduler=cluster.scheduler_address,
            )
            dask_s = time.perf_counter() - start
    table = Table("family", "in process s", f"dask ({args.workers} workers) s", "primary metric", "identical")
    for a, b in zip(local, dask, strict=True):
        metric = a.primary_metric or ""
        same = _quality(a.metrics) == _quality(b.metrics) and a.version == b.version
        value = a.metrics.get(metric)
        shown = "-" if value is None else f"{metric}={value:.4f}"
        table.add_row(a.family, f"{a.seconds:.1f}", f"{b.seconds:.1f}", shown, "yes" if same else "NO")
    out.print(table)
    out.print(
        f"wall: in process {local_s:.1f}s; dask {dask_s:.1f}s "
        f"(of which {ready_s:.1f}s starting the cluster); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
