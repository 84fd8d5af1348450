"""Robustness, item 2 of issue 9: degenerate but valid data.

Duplicated pool or labelled samples (zero distances), identical embeddings,
scales of 1e-12 and 1e12, a single labelled sample, a pool of one and constant
targets give finite scores and valid, unique indices, without numpy warnings
(every check runs with RuntimeWarnings as errors and ``np.errstate`` raising on
division by zero, overflow and invalid values).
"""

import contextlib
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, Ridge

from sk_eglpp import HourglassRegressor, make_pose_dataset
from sk_eglpp.query import get_strategy

NEURAL = (
    "egl_pp",
    "coreset",
    "multipeak_entropy",
    "learning_loss",
    "mc_dropout",
    "random_query",
    "greedy_sampling",
    "egl_pp[diverse]",
    "egl_pp[kmeans++]",
)
TABULAR = (
    "egl_linear",
    "emcm",
    "coreset",
    "random_query",
    "greedy_sampling",
    "greedy_sampling_y",
    "egl_linear[diverse]",
    "egl_linear[kmeans++]",
    "egl_linear[density]",
)


@contextlib.contextmanager
def strict_numerics():
    """numpy warnings as errors; float errors other than underflow raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            yield


def make_strategy(name, n_labelled=12):
    """The registered strategy ``name``; ``name[option]`` sets a batch mode
    (``[diverse]``, ``[kmeans++]``) or ``density=1`` (``[density]``)."""
    name, _, option = name.partition("[")
    strategy = get_strategy(name)
    option = option.rstrip("]")
    if option == "density":
        strategy.set_params(density=1.0)
    elif option:
        strategy.set_params(batch=option)
    if name == "egl_pp":
        k = min(4, n_labelled)
        strategy.set_params(n_neighbors=k, perplexity=min(2.0, float(k)))
    if name == "mc_dropout":
        strategy.set_params(n_samples=3)
    if "random_state" in strategy.get_params():
        strategy.set_params(random_state=0)
    return strategy


def check_query(strategy, model, X_pool, X_lab, y_lab, *, non_negative=True,
                finite=True):
    """Scores finite (non-negative); every n_instances gives unique indices."""
    with strict_numerics():
        scores = strategy.score(model, X_pool, X_labelled=X_lab, y_labelled=y_lab)
        n_pool = len(X_pool)
        assert scores.shape == (n_pool,)
        assert np.all(np.isfinite(scores) if finite else ~np.isnan(scores))
        if non_negative:
            assert np.all(scores >= 0)
        for n in sorted({1, min(2, n_pool), n_pool}):
            idx = strategy.select(
                model, X_pool, n, X_labelled=X_lab, y_labelled=y_lab
            )
            assert idx.shape == (n,)
            assert idx.dtype.kind == "i"
            assert np.all((idx >= 0) & (idx < n_pool))
            assert len(set(idx.tolist())) == n
    return scores


# -- image strategies with a tiny network ---------------------------------------


@pytest.fixture(scope="module")
def images():
    return make_pose_dataset(24, image_size=32, random_state=0)


@pytest.fixture(scope="module")
def net(images):
    X, y = images
    return HourglassRegressor(
        module__n_features=8,
        module__n_stacks=1,
        module__depth=2,
        module__dropout=0.2,
        loss_prediction=True,
        max_epochs=1,
        random_state=0,
    ).fit(X[:12], y[:12])


def _image_cases(X, y):
    Xl, yl, Xp = X[:12], y[:12], X[12:20]
    return {
        "duplicated pool": (np.repeat(Xp[:1], 5, axis=0), Xl, yl),
        "duplicated labelled": (Xp, np.repeat(Xl[:1], 5, axis=0),
                                np.repeat(yl[:1], 5, axis=0)),
        "pool duplicates labelled": (Xl[:4], Xl, yl),
        "identical embeddings": (np.zeros_like(Xp), np.zeros_like(Xl), yl),
        "single labelled": (Xp, Xl[:1], yl[:1]),
        "pool of one": (Xp[:1], Xl, yl),
        "scale 1e-12": (Xp * 1e-12, Xl * 1e-12, yl),
        "scale 1e12": (Xp * 1e12, Xl * 1e12, yl),
        "constant targets": (Xp, Xl, np.full_like(yl, 10.0)),
        "all joints unannotated": (Xp, Xl, np.full_like(yl, np.nan)),
    }


IMAGE_CASES = tuple(_image_cases(np.zeros((24, 1, 2, 2)), np.zeros((24, 4))))


@pytest.mark.parametrize("case", IMAGE_CASES)
@pytest.mark.parametrize("name", NEURAL)
def test_image_strategies_on_degenerate_data(net, images, name, case):
    X_pool, X_lab, y_lab = _image_cases(*images)[case]
    strategy = make_strategy(name, n_labelled=len(X_lab))
    # predicted losses are a ranking, not a loss: they may be negative; with
    # no joint annotated, no label constrains greedy sampling's output
    # distances (documented: inf, as Core-set's without a labelled set)
    check_query(strategy, net, X_pool, X_lab, y_lab,
                non_negative=name != "learning_loss",
                finite=not (name == "greedy_sampling"
                            and case == "all joints unannotated"))


# not mc_dropout: it draws fresh dropout masks for every sample
@pytest.mark.parametrize("name", ("coreset", "multipeak_entropy", "learning_loss",
                                  "egl_pp"))
def test_duplicated_pool_samples_get_equal_scores(net, images, name):
    X, y = images
    X_pool = np.concatenate([X[12:15], X[12:15]])
    strategy = make_strategy(name)
    with strict_numerics():
        scores = strategy.score(net, X_pool, X_labelled=X[:12], y_labelled=y[:12])
    # float32 forwards: a sample's output may differ in the last bits with its
    # position in the batch (vectorised kernels), about 2e-5 relative seen
    # for the loss head, which has no float64 stage
    np.testing.assert_allclose(scores[:3], scores[3:], rtol=1e-4)


def test_coreset_never_repeats_a_sample_when_all_distances_are_zero(net, images):
    X, y = images
    X_pool = np.repeat(X[:1], 6, axis=0)
    strategy = make_strategy("coreset")
    with strict_numerics():
        idx = strategy.select(net, X_pool, 6, X_labelled=X[:1], y_labelled=y[:1])
    np.testing.assert_array_equal(idx, np.arange(6))  # ties: lowest index first
    # zero up to float32 convolutions, whose rounding depends on the batch size
    np.testing.assert_allclose(strategy.pick_distances_, 0.0, atol=1e-5)
    assert strategy.covering_radius_ <= 1e-5


# -- tabular strategies ------------------------------------------------------------


@pytest.fixture(scope="module")
def tabular():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=30)
    return X, y


def _tabular_cases(X, y):
    Xl, yl, Xp = X[:10], y[:10], X[10:]
    return {
        "duplicated pool": (np.repeat(Xp[:1], 5, axis=0), Xl, yl),
        "duplicated labelled": (Xp, np.repeat(Xl[:2], 5, axis=0),
                                np.repeat(yl[:2], 5)),
        "identical labelled": (Xp, np.repeat(Xl[:1], 5, axis=0),
                               np.repeat(yl[:1], 5)),
        "pool duplicates labelled": (Xl, Xl, yl),
        "single labelled": (Xp, Xl[:1], yl[:1]),
        "fewer labelled than features": (Xp, Xl[:2], yl[:2]),
        "pool of one": (Xp[:1], Xl, yl),
        "identical pool and labelled": (np.ones((4, 3)), np.ones((6, 3)),
                                        np.arange(6.0)),
        "constant feature": (np.c_[Xp[:, :2], np.ones(len(Xp))],
                             np.c_[Xl[:, :2], np.ones(len(Xl))], yl),
        "scale 1e-12": (Xp * 1e-12, Xl * 1e-12, yl * 1e-12),
        "scale 1e12": (Xp * 1e12, Xl * 1e12, yl * 1e12),
        "constant targets": (Xp, Xl, np.full_like(yl, 3.0)),
        "zero targets": (Xp, Xl, np.zeros_like(yl)),
    }


TABULAR_CASES = tuple(_tabular_cases(np.zeros((30, 3)), np.zeros(30)))


@pytest.mark.parametrize("model", ("ols", "ridge"))
@pytest.mark.parametrize("case", TABULAR_CASES)
@pytest.mark.parametrize("name", TABULAR)
def test_tabular_strategies_on_degenerate_data(tabular, name, case, model):
    X_pool, X_lab, y_lab = _tabular_cases(*tabular)[case]
    estimator = LinearRegression() if model == "ols" else Ridge(alpha=1e-3)
    with strict_numerics():
        estimator.fit(X_lab, y_lab)
    scores = check_query(make_strategy(name), estimator, X_pool, X_lab, y_lab)
    if case == "duplicated pool" and name != "random_query":
        np.testing.assert_allclose(scores, scores[0])


@pytest.mark.parametrize("name", ("egl_linear", "emcm"))
def test_exact_targets_give_zero_scores_and_lowest_indices(tabular, name):
    """A noiseless linear truth: every learner equals f_z, nothing to gain.

    The documented sensible result: all scores are (numerically) zero and
    ties go to the lowest indices.
    """
    X, _ = tabular
    y = X @ [2.0, 0.0, -1.0] + 4.0
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = make_strategy(name)
    with strict_numerics():
        scores = strategy.score(model, X[10:], X_labelled=X[:10], y_labelled=y[:10])
    assert np.all(scores <= 1e-12 * (1 + np.abs(y).max()) ** 2)
    constant = np.full(10, 3.0)
    model = LinearRegression().fit(X[:10], constant)
    with strict_numerics():
        scores = strategy.score(model, X[10:], X_labelled=X[:10], y_labelled=constant)
        idx = strategy.select(model, X[10:], 3, X_labelled=X[:10],
                              y_labelled=constant)
    np.testing.assert_allclose(scores, 0.0, atol=1e-12)  # round-off only
    assert len(set(idx.tolist())) == 3
    if np.all(scores == 0):
        np.testing.assert_array_equal(idx, [0, 1, 2])


@pytest.mark.parametrize("scale", (1e-12, 1e12))
def test_coreset_selection_is_scale_invariant(tabular, scale):
    X, y = tabular
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = make_strategy("coreset")
    expected = strategy.select(model, X[10:], 8, X_labelled=X[:10],
                               y_labelled=y[:10])
    radius = strategy.covering_radius_
    with strict_numerics():
        got = strategy.select(model, X[10:] * scale, 8, X_labelled=X[:10] * scale,
                              y_labelled=y[:10])
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(strategy.covering_radius_, radius * scale, rtol=1e-9)


def test_multipeak_entropy_on_flat_and_tied_heatmaps():
    """Constant maps have no peak (entropy 0); k equal peaks give log(k)."""

    class Heatmaps:
        def __init__(self, maps):
            self.maps = maps

        def predict_heatmaps(self, X):
            return self.maps[np.asarray(X, dtype=int)[:, 0]]

    maps = np.zeros((4, 2, 9, 9))
    maps[1] = 1e-12  # constant, tiny
    maps[2] = 1e12  # constant, huge
    maps[3, :, 1, 1] = maps[3, :, 7, 7] = maps[3, :, 1, 7] = 1e12  # 3 equal peaks
    strategy = make_strategy("multipeak_entropy")
    X_pool = np.arange(4.0)[:, None]
    with strict_numerics():
        scores = strategy.score(Heatmaps(maps), X_pool)
    np.testing.assert_allclose(scores, [0.0, 0.0, 0.0, 2 * np.log(3)])


@pytest.mark.parametrize("sigma", (1e-300, 1e-160, 1e-3, 1e3, 1e160, 1e300))
def test_heatmaps_for_tiny_and_huge_sigma(sigma):
    """Limits: a single hot pixel for tiny sigma, a flat map for huge sigma."""
    from sk_eglpp import keypoints_to_heatmaps

    keypoints = [[2.0, 1.0, np.nan, np.nan]]
    with strict_numerics():
        h = keypoints_to_heatmaps(keypoints, (4, 5), sigma=sigma)
    assert h.shape == (1, 2, 4, 5) and np.all(np.isfinite(h))
    assert h[0, 0, 1, 2] == 1.0 and not h[0, 1].any()
    # reference: the Gaussian evaluated pixel by pixel in log space
    v, u = np.mgrid[0:4, 0:5]
    with np.errstate(over="ignore"):  # far pixels for tiny sigma: -inf
        log = -0.5 * (((u - 2.0) / sigma) ** 2 + ((v - 1.0) / sigma) ** 2)
    np.testing.assert_allclose(h[0, 0], np.exp(np.maximum(log, -745.0)),
                               rtol=1e-6, atol=1e-30)
