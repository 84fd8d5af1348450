"""BootstrapLinearRegressor: sklearn compatibility and a plain numpy reference."""

import warnings

import numpy as np
import pytest
from modAL.disagreement import max_std_sampling
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_eglpp import ActiveLearner, BootstrapLinearRegressor
from sk_eglpp.models import BootstrapLinearRegressor as FromModels


@parametrize_with_checks(
    [
        BootstrapLinearRegressor(n_estimators=3),
        BootstrapLinearRegressor(estimator=Ridge(), n_estimators=2, bootstrap=False),
        BootstrapLinearRegressor(
            estimator=LinearRegression(fit_intercept=False), n_estimators=2
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    # No expected failures: every scikit-learn check passes.
    check(estimator)


def _design(X, fit_intercept=True):
    return np.hstack([X, np.ones((len(X), 1))]) if fit_intercept else X


def _reference(X, y, counts, fit_intercept=True):
    """Slow reference: one explicit least-squares fit per resample."""
    Xd = _design(X, fit_intercept)
    thetas, grams, variances = [], [], []
    for c in counts:
        rows = np.repeat(np.arange(len(X)), c)
        Xk, yk = Xd[rows], y[rows]
        theta = np.linalg.lstsq(Xk, yk, rcond=None)[0]
        gram_inv = np.linalg.inv(Xk.T @ Xk)
        resid = yk - Xk @ theta
        thetas.append(theta)
        grams.append(gram_inv)
        variances.append(np.sum(resid**2, axis=0) / (len(rows) - Xd.shape[1]))
    return np.array(thetas), np.array(grams), np.array(variances)


def _reference_std(X_new, f_z, thetas, grams, variances, fit_intercept=True):
    """Per-sample loop of sqrt(mean_k [s_k^2 (1 + h_k) + (mu_k - f_z)^2])."""
    Xd = _design(X_new, fit_intercept)
    out = []
    for x, fx in zip(Xd, f_z, strict=True):
        total = 0.0
        for theta, gram, s2 in zip(thetas, grams, variances, strict=True):
            total += s2 * (1 + x @ gram @ x) + (x @ theta - fx) ** 2
        out.append(np.sqrt(total / len(thetas)))
    return np.array(out)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_matches_numpy_reference(rng, fit_intercept):
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -1.0, 2.0] + 0.5 + 0.3 * rng.normal(size=40)
    reg = BootstrapLinearRegressor(
        LinearRegression(fit_intercept=fit_intercept), n_estimators=6, random_state=1
    ).fit(X, y)
    assert reg.sample_counts_.shape == (6, 40)
    assert np.all(reg.sample_counts_.sum(axis=1) == 40)
    thetas, grams, variances = _reference(X, y, reg.sample_counts_, fit_intercept)
    np.testing.assert_allclose(reg.coefs_[:, 0, :], thetas[:, :3], rtol=1e-9)
    if fit_intercept:
        np.testing.assert_allclose(reg.intercepts_[:, 0], thetas[:, 3], rtol=1e-9)
    else:
        np.testing.assert_array_equal(reg.intercepts_, 0.0)
    np.testing.assert_allclose(reg.gram_pinvs_, grams, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(reg.residual_variances_[:, 0], variances, rtol=1e-9)

    X_new = rng.normal(size=(7, 3)) * 3
    mean, std = reg.predict(X_new, return_std=True)
    np.testing.assert_allclose(mean, reg.estimator_.predict(X_new))
    expected = _reference_std(X_new, mean, thetas, grams, variances, fit_intercept)
    np.testing.assert_allclose(std, expected, rtol=1e-9)
    ensemble = reg.predict_ensemble(X_new)
    np.testing.assert_allclose(ensemble, _design(X_new, fit_intercept) @ thetas.T)


def test_bootstrap_false_is_prediction_std(rng):
    X, y = rng.normal(size=(25, 2)), rng.normal(size=25)
    reg = BootstrapLinearRegressor(n_estimators=4, bootstrap=False).fit(X, y)
    Xd = _design(X)
    s2 = np.sum((y - LinearRegression().fit(X, y).predict(X)) ** 2) / (25 - 3)
    X_new = rng.normal(size=(5, 2))
    Xn = _design(X_new)
    leverage = np.einsum("ij,jk,ik->i", Xn, np.linalg.inv(Xd.T @ Xd), Xn)
    _, std = reg.predict(X_new, return_std=True)
    np.testing.assert_allclose(std, np.sqrt(s2 * (1 + leverage)), rtol=1e-10)
    np.testing.assert_array_equal(reg.sample_counts_, 1)


def test_random_state_reproducible(rng):
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    a = BootstrapLinearRegressor(random_state=3).fit(X, y)
    b = BootstrapLinearRegressor(random_state=3).fit(X, y)
    c = BootstrapLinearRegressor(random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.coefs_, b.coefs_)
    assert not np.array_equal(a.sample_counts_, c.sample_counts_)


def test_multi_output_equals_per_output_fits(rng):
    X = rng.normal(size=(30, 3))
    Y = np.column_stack([X @ [1.0, 0.0, 2.0], X @ [0.0, -1.0, 1.0]])
    Y += 0.1 * rng.normal(size=Y.shape)
    reg = BootstrapLinearRegressor(n_estimators=5, random_state=0).fit(X, Y)
    mean, std = reg.predict(X[:4], return_std=True)
    assert mean.shape == std.shape == (4, 2)
    assert reg.predict_ensemble(X[:4]).shape == (4, 5, 2)
    for j in range(2):
        single = BootstrapLinearRegressor(n_estimators=5, random_state=0)
        single.fit(X, Y[:, j])
        np.testing.assert_allclose(single.coefs_[:, 0], reg.coefs_[:, j], rtol=1e-9)
        _, std_j = single.predict(X[:4], return_std=True)
        np.testing.assert_allclose(std_j, std[:, j], rtol=1e-9)


def test_rank_deficient_and_tiny_sets(rng):
    # Fewer rows than features: every resample is interpolated. Resamples of
    # all 3 samples leave no degree of freedom and use the variance of y; the
    # others (duplicates, n - rank > 0) have zero residuals, so s_k^2 = 0.
    X, y = rng.normal(size=(3, 6)), rng.normal(size=3)
    reg = BootstrapLinearRegressor(n_estimators=20, random_state=0).fit(X, y)
    assert np.all(reg.ranks_ == (reg.sample_counts_ > 0).sum(axis=1))
    no_dof = reg.ranks_ == 3
    assert no_dof.any() and not no_dof.all()
    np.testing.assert_allclose(reg.residual_variances_[no_dof, 0], np.var(y))
    np.testing.assert_allclose(reg.residual_variances_[~no_dof], 0.0, atol=1e-20)
    _, std = reg.predict(rng.normal(size=(5, 6)), return_std=True)
    assert np.all(np.isfinite(std))

    # A single sample: variance of y is zero, predictions stay finite.
    one = BootstrapLinearRegressor(n_estimators=3).fit(X[:1], y[:1])
    np.testing.assert_array_equal(one.residual_variances_, 0.0)
    assert np.all(np.isfinite(one.predict(X, return_std=True)[1]))

    # Constant and duplicated features: pseudo-inverse, finite results.
    Xc = np.column_stack([rng.normal(size=12), np.ones(12), np.full(12, 3.0)])
    Xc = np.column_stack([Xc, Xc[:, 0]])
    regc = BootstrapLinearRegressor(n_estimators=4, random_state=0)
    regc.fit(Xc, rng.normal(size=12))
    assert np.all(regc.ranks_ == 2)
    assert np.all(np.isfinite(regc.predict(Xc, return_std=True)[1]))


def test_interpolated_resamples_have_zero_variance():
    # n=4, p=2: every resample keeps n - rank >= 2 degrees of freedom; one with
    # at most 2 distinct points is interpolated (RSS = 0, s_k^2 = 0), while no
    # 3 of the points are collinear, so the others have s_k^2 > 0.
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 1.5, 1.5, 3.5])
    reg = BootstrapLinearRegressor(n_estimators=100, random_state=0).fit(X, y)
    assert np.all(4 - reg.ranks_ >= 2)
    interpolated = (reg.sample_counts_ > 0).sum(axis=1) <= 2
    assert interpolated.any() and not interpolated.all()
    np.testing.assert_allclose(reg.residual_variances_[interpolated], 0.0, atol=1e-20)
    assert np.all(reg.residual_variances_[~interpolated] > 1e-3)


def test_sparse_equals_dense(rng):
    X = rng.normal(size=(20, 4))
    X[X < 0.3] = 0.0
    y = rng.normal(size=20)
    dense = BootstrapLinearRegressor(n_estimators=3, random_state=0).fit(X, y)
    sp = BootstrapLinearRegressor(n_estimators=3, random_state=0)
    sp.fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(sp.coefs_, dense.coefs_, rtol=1e-9)
    np.testing.assert_allclose(
        sp.predict(sparse.csr_matrix(X), return_std=True)[1],
        dense.predict(X, return_std=True)[1],
        rtol=1e-9,
    )


def test_max_std_sampling_in_modal(rng):
    X, y = rng.normal(size=(60, 2)), rng.normal(size=60)
    learner = ActiveLearner(
        BootstrapLinearRegressor(n_estimators=5, random_state=0),
        max_std_sampling,
        X_training=X[:10],
        y_training=y[:10],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idx, X_query = learner.query(X[10:], n_instances=3)
        learner.teach(X[10:][idx], y[10:][idx])
    assert len(set(np.asarray(idx).tolist())) == 3
    assert learner.X_training.shape == (13, 2)


def test_exported():
    assert FromModels is BootstrapLinearRegressor


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"n_estimators": 0}, ValueError, r"n_estimators must be an int in \[1, inf"),
        ({"n_estimators": 2.5}, TypeError, r"n_estimators must be an int .* 2.5"),
        ({"bootstrap": "yes"}, TypeError, "bootstrap must be a bool, got 'yes'"),
        ({"estimator": KMeans()}, TypeError, "estimator must be a scikit-learn"),
        ({"estimator": LinearRegression}, TypeError, "estimator must be a scikit"),
        ({"random_state": -1}, ValueError, r"random_state must be an int in \[0"),
    ],
)
def test_bad_parameters(rng, params, error, match):
    X, y = rng.normal(size=(10, 2)), rng.normal(size=10)
    with pytest.raises(error, match=f"^BootstrapLinearRegressor: {match}"):
        BootstrapLinearRegressor(**params).fit(X, y)


def test_nan_rejected(rng):
    X, y = rng.normal(size=(10, 2)), rng.normal(size=10)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BootstrapLinearRegressor().fit(X, y)


@pytest.mark.parametrize(
    "fit_args, error, match",
    [
        (lambda X, y: (np.where(X > 1, np.nan, X), y), ValueError, "contains NaN"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "Found array with 0 sample"),
        (lambda X, y: (X, y[:3]), ValueError, "inconsistent numbers of samples"),
        (lambda X, y: (X[:, :, None], y), ValueError, "Found array with dim 3"),
    ],
)
def test_fit_rejects_bad_data(tabular, fit_args, error, match):
    X, y = tabular
    with pytest.raises(error, match=match):
        BootstrapLinearRegressor().fit(*fit_args(X, y))


def test_predict_checks_fitted_and_feature_count_and_takes_sparse(tabular):
    X, y = tabular
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BootstrapLinearRegressor().predict(X)
    reg = BootstrapLinearRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* expecting 3"):
        reg.predict(X[:, :2])
    mean, std = reg.predict(sparse.coo_matrix(X), return_std=True)
    dense_mean, dense_std = reg.predict(X, return_std=True)
    np.testing.assert_allclose(std, dense_std)
    np.testing.assert_allclose(mean, dense_mean)
