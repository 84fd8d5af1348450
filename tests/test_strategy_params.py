"""Every strategy parameter is checked at call time, with clear errors.

Wrong types raise ``TypeError``, wrong values ``ValueError``, consistently
across strategies; ``__init__`` only stores the parameters.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from sk_eglpp import (
    CoreSetQuery,
    EGLPlusPlusQuery,
    EMCMQuery,
    GreedySamplingQuery,
    LinearEGLQuery,
    MCDropoutQuery,
    MultiPeakEntropyQuery,
    RandomQuery,
)

T, V = TypeError, ValueError

RANDOM_STATE_CASES = [
    ("random_state", "seed", T, "random_state must be None, an int or a numpy"),
    ("random_state", 1.5, T, "random_state must be None, an int"),
    ("random_state", True, T, "random_state must be None, an int"),
    ("random_state", np.random.default_rng(0), T, "Generator is not supported"),
    ("random_state", -1, V, r"random_state must be an integer in \[0, 2\*\*32 - 1\]"),
    ("random_state", 2**32, V, r"random_state must be an integer in \[0"),
]

BATCH_CASES = [
    ("batch", "greedy", V, r"batch must be one of \['top', 'diverse', 'kmeans\+\+'\]"),
    ("batch", None, T, "batch must be one of .* got None"),
]

LINEAR_CASES = [
    ("density", -0.5, V, r"density must be a finite number in \[0.0, inf\)"),
    ("density", np.nan, V, "density must be a finite number"),
    ("density", "1", T, "density must be a real number"),
    *BATCH_CASES,
    ("n_estimators", 0, V, "n_estimators must be >= 1, got 0"),
    ("n_estimators", 2.5, T, "n_estimators must be an integer"),
    ("bootstrap", "yes", T, "bootstrap must be a bool"),
    ("bootstrap", 1, T, "bootstrap must be a bool"),
    *RANDOM_STATE_CASES,
]

CASES = {
    EGLPlusPlusQuery: [
        ("n_neighbors", 0, V, "n_neighbors must be >= 1, got 0"),
        ("n_neighbors", 2.5, T, "n_neighbors must be an integer"),
        ("perplexity", 0.0, V, r"perplexity must be a finite number in \(0.0, inf\)"),
        ("perplexity", -3, V, "perplexity must be a finite number"),
        ("perplexity", np.inf, V, "perplexity must be a finite number"),
        ("perplexity", np.nan, V, "perplexity must be a finite number"),
        ("perplexity", "20", T, "perplexity must be a real number"),
        ("perplexity", None, T, "perplexity must be a real number"),
        ("target", "labels", V, r"target must be one of \['label', 'prediction'"),
        ("target", None, T, "target must be one of .* got None"),
        ("renormalize", "yes", T, "renormalize must be a bool"),
        ("renormalize", 1, T, "renormalize must be a bool"),
        ("parameters", "first", V, r"parameters must be one of \['default'"),
        ("parameters", 3, T, "parameters must be one of .* got 3"),
        ("method", "fast", V, r"method must be one of \['exact', 'lowrank'\]"),
        ("method", None, T, "method must be one of"),
        ("embedding", "embed", T, "embedding must be None or a callable"),
        ("batch_size", 0, V, "batch_size must be >= 1, got 0"),
        ("batch_size", "16", T, "batch_size must be an integer"),
        ("chunk_size", 0, V, "chunk_size must be >= 1, got 0"),
        ("chunk_size", 1.0, T, "chunk_size must be an integer"),
        ("n_jobs", "x", T, r"n_jobs must be None or a non-zero integer \(-1"),
        ("n_jobs", 1.5, T, "n_jobs must be None or a non-zero integer"),
        ("n_jobs", 0, V, "n_jobs must be None or a non-zero integer .* got 0"),
        ("device", "gpu0", V, "device must be None, a torch.device or a device"),
        ("device", 3.5, T, "device must be None, a torch.device or a device"),
        ("verbose", "yes", T, "verbose must be a bool or an integer >= 0"),
        ("verbose", -1, V, "verbose must be a bool or an integer >= 0, got -1"),
        *BATCH_CASES,
        *RANDOM_STATE_CASES,
    ],
    LinearEGLQuery: LINEAR_CASES,
    EMCMQuery: LINEAR_CASES,
    CoreSetQuery: [
        ("embedding", 3, T, "embedding must be None or a callable"),
        ("chunk_size", 0, V, "chunk_size must be >= 1, got 0"),
        ("chunk_size", "a", T, "chunk_size must be an integer"),
        *RANDOM_STATE_CASES,
    ],
    MultiPeakEntropyQuery: [
        ("min_distance", 0, V, "min_distance must be >= 1, got 0"),
        ("min_distance", 1.5, T, "min_distance must be an integer"),
        ("n_peaks", 0, V, "n_peaks must be >= 1, got 0"),
        ("n_peaks", "5", T, "n_peaks must be an integer"),
        ("threshold_rel", 1.5, V, r"threshold_rel must be a finite number in \[0.0"),
        ("threshold_rel", -0.1, V, "threshold_rel must be a finite number"),
        ("threshold_rel", np.nan, V, "threshold_rel must be a finite number"),
        ("threshold_rel", "a", T, "threshold_rel must be a real number or None"),
        ("threshold_abs", "a", T, "threshold_abs must be a real number or None"),
        ("threshold_abs", np.inf, V, "threshold_abs must be a finite number"),
        ("aggregate", "median", V, r"aggregate must be one of \['max', 'mean'"),
        ("aggregate", None, T, "aggregate must be one of"),
        ("batch_size", 0, V, "batch_size must be >= 1, got 0"),
        ("batch_size", 2.0, T, "batch_size must be an integer"),
    ],
    MCDropoutQuery: [
        ("n_samples", 1, V, "n_samples must be >= 2, got 1"),
        ("n_samples", 2.0, T, "n_samples must be an integer"),
        ("dropout", 1.0, V, r"dropout must be a finite number in \[0.0, 1.0\)"),
        ("dropout", -0.1, V, "dropout must be a finite number"),
        ("dropout", "0.1", T, "dropout must be a real number or None"),
        ("output", "logits", V, r"output must be one of \['predict', 'heatmaps'\]"),
        ("output", 1, T, "output must be one of"),
        ("batch_size", 0, V, "batch_size must be >= 1, got 0"),
        ("batch_size", None, T, "batch_size must be an integer"),
        *RANDOM_STATE_CASES,
    ],
    RandomQuery: RANDOM_STATE_CASES,
    GreedySamplingQuery: [
        ("mode", "xx", V, r"mode must be one of \['x', 'y', 'xy'\]"),
        ("mode", 1, T, "mode must be one of"),
        ("embedding", 3, T, "embedding must be None or a callable"),
        ("chunk_size", 0, V, "chunk_size must be >= 1, got 0"),
        ("chunk_size", 2.0, T, "chunk_size must be an integer"),
    ],
}

PARAMS = [
    pytest.param(cls, name, value, error, match,
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
        (EGLPlusPlusQuery, dict(n_jobs=-1, device="cpu", verbose=0, random_state=3,
                                parameters="last", method="lowrank")),
        (LinearEGLQuery, dict(bootstrap=np.bool_(False), random_state=np.int64(2))),
        (CoreSetQuery, dict(random_state=np.random.RandomState(0))),
        (MultiPeakEntropyQuery, dict(threshold_rel=None, threshold_abs=-1,
                                     n_peaks=None)),
        (MCDropoutQuery, dict(dropout=0, random_state=None)),
        (RandomQuery, dict(random_state=2**32 - 1)),
    ],
)
def test_valid_edge_values_pass_the_checks(cls, params):
    strategy = cls(**params)
    check = getattr(strategy, "_check_params", None)
    if check is not None:
        check()
