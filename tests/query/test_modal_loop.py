"""Every strategy for networks in a three-cycle modAL loop on the hourglass.

One test for all of them: the learner's query returns unique indices into the
current pool, the rows it returns are those rows, and the picks are what the
strategy's own ``select`` gives for the learner's model and training set, so
the modAL route and the library route agree cycle after cycle while the
model is retrained on what was taught.
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sk_eglpp import ActiveLearner
from sk_eglpp.query import get_strategy

# strategy name -> the parameters that keep it small here
NETWORK_STRATEGIES = {
    "egl_pp": {"n_neighbors": 5, "perplexity": 2.0},
    "egl_pp_output": {"n_neighbors": 5, "perplexity": 2.0, "target": "output"},
    "coreset": {},
    "multipeak_entropy": {"batch_size": 5},
    "learning_loss": {},
    "mc_dropout": {"n_samples": 3, "random_state": 0},
    "random_query": {"random_state": 0},
    "greedy_sampling": {},
}


@pytest.mark.parametrize("name", NETWORK_STRATEGIES)
def test_three_cycles(small_pose, small_hourglass, name):
    # no unannotated joints: ActiveLearner.teach rejects NaN in y
    X, y = small_pose
    strategy = get_strategy(name.removesuffix("_output"))
    strategy.set_params(**NETWORK_STRATEGIES[name])
    # dropout for mc_dropout, the loss head for learning_loss
    net = small_hourglass(module__dropout=0.2, loss_prediction=True)
    learner = ActiveLearner(net, strategy, X_training=X[:8], y_training=y[:8])
    pool = np.arange(8, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            expected = clone(strategy).select(
                learner.estimator, X[pool], 4,
                X_labelled=learner.X_training, y_labelled=learner.y_training,
            )
            idx, X_sel = learner.query(X[pool], n_instances=4)
            assert len(set(idx.tolist())) == 4
            assert np.all((idx >= 0) & (idx < len(pool)))
            np.testing.assert_array_equal(X_sel, X[pool][idx])
            np.testing.assert_array_equal(idx, expected)
            learner.teach(X[pool][idx], y[pool][idx])
            pool = np.delete(pool, idx)
    assert learner.X_training.shape[0] == 20
