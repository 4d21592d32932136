"""Stock and catalog changes made through the admin API outlive the model they were made on.

``POST /v1/inventory`` (the recommender's stock flags) and ``/v1/catalog`` (search's items) change
the served model in place. Each change is first recorded in the online state (the durable event
log, or Redis shared by replicas), then applied; :func:`reapply` applies the recorded changes again
to every model loaded later, whether by a hot swap, a restart or a reload. A change is applied
again only when it is newer than the end of the data the model was trained on
(``data_window.end``): older ones are taken to be in that data already.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from search.interface import LiveCatalog
from serving.online.state import CatalogChange

logger = logging.getLogger("shelfwise.serving")

# Which family each kind of change is for.
KINDS = {"recsys": ("stock",), "search": ("upsert", "delete")}


def catalog_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Catalog rows as the catalog file's frame (``attributes`` become ``attr_<name>`` columns)."""
    out = []
    for row in rows:
        flat = {k: v for k, v in row.items() if k != "attributes"}
        flat.update({f"attr_{k}": v for k, v in (row.get("attributes") or {}).items()})
        out.append(flat)
    return pd.DataFrame(out)


def apply(model: Any, change: CatalogChange) -> None:
    """Apply one change to a served model of its family."""
    if change.kind == "stock":
        flags = dict(change.payload["in_stock"])
        model.set_stock(list(flags), [bool(v) for v in flags.values()])
    elif change.kind == "upsert":
        model.upsert_items(catalog_frame(change.payload["items"]))
    elif change.kind == "delete":
        model.delete_items(list(change.payload["item_ids"]))


def reapply(family: str, model: Any, changes: Sequence[CatalogChange]) -> int:
    """Apply the recorded changes newer than the model's training data; returns how many.

    A model that cannot take live changes (search's BM25 baseline) takes none.
    """
    kinds = KINDS.get(family, ())
    if not kinds or (family == "search" and not isinstance(model, LiveCatalog)):
        return 0
    end = _data_end(model)
    todo = [c for c in changes if c.kind in kinds and (end is None or _utc(c.received_at) > end)]
    for change in todo:
        apply(model, change)
    if todo:
        logger.info("Model %s: %d stock/catalog changes made since its data applied again", family, len(todo))
    return len(todo)


def _data_end(model: Any) -> datetime | None:
    end = (getattr(model, "data_window_", None) or {}).get("end")
    try:
        return _utc(datetime.fromisoformat(str(end))) if end else None
    except ValueError:
        return None


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when
