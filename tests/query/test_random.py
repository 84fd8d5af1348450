"""RandomQuery: reproducible, uniform, model-free selection."""

import warnings

import numpy as np
import pytest
from modAL.models import ActiveLearner as ModalActiveLearner
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_eglpp import ActiveLearner, RandomQuery, get_strategy, random_query


def test_same_random_state_same_selection():
    X_pool = np.zeros((50, 3))
    a = RandomQuery(random_state=7).select(None, X_pool, n_instances=5)
    b = RandomQuery(random_state=7).select(None, X_pool, n_instances=5)
    c = RandomQuery(random_state=8).select(None, X_pool, n_instances=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scores_are_the_generators_numbers():
    scores = RandomQuery(random_state=3).score(None, np.zeros((6, 2)))
    np.testing.assert_array_equal(scores, np.random.RandomState(3).random_sample(6))


def test_random_state_instance_advances():
    query = RandomQuery(random_state=np.random.RandomState(0))
    first = query.score(None, np.zeros((20, 1)))
    second = query.score(None, np.zeros((20, 1)))
    assert not np.array_equal(first, second)


def test_selection_is_uniform():
    # 3000 draws of 2 out of 10 samples: each index is picked 600 times in
    # expectation (sd about 22); a fixed seed keeps the test deterministic.
    query = RandomQuery(random_state=np.random.RandomState(0))
    counts = np.zeros(10)
    for _ in range(3000):
        idx = query.select(None, np.zeros((10, 1)), n_instances=2)
        assert len(set(idx.tolist())) == 2
        counts[idx] += 1
    assert np.all(np.abs(counts - 600) < 100), counts


def test_any_pool_and_learner_form():
    X_img = np.zeros((8, 1, 4, 4), dtype=np.float32)
    assert random_query.score(None, X_img).shape == (8,)
    assert random_query.score(None, sparse.csr_matrix(np.eye(5))).shape == (5,)
    unfitted_pipe = make_pipeline(StandardScaler(), LinearRegression())
    assert random_query.select(unfitted_pipe, np.zeros((5, 2)), 5).shape == (5,)


def test_modal_learners_query_without_warnings(rng):
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    for cls in (ActiveLearner, ModalActiveLearner):
        learner = cls(
            LinearRegression(),
            RandomQuery(random_state=0),
            X_training=X[:5],
            y_training=y[:5],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            idx, X_query = learner.query(X[5:], n_instances=3)
        assert len(set(idx.tolist())) == 3
        assert np.all((idx >= 0) & (idx < 25))
        np.testing.assert_array_equal(X_query, X[5:][idx])


def test_params_and_registry():
    assert repr(get_strategy("random_query")) == "RandomQuery()"
    assert clone(RandomQuery(random_state=5)).get_params() == {"random_state": 5}


def test_bad_inputs():
    with pytest.raises(ValueError, match="X_pool contains NaN"):
        random_query.score(None, np.array([[0.0], [np.nan]]))
    with pytest.raises(ValueError, match=r"n_instances must be in \[1, 4\], got 5"):
        random_query.select(None, np.zeros((4, 1)), n_instances=5)
    with pytest.raises(ValueError, match="X_labelled and y_labelled must be given"):
        random_query.score(LinearRegression(), np.zeros((4, 1)), X_labelled=[[1.0]])
    with pytest.raises(TypeError, match=r"random_state must be an int in \[0,"):
        RandomQuery(random_state="seed").score(None, np.zeros((4, 1)))


def test_random_query_ignores_the_labelled_set_as_documented(tabular):
    """RandomQuery documents that it reads neither model nor labelled data."""
    X, y = tabular
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = RandomQuery(random_state=0)
    expected = strategy.select(None, X[10:], 3)
    got = strategy.select(model, X[10:], 3, X_labelled=X[:10], y_labelled=y[:2])
    np.testing.assert_array_equal(got, expected)
