"""The online state's sizes during a soak (``benchmarks/soak.py``): what is probed, and whether it
levels off once the retention has passed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fraud.online_state import COMPACT_FACTOR, COMPACT_MIN_LINES

Sizes = list[tuple[float, dict[str, float]]]  # (seconds into the run, state part -> size) per probe

TARGET_STATE_GROWTH = 0.10  # each state size's peak, last quarter over second quarter
NOT_FLAT = ("users", "journal rows")  # bounded by count, not by time (see ``state_verdict``)
STATE_COLUMNS = {  # table column -> state parts summed
    "log rows": ("event_log_events", "event_log_labels"),
    "users": ("users_in_memory",),
    "fraud answers": ("fraud_answers",),
    "fraud entities": ("fraud_entities",),
    "journal rows": ("fraud_journal_rows",),
    "state MB": ("disk_mb",),
}


def disk_mb(home: Path | None) -> float:
    """MB of the server's durable state files (event log and fraud journal, WAL files included)."""
    if home is None:
        return float("nan")
    files = [p for sub in ("state", "fraud-state") for p in (home / sub).glob("*.db*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def state_at(sizes: Sizes, t: float) -> dict[str, float]:
    """The state sizes probed last at or before ``t`` seconds (summed into ``STATE_COLUMNS``)."""
    taken = [probed for at, probed in sizes if at <= t + 1.0] or [sizes[0][1]]
    return {col: sum(taken[-1].get(p, 0.0) for p in parts) for col, parts in STATE_COLUMNS.items()}


def _peak(sizes: Sizes, lo: float, hi: float) -> dict[str, float]:
    inside = [state_at(sizes, at) for at, _ in sizes if lo < at <= hi + 1.0] or [state_at(sizes, hi)]
    return {col: max(s[col] for s in inside) for col in STATE_COLUMNS}


def state_verdict(
    sizes: Sizes, duration: float, retention_s: float | None, trim_s: float | None
) -> dict[str, Any]:
    """Each size's peak in the last quarter of the run over its peak in the second quarter.

    Trimming makes the sizes a saw-tooth (they rise for a trim interval, then drop to the
    retention), so peaks are compared, not instants. Judged only when the retention and a trim
    interval fit in a quarter of the run: before that the state is still filling up, as it should.
    ``users`` is shown but not judged: in memory they are capped by count (the most recently
    active 100,000), not by time, so they grow until the workload's pool of shoppers is seen.
    Nor is ``journal rows`` judged for flatness: the fraud journal grows until it crosses its
    compaction line (twice the live answers plus ``COMPACT_MIN_LINES``) and is then rewritten as a
    snapshot, so it is checked against that line instead.
    """
    second, last = _peak(sizes, duration / 4, duration / 2), _peak(sizes, 3 * duration / 4, duration)
    growth = {c: (last[c] - second[c]) / second[c] if second[c] else 0.0 for c in STATE_COLUMNS}
    judged = retention_s is not None and retention_s + (trim_s or 0.0) <= duration / 4
    worst = max(g for c, g in growth.items() if c not in NOT_FLAT)
    # The fraud journal grows until it crosses its compaction line, then drops to a snapshot.
    line = COMPACT_FACTOR * max(last["fraud answers"], 1) + COMPACT_MIN_LINES
    journal_ok = last["journal rows"] <= line
    return {
        "second_quarter": second,
        "end": last,
        "growth": growth,
        "judged": judged,
        "worst": worst,
        "journal_line": line,
        "journal_ok": journal_ok,
    }


def state_lines(state: dict[str, Any], mark: dict[bool, str]) -> list[str]:
    """The report's lines for ``state_verdict``'s result."""
    growth = ", ".join(f"{c} {100 * g:+.1f} %" for c, g in state["growth"].items())
    verdict_text = (
        f"-> {mark[state['worst'] <= TARGET_STATE_GROWTH]} (target <= {100 * TARGET_STATE_GROWTH:.0f} %)"
        if state["judged"]
        else "-> not judged (needs --retention-s plus --trim-s within a quarter of the run)"
    )
    return [
        f"- state sizes, peak of the last quarter over the second quarter's: {growth} {verdict_text}"
        " (users: capped by count, not judged)",
        f"- fraud journal: {state['end']['journal rows']:.0f} rows, compaction line "
        f"{state['journal_line']:.0f} -> {mark[state['journal_ok']]} (never above the line)",
    ]
