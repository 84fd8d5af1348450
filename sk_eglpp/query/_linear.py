"""Closed-form expected gradient length for linear models (paper Eq. 6) and EMCM.

Both strategies read the learner's fitted linear model ``f_z`` (``coef_`` /
``intercept_``), refit a bootstrap ensemble of K least-squares learners on the
labelled set (in the space of the final pipeline step) with the same machinery
as :class:`~sk_eglpp.models.BootstrapLinearRegressor`, and score the pool in
chunks. A fitted :class:`~sk_eglpp.models.BootstrapLinearRegressor` brings its
own ensemble and full-data model; a modAL committee of linear models gives
``f_z`` as the average of its members (its mean prediction).
"""

from numbers import Real

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._linear_ensemble import (
    ensemble_chunks,
    ensemble_moments,
    expected_sq_deviation,
    fit_linear_ensemble,
)
from .._param_validation import POSITIVE_INT, Interval
from .._validation import labelled_targets
from ..models import BootstrapLinearRegressor
from ._base import BATCH, BaseQueryStrategy, is_committee, shared_default
from ._batch import information_density

__all__ = ["LinearEGLQuery", "EMCMQuery", "egl_linear", "emcm"]


def _linear_parameters(estimator, n_features, strategy_name):
    """``coef`` of shape (n_outputs, n_features) and ``intercept`` (n_outputs,)."""
    check_is_fitted(estimator)
    if not (hasattr(estimator, "coef_") and hasattr(estimator, "intercept_")):
        raise TypeError(
            f"{strategy_name} needs a linear model exposing coef_ and intercept_ "
            "(LinearRegression, Ridge, Lasso, ...) or a fitted "
            "BootstrapLinearRegressor as the learner's estimator or final "
            f"pipeline step, got {type(estimator).__name__}."
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


def _fits_intercept(estimator):
    return bool(getattr(estimator, "fit_intercept", True))


def _committee_parameters(committee, n_features, strategy_name):
    """``f_z`` of a committee of linear models: the average of its members.

    The committee predicts the mean of its members' predictions, which for
    linear members is the linear model with the average coefficients and
    intercept. It fits an intercept when any member does.
    """
    kind = type(committee).__name__
    coefs, intercepts = [], []
    for i, member in enumerate(committee.learner_list):
        estimator = member.estimator
        if isinstance(estimator, Pipeline | BootstrapLinearRegressor) or not (
            hasattr(estimator, "coef_") and hasattr(estimator, "intercept_")
        ):
            raise TypeError(
                f"{strategy_name} with a modAL {kind} needs every member to be a "
                "fitted linear model exposing coef_ and intercept_ (LinearRegression, "
                f"Ridge, ...; no pipeline), got {type(estimator).__name__} for "
                f"learner_list[{i}]."
            )
        coef, intercept = _linear_parameters(estimator, n_features, strategy_name)
        coefs.append(coef)
        intercepts.append(intercept)
    if len({c.shape for c in coefs}) > 1:
        raise ValueError(
            f"The members of the {kind} predict different numbers of outputs: "
            f"{[c.shape[0] for c in coefs]}."
        )
    fit_intercept = any(_fits_intercept(m.estimator) for m in committee.learner_list)
    return np.mean(coefs, axis=0), np.mean(intercepts, axis=0), fit_intercept


class _BaseLinearQuery(BaseQueryStrategy):
    """Shared set-up of the closed-form linear strategies."""

    _accept_sparse = True
    _accept_committee = True
    _model = "linear"
    _parameter_constraints = {
        "n_estimators": [POSITIVE_INT],
        "bootstrap": ["boolean"],
        "random_state": ["random_state", None],
        "batch": BATCH,
        "density": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, n_estimators=10, bootstrap=True, random_state=None,
                 batch="top", density=0.0):
        self.n_estimators = n_estimators
        self.bootstrap = bootstrap
        self.random_state = random_state
        self.batch = batch
        self.density = density

    def _score(self, context):
        ensemble, coef, intercept = self._ensemble(context)
        scores = self._utility(context.X_pool, ensemble, coef, intercept)
        if self.density:
            scores = scores * information_density(
                context.X_pool, context.X_labelled
            ) ** float(self.density)
        return scores

    def _ensemble(self, context):
        """The ensemble, f_z's coef and intercept."""
        name = type(self).__name__
        X_pool, X_labelled = context.X_pool, context.X_labelled
        if X_pool.ndim != 2:
            raise ValueError(
                f"{name} needs 2-D samples (n_samples, n_features), got a pool of "
                f"shape {X_pool.shape}."
            )
        estimator = context.estimator
        if isinstance(estimator, BootstrapLinearRegressor):
            # Its own fitted ensemble and full-data model: nothing to refit.
            check_is_fitted(estimator)
            coef, intercept = _linear_parameters(
                estimator.estimator_, X_pool.shape[1], name
            )
            return estimator.ensemble_, coef, intercept
        if is_committee(estimator):
            coef, intercept, fit_intercept = _committee_parameters(
                estimator, X_pool.shape[1], name
            )
        else:
            coef, intercept = _linear_parameters(estimator, X_pool.shape[1], name)
            fit_intercept = _fits_intercept(estimator)
        context.require_labelled(name)
        y = labelled_targets(context.y_labelled, coef.shape[0])
        ensemble = fit_linear_ensemble(
            X_labelled,
            y,
            n_estimators=int(self.n_estimators),
            bootstrap=bool(self.bootstrap),
            fit_intercept=fit_intercept,
            random_state=self._rng(),
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
        Controls the resamples (and the draws of ``batch="kmeans++"``).
    batch : {"top", "diverse", "kmeans++"}, default="top"
        How :meth:`select` spends a batch on the scores, in the space of the
        final step's features: the top B (the default), or a batch-aware
        choice (see :func:`~sk_eglpp.query.select_batch`).
    density : float, default=0.0
        Exponent ``beta`` of a representativeness weight: with ``beta > 0``
        the utility is multiplied by ``information_density(x) ** beta`` (see
        :func:`~sk_eglpp.query.information_density`), which discounts isolated
        samples (outliers of skewed features). ``0`` is the plain utility.
        Costs a pass over the pool-by-pool distances.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Scores of the last call (not kept by the shared default instance; see
        :class:`~sk_eglpp.query.BaseQueryStrategy`).

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

    **A fitted** :class:`~sk_eglpp.models.BootstrapLinearRegressor` as the
    model (or final pipeline step) brings its own K weak learners and its
    full-data model ``estimator_`` as ``f_z``: nothing is refitted, the
    labelled set is not needed, and ``n_estimators``, ``bootstrap`` and
    ``random_state`` of the strategy are not used (only checked). The scores
    are those of the strategy with the regressor's settings on its training
    data.

    **A modAL** ``Committee`` / ``CommitteeRegressor`` whose members are all
    fitted linear models (``coef_`` / ``intercept_``, no pipeline) is accepted:
    ``f_z`` is the average of the members' coefficients and intercepts, which
    is the committee's prediction (the mean of its members'), with an
    intercept in ``x~`` when any member fits one. The K weak learners are
    refitted as above on the committee's labelled set (the union of the
    members' sets). The members are not used as the weak learners: Eq. 6
    needs each weak learner's Gaussian predictive variance, which the
    members (Ridge, Lasso, fitted on their own data) do not define.

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

    def _utility(self, X, ensemble, coef, intercept):
        reference = np.asarray(X @ coef.T, dtype=np.float64) + intercept
        deviation, sq_norms = expected_sq_deviation(ensemble, X, reference)
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
        Controls the resamples (and the draws of ``batch="kmeans++"``).
    batch : {"top", "diverse", "kmeans++"}, default="top"
        How :meth:`select` spends a batch on the scores, in the space of the
        final step's features: the top B (the default), or a batch-aware
        choice (see :func:`~sk_eglpp.query.select_batch`).
    density : float, default=0.0
        Exponent ``beta`` of a representativeness weight: with ``beta > 0``
        the utility is multiplied by ``information_density(x) ** beta`` (see
        :func:`~sk_eglpp.query.information_density`), which discounts isolated
        samples (outliers of skewed features). ``0`` is the plain utility.
        Costs a pass over the pool-by-pool distances.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Scores of the last call (not kept by the shared default instance; see
        :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    LinearEGLQuery : the closed-form expected gradient length (paper Eq. 6).

    Notes
    -----
    ``x~``, the weak learners, the handling of rank-deficient resamples, a
    fitted :class:`~sk_eglpp.models.BootstrapLinearRegressor` as the model and
    modAL committees of linear models are as in :class:`LinearEGLQuery`.

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

    def _utility(self, X, ensemble, coef, intercept):
        scores = np.empty(X.shape[0])
        for batch in ensemble_chunks(X.shape[0], ensemble):
            means, _, sq_norms = ensemble_moments(
                ensemble, X[batch], leverages=False
            )
            reference = np.asarray(X[batch] @ coef.T, dtype=np.float64) + intercept
            change = np.sqrt(np.sum((reference[:, None, :] - means) ** 2, axis=2))
            scores[batch] = np.sqrt(sq_norms) * change.mean(axis=1)
        return scores


#: default :class:`LinearEGLQuery` instance
egl_linear = shared_default(LinearEGLQuery())
#: default :class:`EMCMQuery` instance
emcm = shared_default(EMCMQuery())
