"""The cost regressions solved from per-fold Gram matrices equal scikit-learn's Ridge fitted fold by fold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import random as sparse_random
from sklearn.linear_model import Ridge

from training.fit import classifiers


@pytest.mark.parametrize("n_features", [30, 300])
def test_gram_ridge_equals_sklearn_fold_by_fold(n_features: int, monkeypatch):
    monkeypatch.setattr(classifiers, "GRAM_ROWS", 100)
    rng = np.random.default_rng(3)
    x = sparse_random(400, n_features, density=0.1, format="csr", random_state=4)
    y = x @ rng.normal(size=n_features) + rng.normal(scale=0.1, size=400) + 2.0
    folds = rng.integers(0, 3, 400)
    oof, coef, intercept = classifiers._cost_fits(x, y, folds, alpha=3.0)
    exact = Ridge(alpha=3.0, solver="cholesky").fit(x.toarray(), y)
    assert np.allclose(coef, exact.coef_, atol=1e-5) and intercept == pytest.approx(
        exact.intercept_, abs=1e-5
    )
    for k in range(3):
        held = folds == k
        fold = Ridge(alpha=3.0, solver="cholesky").fit(x[~held].toarray(), y[~held])
        assert np.allclose(oof[held], fold.predict(x[held].toarray()), atol=1e-5)


def test_past_the_gram_limit_each_fit_is_sklearns_ridge(monkeypatch):
    monkeypatch.setattr(classifiers, "GRAM_ROWS", 100)
    monkeypatch.setattr(classifiers, "GRAM_FEATURES", 10)
    rng = np.random.default_rng(5)
    x = sparse_random(300, 40, density=0.2, format="csr", random_state=6)
    y = x @ rng.normal(size=40) + 1.0
    folds = rng.integers(0, 2, 300)
    oof, coef, intercept = classifiers._cost_fits(x, y, folds, alpha=3.0)
    final = Ridge(alpha=3.0).fit(x, y)
    assert np.array_equal(coef, final.coef_) and intercept == final.intercept_
    held = folds == 0
    assert np.array_equal(oof[held], Ridge(alpha=3.0).fit(x[~held], y[~held]).predict(x[held]))


def test_few_rows_go_to_sklearns_ridge():
    rng = np.random.default_rng(7)
    x = sparse_random(120, 20, density=0.3, format="csr", random_state=8)
    y = rng.normal(size=120)
    _, coef, _ = classifiers._cost_fits(x, y, np.zeros(120, dtype=np.int64), alpha=3.0)
    assert np.array_equal(coef, Ridge(alpha=3.0).fit(x, y).coef_)
