"""Bootstrap ensemble of least-squares linear models (paper Sec. 3.1.1).

The ensemble maths is in :mod:`sk_eglpp._linear_ensemble`, shared with the
closed-form linear strategies (:class:`~sk_eglpp.query.LinearEGLQuery`,
:class:`~sk_eglpp.query.EMCMQuery`).
"""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from .._linear_ensemble import (
    ensemble_moments,
    expected_sq_deviation,
    fit_linear_ensemble,
)
from .._param_validation import POSITIVE_INT, ParamValidationMixin, validate_call

__all__ = ["BootstrapLinearRegressor"]


class BootstrapLinearRegressor(ParamValidationMixin, RegressorMixin, BaseEstimator):
    """Linear model with a bootstrap ensemble of least-squares learners.

    ``fit`` fits ``estimator`` on all data (``f_z`` of paper Eq. 2 and 6) and
    ``n_estimators`` ordinary least-squares weak learners on bootstrap
    resamples (paper Sec. 3.1.1). ``predict(X, return_std=True)`` returns the
    full-data prediction and the ensemble's predictive spread around it, so
    the regressor works with modAL's ``max_std_sampling``-style strategies.

    Parameters
    ----------
    estimator : regressor, default=None
        The full-data model ``f_z``; ``None`` means
        :class:`~sklearn.linear_model.LinearRegression`. Its ``fit_intercept``
        parameter (``True`` if it has none) decides whether the weak learners
        fit an intercept. The weak learners are always least squares.
    n_estimators : int, default=10
        Number K of weak learners.
    bootstrap : bool, default=True
        Draw every learner's training set with replacement. With ``False``
        every learner is the least-squares fit on all data.
    random_state : int, RandomState instance or None, default=None
        Controls the resamples.

    Attributes
    ----------
    estimator_ : regressor
        The fitted full-data model.
    coefs_ : ndarray of shape (n_estimators, n_outputs, n_features_in_)
        Weak learners' coefficients.
    intercepts_ : ndarray of shape (n_estimators, n_outputs)
        Weak learners' intercepts (zeros without an intercept).
    gram_pinvs_ : ndarray of shape (n_estimators, p, p)
        Pseudo-inverse of every resample's ``X~_k^T X~_k``, where ``X~_k`` has
        the constant column last when an intercept is fitted
        (``p = n_features_in_ + 1``), else ``p = n_features_in_``.
    residual_variances_ : ndarray of shape (n_estimators, n_outputs)
        Unbiased residual variances ``s_k^2 = RSS_k / (n - rank_k)``; see Notes
        for resamples without degrees of freedom.
    ranks_ : ndarray of shape (n_estimators,)
        Numerical rank of every resampled design ``X~_k``.
    ensemble_ : LinearEnsemble
        The fitted ensemble in the form the linear strategies read
        (:class:`~sk_eglpp.query.LinearEGLQuery`, :class:`~sk_eglpp.query.EMCMQuery`).
    sample_counts_ : ndarray of shape (n_estimators, n_samples)
        How often each training sample occurs in every resample.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    sk_eglpp.query.LinearEGLQuery : paper Eq. 6 with the same ensemble.
    sk_eglpp.query.EMCMQuery : paper Eq. 2 with the same ensemble.

    Notes
    -----
    Weak learners are minimum-norm least-squares solutions computed from the
    SVD of the resampled design, so rank-deficient resamples (duplicated rows,
    constant features, fewer distinct rows than features) are handled: the
    pseudo-inverse replaces ``(X~_k^T X~_k)^{-1}``, which gives zero leverage
    to directions the resample never saw. When a resample leaves no degree of
    freedom (``n - rank_k <= 0``, which happens only when the ``n`` training
    samples are all distinct, all drawn and interpolated, e.g. with fewer
    samples than features), ``s_k^2`` falls back to the (biased) variance of
    ``y``, the residual variance of a constant model; it is zero for a single
    sample. A resample of one repeated point has rank 1, zero residuals and
    ``s_k^2 = 0``.

    The standard deviation returned by ``predict(X, return_std=True)`` is

    ``sqrt((1/K) sum_k [s_k^2 (1 + x~^T (X~_k^T X~_k)^+ x~)
    + (mu_k(x) - f_z(x))^2])``,

    the root-mean-square deviation of ``y`` from the prediction ``f_z(x)``
    under the equal mixture of the weak learners' Gaussian predictive
    distributions. Its square times ``||x~||^2`` (summed over outputs) is the
    expected gradient length of paper Eq. 6.

    References
    ----------
    .. [1] Cai, Zhang and Zhou, "Maximizing expected model change for active
       learning in regression", ICDM 2013.
    .. [2] Shukla, "EGL++: Extending Expected Gradient Length to Active Learning
       for Human Pose Estimation", Sec. 3.1.1 and supplement Eq. 3-4.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.models import BootstrapLinearRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 2))
    >>> y = X @ [1.0, -2.0] + 0.1 * rng.normal(size=30)
    >>> reg = BootstrapLinearRegressor(n_estimators=5, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:3], return_std=True)
    >>> mean.shape, std.shape, reg.coefs_.shape
    ((3,), (3,), (5, 1, 2))
    >>> bool(np.all(std > 0))
    True
    """

    _parameter_constraints = {
        "estimator": ["regressor", None],
        "n_estimators": [POSITIVE_INT],
        "bootstrap": ["boolean"],
        "random_state": ["random_state", None],
    }

    def __init__(
        self, estimator=None, n_estimators=10, bootstrap=True, random_state=None
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.bootstrap = bootstrap
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    def _checked_params(self):
        """``n_estimators`` as int and a fresh copy of the estimator."""
        if self.estimator is None:
            return int(self.n_estimators), LinearRegression()
        return int(self.n_estimators), clone(self.estimator)

    @validate_call
    def fit(self, X, y):
        """Fit the full-data model and the bootstrap ensemble.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : BootstrapLinearRegressor
            The fitted regressor.
        """
        n_estimators, estimator = self._checked_params()
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=np.float64,
        )
        self.estimator_ = estimator.fit(X, y)
        fit_intercept = bool(estimator.get_params().get("fit_intercept", True))
        ensemble = fit_linear_ensemble(
            X,
            y,
            n_estimators=n_estimators,
            bootstrap=bool(self.bootstrap),
            fit_intercept=fit_intercept,
            random_state=self.random_state,
        )
        n_features = X.shape[1]
        thetas = ensemble.thetas
        self.coefs_ = thetas[:, :n_features, :].transpose(0, 2, 1).copy()
        if fit_intercept:
            self.intercepts_ = thetas[:, n_features, :].copy()
        else:
            self.intercepts_ = np.zeros((n_estimators, thetas.shape[2]))
        self.gram_pinvs_ = ensemble.factors @ ensemble.factors.transpose(0, 2, 1)
        self.residual_variances_ = ensemble.variances
        self.ranks_ = ensemble.ranks
        self.sample_counts_ = ensemble.counts
        self.ensemble_ = ensemble
        self._y_ndim = np.ndim(y)
        return self

    def _shape_output(self, values):
        return values.ravel() if self._y_ndim == 1 else values

    def predict(self, X, return_std=False):
        """Predict with the full-data model, optionally with the spread.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        return_std : bool, default=False
            Also return the ensemble's predictive standard deviation around
            the prediction (see Notes of the class).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions of ``estimator_``.
        y_std : ndarray of the same shape as ``y_pred``
            Only when ``return_std=True``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=np.float64, reset=False
        )
        y_pred = self.estimator_.predict(X)
        if not return_std:
            return y_pred
        reference = np.asarray(y_pred, dtype=np.float64).reshape(X.shape[0], -1)
        deviation, _ = expected_sq_deviation(self.ensemble_, X, reference)
        return y_pred, self._shape_output(np.sqrt(deviation))

    def predict_ensemble(self, X):
        """Predictions of every weak learner.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_estimators) or \
                (n_samples, n_estimators, n_outputs)
            ``mu_k(x)`` of every learner (the output axis only for 2-D ``y``).

        Examples
        --------
        >>> import numpy as np
        >>> X, y = np.arange(8.0).reshape(4, 2), np.arange(4.0)
        >>> reg = BootstrapLinearRegressor(n_estimators=3, bootstrap=False)
        >>> reg.fit(X, y).predict_ensemble(X[:2]).round(6)
        array([[0., 0., 0.],
               [1., 1., 1.]])
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=np.float64, reset=False
        )
        means, _, _ = ensemble_moments(self.ensemble_, X)
        return means[:, :, 0] if self._y_ndim == 1 else means
