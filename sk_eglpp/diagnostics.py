"""Does a strategy's utility estimate what it claims? Checks against the truth.

In a simulation the pool's labels are known, so the quantity EGL++
approximates can be computed exactly: the squared gradient length of the loss
at the sample's **real** label (paper Eq. 4). :func:`utility_fidelity`
compares every strategy's utilities with it, and with the model's true error
on the sample, without any retraining.
"""

import warnings

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from ._param_validation import POSITIVE_INT, StrOptions, validate_params
from ._validation import check_n_instances

__all__ = [
    "FIDELITY_COLUMNS",
    "fidelity_measures",
    "true_gradient_lengths",
    "utility_fidelity",
]

#: what the true top-B of the precision ranks by
_TRUTHS = ("gradient", "error")

#: the measures of :func:`utility_fidelity`, per strategy
FIDELITY_COLUMNS = ("spearman_gradient", "spearman_error", "precision")


def _final_step(estimator, X):
    """The last step of a pipeline and ``X`` through the steps before it."""
    if isinstance(estimator, Pipeline):
        return estimator[-1], estimator[:-1].transform(X)
    return estimator, X


@validate_params(
    {
        "estimator": ["no_validation"],
        "X": ["array-like"],
        "y": ["array-like"],
        # nets only, checked by squared_gradient_norms (which loads torch)
        "parameters": ["no_validation"],
        "batch_size": [POSITIVE_INT],
        "device": [None, "device"],
    }
)
def true_gradient_lengths(
    estimator, X, y, *, parameters="default", batch_size=16, device=None
):
    """Squared gradient length of the loss at each sample's real label (Eq. 4).

    ``||grad_theta l(x_i, y_i)||^2``: what EGL++ estimates by an expectation
    over the labels of neighbours, and the expected gradient length of a
    linear model (paper Eq. 6) by an integral over the predictive density.

    - skorch nets and torch modules: the squared error loss EGL++ uses
      (``target="label"``: the label rendered by ``render_targets`` when the
      estimator has it, e.g. heatmaps for the hourglass, NaN entries masked
      out), over the ``parameters`` of
      :func:`sk_eglpp.gradients.squared_gradient_norms`, model in eval mode;
    - linear models (``coef_``, also at the end of a pipeline):
      ``4 (x^T w + b - y)^2 (||x||^2 + 1)`` for the squared error, summed over
      outputs (the ``+ 1`` is the intercept, when the model fits one), with
      ``x`` the input of the final step.

    Parameters
    ----------
    estimator : fitted skorch net, torch module, linear model or pipeline
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        The real labels (NaN allowed for nets: masked out).
    parameters : {"default", "all", "last"}, callable or list, default="default"
        Nets only; as for :class:`~sk_eglpp.query.EGLPlusPlusQuery`.
    batch_size : int, default=16
        Nets only: inputs per forward pass.
    device : str or torch.device, default=None
        Nets only; ``None`` uses the estimator's device.

    Returns
    -------
    lengths : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = LinearRegression().fit(X, [0.0, 1.0, 2.0, 3.0])
    >>> true_gradient_lengths(model, X, [0.0, 1.0, 2.0, 4.0]).round(6).tolist()
    [0.0, 0.0, 0.0, 40.0]
    """
    final, Xt = _final_step(estimator, X)
    if hasattr(final, "coef_") and not hasattr(final, "module_"):
        return _linear_gradient_lengths(final, Xt, y)
    from ._network import as_module_input, device_of, fitted_module, render_targets
    from .gradients import squared_gradient_norms

    module = fitted_module(final)
    Xt = np.asarray(Xt)
    y = np.asarray(y, dtype=np.float64)
    if y.shape[0] != Xt.shape[0]:
        raise ValueError(
            f"X and y must have the same number of samples, got {Xt.shape[0]} and "
            f"{y.shape[0]}."
        )
    targets, weights = render_targets(final, y)
    device = device if device is not None else device_of(final)
    norms = squared_gradient_norms(
        module,
        as_module_input(Xt, module),
        targets,
        np.arange(Xt.shape[0]).reshape(-1, 1),
        weight_bank=weights,
        parameters=parameters,
        batch_size=batch_size,
        device=device,
    )
    return norms[:, 0]


def _linear_gradient_lengths(model, X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(
            "X must be 2-D with one row per entry of y, got shapes "
            f"{X.shape} and {y.shape}."
        )
    residual = np.asarray(model.predict(X), dtype=np.float64).reshape(len(X), -1)
    residual = residual - y.reshape(len(X), -1)
    intercept = 1.0 if getattr(model, "fit_intercept", True) else 0.0
    norm_x = np.sum(X**2, axis=1) + intercept
    return 4.0 * np.sum(residual**2, axis=1) * norm_x


def per_sample_error(estimator, X, y):
    """Mean squared error of each sample's prediction over its observed outputs."""
    pred = np.asarray(estimator.predict(X), dtype=np.float64).reshape(len(X), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(X), -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows -> NaN
        return np.nanmean((pred - y) ** 2, axis=1)


def _spearman(a, b):
    """Spearman's rho over the finite pairs; NaN when a side is constant."""
    finite = np.isfinite(a) & np.isfinite(b)
    a, b = a[finite], b[finite]
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def _utilities(strategy, estimator, X_pool, n_instances, X_labelled, y_labelled):
    """Selected indices and every pool sample's utility (None if not given)."""
    from .query import select_with_utilities

    indices, utilities = select_with_utilities(
        strategy, estimator, X_pool, n_instances,
        X_labelled=X_labelled, y_labelled=y_labelled,
    )
    if utilities is not None:
        utilities = np.asarray(utilities, dtype=np.float64)
    return np.asarray(indices, dtype=np.int64), utilities


@validate_params(
    {
        "utilities": ["array-like", None],
        "selected": ["array-like"],
        "gradient": ["array-like"],
        "error": ["array-like"],
        "truth": [StrOptions(_TRUTHS)],
    }
)
def fidelity_measures(utilities, selected, gradient, error, truth="gradient"):
    """The measures of :func:`utility_fidelity` from computed arrays.

    Parameters
    ----------
    utilities : ndarray of shape (n_pool,) or None
        A strategy's utility of every pool sample (None: correlations NaN).
    selected : array-like of int of shape (B,)
        The indices it selected.
    gradient, error : ndarray of shape (n_pool,)
        True squared gradient lengths and per-sample errors.
    truth : {"gradient", "error"}, default="gradient"
        What the true top-B of ``precision`` ranks by.

    Returns
    -------
    measures : dict
        ``spearman_gradient``, ``spearman_error`` and ``precision``.

    Examples
    --------
    >>> import numpy as np
    >>> m = fidelity_measures(np.array([3.0, 2.0, 1.0]), [0], np.array([9.0, 4.0, 1.0]),
    ...                       np.array([1.0, 2.0, 3.0]))
    >>> m["spearman_gradient"], m["spearman_error"], m["precision"]
    (1.0, -1.0, 1.0)
    """
    selected = np.asarray(selected, dtype=np.int64)
    ranked = np.asarray(gradient if truth == "gradient" else error, dtype=np.float64)
    order = np.argsort(-np.where(np.isfinite(ranked), ranked, -np.inf), kind="stable")
    true_top = set(order[: selected.size].tolist())
    if utilities is None:
        rho_g = rho_e = float("nan")
    else:
        utilities = np.asarray(utilities, dtype=np.float64)
        rho_g, rho_e = _spearman(utilities, gradient), _spearman(utilities, error)
    hits = sum(int(i) in true_top for i in selected)
    return {
        "spearman_gradient": rho_g,
        "spearman_error": rho_e,
        "precision": hits / max(selected.size, 1),
    }


@validate_params(
    {
        "estimator": ["no_validation"],
        "X_pool": ["array-like"],
        "y_pool": ["array-like"],
        "strategies": ["no_validation"],  # resolved by resolve_strategies
        "X_labelled": ["array-like", None],
        "y_labelled": ["array-like", None],
        "n_instances": [None, POSITIVE_INT],  # at most n_pool: checked below
        "truth": [StrOptions(_TRUTHS)],
        "random_state": [None, "random_state"],
        "parameters": ["no_validation"],  # as for true_gradient_lengths
        "batch_size": [POSITIVE_INT],
        "device": [None, "device"],
        "return_truth": ["boolean"],
    }
)
def utility_fidelity(
    estimator,
    X_pool,
    y_pool,
    strategies,
    *,
    X_labelled=None,
    y_labelled=None,
    n_instances=None,
    truth="gradient",
    random_state=None,
    parameters="default",
    batch_size=16,
    device=None,
    return_truth=False,
):
    """How well each strategy's utilities track the truth on a labelled pool.

    For a fitted model and a pool whose labels are known (a simulation), every
    strategy scores and selects from the pool as it would in a query; its
    utilities are then compared with

    - the **true squared gradient length** of every pool sample, the loss's
      gradient at the sample's real label (paper Eq. 4,
      :func:`true_gradient_lengths`): the quantity EGL++ (Eq. 7) and the
      linear EGL (Eq. 6) estimate;
    - the **true per-sample error** of the model: the mean squared error of
      its prediction over the observed outputs (pixels of keypoint error
      squared for the hourglass).

    Nothing is retrained, so a comparison of configurations takes one query
    per strategy.

    Parameters
    ----------
    estimator : fitted estimator
        The model the strategies query (a skorch net, torch module, linear
        model or pipeline; see :func:`true_gradient_lengths`).
    X_pool : array-like of shape (n_pool, ...)
    y_pool : array-like of shape (n_pool,) or (n_pool, n_outputs)
        The pool's real labels (never shown to the strategies).
    strategies : str, strategy, callable, list or dict
        As for :func:`sk_eglpp.simulation.simulate`: registry names, strategy
        objects (cloned, never modified), modAL-style callables, or a dict
        ``{name: strategy}``.
    X_labelled, y_labelled : array-like, default=None
        The labelled set, for strategies that need it.
    n_instances : int, default=None
        B, the batch the precision is measured on; ``None`` uses 10 % of the
        pool (at least 1).
    truth : {"gradient", "error"}, default="gradient"
        What the true top-B of ``precision`` ranks by.
    random_state : int, RandomState instance or None, default=None
        Seeds strategies whose ``random_state`` parameter is None.
    parameters, batch_size, device
        Passed to :func:`true_gradient_lengths` (nets only).
    return_truth : bool, default=False
        Also return the true values themselves.

    Returns
    -------
    fidelity : dict of str to dict
        Per strategy name, the measures of :data:`FIDELITY_COLUMNS`:
        ``spearman_gradient`` (Spearman's rho of the utilities with the true
        squared gradient lengths), ``spearman_error`` (with the true
        per-sample errors) and ``precision`` (the fraction of the strategy's
        B selected samples that are among the B largest of ``truth``; random
        selection gives B / n_pool in expectation). The correlations are NaN
        for a strategy that gives no utility per pool sample (a bare
        callable) or a constant one.
    truth : dict of str to ndarray of shape (n_pool,)
        Only with ``return_truth=True``: ``{"gradient": ..., "error": ...}``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sk_eglpp.diagnostics import utility_fidelity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_t(3, size=(200, 3))
    >>> y = X @ [1.0, -1.0, 0.5] + rng.normal(size=200)
    >>> model = Ridge().fit(X[:20], y[:20])
    >>> fid = utility_fidelity(model, X[20:], y[20:], ["egl_linear", "random_query"],
    ...                        X_labelled=X[:20], y_labelled=y[:20],
    ...                        n_instances=10, random_state=0)
    >>> sorted(fid["egl_linear"])
    ['precision', 'spearman_error', 'spearman_gradient']
    >>> rho = {name: m["spearman_gradient"] for name, m in fid.items()}
    >>> bool(rho["egl_linear"] > rho["random_query"])
    True
    """
    from .query._resolve import resolve_strategies

    batch_size = int(batch_size)
    labels, objects = resolve_strategies(strategies)
    n_pool = len(X_pool)
    if len(y_pool) != n_pool:
        raise ValueError(
            f"X_pool and y_pool must have the same number of samples, got {n_pool} "
            f"and {len(y_pool)}."
        )
    if n_instances is None:
        n_instances = max(1, n_pool // 10)
    n_instances = check_n_instances(n_instances, n_pool)
    rng = check_random_state(random_state)
    gradient = true_gradient_lengths(
        estimator,
        X_pool,
        y_pool,
        parameters=parameters,
        batch_size=batch_size,
        device=device,
    )
    error = per_sample_error(estimator, X_pool, y_pool)
    out = {}
    for label, strategy in zip(labels, objects, strict=True):
        if hasattr(strategy, "get_params"):
            params = strategy.get_params(deep=False)
            if "random_state" in params and params["random_state"] is None:
                seed = int(rng.randint(np.iinfo(np.int32).max))
                strategy = clone(strategy).set_params(random_state=seed)
        indices, scores = _utilities(
            strategy, estimator, X_pool, n_instances, X_labelled, y_labelled
        )
        out[label] = fidelity_measures(scores, indices, gradient, error, truth)
    if return_truth:
        return out, {"gradient": gradient, "error": error}
    return out
