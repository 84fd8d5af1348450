"""
=========================================================
Eq. 6 closed form vs a Monte Carlo integral of Eq. 5
=========================================================

For linear regression the paper derives a closed form (Eq. 6) of the expected
squared gradient length (Eq. 5):

.. math::
   \\frac{1}{K}\\sum_{k=1}^K \\int \\mathcal{N}(y;\\, \\mu_k(x), \\sigma_k^2(x))\\,
   \\big[(f_z(x) - y)\\, x\\big]^2 dy
   \\;=\\; \\frac{\\lVert x \\rVert^2}{K} \\sum_{k=1}^K
   \\Big(\\sigma_k^2(x) + \\big(\\mu_k(x) - f_z(x)\\big)^2\\Big),

where :math:`f_z` is the model fitted on all labelled data, and
:math:`\\mu_k`, :math:`\\sigma_k^2` are the predictive mean and variance of
the :math:`k`-th least-squares model fitted on a bootstrap resample.
:class:`~sk_eglpp.query.LinearEGLQuery` computes the right-hand side. Here the
left-hand side is estimated by sampling :math:`y` from each Gaussian (the
proper normal density: the printed Eq. 5 lacks its ``exp``), and the two are
compared for every pool sample.
"""

# %%
# A linear problem and the learner's model
# ----------------------------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression

from sk_eglpp.models import BootstrapLinearRegressor
from sk_eglpp.query import LinearEGLQuery

rng = np.random.default_rng(0)
n_features = 3
coef = np.array([1.5, -2.0, 0.5])
X_labelled = rng.normal(size=(25, n_features))
y_labelled = X_labelled @ coef + 0.7 + 0.5 * rng.normal(size=25)
X_pool = rng.normal(scale=1.5, size=(200, n_features))

f_z = LinearRegression().fit(X_labelled, y_labelled)

# %%
# The closed form (Eq. 6)
# -----------------------
# ``LinearEGLQuery`` fits ``n_estimators`` least-squares models on bootstrap
# resamples of the labelled set. The vector the gradient is taken over is
# ``x~ = (x, 1)``: with an intercept, its constant is a parameter too.

K = 10
strategy = LinearEGLQuery(n_estimators=K, random_state=0)
closed_form = strategy.score(
    f_z, X_pool, X_labelled=X_labelled, y_labelled=y_labelled
)

# %%
# The Monte Carlo integral (Eq. 5)
# --------------------------------
# :class:`~sk_eglpp.models.BootstrapLinearRegressor` with the same
# ``random_state`` holds the same ensemble and exposes it: the predictions
# :math:`\mu_k(x)`, the residual variances :math:`s_k^2` and the
# pseudo-inverses :math:`(\tilde X_k^\top \tilde X_k)^{+}`, from which
# :math:`\sigma_k^2(x) = s_k^2 (1 + \tilde x^\top (\tilde X_k^\top
# \tilde X_k)^{+} \tilde x)`.

ensemble = BootstrapLinearRegressor(n_estimators=K, random_state=0)
ensemble.fit(X_labelled, y_labelled)
mu = ensemble.predict_ensemble(X_pool)  # (n_pool, K)
X_tilde = np.hstack([X_pool, np.ones((len(X_pool), 1))])
leverage = np.einsum("np,kpq,nq->nk", X_tilde, ensemble.gram_pinvs_, X_tilde)
sigma2 = ensemble.residual_variances_[:, 0] * (1.0 + leverage)  # (n_pool, K)
f = f_z.predict(X_pool)
sq_norm = np.sum(X_tilde**2, axis=1)


def monte_carlo(n_draws, seed):
    """Average of [(f_z(x) - y) x~]^2 over y ~ N(mu_k, sigma_k^2), then over k."""
    draws = np.random.default_rng(seed).standard_normal((n_draws, *mu.shape))
    y = mu + np.sqrt(sigma2) * draws
    return sq_norm * np.mean((f[:, None] - y) ** 2, axis=(0, 2))


estimate = monte_carlo(4000, seed=1)
relative = np.abs(estimate - closed_form) / closed_form
print(f"median relative difference with 4000 draws: {np.median(relative):.4f}")

# %%
# Comparison
# ----------
# Left: every pool sample's Monte Carlo estimate against the closed form; the
# points lie on the diagonal. Right: the median relative difference shrinks
# like :math:`1/\sqrt{M}` with the number of draws :math:`M`, as a Monte Carlo
# error should: the two sides agree and the difference is sampling noise.

n_draws = np.array([10, 30, 100, 300, 1000, 3000])
median_error = [
    np.median(np.abs(monte_carlo(m, seed=2) - closed_form) / closed_form)
    for m in n_draws
]

fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
ax.scatter(closed_form, estimate, s=10, alpha=0.7)
lims = [closed_form.min() * 0.8, closed_form.max() * 1.2]
ax.plot(lims, lims, "k--", lw=1, label="y = x")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("closed form, Eq. 6 (LinearEGLQuery.score)")
ax.set_ylabel("Monte Carlo integral of Eq. 5 (4000 draws)")
ax.set_title(f"{len(X_pool)} pool samples, K = {K}")
ax.legend()

ax2.loglog(n_draws, median_error, "o-", label="median relative difference")
ax2.loglog(
    n_draws,
    median_error[0] * np.sqrt(n_draws[0] / n_draws),
    "k:",
    label=r"$\propto 1/\sqrt{M}$",
)
ax2.set_xlabel("Monte Carlo draws M per model")
ax2.set_ylabel("relative difference")
ax2.legend()
fig.tight_layout()
plt.show()
