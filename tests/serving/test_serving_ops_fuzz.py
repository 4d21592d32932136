"""A bounded run of benchmarks/fuzz_api.py: ~300 generated requests over every operation, both
generation modes, on the tiny shop's real models: no 5xx, every 4xx in problem-details form."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_generated_requests_never_get_a_5xx_and_4xx_are_problems(model_dirs: dict[str, Path]) -> None:
    from benchmarks import fuzz_api

    app = fuzz_api.build_app({family: str(d) for family, d in model_dirs.items()})
    report = fuzz_api.fuzz(app, examples=9, seed=1)
    summary = fuzz_api.print_report(report)
    assert report.requests >= 250, summary
    assert report.count_5xx == 0, summary
    assert not report.not_problem, summary
    assert report.count_4xx > 0 and any(200 <= code < 300 for code in report.statuses), summary
    served = {op.split(" ", 1)[1] for op in report.per_operation}
    assert {"/v1/recommendations", "/v1/search", "/v1/fraud/score", "/v1/forecast"} <= served
