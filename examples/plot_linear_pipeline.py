"""
==================================================================
Expected gradient length in a scikit-learn pipeline: Eq. 6 vs EMCM
==================================================================

The closed-form expected gradient length of linear regression
(:class:`~sk_eglpp.query.LinearEGLQuery`, ``egl_linear``, paper Eq. 6) and
Cai et al.'s expected model change (:class:`~sk_eglpp.query.EMCMQuery`,
``emcm``, paper Eq. 2) against random sampling, on a toy regression problem
with a scikit-learn pipeline: polynomial features, scaling and a ridge
regression. The strategies score the pool in the space of the pipeline's
final step, so the gradient is taken over the ridge coefficients.

The pool is drawn mostly from the middle of the input range: random sampling
keeps labelling the crowded middle, while the gradient-based strategies go
for the sparsely sampled ends where the polynomial is least constrained.
"""

# %%
# Data: a dense middle and sparse ends
# ------------------------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.metrics import root_mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from sk_eglpp import ActiveLearner, EMCMQuery, LinearEGLQuery, RandomQuery


def target(x):
    return np.sin(2.0 * x) + 0.3 * x**2


def make_pool(n, rng):
    x = np.concatenate([rng.normal(0.0, 0.7, size=n - n // 10),
                        rng.uniform(-3.0, 3.0, size=n // 10)])
    x = np.clip(x, -3.0, 3.0)
    return x.reshape(-1, 1), target(x) + 0.1 * rng.normal(size=x.size)


X_test = np.linspace(-3.0, 3.0, 200).reshape(-1, 1)
y_test = target(X_test.ravel())


def make_model():
    return make_pipeline(PolynomialFeatures(5), StandardScaler(), Ridge(alpha=1e-3))


# %%
# The active-learning loop with modAL's interface
# -----------------------------------------------
# :class:`sk_eglpp.ActiveLearner` is modAL's ``ActiveLearner`` with ``teach``
# repaired for scikit-learn >= 1.8. Each strategy is a plain query strategy;
# ``learner.query`` returns the indices and the queried samples.

n_initial, budget, n_cycles, n_runs = 6, 2, 12, 5


def run(strategy, seed):
    rng = np.random.default_rng(seed)
    X_pool, y_pool = make_pool(400, rng)
    start = rng.choice(len(X_pool), n_initial, replace=False)
    learner = ActiveLearner(
        make_model(), query_strategy=strategy,
        X_training=X_pool[start], y_training=y_pool[start],
    )
    X_pool, y_pool = np.delete(X_pool, start, 0), np.delete(y_pool, start)
    errors = [root_mean_squared_error(y_test, learner.predict(X_test))]
    for _ in range(n_cycles):
        idx, _ = learner.query(X_pool, n_instances=budget)
        learner.teach(X_pool[idx], y_pool[idx])
        X_pool, y_pool = np.delete(X_pool, idx, 0), np.delete(y_pool, idx)
        errors.append(root_mean_squared_error(y_test, learner.predict(X_test)))
    return np.array(errors), learner


strategies = {
    "egl_linear (Eq. 6)": lambda seed: LinearEGLQuery(random_state=seed),
    "emcm (Eq. 2)": lambda seed: EMCMQuery(random_state=seed),
    "random": lambda seed: RandomQuery(random_state=seed),
}
curves, learners = {}, {}
for name, make_strategy in strategies.items():
    runs = [run(make_strategy(seed), seed) for seed in range(n_runs)]
    curves[name] = np.array([errors for errors, _ in runs])
    learners[name] = runs[0][1]

for name, errors in curves.items():
    print(f"{name:20s} final RMSE {errors[:, -1].mean():.3f} "
          f"+- {errors[:, -1].std():.3f}")

# %%
# Learning curves and what was queried
# ------------------------------------
# Left: test RMSE (mean and standard deviation over the runs) against the
# number of labels. Right: the labelled set of the first run of each strategy.

n_labelled = n_initial + budget * np.arange(n_cycles + 1)
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for name, errors in curves.items():
    mean, std = errors.mean(axis=0), errors.std(axis=0)
    ax.plot(n_labelled, mean, "o-", ms=3, label=name)
    ax.fill_between(n_labelled, mean - std, mean + std, alpha=0.2)
ax.set_yscale("log")
ax.set_xlabel("labelled samples")
ax.set_ylabel("test RMSE")
ax.set_title("Learning curves (5 runs)")
ax.legend()

ax2.plot(X_test, y_test, "k-", lw=1, label="target function")
for offset, (name, learner) in enumerate(learners.items()):
    x = learner.X_training.ravel()
    ax2.plot(x, np.full(x.shape, -1.6 - 0.25 * offset), "|", ms=10, label=name)
ax2.set_xlabel("x")
ax2.set_title("Labelled inputs after the last cycle (run 0)")
ax2.legend(fontsize=8, loc="upper center")
fig.tight_layout()
plt.show()
