"""Per-prediction feature contributions read off a LightGBM booster's decision paths.

A score's ``reasons`` need to know which features pushed it up. LightGBM's TreeSHAP
(``predict(pred_contrib=True)``) is exact Shapley values but costs O(trees x leaves x depth^2) per
row: about 2 ms for the default 300-tree model, against 0.1 ms for the prediction itself, and the
checkout waits for it. The *path* attribution (Saabas; what ``treeinterpreter`` computes) walks
each tree's decision path instead: every split on the path credits its feature with the change of
the expected value from the node to the child taken. Per leaf that is a fixed vector, so it is
precomputed once from the booster's own dump, and a row's contributions are one
``predict(pred_leaf=True)`` plus a gather-and-sum: ~0.1 ms. Like TreeSHAP's, the contributions
plus the trees' root values add up exactly to the raw margin; unlike TreeSHAP's they favour
features split near the root (Lundberg et al. 2018), an acceptable bias for naming the top reasons.
Nothing is stored: the table is rebuilt from ``model.txt`` when a model is loaded.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np


class PathAttribution:
    """Leaf-indexed contribution table of a binary or regression booster.

    Args:
        booster: a trained booster (one output per row).

    Attributes:
        table: ``(total leaves, n_features)`` contribution of each leaf's path to each feature.
        offsets: first row of each tree in ``table`` (add the leaf index).
        bias: sum of the trees' root values (the margin when no feature is known).
    """

    def __init__(self, booster: lgb.Booster) -> None:
        dump = booster.dump_model()
        n_features = booster.num_feature()
        tables: list[np.ndarray] = []
        offsets: list[int] = []
        bias, start = 0.0, 0
        for tree in dump["tree_info"]:
            table = np.zeros((int(tree["num_leaves"]), n_features))
            root = tree["tree_structure"]
            bias += _value(root)
            _walk(root, np.zeros(n_features), table)
            tables.append(table)
            offsets.append(start)
            start += len(table)
        self.table = np.vstack(tables) if tables else np.zeros((0, n_features))
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.bias = bias

    def contributions(self, booster: lgb.Booster, rows: np.ndarray) -> np.ndarray:
        """``(n_rows, n_features)`` contributions to the raw margin of each row."""
        leaves = np.asarray(booster.predict(rows, pred_leaf=True, num_threads=1), dtype=np.int64)
        return self.from_leaves(leaves.reshape(len(rows), -1))

    def from_leaves(self, leaves: np.ndarray) -> np.ndarray:
        """Contributions given each tree's leaf: ``(n_trees,)`` -> ``(n_features,)``, or a batch
        ``(n_rows, n_trees)`` -> ``(n_rows, n_features)``."""
        return self.table[self.offsets + leaves].sum(axis=-2)


def _value(node: dict[str, Any]) -> float:
    return float(node["leaf_value"] if "leaf_index" in node else node["internal_value"])


def _walk(node: dict[str, Any], path: np.ndarray, table: np.ndarray) -> None:
    """Fill ``table[leaf]`` with the contributions accumulated on the way to each leaf."""
    if "leaf_index" in node:
        table[int(node["leaf_index"])] = path
        return
    feature, here = int(node["split_feature"]), _value(node)
    for child in (node["left_child"], node["right_child"]):
        step = path.copy()
        step[feature] += _value(child) - here
        _walk(child, step, table)
