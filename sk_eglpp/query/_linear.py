"""Closed-form expected gradient length for linear models (paper Eq. 6) and EMCM.

Both strategies read the learner's fitted linear model ``f_z`` (``coef_`` /
``intercept_``), refit a bootstrap ensemble of K least-squares learners on the
labelled set (in the space of the final pipeline step) with the same machinery
as :class:`~sk_eglpp.models.BootstrapLinearRegressor`, and score the pool in
chunks.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_positive_int
from ..models._bootstrap import (
    _chunks,
    _ensemble_moments,
    _expected_sq_deviation,
    _fit_linear_ensemble,
)
from ._base import BaseQueryStrategy

__all__ = ["LinearEGLQuery", "EMCMQuery", "egl_linear", "emcm"]


def _linear_parameters(estimator, n_features, strategy_name):
    """``coef`` of shape (n_outputs, n_features) and ``intercept`` (n_outputs,)."""
    check_is_fitted(estimator)
    if not (hasattr(estimator, "coef_") and hasattr(estimator, "intercept_")):
        raise TypeError(
            f"{strategy_name} needs a linear model exposing coef_ and intercept_ "
            "(LinearRegression, Ridge, Lasso, ...) as the learner's estimator or "
            f"final pipeline step, got {type(estimator).__name__}."
        )
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    coef = coef.reshape(1, -1) if coef.ndim == 1 else coef
    if coef.ndim != 2 or coef.shape[1] != n_features:
        raise ValueError(
            f"The estimator's coef_ must have {n_features} features (those of the "
            f"pool after the pipeline's preceding steps), got shape "
            f"{np.shape(estimator.coef_)}."
        )
    intercept = np.asarray(estimator.intercept_, dtype=np.float64).ravel()
    if intercept.size not in (1, coef.shape[0]):
        raise ValueError(
            f"The estimator's intercept_ must have 1 or {coef.shape[0]} values, got "
            f"shape {np.shape(estimator.intercept_)}."
        )
    return coef, np.broadcast_to(intercept, (coef.shape[0],))


class _BaseLinearQuery(BaseQueryStrategy):
    """Shared set-up of the closed-form linear strategies."""

    _accept_sparse = True
    _needs_labelled = True

    def __init__(self, n_estimators=10, bootstrap=True, random_state=None):
        self.n_estimators = n_estimators
        self.bootstrap = bootstrap
        self.random_state = random_state

    def _ensemble(self, context):
        """Validate the parameters; return ensemble, f_z's coef and intercept."""
        name = type(self).__name__
        n_estimators = check_positive_int(self.n_estimators, "n_estimators")
        if not isinstance(self.bootstrap, bool | np.bool_):
            raise TypeError(
                f"bootstrap must be a bool, got {self.bootstrap!r} "
                f"({type(self.bootstrap).__name__})."
            )
        X_pool, X_labelled = context.X_pool, context.X_labelled
        if X_pool.ndim != 2:
            raise ValueError(
                f"{name} needs 2-D samples (n_samples, n_features), got a pool of "
                f"shape {X_pool.shape}."
            )
        coef, intercept = _linear_parameters(context.estimator, X_pool.shape[1], name)
        y = np.asarray(context.y_labelled, dtype=np.float64)
        y = y.reshape(y.shape[0], -1)
        if y.shape[1] != coef.shape[0]:
            raise ValueError(
                f"The estimator predicts {coef.shape[0]} output(s) but y_labelled has "
                f"{y.shape[1]}."
            )
        fit_intercept = bool(getattr(context.estimator, "fit_intercept", True))
        ensemble = _fit_linear_ensemble(
            X_labelled,
            y,
            n_estimators=n_estimators,
            bootstrap=bool(self.bootstrap),
            fit_intercept=fit_intercept,
            random_state=self.random_state,
        )
        return ensemble, coef, intercept


class LinearEGLQuery(_BaseLinearQuery):
    """Closed-form expected gradient length of a linear model (paper Eq. 6).

    The score of a pool sample ``x`` is

    ``||x~||^2 / K * sum_k sum_o [sigma_k^2(x) + (mu_k(x) - f_z(x))^2]``

    where ``f_z`` is the learner's fitted linear model, ``mu_k`` the K
    least-squares learners fitted on bootstrap resamples of the labelled set,
    ``sigma_k^2(x) = s_k^2 (1 + x~^T (X~_k^T X~_k)^{-1} x~)`` their prediction
    variance with ``s_k^2`` the unbiased residual variance (supplement Eq. 3),
    and ``o`` runs over the outputs. It is the closed form of paper Eq. 5, the
    expected squared gradient norm of the squared loss of ``f_z`` when ``y``
    follows the weak learners' Gaussian predictive distributions.

    Parameters
    ----------
    n_estimators : int, default=10
        Number K of bootstrap learners.
    bootstrap : bool, default=True
        Resample the labelled set with replacement. With ``False`` every
        learner is the least-squares fit on all labelled data and (for a
        least-squares ``f_z``) the score reduces to
        ``||x~||^2 * s^2 (1 + x~^T (X~^T X~)^{-1} x~)``.
    random_state : int, RandomState instance or None, default=None
        Controls the resamples.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Scores of the last call.

    See Also
    --------
    EMCMQuery : Cai et al.'s expected model change (paper Eq. 2).
    sk_eglpp.models.BootstrapLinearRegressor : the same ensemble as a regressor.

    Notes
    -----
    ``x~`` is the vector the gradient of ``(f_z(x) - y)^2 / 2`` is taken over:
    the features of the final pipeline step followed by the intercept's
    constant 1 when the model fits an intercept (``fit_intercept``, default
    True when the estimator has no such parameter). The weak learners are
    least squares whatever ``f_z`` is (``Ridge``, ``Lasso``, ...); they fit an
    intercept exactly when ``f_z`` does. Rank-deficient resamples (fewer rows
    than features, duplicated rows, constant features) use the Moore-Penrose
    pseudo-inverse of ``X~_k^T X~_k``; resamples without degrees of freedom
    use the variance of the labelled targets as ``s_k^2``, see
    :class:`~sk_eglpp.models.BootstrapLinearRegressor`. The pool is scored in
    chunks bounded by scikit-learn's ``working_memory``; sparse pools are
    accepted (the labelled set is densified for the fit).

    References
    ----------
    .. [1] Shukla, "EGL++: Extending Expected Gradient Length to Active Learning
       for Human Pose Estimation", Eq. 5-6 and supplement Eq. 3-4.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp import LinearEGLQuery
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    >>> model = LinearRegression().fit(X[:8], y[:8])
    >>> query = LinearEGLQuery(n_estimators=5, random_state=0)
    >>> query.select(model, X[8:], n_instances=2,
    ...              X_labelled=X[:8], y_labelled=y[:8]).shape
    (2,)
    """

    def _score(self, context):
        ensemble, coef, intercept = self._ensemble(context)
        X = context.X_pool
        reference = np.asarray(X @ coef.T, dtype=np.float64) + intercept
        deviation, sq_norms = _expected_sq_deviation(ensemble, X, reference)
        return sq_norms * deviation.sum(axis=1)


class EMCMQuery(_BaseLinearQuery):
    """Expected model change maximisation of Cai et al. (paper Eq. 2).

    The score of a pool sample ``x`` is

    ``(1/K) sum_k ||(f_z(x) - f_k(x)) x~||``

    with ``f_z`` the learner's fitted linear model and ``f_k`` the K
    least-squares learners fitted on bootstrap resamples of the labelled set.
    For several outputs the norm is the Frobenius norm of the outer product
    ``(f_z(x) - f_k(x)) x~^T``, i.e. ``||f_z(x) - f_k(x)||_2 * ||x~||_2``.

    Parameters
    ----------
    n_estimators : int, default=10
        Number K of bootstrap learners.
    bootstrap : bool, default=True
        Resample the labelled set with replacement. With ``False`` every
        learner is the least-squares fit on all labelled data (all scores are
        then zero for a least-squares ``f_z``).
    random_state : int, RandomState instance or None, default=None
        Controls the resamples.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Scores of the last call.

    See Also
    --------
    LinearEGLQuery : the closed-form expected gradient length (paper Eq. 6).

    Notes
    -----
    ``x~``, the weak learners and the handling of rank-deficient resamples are
    those of :class:`LinearEGLQuery`.

    References
    ----------
    .. [1] Cai, Zhang and Zhou, "Maximizing expected model change for active
       learning in regression", ICDM 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sk_eglpp import EMCMQuery
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    >>> model = Ridge().fit(X[:8], y[:8])
    >>> EMCMQuery(random_state=0).score(
    ...     model, X[8:], X_labelled=X[:8], y_labelled=y[:8]).shape
    (12,)
    """

    def _score(self, context):
        ensemble, coef, intercept = self._ensemble(context)
        X = context.X_pool
        scores = np.empty(X.shape[0])
        for batch in _chunks(X.shape[0], ensemble):
            means, _, sq_norms = _ensemble_moments(
                ensemble, X[batch], leverages=False
            )
            reference = np.asarray(X[batch] @ coef.T, dtype=np.float64) + intercept
            change = np.sqrt(np.sum((reference[:, None, :] - means) ** 2, axis=2))
            scores[batch] = np.sqrt(sq_norms) * change.mean(axis=1)
        return scores


#: default :class:`LinearEGLQuery` instance
egl_linear = LinearEGLQuery()
#: default :class:`EMCMQuery` instance
emcm = EMCMQuery()
