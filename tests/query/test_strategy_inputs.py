"""Every strategy rejects bad input, and takes every accepted input type.

Each bad pool, ``n_instances``, labelled set or learner gets a ``ValueError`` /
``TypeError`` / ``NotFittedError`` whose message says what was expected and
what was got; each accepted input type (float32, int, object, lists, frames,
read-only and sparse arrays) gives the result of the equivalent float array.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_eglpp import ActiveLearner
from sk_eglpp.query import STRATEGIES

LINEAR = ("egl_linear", "emcm")
NEURAL = ("egl_pp", "coreset", "multipeak_entropy", "learning_loss", "mc_dropout")
ALL = tuple(sorted(STRATEGIES))


@pytest.fixture(scope="module")
def setups(fitted_query_hourglass, occluded_pose, tabular, small_strategy):
    """name -> (strategy, model, X_labelled, y_labelled, X_pool)."""
    X, y = occluded_pose
    Xt, yt = tabular
    linear = LinearRegression().fit(Xt[:10], yt[:10])
    out = {}
    for name in ALL:
        if name in LINEAR:
            out[name] = (small_strategy(name), linear, Xt[:10], yt[:10], Xt[10:])
        else:
            out[name] = (small_strategy(name), fitted_query_hourglass, X[:12],
                         y[:12], X[12:20])
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


@pytest.mark.parametrize("name", ALL)
def test_n_instances_equal_to_pool_size_selects_everything(setups, name):
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
    strategy, model, X_lab, y_lab, X_pool = setups[name]
    with pytest.raises(NotFittedError, match="not initialized"):
        strategy.select(clone(model), X_pool, 1, X_labelled=X_lab, y_labelled=y_lab)


def test_image_strategies_check_the_network_input(setups):
    strategy, model, X_lab, y_lab, X_pool = setups["coreset"]
    with pytest.raises(ValueError, match=r"input must have shape \(n_samples, 1,"):
        strategy.select(model, np.repeat(X_pool, 3, axis=1), 1,
                        X_labelled=np.repeat(X_lab, 3, axis=1), y_labelled=y_lab)
    with pytest.raises(ValueError, match="multiples of 16"):
        strategy.select(model, X_pool[..., :20, :20], 1,
                        X_labelled=X_lab[..., :20, :20], y_labelled=y_lab)


# -- accepted input types: same result as the float array ---------------------


def _read_only(X):
    X = np.array(X)
    X.flags.writeable = False
    return X


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


@pytest.mark.parametrize("kind", ["float32", "int", "object", "list", "DataFrame",
                                  "read-only"])
@pytest.mark.parametrize("name", ("egl_linear", "emcm", "coreset", "random_query"))
def test_tabular_input_types(tabular, small_strategy, name, kind):
    convert = _convertors()[kind]
    X, y = tabular
    X = np.round(X * 100) / 100  # exact in every representation
    if kind == "float32":
        X = X.astype(np.float32).astype(np.float64)
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = small_strategy(name)
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
def test_pipeline_fitted_on_frames_takes_frames_without_warnings(
    tabular, small_strategy, name
):
    """The frame goes through the pipeline as a frame (feature names kept)."""
    pd = pytest.importorskip("pandas")
    X, y = tabular
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    pipe = make_pipeline(StandardScaler(), LinearRegression())
    pipe.fit(frame.iloc[:10], y[:10])
    strategy = small_strategy(name)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        got = strategy.score(pipe, frame.iloc[10:], X_labelled=frame.iloc[:10],
                             y_labelled=pd.Series(y[:10]))
    expected = strategy.score(
        make_pipeline(StandardScaler(), LinearRegression()).fit(X[:10], y[:10]),
        X[10:], X_labelled=X[:10], y_labelled=y[:10],
    )
    np.testing.assert_allclose(got, expected)
    learner = ActiveLearner(pipe, strategy, X_training=frame.iloc[:10],
                            y_training=y[:10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idx, _ = learner.query(frame.iloc[10:], n_instances=2)
    assert len(set(idx.tolist())) == 2


@pytest.mark.parametrize(
    "fmt", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "coo_array"]
)
@pytest.mark.parametrize("name", ("egl_linear", "emcm", "random_query"))
def test_sparse_pools_give_the_dense_result(tabular, small_strategy, name, fmt):
    X, y = tabular
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = small_strategy(name)
    expected = strategy.score(model, X[10:], X_labelled=X[:10], y_labelled=y[:10])
    to_sparse = getattr(sp, fmt)
    got = strategy.score(model, to_sparse(X[10:]), X_labelled=to_sparse(X[:10]),
                         y_labelled=y[:10])
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    idx = strategy.select(model, to_sparse(X[10:]), 3, X_labelled=X[:10],
                          y_labelled=y[:10])
    assert len(set(idx.tolist())) == 3


@pytest.mark.parametrize("name", ("coreset", "multipeak_entropy", "egl_pp"))
def test_sparse_pools_rejected_where_dense_is_needed(tabular, small_strategy, name):
    strategy = small_strategy(name)
    X, y = tabular
    model = LinearRegression().fit(X[:10], y[:10])
    with pytest.raises(TypeError, match="X_pool: Sparse data was passed"):
        strategy.select(model, sp.csr_matrix(X[10:]), 1, X_labelled=X[:10],
                        y_labelled=y[:10])
