"""Robustness, item 1 of issue 9: every public entry point rejects bad input.

Each bad input gets a ``ValueError`` / ``TypeError`` / ``NotFittedError`` whose
message says what was expected and what was got, or a documented sensible
result (checked against the result on the equivalent good input).
"""

import contextlib
import warnings

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_eglpp import (
    ActiveLearner,
    BootstrapLinearRegressor,
    HourglassRegressor,
    heatmaps_to_keypoints,
    keypoints_to_heatmaps,
    load_lsp,
    load_lspet,
    load_mpii,
    make_pose_dataset,
)
from sk_eglpp.metrics import pck, pckh
from sk_eglpp.query import STRATEGIES, get_strategy, random_query

LINEAR = ("egl_linear", "emcm")
NEURAL = ("egl_pp", "coreset", "multipeak_entropy", "learning_loss", "mc_dropout")
ALL = tuple(sorted(STRATEGIES))


@contextlib.contextmanager
def no_warnings():
    """Turn every warning into an error inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def tiny_net(**kwargs):
    params = dict(
        module__n_features=8,
        module__n_stacks=1,
        module__depth=2,
        max_epochs=1,
        random_state=0,
    )
    params.update(kwargs)
    return HourglassRegressor(**params)


@pytest.fixture(scope="module")
def images():
    return make_pose_dataset(24, image_size=32, random_state=0)


@pytest.fixture(scope="module")
def net(images):
    """One tiny fitted hourglass with dropout and a loss head: every strategy."""
    X, y = images
    return tiny_net(module__dropout=0.2, loss_prediction=True).fit(X[:12], y[:12])


@pytest.fixture(scope="module")
def tabular():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=30)
    return X, y


def make_strategy(name):
    strategy = get_strategy(name)
    if name == "egl_pp":
        strategy.set_params(n_neighbors=4, perplexity=2.0)
    if name == "mc_dropout":
        strategy.set_params(n_samples=3)
    if "random_state" in strategy.get_params():
        strategy.set_params(random_state=0)
    return strategy


@pytest.fixture(scope="module")
def setups(net, images, tabular):
    """name -> (strategy, model, X_labelled, y_labelled, X_pool)."""
    X, y = images
    Xt, yt = tabular
    linear = LinearRegression().fit(Xt[:10], yt[:10])
    out = {}
    for name in ALL:
        if name in LINEAR:
            out[name] = (make_strategy(name), linear, Xt[:10], yt[:10], Xt[10:])
        else:
            out[name] = (make_strategy(name), net, X[:12], y[:12], X[12:20])
    return out


def _with_nan(X):
    X = np.array(X, dtype=np.float64)
    X.flat[0] = np.nan
    return X


def _with_inf(X):
    X = np.array(X, dtype=np.float64)
    X.flat[0] = np.inf
    return X


BAD_POOLS = {
    "nan": (_with_nan, ValueError, "X_pool contains NaN"),
    "inf": (_with_inf, ValueError, "X_pool contains infinity"),
    "empty": (lambda X: X[:0], ValueError, "X_pool must contain at least one sample"),
    "1-D": (
        lambda X: np.asarray(X).reshape(len(X), -1)[:, 0],
        ValueError,
        r"X_pool must be 2-D .* got an array of shape \(\d+,\)",
    ),
    "strings": (
        lambda X: np.full(np.shape(X), "a", dtype=object),
        ValueError,
        "X_pool must hold numbers .* could not convert string",
    ),
    "None": (lambda X: None, TypeError, "X_pool must be an array of samples"),
    "no features": (
        lambda X: np.zeros((len(X), 0)),
        ValueError,
        r"X_pool: Found array with 0 feature\(s\)",
    ),
    "ragged": (
        lambda X: [[1.0, 2.0], [3.0]],
        ValueError,
        "X_pool: setting an array element with a sequence",
    ),
}


@pytest.mark.parametrize("bad", sorted(BAD_POOLS))
@pytest.mark.parametrize("name", ALL)
def test_bad_pool(setups, name, bad):
    strategy, model, X_lab, y_lab, X_pool = setups[name]
    make, error, match = BAD_POOLS[bad]
    kwargs = dict(X_labelled=X_lab, y_labelled=y_lab)
    for call in (strategy.select, strategy):
        with pytest.raises(error, match=match):
            call(model, make(X_pool), 1, **kwargs)
    if bad not in ("empty", "None"):  # score takes no n_instances
        with pytest.raises(error, match=match):
            strategy.score(model, make(X_pool), **kwargs)


@pytest.mark.parametrize(
    "n_instances, error, match",
    [
        (0, ValueError, r"n_instances must be in \[1, 8\], got 0"),
        (-1, ValueError, r"n_instances must be in \[1, 8\], got -1"),
        (9, ValueError, r"n_instances must be in \[1, 8\], got 9"),
        (2.0, TypeError, r"n_instances must be an integer, got 2.0 \(float\)"),
        (True, TypeError, r"n_instances must be an integer, got True \(bool\)"),
        ("2", TypeError, r"n_instances must be an integer, got '2' \(str\)"),
    ],
)
@pytest.mark.parametrize("name", ALL)
def test_bad_n_instances(setups, name, n_instances, error, match):
    strategy, model, X_lab, y_lab, X_pool = setups[name]
    X_pool = X_pool[:8]
    for call in (strategy.select, strategy):
        with pytest.raises(error, match=match):
            call(model, X_pool, n_instances, X_labelled=X_lab, y_labelled=y_lab)


def test_n_instances_equal_to_pool_size_selects_everything(setups):
    for name in ALL:
        strategy, model, X_lab, y_lab, X_pool = setups[name]
        idx = strategy.select(
            model, X_pool, len(X_pool), X_labelled=X_lab, y_labelled=y_lab
        )
        assert sorted(idx.tolist()) == list(range(len(X_pool))), name


BAD_LABELLED = {
    "lengths": (
        lambda X, y: (X, y[:3]),
        ValueError,
        r"X_labelled and y_labelled must have the same number of samples, got "
        r"\d+ and 3",
    ),
    "empty": (
        lambda X, y: (X[:0], y[:0]),
        ValueError,
        "X_labelled must contain at least one sample",
    ),
    "sample shape": (
        lambda X, y: (np.asarray(X)[..., :2], y),
        ValueError,
        "X_labelled and X_pool must have samples of the same shape",
    ),
    "y inf": (
        lambda X, y: (X, np.full(np.shape(y), np.inf)),
        ValueError,
        "y_labelled contains infinity",
    ),
    "y strings": (
        lambda X, y: (X, np.full(np.shape(y), "a", dtype=object)),
        ValueError,
        "y_labelled must hold numbers",
    ),
    "X nan": (
        lambda X, y: (_with_nan(X), y),
        ValueError,
        "X_labelled contains NaN",
    ),
}


@pytest.mark.parametrize("bad", sorted(BAD_LABELLED))
@pytest.mark.parametrize("name", sorted(set(ALL) - {"random_query"}))
def test_bad_labelled_set(setups, name, bad):
    strategy, model, X_lab, y_lab, X_pool = setups[name]
    make, error, match = BAD_LABELLED[bad]
    X_bad, y_bad = make(X_lab, y_lab)
    with pytest.raises(error, match=match):
        strategy.select(model, X_pool, 1, X_labelled=X_bad, y_labelled=y_bad)


def test_random_query_ignores_the_labelled_set_as_documented(setups):
    """RandomQuery documents that it reads neither model nor labelled data."""
    strategy, model, X_lab, y_lab, X_pool = setups["random_query"]
    expected = strategy.select(None, X_pool, 3)
    got = strategy.select(model, X_pool, 3, X_labelled=X_lab, y_labelled=y_lab[:2])
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", ALL)
def test_labelled_data_must_come_in_pairs(setups, name):
    strategy, model, X_lab, y_lab, X_pool = setups[name]
    with pytest.raises(ValueError, match="given together, got only X_labelled"):
        strategy.select(model, X_pool, 1, X_labelled=X_lab)
    with pytest.raises(ValueError, match="given together, got only y_labelled"):
        strategy.select(model, X_pool, 1, y_labelled=y_lab)


@pytest.mark.parametrize("name", ("egl_pp", "egl_linear", "emcm"))
def test_strategies_that_need_labels_say_so(setups, name):
    strategy, model, _, _, X_pool = setups[name]
    with pytest.raises(ValueError, match="needs the labelled set.*got none"):
        strategy.select(model, X_pool, 1)


@pytest.mark.parametrize("name", sorted(set(ALL) - {"random_query"}))
def test_learner_none(setups, name):
    strategy, _, X_lab, y_lab, X_pool = setups[name]
    with pytest.raises(TypeError, match="learner must be a modAL learner .* got None"):
        strategy.select(None, X_pool, 1, X_labelled=X_lab, y_labelled=y_lab)


@pytest.mark.parametrize("name", NEURAL)
def test_unfitted_network(setups, name):
    strategy, _, X_lab, y_lab, X_pool = setups[name]
    model = tiny_net(loss_prediction=True, module__dropout=0.2)
    with pytest.raises(NotFittedError, match="not initialized"):
        strategy.select(model, X_pool, 1, X_labelled=X_lab, y_labelled=y_lab)


@pytest.mark.parametrize("name", LINEAR)
def test_linear_strategies_need_a_fitted_linear_model(setups, net, name):
    strategy, model, X_lab, y_lab, X_pool = setups[name]
    kwargs = dict(X_labelled=X_lab, y_labelled=y_lab)
    with pytest.raises(NotFittedError, match="LinearRegression instance is not fitted"):
        strategy.select(LinearRegression(), X_pool, 1, **kwargs)
    with pytest.raises(TypeError, match="needs a linear model exposing coef_"):
        strategy.select(StandardScaler().fit(X_lab), X_pool, 1, **kwargs)
    with pytest.raises(ValueError, match="coef_ must have 2 features"):
        strategy.select(model, X_pool[:, :2], 1, X_labelled=X_lab[:, :2],
                        y_labelled=y_lab)
    with pytest.raises(ValueError, match=r"1 output\(s\) per sample but y_labelled"):
        strategy.select(model, X_pool, 1, X_labelled=X_lab,
                        y_labelled=np.c_[y_lab, y_lab])
    with pytest.raises(ValueError, match="y_labelled contains NaN"):
        strategy.select(model, X_pool, 1, X_labelled=X_lab,
                        y_labelled=np.r_[np.nan, y_lab[1:]])


def test_image_strategies_check_the_network_input(setups):
    strategy, model, X_lab, y_lab, X_pool = setups["coreset"]
    with pytest.raises(ValueError, match=r"input must have shape \(n_samples, 1,"):
        strategy.select(model, np.repeat(X_pool, 3, axis=1), 1,
                        X_labelled=np.repeat(X_lab, 3, axis=1), y_labelled=y_lab)
    with pytest.raises(ValueError, match="multiples of 16"):
        strategy.select(model, X_pool[..., :20, :20], 1,
                        X_labelled=X_lab[..., :20, :20], y_labelled=y_lab)


# -- accepted input types: same result as the float array ---------------------


def _convertors():
    pd = pytest.importorskip("pandas")
    return {
        "float32": lambda X: np.asarray(X, dtype=np.float32),
        "int": lambda X: np.round(np.asarray(X) * 100).astype(np.int64),
        "object": lambda X: np.asarray(X).astype(object),
        "list": lambda X: np.asarray(X).tolist(),
        "DataFrame": lambda X: pd.DataFrame(np.asarray(X)),
        "read-only": _read_only,
    }


def _read_only(X):
    X = np.array(X)
    X.flags.writeable = False
    return X


@pytest.mark.parametrize("kind", ["float32", "int", "object", "list", "DataFrame",
                                  "read-only"])
@pytest.mark.parametrize("name", ("egl_linear", "emcm", "coreset", "random_query"))
def test_tabular_input_types(tabular, name, kind):
    convert = _convertors()[kind]
    X, y = tabular
    X = np.round(X * 100) / 100  # exact in every representation
    if kind == "float32":
        X = X.astype(np.float32).astype(np.float64)
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = make_strategy(name)
    expected = strategy.score(model, X[10:], X_labelled=X[:10], y_labelled=y[:10])
    X_conv = convert(X)
    Xp = X_conv[10:] if kind != "DataFrame" else X_conv.iloc[10:]
    Xl = X_conv[:10] if kind != "DataFrame" else X_conv.iloc[:10]
    if kind == "int":
        model = LinearRegression().fit(np.asarray(Xl, dtype=float), y[:10])
        expected = strategy.score(model, np.asarray(Xp, dtype=float),
                                  X_labelled=np.asarray(Xl, dtype=float),
                                  y_labelled=y[:10])
    got = strategy.score(model, Xp, X_labelled=Xl, y_labelled=y[:10])
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("name", ("egl_linear", "emcm", "coreset"))
def test_pipeline_fitted_on_frames_takes_frames_without_warnings(tabular, name):
    """The frame goes through the pipeline as a frame (feature names kept)."""
    pd = pytest.importorskip("pandas")
    X, y = tabular
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    pipe = make_pipeline(StandardScaler(), LinearRegression())
    pipe.fit(frame.iloc[:10], y[:10])
    strategy = make_strategy(name)
    with np.errstate(all="raise"), no_warnings():
        got = strategy.score(pipe, frame.iloc[10:], X_labelled=frame.iloc[:10],
                             y_labelled=pd.Series(y[:10]))
    expected = strategy.score(
        make_pipeline(StandardScaler(), LinearRegression()).fit(X[:10], y[:10]),
        X[10:], X_labelled=X[:10], y_labelled=y[:10],
    )
    np.testing.assert_allclose(got, expected)
    learner = ActiveLearner(pipe, strategy, X_training=frame.iloc[:10],
                            y_training=y[:10])
    with no_warnings():
        idx, _ = learner.query(frame.iloc[10:], n_instances=2)
    assert len(set(idx.tolist())) == 2


@pytest.mark.parametrize(
    "fmt", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "coo_array"]
)
@pytest.mark.parametrize("name", ("egl_linear", "emcm", "random_query"))
def test_sparse_pools_give_the_dense_result(tabular, name, fmt):
    X, y = tabular
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = make_strategy(name)
    expected = strategy.score(model, X[10:], X_labelled=X[:10], y_labelled=y[:10])
    to_sparse = getattr(sp, fmt)
    got = strategy.score(model, to_sparse(X[10:]), X_labelled=to_sparse(X[:10]),
                         y_labelled=y[:10])
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    idx = strategy.select(model, to_sparse(X[10:]), 3, X_labelled=X[:10],
                          y_labelled=y[:10])
    assert len(set(idx.tolist())) == 3


@pytest.mark.parametrize("name", ("coreset", "multipeak_entropy", "egl_pp"))
def test_sparse_pools_rejected_where_dense_is_needed(setups, tabular, name):
    strategy = make_strategy(name)
    X, y = tabular
    model = LinearRegression().fit(X[:10], y[:10])
    with pytest.raises(TypeError, match="X_pool: Sparse data was passed"):
        strategy.select(model, sp.csr_matrix(X[10:]), 1, X_labelled=X[:10],
                        y_labelled=y[:10])


def test_active_learner_rejects_a_strategy_that_is_not_callable(tabular):
    X, y = tabular
    for strategy in ("egl_pp", None):
        with pytest.raises(TypeError, match="query_strategy must be a callable"):
            ActiveLearner(LinearRegression(), strategy, X_training=X, y_training=y)


# -- strategy names -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, error, match",
    [
        ("nope", ValueError, r"Unknown strategy 'nope'; expected one of \["),
        ("EGL_PP", ValueError, "Unknown strategy 'EGL_PP'"),
        ("", ValueError, "Unknown strategy ''"),
        (3, TypeError, "strategy name must be a str, got int"),
        (None, TypeError, "strategy name must be a str, got NoneType"),
    ],
)
def test_unknown_strategy_names(name, error, match):
    with pytest.raises(error, match=match):
        get_strategy(name)


def test_every_listed_name_gives_a_fresh_copy():
    for name in STRATEGIES:
        strategy = get_strategy(name)
        assert strategy is not STRATEGIES[name]
        assert type(strategy) is type(STRATEGIES[name])


# -- EGL++: labelled set smaller than n_neighbors, y of the wrong width ----------


def test_egl_pp_with_fewer_labels_than_neighbours_warns_and_uses_all(setups):
    _, model, X_lab, y_lab, X_pool = setups["egl_pp"]
    strategy = make_strategy("egl_pp").set_params(n_neighbors=30)
    with pytest.warns(UserWarning, match="n_neighbors=30 is larger than the labelled"):
        idx = strategy.select(model, X_pool, 2, X_labelled=X_lab[:3],
                              y_labelled=y_lab[:3])
    assert len(set(idx.tolist())) == 2


def test_egl_pp_rejects_targets_of_the_wrong_width(setups):
    strategy, model, X_lab, y_lab, X_pool = setups["egl_pp"]
    with pytest.raises(ValueError, match="shape"):
        strategy.select(model, X_pool, 1, X_labelled=X_lab, y_labelled=y_lab[:, :6])
    with pytest.raises(ValueError, match=r"y of shape .* even number .*\(12, 5\)"):
        strategy.select(model, X_pool, 1, X_labelled=X_lab, y_labelled=y_lab[:, :5])


# -- estimators -----------------------------------------------------------------


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda X, y: (_with_nan(X), y), ValueError, "Input X contains NaN"),
        (lambda X, y: (_with_inf(X), y), ValueError, "Input X contains infinity"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "X must contain at least one"),
        (lambda X, y: (X[:, 0], y), ValueError, r"shape \(12, 32, 32\)"),
        (lambda X, y: (X.reshape(12, -1), y), ValueError, "image batch of shape"),
        (lambda X, y: (np.full(X.shape, "a", dtype=object), y), ValueError,
         "X must hold numbers"),
        (lambda X, y: (sp.csr_matrix(X.reshape(12, -1)), y), TypeError,
         "X: Sparse data was passed for X, but dense data is required"),
        (lambda X, y: (X, y[:5]), ValueError,
         "X and y must have the same number of samples, got 12 and 5"),
        (lambda X, y: (X, y[:, :5]), ValueError, r"2 \* n_joints.*\(12, 5\)"),
        (lambda X, y: (X, y[:, 0]), ValueError, r"y must have shape .* \(12,\)"),
        (lambda X, y: (X, np.where(np.isnan(y), np.inf, y)), ValueError,
         "y must be finite or NaN"),
        (lambda X, y: (X, np.full(y.shape, "a", dtype=object)), ValueError,
         "y must hold numbers"),
        (lambda X, y: (X, None), ValueError, "requires y to be passed"),
        (lambda X, y: (X[..., :20, :20], y), ValueError, "multiples of 16"),
    ],
)
def test_hourglass_fit_rejects(images, make, error, match):
    X, y = images
    X_bad, y_bad = make(X[:12], y[:12])
    with pytest.raises(error, match=match):
        tiny_net().fit(X_bad, y_bad)


def test_hourglass_accepts_other_dtypes_and_frames(images, net):
    pd = pytest.importorskip("pandas")
    X, y = images
    expected = net.predict(X[12:16])
    for X_in in (X[12:16].astype(np.float64), X[12:16].astype(object),
                 X[12:16].tolist(), _read_only(X[12:16])):
        np.testing.assert_array_equal(net.predict(X_in), expected)
    fitted = tiny_net().fit(X[:12], pd.DataFrame(y[:12]))
    reference = tiny_net().fit(X[:12], y[:12])
    np.testing.assert_array_equal(fitted.predict(X[:4]), reference.predict(X[:4]))


def test_hourglass_wrong_width_for_the_model(images, net):
    X, y = images
    with pytest.raises(ValueError, match="y has 3 joints, but the module predicts 14"):
        tiny_net(warm_start=True).fit(X[:8], y[:8]).fit(X[:8], y[:8, :6])
    with pytest.raises(ValueError, match="y has 3 joints, but the module predicts 14"):
        tiny_net().fit(X[:8], y[:8]).partial_fit(X[:8], y[:8, :6])
    with pytest.raises(ValueError, match="y has 14 joints, but the module predicts 3"):
        tiny_net(module__n_joints=3).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"y_true and y_pred must hold the same"):
        net.score(X[:4], y[:4, :6])
    learner = ActiveLearner(tiny_net(), random_query, X_training=X[:8],
                            y_training=y[:8], force_all_finite=False)
    with pytest.raises(ValueError, match=r"same dimensions .* got X .* y \(6,\)"):
        learner.teach(X[8:10], y[8:10, :6])


def test_hourglass_unfitted_methods_raise_not_fitted(images):
    X, _ = images
    for method in ("predict", "predict_heatmaps", "embed", "predict_loss"):
        with pytest.raises(NotFittedError, match="not initialized"):
            getattr(tiny_net(loss_prediction=True), method)(X[:2])


@pytest.mark.parametrize(
    "fit_args, error, match",
    [
        (lambda X, y: (np.where(X > 1, np.nan, X), y), ValueError, "contains NaN"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "Found array with 0 sample"),
        (lambda X, y: (X, y[:3]), ValueError, "inconsistent numbers of samples"),
        (lambda X, y: (X[:, :, None], y), ValueError, "Found array with dim 3"),
    ],
)
def test_bootstrap_regressor_rejects(tabular, fit_args, error, match):
    X, y = tabular
    with pytest.raises(error, match=match):
        BootstrapLinearRegressor().fit(*fit_args(X, y))


def test_bootstrap_regressor_predict_checks(tabular):
    X, y = tabular
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BootstrapLinearRegressor().predict(X)
    reg = BootstrapLinearRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* expecting 3"):
        reg.predict(X[:, :2])
    mean, std = reg.predict(sp.coo_matrix(X), return_std=True)
    dense_mean, dense_std = reg.predict(X, return_std=True)
    np.testing.assert_allclose(std, dense_std)
    np.testing.assert_allclose(mean, dense_mean)


# -- metrics and heatmaps --------------------------------------------------------


@pytest.fixture
def keypoints():
    rng = np.random.default_rng(1)
    y_true = rng.uniform(0, 30, size=(4, 28))
    return y_true, y_true + rng.normal(scale=2.0, size=y_true.shape)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda t, p: (t, p[:2]), ValueError, "must hold the same samples and joints"),
        (lambda t, p: (t[:, :5], p[:, :5]), ValueError, "even number of columns"),
        (lambda t, p: (t[:0], p[:0]), ValueError, "at least one sample, got 0"),
        (lambda t, p: (t[0], p[0]), ValueError, r"got shape \(28,\)"),
        (lambda t, p: (np.full_like(t, np.inf), p), ValueError,
         "y_true must be finite or NaN"),
        (lambda t, p: (np.full(t.shape, "a", dtype=object), p), ValueError,
         "y_true must hold numbers"),
        (lambda t, p: (t, np.full(p.shape, "a", dtype=object)), ValueError,
         "y_pred must hold numbers"),
    ],
)
def test_pck_rejects(keypoints, make, error, match):
    with pytest.raises(error, match=match):
        pck(*make(*keypoints))


def test_pck_documented_results(keypoints):
    pd = pytest.importorskip("pandas")
    y_true, y_pred = keypoints
    expected = pck(y_true, y_pred)
    assert pck(pd.DataFrame(y_true), pd.DataFrame(y_pred)) == expected
    assert pck(y_true.astype(np.float32), y_pred) == pytest.approx(expected)
    with np.errstate(all="raise"):
        assert pck(y_true, np.full_like(y_pred, np.inf)) == 0.0  # inf: a miss
        assert pck(y_true, np.full_like(y_pred, np.nan)) == 0.0  # NaN: a miss
        assert pck(y_true, np.full_like(y_pred, 1e308)) == 0.0  # no overflow
    with pytest.warns(UserWarning, match="no annotated joint"):
        assert np.isnan(pck(np.full_like(y_true, np.nan), y_pred))
    for alpha, error in ((0, ValueError), (float("nan"), ValueError),
                         ("0.2", TypeError), (True, TypeError)):
        with pytest.raises(error, match="alpha must be"):
            pck(y_true, y_pred, alpha=alpha)
    with pytest.raises(ValueError, match=r"torso joints must be in \[0, 13\]"):
        pck(y_true, y_pred, torso=(0, 99))
    with pytest.raises(
        ValueError, match=r"^pck: average must be one of \['all', 'joints'\]"
    ):
        pck(y_true, y_pred, average="x")
    with pytest.raises(TypeError, match="average must be one of"):
        pck(y_true, y_pred, average=None)


def test_pckh_rejects(keypoints):
    y_true, y_pred = keypoints
    boxes = np.tile([0.0, 0.0, 6.0, 8.0], (4, 1))
    assert 0.0 <= pckh(y_true, y_pred, boxes) <= 1.0
    with pytest.raises(ValueError, match=r"head_boxes must have shape .* got \(3, 4\)"):
        pckh(y_true, y_pred, boxes[:3])
    with pytest.raises(ValueError, match="head_boxes must be finite or NaN"):
        pckh(y_true, y_pred, np.full((4, 4), np.inf))
    with pytest.raises(ValueError, match="head_boxes must hold numbers"):
        pckh(y_true, y_pred, [["a"] * 4] * 4)
    with pytest.warns(UserWarning, match="no annotated joint"):
        assert np.isnan(pckh(y_true, y_pred, np.full((4, 4), np.nan)))


def test_heatmap_functions_reject_and_handle_edges():
    with pytest.raises(ValueError, match="keypoints must be finite or NaN"):
        keypoints_to_heatmaps([[np.inf, 1.0]], 4)
    with pytest.raises(ValueError, match="keypoints must hold numbers"):
        keypoints_to_heatmaps([["a", "b"]], 4)
    with pytest.raises(ValueError, match=r"heatmap_size must be positive"):
        keypoints_to_heatmaps([[1.0, 1.0]], 0)
    with pytest.raises(ValueError, match="heatmaps must have shape"):
        heatmaps_to_keypoints(np.zeros((1, 3, 3)))
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="heatmaps must not contain NaN or inf"):
            heatmaps_to_keypoints(np.full((1, 1, 3, 3), bad))
    with pytest.raises(ValueError, match="heatmaps must hold numbers"):
        heatmaps_to_keypoints(np.full((1, 1, 3, 3), "a"))
    with np.errstate(all="raise"):
        # documented: far-away joints give zero maps, empty batches decode empty
        far = keypoints_to_heatmaps([[1e300, 1.0]], 4)
        assert far.shape == (1, 1, 4, 4) and not far.any()
        assert keypoints_to_heatmaps(np.zeros((0, 2)), 4).shape == (0, 1, 4, 4)
        assert heatmaps_to_keypoints(np.zeros((0, 2, 3, 3))).shape == (0, 4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_samples=0), ValueError, r"n_samples must be an int in \[1, inf\)"),
        (dict(n_samples=5.0), TypeError, r"n_samples must be .*got 5.0"),
        (dict(n_samples=5, image_size=8), ValueError, r"image_size must .* \[16"),
        (dict(n_samples=5, n_sequences=6), ValueError, r"n_sequences must be in \[1"),
        (dict(n_samples=5, occlusion=1.5), ValueError, r"occlusion must .* \[0, 1\]"),
        (dict(n_samples=5, noise=-1.0), ValueError, r"noise must be .* in \[0, inf\)"),
        (dict(n_samples=5, spread=(1.0, 0.1)), ValueError, "low <= high"),
        (dict(n_samples=5, shuffle="yes"), TypeError, "shuffle must be a bool"),
    ],
)
def test_make_pose_dataset_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_pose_dataset(**kwargs)


# -- loaders: unreadable or malformed annotation files --------------------------


_V73_HEADER = (
    b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + b"\0" * 8 + b"\0\2IM"
)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "could not read .* as a MATLAB .mat file"),
        (b"garbage" * 20, "could not read .* as a MATLAB .mat file"),
        (_V73_HEADER + b"\0" * 512, r"MATLAB v7.3 \(HDF5\) file"),
    ],
)
@pytest.mark.parametrize("loader", (load_lsp, load_lspet))
def test_leeds_unreadable_annotation_files(tmp_path, loader, content, match):
    (tmp_path / "joints.mat").write_bytes(content)
    with pytest.raises(ValueError, match=match):
        loader(tmp_path)


@pytest.mark.parametrize(
    "joints, match",
    [
        (np.zeros((3, 14, 0)), r"3 x 14 x n_images .* got shape \(3, 14, 0\)"),
        (np.zeros((14, 3, 2)), "This is the other Leeds layout; use load_lspet"),
        (np.array(["abc"]), "must be a real numeric array, got dtype <U3"),
        (np.zeros((3, 14, 2)) + 1j, "must be a real numeric array, got dtype complex"),
    ],
)
def test_lsp_malformed_joints(tmp_path, joints, match):
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    with pytest.raises(ValueError, match=match):
        load_lsp(tmp_path)


def test_loader_paths(tmp_path):
    with pytest.raises(TypeError, match=r"path must be a path \(str or os.PathLike\)"):
        load_mpii(3.5)
    (tmp_path / "joints.mat").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="does not exist or is not a folder"):
        load_lsp(tmp_path / "joints.mat")
    (tmp_path / "dir.mat").mkdir()
    with pytest.raises(FileNotFoundError, match="file .*dir.mat.* not found"):
        load_mpii(tmp_path, annotation_file="dir.mat")
    with pytest.raises(TypeError, match=r"annotation_file must be a path \(str"):
        load_mpii(tmp_path, annotation_file=3)


@pytest.mark.parametrize(
    "content, match",
    [
        ({"X": np.zeros(1)}, r"the struct 'RELEASE' .* got variables \['X'\]"),
        ({"RELEASE": {"foo": 1.0}}, "must be a struct with a field 'annolist'"),
        ({"RELEASE": np.zeros(3)}, "must be a struct with a field 'annolist'"),
        ({"RELEASE": {"annolist": np.array([1.0, 2.0]),
                      "img_train": np.array([1.0, 1.0])}},
         r"malformed MPII annotation .* at annolist\(1\)"),
    ],
)
def test_mpii_malformed_release(tmp_path, content, match):
    scipy.io.savemat(tmp_path / "mpii_human_pose_v1_u12_1.mat", content)
    with pytest.raises(ValueError, match=match):
        load_mpii(tmp_path)


@pytest.mark.parametrize("sigma", (float("nan"), float("inf")))
def test_non_finite_sigma_is_rejected(images, sigma):
    X, y = images
    with pytest.raises(ValueError, match="sigma must be a finite real number"):
        keypoints_to_heatmaps([[1.0, 1.0]], 4, sigma=sigma)
    with pytest.raises(ValueError, match="sigma must be a finite real number"):
        tiny_net(sigma=sigma).fit(X[:4], y[:4])
    for name in ("loss_prediction_margin", "loss_prediction_weight"):
        with pytest.raises(ValueError, match=f"{name} must be a finite real"):
            tiny_net(**{name: sigma}).fit(X[:4], y[:4])
