"""Property-based tests of the cheap strategies.

Over random shapes and values (duplicates, zeros and wide ranges included),
for ``random_query``, ``egl_linear``, ``emcm``, ``coreset`` on raw 2-D data and
``multipeak_entropy`` on constructed heatmaps:

- indices are unique, in range and sorted by utility (for k-center greedy:
  the gains are non-increasing);
- scores are finite and non-negative;
- permuting the pool permutes the scores;
- the same ``random_state`` gives the same scores and indices.

``pytest --hypothesis-show-statistics`` prints how many examples each test
ran (hypothesis itself fails a test none of whose examples could be drawn).
"""

import warnings

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import cdist
from sklearn.linear_model import LinearRegression, Ridge

from sk_eglpp import (
    CoreSetQuery,
    EMCMQuery,
    LinearEGLQuery,
    MultiPeakEntropyQuery,
    RandomQuery,
)

# derandomize: the same examples on every run, so that a test run gates on
# what was run before (random exploration found the cdist underflow pinned
# below as an @example of test_coreset_properties)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_valid_selection(idx, scores, n_instances):
    n_pool = len(scores)
    assert idx.shape == (n_instances,)
    assert idx.dtype.kind == "i"
    assert np.all((idx >= 0) & (idx < n_pool))
    assert len(set(idx.tolist())) == n_instances
    chosen = scores[idx]
    assert np.all(np.diff(chosen) <= 0)  # most informative first
    rest = np.delete(scores, idx)
    if rest.size:
        assert rest.max() <= chosen.min()
        # ties with the threshold go to the lower index
        tied = np.flatnonzero(scores == chosen.min())
        assert set(tied[: np.sum(chosen == chosen.min())]) <= set(idx.tolist())


def assert_valid_scores(scores, n_pool):
    assert scores.shape == (n_pool,)
    assert scores.dtype == np.float64
    assert np.all(np.isfinite(scores))
    assert np.all(scores >= 0)


# values: a grid of "nice" floats makes duplicates and exact zeros common
values = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, 1.0, -1.0, 1e-12, 5e-13, 1e6, 1e12, -1e12]),
)


@st.composite
def tabular_problem(draw, min_labelled=1):
    n_features = draw(st.integers(1, 4))
    n_lab = draw(st.integers(min_labelled, 12))
    n_pool = draw(st.integers(1, 15))
    X_lab = draw(hnp.arrays(np.float64, (n_lab, n_features), elements=values))
    X_pool = draw(hnp.arrays(np.float64, (n_pool, n_features), elements=values))
    y_lab = draw(hnp.arrays(np.float64, (n_lab,), elements=values))
    n_instances = draw(st.integers(1, n_pool))
    perm = draw(st.permutations(range(n_pool)))
    seed = draw(st.integers(0, 2**31 - 1))
    return X_lab, y_lab, X_pool, n_instances, np.asarray(perm, dtype=int), seed


def _distances(A, B):
    """Euclidean distances by scipy's cdist, on data scaled to a largest entry of
    1: cdist squares the differences, so distances below about 1e-154 would
    underflow to 0 unscaled."""
    scale = max(np.abs(A).max(initial=0.0), np.abs(B).max(initial=0.0))
    if scale == 0 or not np.isfinite(scale):
        return cdist(A, B)
    return cdist(A / scale, B / scale) * scale


# -- random --------------------------------------------------------------------


@SETTINGS
@given(problem=tabular_problem())
def test_random_query_properties(strict_numerics, problem):
    X_lab, y_lab, X_pool, n_instances, _, seed = problem
    strategy = RandomQuery(random_state=seed)
    with strict_numerics():
        scores = strategy.score(None, X_pool)
        idx = strategy.select(None, X_pool, n_instances)
    assert_valid_scores(scores, len(X_pool))
    assert np.all(scores < 1)
    assert_valid_selection(idx, scores, n_instances)
    again = RandomQuery(random_state=seed)
    np.testing.assert_array_equal(again.select(None, X_pool, n_instances), idx)
    # only the pool's size matters: another pool of that size, same selection
    np.testing.assert_array_equal(
        again.select(None, np.zeros_like(X_pool), n_instances), idx
    )


# -- closed-form linear strategies ----------------------------------------------


@SETTINGS
@given(
    problem=tabular_problem(),
    cls=st.sampled_from([LinearEGLQuery, EMCMQuery]),
    ridge=st.booleans(),
    bootstrap=st.booleans(),
)
def test_linear_strategies_properties(strict_numerics, problem, cls, ridge,
                                     bootstrap):
    X_lab, y_lab, X_pool, n_instances, perm, seed = problem
    model = Ridge(alpha=1.0) if ridge else LinearRegression()
    with warnings.catch_warnings():
        # scikit-learn's own solvers warn about ill-conditioned problems; the
        # strategies below run with numpy warnings as errors
        warnings.simplefilter("ignore")
        model.fit(X_lab, y_lab)
    strategy = cls(n_estimators=4, bootstrap=bootstrap, random_state=seed)
    kwargs = dict(X_labelled=X_lab, y_labelled=y_lab)
    with strict_numerics():
        scores = strategy.score(model, X_pool, **kwargs)
        idx = strategy.select(model, X_pool, n_instances, **kwargs)
        permuted = strategy.score(model, X_pool[perm], **kwargs)
    assert_valid_scores(scores, len(X_pool))
    assert_valid_selection(idx, scores, n_instances)
    # the bootstrap resamples the labelled set only, so permuting the pool
    # permutes the scores (up to round-off of differently sized chunks)
    scale = max(float(np.abs(scores).max()), 1e-300)
    np.testing.assert_allclose(permuted, scores[perm], rtol=1e-9, atol=1e-12 * scale)
    again = cls(n_estimators=4, bootstrap=bootstrap, random_state=seed)
    np.testing.assert_array_equal(again.score(model, X_pool, **kwargs), scores)
    np.testing.assert_array_equal(
        again.select(model, X_pool, n_instances, **kwargs), idx
    )


# -- core-set on raw 2-D data ---------------------------------------------------


class Raw:
    """A model without ``embed``: the core-set works on the raw samples."""

    def predict(self, X):
        return np.zeros(len(X))


@SETTINGS
@given(problem=tabular_problem(), labelled=st.booleans())
@example(  # a distance that cdist, squaring it, would underflow to 0
    problem=(np.array([[0.0]]), np.array([0.0]), np.array([[1.33858982e-216]]), 1,
             np.array([0]), 0),
    labelled=True,
)
def test_coreset_properties(strict_numerics, problem, labelled):
    X_lab, y_lab, X_pool, n_instances, perm, seed = problem
    kwargs = dict(X_labelled=X_lab, y_labelled=y_lab) if labelled else {}
    strategy = CoreSetQuery(random_state=seed)
    with strict_numerics():
        scores = strategy.score(Raw(), X_pool, **kwargs)
        idx = strategy.select(Raw(), X_pool, n_instances, **kwargs)
        permuted = strategy.score(Raw(), X_pool[perm], **kwargs)
    gains = strategy.pick_distances_
    assert idx.shape == (n_instances,)
    assert np.all((idx >= 0) & (idx < len(X_pool)))
    assert len(set(idx.tolist())) == n_instances
    assert np.all(np.diff(gains) <= 0)  # k-center greedy: non-increasing gains
    np.testing.assert_array_equal(permuted, scores[perm])
    if labelled:
        assert_valid_scores(scores, len(X_pool))
        # reference: the distance to the nearest labelled sample
        np.testing.assert_allclose(scores, _distances(X_pool, X_lab).min(axis=1))
        assert gains[0] == scores.max()
    else:
        assert np.all(np.isinf(scores))  # min over an empty set of centres
        assert np.isinf(gains[0])
        assert np.all(np.isfinite(gains[1:]))
    # the covering radius of the result, by brute force
    centres = np.concatenate([X_lab, X_pool[idx]]) if labelled else X_pool[idx]
    np.testing.assert_allclose(
        strategy.covering_radius_, _distances(X_pool, centres).min(axis=1).max()
    )
    again = CoreSetQuery(random_state=seed)
    np.testing.assert_array_equal(
        again.select(Raw(), X_pool, n_instances, **kwargs), idx
    )


# -- multi-peak entropy on constructed heatmaps ---------------------------------


class Heatmaps:
    """A fake estimator: sample ``i`` of the pool is its heatmaps ``maps[i]``."""

    def __init__(self, maps):
        self.maps = maps

    def predict_heatmaps(self, X):
        return self.maps[np.asarray(X, dtype=int)[:, 0]]


@st.composite
def heatmap_problem(draw):
    n_pool = draw(st.integers(1, 8))
    n_joints = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    level = st.sampled_from([0.0, 0.25, 0.5, 1.0])  # plateaus and equal peaks
    maps = draw(
        hnp.arrays(
            np.float64,
            (n_pool, n_joints, h, w),
            elements=st.one_of(level, st.floats(0, 1, width=32)),
        )
    )
    scale = draw(st.sampled_from([1e-12, 1.0, 1e12]))
    n_instances = draw(st.integers(1, n_pool))
    perm = draw(st.permutations(range(n_pool)))
    return maps * scale, n_instances, np.asarray(perm, dtype=int)


@SETTINGS
@given(
    problem=heatmap_problem(),
    aggregate=st.sampled_from(["sum", "mean", "max"]),
    n_peaks=st.sampled_from([None, 1, 3]),
    batch_size=st.integers(1, 4),
)
def test_multipeak_entropy_properties(strict_numerics, problem, aggregate, n_peaks,
                                     batch_size):
    maps, n_instances, perm = problem
    n_pool, n_joints = maps.shape[:2]
    model = Heatmaps(maps)
    X_pool = np.arange(n_pool, dtype=np.float64)[:, None]
    strategy = MultiPeakEntropyQuery(
        min_distance=1, n_peaks=n_peaks, aggregate=aggregate, batch_size=batch_size
    )
    with strict_numerics():
        scores = strategy.score(model, X_pool)
        idx = strategy.select(model, X_pool, n_instances)
        permuted = strategy.score(model, X_pool[perm])
    assert_valid_scores(scores, n_pool)
    assert_valid_selection(idx, scores, n_instances)
    np.testing.assert_array_equal(permuted, scores[perm])
    # entropy of at most P peaks is at most log(P); a single peak gives 0
    max_peaks = n_peaks or maps.shape[2] * maps.shape[3]
    bound = np.log(max_peaks) * (n_joints if aggregate == "sum" else 1)
    assert np.all(scores <= bound + 1e-12)
    if n_peaks == 1:
        np.testing.assert_array_equal(scores, 0.0)
    # batch size does not change the scores
    whole = MultiPeakEntropyQuery(min_distance=1, n_peaks=n_peaks,
                                  aggregate=aggregate, batch_size=256)
    np.testing.assert_allclose(whole.score(model, X_pool), scores, rtol=1e-12)
