"""The bootstrap ensemble of least-squares linear models (paper Sec. 3.1.1).

One implementation serves :class:`~sk_eglpp.models.BootstrapLinearRegressor`
and the closed-form linear strategies (:class:`~sk_eglpp.query.LinearEGLQuery`,
:class:`~sk_eglpp.query.EMCMQuery`): :func:`fit_linear_ensemble` fits the K weak
learners, :func:`ensemble_moments` evaluates their predictive means and
leverages on a chunk of samples, :func:`expected_sq_deviation` gives the
expected squared error of a reference prediction (paper Eq. 6 without its
``||x~||^2``), and :func:`ensemble_chunks` the row chunks that fit
scikit-learn's ``working_memory``.
"""

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.extmath import safe_sparse_dot

__all__ = [
    "LinearEnsemble",
    "fit_linear_ensemble",
    "ensemble_moments",
    "ensemble_chunks",
    "expected_sq_deviation",
]


class LinearEnsemble:
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


def fit_linear_ensemble(X, y, *, n_estimators, bootstrap, fit_intercept, random_state):
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
    ensemble : LinearEnsemble
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
    return LinearEnsemble(thetas, factors, variances, ranks, counts, fit_intercept)


def ensemble_moments(ensemble, X, leverages=True):
    """Predictive means and leverages of every weak learner on ``X``.

    One matrix product over ``X`` gives both: the coefficients and the
    pseudo-inverse factors of all learners are stacked column-wise.

    Parameters
    ----------
    ensemble : LinearEnsemble
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


def ensemble_chunks(n_samples, ensemble):
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


def expected_sq_deviation(ensemble, X, reference):
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
    for batch in ensemble_chunks(n, ensemble):
        means, _, sq_norms[batch] = ensemble_moments(
            ensemble, X[batch], leverages=False
        )
        variance = base + _quadratic_forms(X[batch], forms, ensemble.fit_intercept)
        spread = np.sum((means - reference[batch][:, None, :]) ** 2, axis=1)
        out[batch] = (variance + spread) / ensemble.n_estimators
    return out, sq_norms
