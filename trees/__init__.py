"""LightGBM inference on the request path, one home for every family: ``TreeScorer`` scores row
batches through a compiled forest (``trees.batch``: recommendation re-ranking),
``SingleRowPredictor`` one row through LightGBM's fast C API (``trees.single_row``: fraud)."""

from trees.batch import TreeScorer
from trees.single_row import SingleRowPredictor

__all__ = ["SingleRowPredictor", "TreeScorer"]
