"""Path attribution: exact decomposition of the margin, close to TreeSHAP on what it ranks first."""

from __future__ import annotations

import numpy as np
import pytest

from fraud.attribution import PathAttribution
from fraud.velocity_model import VelocityFraudModel
from models.errors import InvalidInputError


@pytest.fixture(scope="module")
def fitted_pair(make_tx):
    frame = make_tx(4000, days=40, seed=2)
    model = VelocityFraudModel(n_estimators=60, min_child_samples=20).fit(frame)
    fresh = make_tx(600, days=10, seed=5)
    return model, model._context_matrix(fresh, frame)


def test_contributions_plus_bias_equal_the_raw_margin(fitted_pair) -> None:
    model, rows = fitted_pair
    paths = PathAttribution(model.booster_)
    contrib = paths.contributions(model.booster_, rows)
    assert contrib.shape == rows.shape
    margin = model.booster_.predict(rows, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1) + paths.bias, margin, atol=1e-9)


def test_path_and_treeshap_agree_on_the_features_that_matter(fitted_pair) -> None:
    model, rows = fitted_pair
    paths = PathAttribution(model.booster_).contributions(model.booster_, rows)
    shap = model.booster_.predict(rows, pred_contrib=True)[:, :-1]
    top = np.argsort(-model.booster_.predict(rows, raw_score=True))[:100]  # the riskiest rows
    overlap = np.mean([len(set(np.argsort(-paths[i])[:3]) & set(np.argsort(-shap[i])[:3])) / 3 for i in top])
    # Measured 0.70 on the small demo store's model; features that both methods credit most.
    assert overlap >= 0.5
    # A feature the booster never splits on gets nothing from either method.
    unused = model.booster_.feature_importance("split") == 0
    assert np.all(paths[:, unused] == 0)


def test_both_attributions_give_reasons_and_bad_names_are_refused(fitted_pair, make_tx) -> None:
    model, _ = fitted_pair
    tx = make_tx(1, seed=11).drop(columns=["is_fraud"]).to_dict("records")[0] | {"amount": 900.0}
    shap_model = VelocityFraudModel(**(model.get_params() | {"attribution": "treeshap"}))
    for attr in ("booster_", "features_", "config_", "feature_names_", "calibration_", "thresholds_"):
        setattr(shap_model, attr, getattr(model, attr))
    by_path, by_shap = model.score(tx), shap_model.score(tx)
    assert by_path.score == by_shap.score  # the attribution never changes the score
    assert by_path.reasons and by_shap.reasons
    with pytest.raises(InvalidInputError, match="attribution"):
        VelocityFraudModel(attribution="lime").fit(make_tx(500, seed=1))
