"""The promotion gate: a new version becomes ``champion`` only when it beats noise.

Rules, in order (each failing rule registers the version as ``challenger`` and says why):

1. ``--promote`` forces promotion, whatever the numbers.
2. A job that could not evaluate (search without judged queries) is promoted only as the first
   version of its family. The evaluation must hold at least ``MIN_CASES`` cases: on fewer, no
   decision is trusted.
3. The model must beat every baseline the job names (popularity, BM25, the raw-column model,
   seasonal naive) by a paired bootstrap whose 95 % interval of the difference excludes zero.
4. When a champion exists it is compared pair by pair, in one of two ways:
   - **same data**: its own logged evaluation was scored on the same holdout cases (same data,
     same split). The new version is a new recipe for the same data and must beat the champion
     beyond noise (a retrain with another seed is not promoted on noise).
   - **newer data**: the job re-scored the served champion on the new holdout's cases it has
     not learned from (outcomes after the end of its training data, judged queries it was not
     evaluated on), at least ``min_cases`` of them (``rescored``). The new version has seen
     newer data, and a champion left in place goes stale (its forecasts start at the end of its
     data, it knows no newer items or shoppers), so here the new version must not be *worse*
     beyond noise: it is promoted unless the champion beats it on the new cases.
   When neither is possible (the data changed, but too little of it is new to re-score the
   champion on), the new version is promoted on rule 3 alone and the reason says so.

The champion is never compared on its own logged metric from a different holdout: two holdouts
of different size and period are not the same test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from models.evaluation import MODEL_ROW, Comparison, Evaluation

CHAMPION_ROW = "champion"


@dataclass
class Decision:
    """What the gate decided and why."""

    promote: bool
    reason: str
    comparisons: list[Comparison] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promoted": self.promote,
            "reason": self.reason,
            "comparisons": [
                {
                    "row": c.row,
                    "other": c.other,
                    "difference": c.difference,
                    "ci_low": c.low,
                    "ci_high": c.high,
                    "n_cases": c.n_cases,
                    "better": c.better,
                }
                for c in self.comparisons
            ],
        }


def decide(
    evaluation: Evaluation | None,
    *,
    baselines: Sequence[str],
    force: bool = False,
    champion_version: str | None = None,
    champion_evaluation: Evaluation | None = None,
    min_cases: int | None = None,
    rescored: Evaluation | None = None,
    rescore_note: str = "",
) -> Decision:
    """Apply the rules of the module docstring to a new version's evaluation.

    ``rescored`` holds rows ``model`` and ``champion`` on the new holdout's cases the champion
    has not seen; ``rescore_note`` says how it was made or why it could not be.
    """
    if force:
        return Decision(True, "forced with --promote")
    if evaluation is None:  # e.g. search on a store without judged queries
        if champion_version is None:
            return Decision(True, "no champion yet; nothing to evaluate on, so the first version serves")
        return Decision(False, f"nothing to evaluate on, so champion v{champion_version} stays")
    n, what = evaluation.n_cases, evaluation.case_name
    min_cases = evaluation.min_cases if min_cases is None else min_cases
    if n < min_cases:
        return Decision(
            False,
            f"only {n} {what} could be evaluated; at least {min_cases} are needed for a trustworthy "
            "decision (more history, or --promote to serve it anyway)",
        )
    comparisons = []
    for name in baselines:
        if name not in evaluation.rows:
            continue
        cmp = evaluation.difference(MODEL_ROW, name)
        comparisons.append(cmp)
        if not cmp.better:
            return Decision(
                False, f"does not beat the {name} baseline beyond noise: {cmp.describe()}", comparisons
            )
    if champion_version is None:
        return Decision(True, f"no champion yet; beats {_names(baselines)} beyond noise", comparisons)
    if rescored is not None and CHAMPION_ROW in rescored.rows and rescored.n_cases >= min_cases:
        cmp = rescored.difference(MODEL_ROW, CHAMPION_ROW)
        comparisons.append(cmp)
        where = f"re-scored on {rescored.n_cases} {what} newer than its training data"
        if cmp.worse:
            return Decision(
                False,
                f"champion v{champion_version} is better beyond noise ({where}): {cmp.describe()}",
                comparisons,
            )
        verdict = "beats" if cmp.better else "is not worse beyond noise than"
        return Decision(
            True,
            f"trained on newer data and {verdict} champion v{champion_version} ({where}): {cmp.describe()}",
            comparisons,
        )
    aligned = evaluation.aligned(champion_evaluation) if champion_evaluation is not None else None
    if aligned is None:
        why = rescore_note or (
            f"champion v{champion_version} was scored on another holdout (the data changed) and "
            "could not be re-scored"
        )
        return Decision(
            True,
            f"beats {_names(baselines)} beyond noise; {why}, so it cannot be compared case by case",
            comparisons,
        )
    cmp = evaluation.with_row(CHAMPION_ROW, aligned).difference(MODEL_ROW, CHAMPION_ROW)
    comparisons.append(cmp)
    if not cmp.better:
        return Decision(
            False, f"does not beat champion v{champion_version} beyond noise: {cmp.describe()}", comparisons
        )
    return Decision(True, f"beats champion v{champion_version} beyond noise: {cmp.describe()}", comparisons)


def _names(baselines: Sequence[str]) -> str:
    return ", ".join(baselines) if baselines else "no baseline"
