"""Real data: on a bounded Amazon Beauty subsample the full pipeline beats popularity and plain ALS."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_pipeline_beats_popularity_and_plain_als_on_beauty(real_dataset):
    folder = real_dataset("amazon-beauty-seq").parent
    from benchmarks import recsys_beauty as bench

    # 2,000 users (seeded) keep this under a minute; the full run is in docs/benchmarks/recsys.md.
    table, info = bench.run(str(folder), target="test", max_users=2000, seed=0)
    pipeline = next(name for name in table.index if name.startswith("full pipeline"))
    ndcg = table["NDCG@10"]
    assert ndcg[pipeline] > ndcg["popularity (baseline)"]
    assert ndcg[pipeline] > ndcg["implicit ALS (library defaults)"]
    assert table.loc[pipeline, "HIT@20"] > table.loc["implicit ALS (library defaults)", "HIT@20"]
    assert 0 < info["candidate_recall"] <= 1
