"""The repaired ActiveLearner and the modAL calling convention of strategies."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import modAL.models
import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_eglpp import ActiveLearner
from sk_eglpp._validation import check_n_instances, top_indices
from sk_eglpp.query import BaseQueryStrategy
from sk_eglpp.query._base import resolve_learner


class _DistanceQuery(BaseQueryStrategy):
    """Test strategy: distance of a pool sample to the labelled mean."""

    _needs_labelled = True

    def __init__(self, calls=None):
        self.calls = calls

    def _score(self, context):
        if self.calls is not None:
            self.calls.append(1)
        centre = context.X_labelled.mean(axis=0)
        return np.linalg.norm(context.X_pool - centre, axis=1)


class _NanMean(RegressorMixin, BaseEstimator):
    """Predicts the NaN-ignoring mean of each target (accepts NaN targets)."""

    def fit(self, X, y):
        self.mean_ = np.nanmean(np.asarray(y, dtype=float), axis=0)
        return self

    def predict(self, X):
        return np.tile(self.mean_, (len(X), 1))


@pytest.fixture
def data(rng):
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -1.0, 2.0]) + 0.1 * rng.normal(size=60)
    return X, y


def test_teach_works_on_current_sklearn(data):
    X, y = data
    learner = ActiveLearner(
        LinearRegression(), _DistanceQuery(), X_training=X[:10], y_training=y[:10]
    )
    learner.teach(X[10:15], y[10:15])
    assert learner.X_training.shape == (15, 3)
    np.testing.assert_allclose(
        learner.estimator.coef_, LinearRegression().fit(X[:15], y[:15]).coef_
    )
    learner.teach(X[15:20], y[15:20], only_new=True)
    assert learner.X_training.shape == (20, 3)
    np.testing.assert_allclose(
        learner.estimator.coef_, LinearRegression().fit(X[15:20], y[15:20]).coef_
    )
    learner.fit(X[:8], y[:8])
    assert learner.X_training.shape == (8, 3)


def test_teach_rejects_bad_data(data):
    X, y = data
    learner = ActiveLearner(
        LinearRegression(), _DistanceQuery(), X_training=X[:10], y_training=y[:10]
    )
    with pytest.raises(ValueError, match="NaN"):
        learner.teach(np.full((1, 3), np.nan), [1.0])
    with pytest.raises(ValueError, match="same dimensions"):
        learner.teach(X[:2, :2], y[:2])
    assert learner.X_training.shape == (10, 3)


def test_modal_041_query_returns_indices_and_calls_once(data):
    X, y = data
    calls = []
    learner = ActiveLearner(
        make_pipeline(StandardScaler(), LinearRegression()),
        _DistanceQuery(calls),
        X_training=X[:10],
        y_training=y[:10],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idx, X_query = learner.query(X[10:], n_instances=4)
    assert len(calls) == 1
    assert idx.shape == (4,) and len(set(idx.tolist())) == 4
    np.testing.assert_array_equal(X_query, X[10:][idx])
    # the most distant sample from the labelled mean comes first
    scaled = learner.estimator[:-1].transform(X)
    distances = np.linalg.norm(scaled[10:] - scaled[:10].mean(axis=0), axis=1)
    assert idx[0] == np.argmax(distances)


def test_strategy_works_with_modal_own_learner(data):
    X, y = data
    learner = modAL.models.ActiveLearner(
        LinearRegression(), _DistanceQuery(), X_training=X[:10], y_training=y[:10]
    )
    idx, _ = learner.query(X[10:], n_instances=2)
    assert idx.shape == (2,)


def test_strategy_with_estimator_and_labelled_keywords(data):
    X, y = data
    est = LinearRegression().fit(X[:10], y[:10])
    strategy = _DistanceQuery()
    idx = strategy(est, X[10:], n_instances=3, X_labelled=X[:10], y_labelled=y[:10])
    assert idx.shape == (3,)
    assert strategy.scores_.shape == (50,)
    with pytest.raises(ValueError, match="needs the labelled set"):
        strategy.select(est, X[10:], n_instances=1)
    with pytest.raises(ValueError, match="given together"):
        strategy.select(est, X[10:], X_labelled=X[:10])


@pytest.mark.parametrize("n_instances", [0, 51, -1])
def test_n_instances_out_of_range(data, n_instances):
    X, y = data
    est = LinearRegression().fit(X[:10], y[:10])
    with pytest.raises(ValueError, match=r"n_instances must be in \[1, 50\]"):
        _DistanceQuery().select(
            est, X[10:], n_instances, X_labelled=X[:10], y_labelled=y[:10]
        )


def test_bad_pool(data):
    X, y = data
    est = LinearRegression().fit(X[:10], y[:10])
    kw = dict(X_labelled=X[:10], y_labelled=y[:10])
    bad = X[10:].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _DistanceQuery().select(est, bad, 1, **kw)
    with pytest.raises(ValueError, match="2-D"):
        _DistanceQuery().select(est, X[10:, 0], 1, **kw)
    with pytest.raises(ValueError, match="same shape"):
        _DistanceQuery().select(est, X[10:, :2], 1, **kw)
    with pytest.raises(ValueError, match="same number of samples"):
        _DistanceQuery().select(est, X[10:], 1, X_labelled=X[:10], y_labelled=y[:9])
    with pytest.raises(TypeError, match="n_instances must be an integer"):
        _DistanceQuery().select(est, X[10:], 1.5, **kw)


def test_inputs_not_mutated(data):
    X, y = data
    X_pool = X[10:].copy()
    X_pool.setflags(write=False)
    est = LinearRegression().fit(X[:10], y[:10])
    _DistanceQuery().select(est, X_pool, 2, X_labelled=X[:10], y_labelled=y[:10])
    np.testing.assert_array_equal(X_pool, X[10:])


def test_top_indices_matches_full_sort(rng):
    scores = rng.integers(0, 5, size=200).astype(float)
    for n in (1, 7, 200):
        expected = np.argsort(-scores, kind="stable")[:n]
        np.testing.assert_array_equal(top_indices(scores, n), expected)
    with pytest.raises(ValueError, match="finite"):
        top_indices(np.array([1.0, np.nan]), 1)


def test_check_n_instances_message():
    with pytest.raises(ValueError, match=r"got 0"):
        check_n_instances(0, 3)


def test_resolve_learner_prefers_explicit_data(data):
    X, y = data
    learner = ActiveLearner(
        LinearRegression(), _DistanceQuery(), X_training=X[:10], y_training=y[:10]
    )
    est, X_lab, _ = resolve_learner(learner, X[:3], y[:3])
    assert est is learner.estimator and X_lab.shape == (3, 3)
    with pytest.raises(TypeError, match="got None"):
        resolve_learner(None)


_MODAL_0421_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    sys.path.insert(0, sys.argv[1])
    import modAL
    import numpy as np
    from sklearn.linear_model import LinearRegression
    from sk_eglpp import ActiveLearner
    sys.path.insert(0, sys.argv[2])
    from test_learner import _DistanceQuery

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)); y = X.sum(axis=1)
    calls = []
    learner = ActiveLearner(LinearRegression(), _DistanceQuery(calls),
                            X_training=X[:5], y_training=y[:5])
    out = {"modal": modAL.__file__, "sizes": []}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cycle in range(3):
            idx, Xq = learner.query(X[5:], n_instances=3)
            out["sizes"].append([len(set(np.asarray(idx).tolist())), len(Xq)])
            learner.teach(X[5:][idx], y[5:][idx])
        idx, Xq, metrics = learner.query(X[5:], n_instances=2, return_metrics=True)
    out["calls"] = len(calls)
    out["metrics"] = np.asarray(metrics).tolist()
    print(json.dumps(out))
    """
)


def test_modal_0421_convention(modal_0421_path, tmp_path):
    script = tmp_path / "loop.py"
    script.write_text(_MODAL_0421_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), modal_0421_path, os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["modal"].startswith(modal_0421_path)
    assert out["sizes"] == [[3, 3]] * 3
    assert out["calls"] == 4  # exactly one strategy call per query
    assert len(out["metrics"]) == 2


def test_nan_targets_allowed_when_not_forcing_finite(data):
    X, y = data
    Y = np.column_stack([y, y])
    learner = ActiveLearner(
        _NanMean(),
        _DistanceQuery(),
        X_training=X[:10],
        y_training=Y[:10],
        force_all_finite=False,
    )
    Y_new = Y[10:12].copy()
    Y_new[0, 1] = np.nan
    learner.teach(X[10:12], Y_new)
    assert np.isnan(learner.y_training).sum() == 1
    np.testing.assert_allclose(learner.estimator.mean_[0], Y[:12, 0].mean())
    strict = ActiveLearner(
        LinearRegression(), _DistanceQuery(), X_training=X[:10], y_training=Y[:10]
    )
    with pytest.raises(ValueError, match="NaN"):
        strict.teach(X[10:12], Y_new)


def test_active_learner_rejects_a_strategy_that_is_not_callable(tabular):
    X, y = tabular
    for strategy in ("egl_pp", None):
        with pytest.raises(TypeError, match="query_strategy must be a callable"):
            ActiveLearner(LinearRegression(), strategy, X_training=X, y_training=y)
