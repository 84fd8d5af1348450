"""Bootstrap ensemble of least-squares linear models (paper Sec. 3.1.1).

One implementation of the ensemble serves both
:class:`BootstrapLinearRegressor` and the closed-form linear strategies
(:class:`~sk_eglpp.query.LinearEGLQuery`, :class:`~sk_eglpp.query.EMCMQuery`):
:func:`_fit_linear_ensemble` fits the K weak learners, :func:`_ensemble_moments`
evaluates their predictive means and leverages on a chunk of samples.
"""

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from .._param_validation import POSITIVE_INT, ParamValidationMixin

__all__ = ["BootstrapLinearRegressor"]


class _LinearEnsemble:
    """K least-squares fits, stored for vectorised evaluation.

    Attributes
    ----------
    thetas : ndarray of shape (K, p, n_outputs)
        Coefficients over the design ``x~`` (``p = n_features + 1`` with the
        intercept's constant last when ``fit_intercept``).
    factors : ndarray of shape (K, p, m)
        ``L_k`` with ``L_k @ L_k.T`` the pseudo-inverse of ``X~_k^T X~_k``.
    variances : ndarray of shape (K, n_outputs)
        Residual variances ``s_k^2``.
    ranks : ndarray of shape (K,)
        Numerical rank of every resampled design.
    counts : ndarray of shape (K, n_samples)
        How often each labelled sample occurs in every resample.
    """

    def __init__(self, thetas, factors, variances, ranks, counts, fit_intercept):
        self.thetas = thetas
        self.factors = factors
        self.variances = variances
        self.ranks = ranks
        self.counts = counts
        self.fit_intercept = fit_intercept

    @property
    def n_estimators(self):
        return self.thetas.shape[0]

    @property
    def n_outputs(self):
        return self.thetas.shape[2]


def _weighted_lstsq(X, y, weights):
    """Minimum-norm least squares of ``y`` on ``X`` with integer row weights.

    A bootstrap resample is the labelled set with every row repeated
    ``weights[i]`` times, so the fit on the resample is the weighted fit here
    (rows of weight 0 dropped). The thin SVD ``sqrt(w) X = U S V^T`` gives the
    coefficients ``V S^+ U^T sqrt(w) y`` and the factor ``V S^+`` of
    ``(X^T W X)^+``; singular values below ``max(S) * max(n, p) * eps`` (NumPy's
    ``matrix_rank`` tolerance) are treated as zero.

    Returns
    -------
    theta : ndarray of shape (p, n_outputs)
    factor : ndarray of shape (p, rank)
    rss : ndarray of shape (n_outputs,)
    rank : int
    """
    keep = weights > 0
    sqrt_w = np.sqrt(weights[keep])[:, None]
    Xw = X[keep] * sqrt_w
    yw = y[keep] * sqrt_w
    U, S, Vt = np.linalg.svd(Xw, full_matrices=False)
    tol = (S[0] if S.size else 0.0) * max(Xw.shape) * np.finfo(np.float64).eps
    nonzero = S > tol
    inv_s = np.zeros_like(S)
    inv_s[nonzero] = 1.0 / S[nonzero]
    rank = int(np.count_nonzero(nonzero))  # S is sorted: the first `rank`
    factor = Vt[:rank].T * inv_s[:rank]
    theta = factor @ (U[:, :rank].T @ yw)
    rss = np.sum((yw - Xw @ theta) ** 2, axis=0)
    return theta, factor, rss, rank


def _fit_linear_ensemble(X, y, *, n_estimators, bootstrap, fit_intercept, random_state):
    """Fit ``n_estimators`` least-squares learners on bootstrap resamples.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Labelled samples (densified: the fit needs an SVD of every resample).
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    n_estimators : int
        Number K of weak learners.
    bootstrap : bool
        Resample with replacement; when False every learner is the
        least-squares fit on all of ``X``.
    fit_intercept : bool
        Whether the design gets the intercept's constant column.
    random_state : None, int or RandomState
        Source of the resamples.

    Returns
    -------
    ensemble : _LinearEnsemble
        The residual variance of learner k is the unbiased
        ``s_k^2 = RSS_k / (n - rank_k)`` (supplement Eq. 3). When
        ``n - rank_k <= 0`` (possible only when ``n`` distinct samples are
        interpolated, so the full-data fit has no degree of freedom either) it
        falls back to the variance of ``y`` (zero for a single sample).
    """
    if sparse.issparse(X):
        X = X.toarray()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_samples = X.shape[0]
    y2 = y.reshape(n_samples, -1)
    if fit_intercept:
        X = np.hstack([X, np.ones((n_samples, 1))])
    n_params = X.shape[1]

    if bootstrap:
        rng = check_random_state(random_state)
        draws = rng.randint(0, n_samples, size=(n_estimators, n_samples))
        counts = np.stack([np.bincount(d, minlength=n_samples) for d in draws])
        fits = [_weighted_lstsq(X, y2, c.astype(np.float64)) for c in counts]
    else:
        counts = np.ones((n_estimators, n_samples), dtype=np.intp)
        fits = [_weighted_lstsq(X, y2, np.ones(n_samples))] * n_estimators
    # n - rank_k <= 0 only when the resample interpolates n distinct samples
    # (rank_k <= rank of the full design <= n), i.e. when the full data leaves
    # no degree of freedom either: the spread of y is the only noise estimate.
    fallback = np.var(y2, axis=0)

    width = max(fit[1].shape[1] for fit in fits)
    thetas = np.stack([fit[0] for fit in fits])
    factors = np.zeros((n_estimators, n_params, width))
    variances = np.empty((n_estimators, y2.shape[1]))
    ranks = np.empty(n_estimators, dtype=np.intp)
    for k, (_, factor, rss, rank) in enumerate(fits):
        factors[k, :, : factor.shape[1]] = factor
        dof = n_samples - rank
        variances[k] = rss / dof if dof > 0 else fallback
        ranks[k] = rank
    return _LinearEnsemble(thetas, factors, variances, ranks, counts, fit_intercept)


def _ensemble_moments(ensemble, X, leverages=True):
    """Predictive means and leverages of every weak learner on ``X``.

    One matrix product over ``X`` gives both: the coefficients and the
    pseudo-inverse factors of all learners are stacked column-wise.

    Parameters
    ----------
    ensemble : _LinearEnsemble
    X : ndarray or sparse matrix of shape (n_chunk, n_features)
        Samples without the intercept column (it is added implicitly).
    leverages : bool, default=True
        Whether to compute the leverages (EMCM does not need them).

    Returns
    -------
    means : ndarray of shape (n_chunk, K, n_outputs)
        ``mu_k(x) = x~^T theta_k``.
    leverages : ndarray of shape (n_chunk, K) or None
        ``x~^T (X~_k^T X~_k)^+ x~``.
    sq_norms : ndarray of shape (n_chunk,)
        ``||x~||^2`` (``||x||^2 + 1`` with an intercept).
    """
    K, n_params, n_out = ensemble.thetas.shape
    n_features = n_params - int(ensemble.fit_intercept)
    weights = ensemble.thetas.transpose(1, 0, 2).reshape(n_params, K * n_out)
    if leverages:
        factors = ensemble.factors.transpose(1, 0, 2).reshape(n_params, -1)
        weights = np.hstack([weights, factors])
    product = safe_sparse_dot(X, weights[:n_features], dense_output=True)
    if sparse.issparse(X):
        sq_norms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    else:
        sq_norms = np.einsum("ij,ij->i", X, X)
    if ensemble.fit_intercept:
        product += weights[n_features]
        sq_norms = sq_norms + 1.0
    n = X.shape[0]
    means = product[:, : K * n_out].reshape(n, K, n_out)
    lev = None
    if leverages:
        projected = product[:, K * n_out :].reshape(n, K, -1)
        lev = np.einsum("ijk,ijk->ij", projected, projected)
    return means, lev, sq_norms


def _chunks(n_samples, ensemble):
    """Row slices whose working arrays fit scikit-learn's ``working_memory``."""
    K, n_params, n_out = ensemble.thetas.shape
    row_bytes = 8 * (K * (ensemble.factors.shape[2] + 2 * n_out) + n_params + 4)
    chunk = int(get_config()["working_memory"] * 2**20 // row_bytes)
    chunk = min(max(chunk, 1), max(n_samples, 1))
    return gen_batches(n_samples, chunk)


def _variance_forms(ensemble):
    """``M_o = sum_k s_ko^2 (X~_k^T X~_k)^+`` for every output: (n_outputs, p, p).

    Collapsing the learners first turns the K leverages of every sample into
    one quadratic form per output:
    ``sum_k s_ko^2 (1 + x~^T G_k^+ x~) = sum_k s_ko^2 + x~^T M_o x~``.
    """
    grams = ensemble.factors @ ensemble.factors.transpose(0, 2, 1)  # (K, p, p)
    return np.einsum("ko,kpq->opq", ensemble.variances, grams)


def _quadratic_forms(X, forms, fit_intercept):
    """``x~^T M_o x~`` for every row of ``X`` and output ``o``: (n, n_outputs)."""
    n_features = forms.shape[1] - int(fit_intercept)
    out = np.empty((X.shape[0], forms.shape[0]))
    for o, M in enumerate(forms):
        # x~^T M = x^T M[:d] (+ M[d] for the intercept's constant 1)
        P = safe_sparse_dot(X, M[:n_features], dense_output=True)
        if fit_intercept:
            P += M[n_features]
        if sparse.issparse(X):
            q = np.asarray(X.multiply(P[:, :n_features]).sum(axis=1)).ravel()
        else:
            q = np.einsum("ij,ij->i", X, P[:, :n_features])
        out[:, o] = q + P[:, n_features] if fit_intercept else q
    return out


def _expected_sq_deviation(ensemble, X, reference):
    """``(1/K) sum_k [sigma_k^2(x) + (mu_k(x) - f(x))^2]`` for every output.

    ``sigma_k^2(x) = s_k^2 (1 + x~^T (X~_k^T X~_k)^+ x~)`` is the prediction
    variance of learner k (supplement Eq. 3) and ``f(x)`` the ``reference``
    prediction. This is the expected squared error of ``f`` under the
    ensemble's predictive distribution: paper Eq. 6 without its ``||x~||^2``.

    Returns
    -------
    deviation : ndarray of shape (n_samples, n_outputs)
    sq_norms : ndarray of shape (n_samples,)
    """
    n = X.shape[0]
    out = np.empty((n, ensemble.n_outputs))
    sq_norms = np.empty(n)
    forms = _variance_forms(ensemble)
    base = ensemble.variances.sum(axis=0)
    for batch in _chunks(n, ensemble):
        means, _, sq_norms[batch] = _ensemble_moments(
            ensemble, X[batch], leverages=False
        )
        variance = base + _quadratic_forms(X[batch], forms, ensemble.fit_intercept)
        spread = np.sum((means - reference[batch][:, None, :]) ** 2, axis=1)
        out[batch] = (variance + spread) / ensemble.n_estimators
    return out, sq_norms


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
        """The validated ``n_estimators`` and a fresh copy of the estimator."""
        self._validate_constraints()
        if self.estimator is None:
            return int(self.n_estimators), LinearRegression()
        return int(self.n_estimators), clone(self.estimator)

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
        ensemble = _fit_linear_ensemble(
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
        self._ensemble = ensemble
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
        deviation, _ = _expected_sq_deviation(self._ensemble, X, reference)
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
        means, _, _ = _ensemble_moments(self._ensemble, X)
        return means[:, :, 0] if self._y_ndim == 1 else means
