"""Every strategy parameter is checked at call time, with clear errors.

Wrong types raise ``TypeError``, wrong values ``ValueError``, consistently
across strategies; ``__init__`` only stores the parameters. The table below is
the spec; the tests at the end check the mechanism itself
(``sk_eglpp._param_validation``).
"""

from numbers import Integral, Real

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from sk_eglpp import (
    CoreSetQuery,
    EGLPlusPlusQuery,
    EMCMQuery,
    GreedySamplingQuery,
    LearningLossQuery,
    LinearEGLQuery,
    MCDropoutQuery,
    MultiPeakEntropyQuery,
    RandomQuery,
)
from sk_eglpp._param_validation import (
    POSITIVE_INT,
    Interval,
    StrOptions,
    check_params,
    validate_param,
    validate_params,
)

T, V = TypeError, ValueError

# Every expected message is prefixed with "<ClassName>: " (see PARAMS); the rule
# is TypeError for a value of none of the allowed types, ValueError for a value
# of an allowed type outside the allowed values.
SEED = r"random_state must be an int in \[0, 2\*\*32 - 1\], a numpy RandomState or None"
RANDOM_STATE_CASES = [
    ("random_state", "seed", T, SEED + ", got 'seed' \\(str\\)"),
    ("random_state", 1.5, T, SEED + r", got 1.5 \(float\)"),
    ("random_state", True, T, SEED + r", got True \(bool\)"),
    ("random_state", np.random.default_rng(0), T,
     SEED + r" \(a numpy Generator is not supported"),
    ("random_state", -1, V, SEED + r", got -1 \(int\)"),
    ("random_state", 2**32, V, SEED + ", got 4294967296"),
]

BATCH = r"batch must be one of \['top', 'diverse', 'kmeans\+\+'\]"
BATCH_CASES = [
    ("batch", "greedy", V, BATCH + ", got 'greedy'"),
    ("batch", None, T, BATCH + ", got None"),
]

POS = r"must be an int in \[1, inf\)"
LINEAR_CASES = [
    ("density", -0.5, V, r"density must be a finite real number in \[0, inf\), got"),
    ("density", np.nan, V, "density must be a finite real number"),
    ("density", "1", T, "density must be a finite real number in .* got '1' "),
    *BATCH_CASES,
    ("n_estimators", 0, V, f"n_estimators {POS}, got 0"),
    ("n_estimators", 2.5, T, f"n_estimators {POS}, got 2.5"),
    ("bootstrap", "yes", T, "bootstrap must be a bool, got 'yes'"),
    ("bootstrap", 1, T, r"bootstrap must be a bool, got 1 \(int\)"),
    *RANDOM_STATE_CASES,
]

PERPLEXITY = r"perplexity must be a finite real number in \(0, inf\)"
VERBOSE = r"verbose must be an int in \[0, inf\) or a bool"
N_JOBS = r"n_jobs must be a non-zero int \(-1: all CPUs\) or None"
DEVICE = "device must be a torch.device, a device string such as 'cpu' or 'cuda:0'"
CASES = {
    EGLPlusPlusQuery: [
        ("n_neighbors", 0, V, f"n_neighbors {POS}, got 0"),
        ("n_neighbors", 2.5, T, f"n_neighbors {POS}, got 2.5"),
        ("perplexity", 0.0, V, PERPLEXITY + ", got 0.0"),
        ("perplexity", -3, V, PERPLEXITY + ", got -3"),
        ("perplexity", np.inf, V, PERPLEXITY + ", got inf"),
        ("perplexity", np.nan, V, PERPLEXITY + ", got nan"),
        ("perplexity", "20", T, PERPLEXITY + ", got '20'"),
        ("perplexity", None, T, PERPLEXITY + ", got None"),
        ("target", "labels", V, r"target must be one of \['label', 'prediction'"),
        ("target", None, T, "target must be one of .* got None"),
        ("renormalize", "yes", T, "renormalize must be a bool"),
        ("renormalize", 1, T, "renormalize must be a bool"),
        ("parameters", "first", V,
         r"parameters must be one of \['default', 'all', 'last'\], a callable or "
         "a list, got 'first'"),
        ("parameters", 3, T, "parameters must be one of .* got 3"),
        ("method", "fast", V, r"method must be one of \['exact', 'lowrank'\]"),
        ("method", None, T, "method must be one of"),
        ("energy", 0.0, V, r"energy must be a finite real number in \(0, 1\]"),
        ("energy", 1.5, V, r"energy must be a finite real number in \(0, 1\]"),
        ("energy", np.nan, V, "energy must be a finite real number"),
        ("energy", "0.9", T, "energy must be a finite real number"),
        ("embedding", "embed", T, "embedding must be a callable or None"),
        ("batch_size", 0, V, f"batch_size {POS}, got 0"),
        ("batch_size", "16", T, f"batch_size {POS}, got '16'"),
        ("chunk_size", 0, V, f"chunk_size {POS}, got 0"),
        ("chunk_size", 1.0, T, f"chunk_size {POS}, got 1.0"),
        ("n_jobs", "x", T, N_JOBS + ", got 'x'"),
        ("n_jobs", 1.5, T, N_JOBS + ", got 1.5"),
        ("n_jobs", 0, V, N_JOBS + ", got 0"),
        ("device", "gpu0", V, DEVICE + " or None, got 'gpu0'"),
        ("device", 3.5, T, DEVICE),
        ("verbose", "yes", T, VERBOSE + ", got 'yes'"),
        ("verbose", -1, V, VERBOSE + ", got -1"),
        ("verbose", 1.0, T, VERBOSE + ", got 1.0"),
        *BATCH_CASES,
        *RANDOM_STATE_CASES,
    ],
    LinearEGLQuery: LINEAR_CASES,
    EMCMQuery: LINEAR_CASES,
    CoreSetQuery: [
        ("embedding", 3, T, "embedding must be a callable or None"),
        ("chunk_size", 0, V, f"chunk_size {POS}, got 0"),
        ("chunk_size", "a", T, f"chunk_size {POS}"),
        *RANDOM_STATE_CASES,
    ],
    MultiPeakEntropyQuery: [
        ("min_distance", 0, V, f"min_distance {POS}, got 0"),
        ("min_distance", 1.5, T, f"min_distance {POS}"),
        ("n_peaks", 0, V, rf"n_peaks {POS} or None, got 0"),
        ("n_peaks", "5", T, f"n_peaks {POS} or None"),
        ("threshold_rel", 1.5, V, r"threshold_rel must be a finite real number in "
         r"\[0, 1\] or None"),
        ("threshold_rel", -0.1, V, "threshold_rel must be a finite real number"),
        ("threshold_rel", np.nan, V, "threshold_rel must be a finite real number"),
        ("threshold_rel", "a", T, "threshold_rel must be a finite real number in "
         r"\[0, 1\] or None, got 'a'"),
        ("threshold_abs", "a", T, "threshold_abs must be a finite real number"),
        ("threshold_abs", np.inf, V, "threshold_abs must be a finite real number"),
        ("aggregate", "median", V, r"aggregate must be one of \['max', 'mean'"),
        ("aggregate", None, T, "aggregate must be one of"),
        ("batch_size", 0, V, f"batch_size {POS}, got 0"),
        ("batch_size", 2.0, T, f"batch_size {POS}"),
    ],
    MCDropoutQuery: [
        ("n_samples", 1, V, r"n_samples must be an int in \[2, inf\), got 1"),
        ("n_samples", 2.0, T, r"n_samples must be an int in \[2, inf\)"),
        ("dropout", 1.0, V, r"dropout must be a finite real number in \[0, 1\)"),
        ("dropout", -0.1, V, "dropout must be a finite real number"),
        ("dropout", "0.1", T, r"dropout must be a finite real number in \[0, 1\) "
         "or None"),
        ("output", "logits", V, r"output must be one of \['predict', 'heatmaps'\]"),
        ("output", 1, T, "output must be one of"),
        ("batch_size", 0, V, f"batch_size {POS}, got 0"),
        ("batch_size", None, T, f"batch_size {POS}, got None"),
        *RANDOM_STATE_CASES,
    ],
    RandomQuery: RANDOM_STATE_CASES,
    GreedySamplingQuery: [
        ("mode", "xx", V, r"mode must be one of \['x', 'y', 'xy'\]"),
        ("mode", 1, T, "mode must be one of"),
        ("embedding", 3, T, "embedding must be a callable or None"),
        ("chunk_size", 0, V, f"chunk_size {POS}, got 0"),
        ("chunk_size", 2.0, T, f"chunk_size {POS}"),
    ],
    LearningLossQuery: [],
}

PARAMS = [
    pytest.param(cls, name, value, error, f"^{cls.__name__}: {match}",
                 id=f"{cls.__name__}-{name}-{value!r}")
    for cls, cases in CASES.items()
    for name, value, error, match in cases
]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ [1.0, 2.0, -1.0] + 0.1 * rng.normal(size=20)
    return LinearRegression().fit(X[:10], y[:10]), X[:10], y[:10], X[10:]


def test_every_parameter_is_covered():
    for cls, cases in CASES.items():
        covered = {name for name, *_ in cases}
        assert covered == set(cls().get_params()), cls.__name__


@pytest.mark.parametrize("cls, name, value, error, match", PARAMS)
def test_bad_parameter_raises_at_call_time(problem, cls, name, value, error, match):
    model, X_lab, y_lab, X_pool = problem
    strategy = cls(**{name: value})  # __init__ only stores
    assert strategy.get_params()[name] is value
    clone(strategy)
    with pytest.raises(error, match=match):
        strategy.select(model, X_pool, 2, X_labelled=X_lab, y_labelled=y_lab)
    with pytest.raises(error, match=match):
        strategy.score(model, X_pool, X_labelled=X_lab, y_labelled=y_lab)


@pytest.mark.parametrize(
    "cls, params",
    [
        (EGLPlusPlusQuery, dict(n_jobs=-1, device="cpu", verbose=True, random_state=3,
                                parameters="last", method="lowrank", energy=1)),
        (EGLPlusPlusQuery, dict(verbose=np.int64(2), n_neighbors=np.int32(3),
                                perplexity=np.float32(5.0), energy=np.float64(0.5),
                                parameters=[], embedding=np.asarray)),
        (LinearEGLQuery, dict(bootstrap=np.bool_(False), random_state=np.int64(2),
                              density=0)),
        (CoreSetQuery, dict(random_state=np.random.RandomState(0))),
        (MultiPeakEntropyQuery, dict(threshold_rel=None, threshold_abs=-1,
                                     n_peaks=None)),
        (MultiPeakEntropyQuery, dict(threshold_rel=1, threshold_abs=-1e300)),
        (MCDropoutQuery, dict(dropout=0, random_state=None)),
        (RandomQuery, dict(random_state=2**32 - 1)),
        (RandomQuery, dict(random_state=0)),
    ],
)
def test_valid_edge_values_pass_the_checks(cls, params):
    cls(**params)._validate_constraints()


def test_every_strategy_declares_every_parameter():
    from sk_eglpp.query import STRATEGIES

    classes = {type(s) for s in STRATEGIES.values()}
    assert classes <= set(CASES), classes - set(CASES)
    for cls in classes:
        assert set(cls._parameter_constraints) == set(cls().get_params()), cls


def test_modal_call_validates_too(problem):
    model, X_lab, y_lab, X_pool = problem
    with pytest.raises(ValueError, match="^CoreSetQuery: chunk_size"):
        CoreSetQuery(chunk_size=0)(model, X_pool, 1, X_labelled=X_lab,
                                   y_labelled=y_lab)


def test_validation_happens_once_per_call(problem, monkeypatch):
    model, X_lab, y_lab, X_pool = problem
    strategy = LinearEGLQuery()
    calls = []
    original = LinearEGLQuery._validate_constraints
    monkeypatch.setattr(
        LinearEGLQuery, "_validate_constraints",
        lambda self: calls.append(1) or original(self),
    )
    strategy.select(model, X_pool, 2, X_labelled=X_lab, y_labelled=y_lab)
    strategy.score(model, X_pool, X_labelled=X_lab, y_labelled=y_lab)
    assert len(calls) == 2


# -- the mechanism itself (sk_eglpp._param_validation) ------------------------


@pytest.mark.parametrize("closed", ["left", "right", "both", "neither"])
@pytest.mark.parametrize("kind", [Integral, Real])
def test_interval_against_a_plain_comparison(kind, closed):
    """Interval membership equals the obvious chain of comparisons."""
    interval = Interval(kind, -2, 3, closed=closed)
    lo_ok = {"left": True, "both": True}.get(closed, False)
    hi_ok = {"right": True, "both": True}.get(closed, False)
    values = [-3, -2, -1, 0, 3, 4, -2.0, 0.5, 3.0, np.int64(3), np.float32(-2.0)]
    for value in values:
        expected = isinstance(value, kind) and (
            (-2 < value or (lo_ok and value == -2))
            and (value < 3 or (hi_ok and value == 3))
        )
        assert interval.is_satisfied_by(value) == expected, (value, closed)


@pytest.mark.parametrize(
    "value, error",
    [
        (True, TypeError),  # a bool is not an int here
        (np.bool_(False), TypeError),
        ("3", TypeError),
        (None, TypeError),
        (2.0, TypeError),  # a float for an int
        (0, ValueError),
        (np.int64(-1), ValueError),
    ],
)
def test_type_rule_for_ints(value, error):
    with pytest.raises(error, match=r"^f: k must be an int in \[1, inf\), got "):
        validate_param(value, "k", [POSITIVE_INT], "f")


@pytest.mark.parametrize(
    "value, error",
    [(np.nan, ValueError), (np.inf, ValueError), (-np.inf, ValueError),
     (np.float32(np.nan), ValueError), ("0.5", TypeError), (False, TypeError)],
)
def test_real_intervals_hold_only_finite_numbers(value, error):
    unbounded = Interval(Real, None, None, closed="neither")
    with pytest.raises(error, match="x must be a finite real number in"):
        validate_param(value, "x", [unbounded], "f")


def test_alternatives_and_message_lists_them_with_none_last():
    constraints = [None, StrOptions(["a", "b"]), callable]
    assert validate_param(len, "p", constraints, "C") is len
    assert validate_param(None, "p", constraints, "C") is None
    with pytest.raises(
        ValueError,
        match=r"^C: p must be one of \['a', 'b'\], a callable or None, got 'c' "
        r"\(str\)\.$",
    ):
        validate_param("c", "p", constraints, "C")
    with pytest.raises(TypeError, match=r"got 3 \(int\)\.$"):
        validate_param(3, "p", constraints, "C")


def test_named_constraints():
    import torch

    for value in (0, 2**32 - 1, np.random.RandomState(0)):
        validate_param(value, "random_state", ["random_state"], "f")
    for value in (-1, 1, np.int8(-4)):
        validate_param(value, "n_jobs", ["n_jobs"], "f")
    for value in ("cpu", torch.device("cpu")):
        validate_param(value, "device", ["device"], "f")
    if torch.cuda.device_count() < 4:  # a device this machine lacks: why, named
        with pytest.raises(ValueError, match=r"got 'cuda:3' \(str\): device 'cuda:3'"):
            validate_param("cuda:3", "device", ["device"], "f")
    validate_param(LinearRegression(), "estimator", ["regressor"], "f")
    for bad in (LinearRegression, "LinearRegression", None):
        with pytest.raises(TypeError, match="estimator must be a scikit-learn"):
            validate_param(bad, "estimator", ["regressor"], "f")
    with pytest.raises(ValueError, match="Unknown parameter constraint"):
        validate_param(1, "x", ["positive"], "f")


def test_validation_never_changes_the_value():
    value = [1, 2]
    assert validate_param(value, "p", ["iterable"], "f") is value
    assert value == [1, 2]
    strategy = EGLPlusPlusQuery(perplexity=np.float32(3.0))
    before = strategy.get_params()
    strategy._validate_constraints()
    assert strategy.get_params() == before
    assert type(strategy.perplexity) is np.float32


def test_an_undeclared_parameter_is_a_programming_error():
    with pytest.raises(KeyError):
        check_params({"undeclared": 1}, {}, "f")


def test_the_function_decorator_needs_a_constraint_for_every_parameter():
    with pytest.raises(TypeError, match=r"exactly the parameters \['a', 'b'\]"):

        @validate_params({"a": [None]})
        def f(a, b=None):
            return a

    with pytest.raises(TypeError, match="got \\['a', 'c'\\]"):

        @validate_params({"a": [None], "c": [None]})
        def g(a, **kwargs):
            return a


def test_the_function_decorator_checks_defaults_and_keeps_the_signature():
    import inspect

    @validate_params({"k": [Interval(Integral, 1, None, closed="left")],
                      "data": ["array-like"]})
    def f(data, k=2):
        """Doc."""
        return data, k

    assert f([1], k=3) == ([1], 3)
    assert f.__name__ == "f" and f.__doc__ == "Doc."
    assert list(inspect.signature(f).parameters) == ["data", "k"]
    with pytest.raises(ValueError, match=r"^f: k must be an int in \[1, inf\), got 0"):
        f("anything", 0)
    with pytest.raises(TypeError, match=r"^f: k must be .*, got True \(bool\)\.$"):
        f(None, k=True)


def test_estimators_declare_the_parameters_they_own():
    import inspect

    from skorch import NeuralNet

    from sk_eglpp import BootstrapLinearRegressor, HourglassRegressor

    assert set(BootstrapLinearRegressor._parameter_constraints) == set(
        BootstrapLinearRegressor().get_params()
    )
    own = set(inspect.signature(HourglassRegressor.__init__).parameters)
    own -= set(inspect.signature(NeuralNet.__init__).parameters)
    assert set(HourglassRegressor._parameter_constraints) == own
