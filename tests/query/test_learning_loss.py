"""Tests of LearningLossQuery with stand-ins and the hourglass loss head."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sk_eglpp import (
    ActiveLearner,
    LearningLossQuery,
    learning_loss,
    make_pose_dataset,
)
from sk_eglpp.query import STRATEGIES


class LossModel(RegressorMixin, BaseEstimator):
    """Stand-in whose predicted loss is the squared norm of the sample."""

    def __init__(self, loss_prediction=True):
        self.loss_prediction = loss_prediction

    def fit(self, X, y):
        self.n_fits_ = getattr(self, "n_fits_", 0) + 1
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def predict_loss(self, X):
        return (np.asarray(X, dtype=np.float64) ** 2).sum(axis=1)


def test_selects_the_largest_predicted_losses():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    strategy = LearningLossQuery()
    scores = strategy.score(LossModel(), X)
    np.testing.assert_allclose(scores, (X**2).sum(axis=1))
    idx = strategy.select(LossModel(), X, 5)
    assert set(idx.tolist()) == set(np.argsort(-scores)[:5].tolist())
    assert np.all(np.diff(scores[idx]) <= 0)  # most informative first
    # a pipeline is scored in the space of its final step
    pipe = make_pipeline(FunctionTransformer(lambda Z: 2 * Z), LossModel())
    np.testing.assert_allclose(strategy.score(pipe, X), 4 * scores)


def test_modal_loop_with_stand_in():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    learner = ActiveLearner(LossModel(), learning_loss, X_training=X[:3],
                            y_training=y[:3])
    pool = np.arange(3, 30)
    for _ in range(3):
        idx, X_sel = learner.query(X[pool], n_instances=2)
        expected = np.argsort(-(X[pool] ** 2).sum(1), kind="stable")[:2]
        np.testing.assert_array_equal(idx, expected)
        np.testing.assert_array_equal(X_sel, X[pool][idx])
        learner.teach(X[pool][idx], y[pool][idx])
        pool = np.delete(pool, idx)


def test_params_and_registry():
    assert clone(LearningLossQuery()).get_params() == {}
    assert STRATEGIES["learning_loss"] is learning_loss


def test_bad_inputs():
    X = np.random.default_rng(2).normal(size=(6, 2))
    with pytest.raises(ValueError, match="needs a model with predict_loss.*"
                       "loss_prediction=True"):
        LearningLossQuery().score(LinearRegression().fit(X, X[:, 0]), X)
    with pytest.raises(ValueError, match="has loss_prediction=False.*"
                       "build the regressor with loss_prediction=True"):
        LearningLossQuery().score(LossModel(loss_prediction=False), X)

    class WrongShape(LossModel):
        def predict_loss(self, X):
            return np.zeros((len(X), 2))

    with pytest.raises(ValueError, match=r"must return an array of shape \(6,\)"):
        LearningLossQuery().score(WrongShape(), X)

    class NaNLoss(LossModel):
        def predict_loss(self, X):
            return np.full(len(X), np.nan)

    with pytest.raises(ValueError, match="non-finite"):
        LearningLossQuery().score(NaNLoss(), X)
    with pytest.raises(ValueError, match=r"n_instances must be in \[1, 6\], got 7"):
        LearningLossQuery().select(LossModel(), X, 7)
    bad = X.copy()
    bad[1, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        LearningLossQuery().select(LossModel(), bad, 1)


# -- with the stacked-hourglass regressor ------------------------------------


@pytest.fixture(scope="module")
def pose_data():
    return make_pose_dataset(160, image_size=32, random_state=0)


def test_hourglass_without_loss_head_is_rejected(small_pose, fitted_small_hourglass):
    X, _ = small_pose
    with pytest.raises(ValueError, match="loss_prediction=True"):
        LearningLossQuery().score(fitted_small_hourglass, X[8:12])


def test_unannotated_joints_in_the_labelled_set_are_accepted():
    X = np.random.default_rng(3).normal(size=(5, 2))
    y_lab = np.array([[1.0, np.nan], [np.nan, 2.0]])
    scores = LearningLossQuery().score(
        LossModel(), X, X_labelled=X[:2], y_labelled=y_lab
    )
    assert scores.shape == (5,)


def test_predicted_losses_rank_correlate_with_true_losses(pose_data, small_hourglass):
    """Held-out Spearman correlation > 0.3 (seed 0: about 0.65).

    96 training images (32 x 32), 15 epochs, one-stack hourglass with 8
    features; over random_state 0-3 the correlation was 0.40-0.82.
    """
    X, y = pose_data
    X_train, y_train, X_test, y_test = X[:96], y[:96], X[96:], y[96:]
    net = small_hourglass(loss_prediction=True, max_epochs=15, lr=3e-3,
                          batch_size=16).fit(X_train, y_train)
    heatmaps = net.predict_heatmaps(X_test, all_stacks=True)
    targets, weights = net.render_targets(y_test)
    true_losses = sum(
        (weights * (h.astype(np.float64) - targets) ** 2).sum(axis=(1, 2, 3))
        for h in heatmaps
    )
    predicted = LearningLossQuery().score(net, X_test)
    rho, p_value = spearmanr(predicted, true_losses)
    assert rho > 0.3 and p_value < 0.05, (rho, p_value)
    # the queried samples have larger true losses than the pool on average
    idx = LearningLossQuery().select(net, X_test, 16)
    assert true_losses[idx].mean() > true_losses.mean()
