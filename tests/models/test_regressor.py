"""HourglassRegressor: learning, reproducibility, the loss identity, Learning Loss,
scikit-learn compatibility and input errors."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_eglpp import ActiveLearner, random_query
from sk_eglpp.datasets import (
    heatmaps_to_keypoints,
    keypoints_to_heatmaps,
    make_pose_dataset,
)
from sk_eglpp.metrics import pck
from sk_eglpp.models import HourglassRegressor, StackedHourglass
from sk_eglpp.models._regressor import _ranking_loss

TINY = dict(
    module__n_features=8,
    module__depth=1,
    max_epochs=2,
    batch_size=8,
    lr=2e-3,
    random_state=0,
)


@pytest.fixture(scope="module")
def pose_data():
    X, y = make_pose_dataset(n_samples=600, random_state=0)
    return X[:450], y[:450], X[450:], y[450:]


@pytest.fixture(scope="module")
def trained(pose_data):
    """One fit per module: default network, with a loss-prediction head.

    The head's ranking loss is down-weighted (0.01): the heatmap loss is of
    order 1e-2, so with weight 1 the ranking gradient would dominate the
    backbone's training.
    """
    X, y, _, _ = pose_data
    net = HourglassRegressor(
        max_epochs=6,
        lr=2e-3,
        loss_prediction=True,
        loss_prediction_weight=0.01,
        random_state=0,
    )
    return net.fit(X, y)


@pytest.fixture(scope="module")
def tiny_data():
    X, y = make_pose_dataset(n_samples=24, random_state=1)
    return X, y


def _per_sample_losses(net, X, y):
    heatmaps = net.predict_heatmaps(X, all_stacks=True)
    targets, weights = net.render_targets(y)
    return (weights[None] * (heatmaps - targets[None]) ** 2).sum(axis=(0, 2, 3, 4))


# -- learning -----------------------------------------------------------------


def test_learns_better_than_mean_pose(trained, pose_data):
    X, y, X_test, y_test = pose_data
    mean_pose = np.tile(np.nanmean(y, axis=0), (len(y_test), 1))
    baseline = pck(y_test, mean_pose)
    score = trained.score(X_test, y_test)
    # measured: baseline 0.12, score 0.41 (seed 0)
    assert score > baseline + 0.15, (score, baseline)
    assert score == pytest.approx(pck(y_test, trained.predict(X_test)))


def test_learning_loss_ranks_held_out_losses(trained, pose_data):
    _, _, X_test, y_test = pose_data
    predicted = trained.predict_loss(X_test)
    assert predicted.shape == (len(X_test),)
    true = _per_sample_losses(trained, X_test, y_test)
    rho = spearmanr(predicted, true).statistic
    # measured 0.60 with seed 0
    assert rho > 0.3, rho


def test_predict_decodes_last_stack(trained, pose_data):
    _, _, X_test, _ = pose_data
    X_small = X_test[:5]
    heatmaps = trained.predict_heatmaps(X_small)
    assert heatmaps.shape == (5, 14, 16, 16)
    all_stacks = trained.predict_heatmaps(X_small, all_stacks=True)
    assert all_stacks.shape == (2, 5, 14, 16, 16)
    np.testing.assert_array_equal(all_stacks[-1], heatmaps)
    np.testing.assert_allclose(
        trained.predict(X_small),
        heatmaps_to_keypoints(heatmaps, stride=4),
        rtol=1e-6,
    )
    assert trained.embed(X_small).shape == (5, 32)


# -- reproducibility ------------------------------------------------------------


def test_same_random_state_same_fit(tiny_data):
    X, y = tiny_data
    state = torch.get_rng_state()
    a = HourglassRegressor(module__dropout=0.2, **TINY).fit(X, y)
    b = HourglassRegressor(module__dropout=0.2, **TINY).fit(X, y)
    # the global torch generator is left alone
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for (name, p), q in zip(
        a.module_.state_dict().items(), b.module_.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q), name
    c = HourglassRegressor(module__dropout=0.2, **{**TINY, "random_state": 1})
    c.fit(X, y)
    assert not np.array_equal(a.predict_heatmaps(X), c.predict_heatmaps(X))


# -- the loss -------------------------------------------------------------------


def _reference_loss(heatmaps, y, sigma):
    """Mean over annotated joints and pixels, summed over stacks (a loop)."""
    h, w = heatmaps[0].shape[-2:]
    targets = keypoints_to_heatmaps(y, (h, w), sigma=sigma, stride=4)
    kp = y.reshape(len(y), -1, 2)
    losses = []
    for n in range(len(y)):
        joints = [j for j in range(kp.shape[1]) if not np.isnan(kp[n, j]).any()]
        total = 0.0
        for stack in heatmaps:
            errors = [np.mean((stack[n, j] - targets[n, j]) ** 2) for j in joints]
            total += np.mean(errors) if joints else 0.0
        losses.append(total)
    return np.array(losses)


def test_render_targets_identity_with_get_loss(tiny_data):
    X, y = tiny_data
    net = HourglassRegressor(sigma=1.5, **TINY).fit(X, y)
    y = y.copy()
    y[0, 4:8] = np.nan  # two joints not annotated
    targets, weights = net.render_targets(y[:3])
    assert targets.dtype == weights.dtype == np.float32
    assert targets.shape == (3, 14, 16, 16) and weights.shape == (3, 14, 1, 1)
    net.module_.eval()
    with torch.no_grad():
        heatmaps = net.infer(X[:3])
        stacks = [h.numpy().astype(np.float64) for h in heatmaps]
        reference = _reference_loss(stacks, y[:3], sigma=1.5)
        for n in range(3):  # batch of 1: the identity itself
            loss = net.get_loss(
                [h[n : n + 1] for h in heatmaps], torch.tensor(y[n : n + 1])
            )
            identity = sum(
                np.sum(weights[n] * (s[n] - targets[n]) ** 2) for s in stacks
            )
            assert float(loss) == pytest.approx(identity, rel=1e-5)
            assert identity == pytest.approx(reference[n], rel=1e-5)
        batch = net.get_loss(heatmaps, torch.tensor(y[:3]))
        # skorch's forward gives a tuple of stacks: the same loss
        as_tuple = net.get_loss(tuple(heatmaps), torch.tensor(y[:3]))
        assert float(as_tuple) == pytest.approx(float(batch))
    assert float(batch) == pytest.approx(reference.mean(), rel=1e-5)
    assert not targets[0, 2].any() and weights[0, 2, 0, 0] == 0


def test_ranking_loss_matches_reference(rng):
    p = rng.normal(size=7)
    t = rng.normal(size=7)
    t[2] = t[5]  # a tie: sign 0
    expected = np.mean(
        [
            max(0.0, -np.sign(t[i] - t[i + 3]) * (p[i] - p[i + 3]) + 0.5)
            for i in range(3)
        ]
    )
    predicted, true = torch.tensor(p), torch.tensor(t)
    assert float(_ranking_loss(predicted, true, 0.5)) == pytest.approx(expected)
    assert float(_ranking_loss(predicted[:1], true[:1], 0.5)) == 0.0


@pytest.mark.parametrize("stop, detached", [(None, False), (0, True)])
def test_loss_prediction_stop_epoch(tiny_data, stop, detached):
    X, y = tiny_data
    net = HourglassRegressor(
        loss_prediction=True, loss_prediction_stop_epoch=stop, **TINY
    ).initialize()
    net.history.new_epoch()  # as during the first epoch of fit
    X_t = torch.as_tensor(X[:8])
    y_t = torch.as_tensor(y[:8])

    def backbone_grads(loss):
        params = list(net.module_.parameters())
        return torch.autograd.grad(loss, params, allow_unused=True)

    # a training step: the pose loss plus the loss head's ranking loss
    net.train_step_single((X_t, y_t))
    total = [p.grad for p in net.module_.parameters()]
    net.module_.train()
    heatmaps, features = net.module_(X_t, return_features=True)
    pose_only = backbone_grads(net.get_loss(heatmaps, y_t))
    same = all(
        (a is None and b is None) or torch.allclose(a, b)
        for a, b in zip(total, pose_only, strict=True)
    )
    assert same == detached


def test_fit_with_missing_joints_and_3d_y(tiny_data):
    X, y = tiny_data
    y_nan = y.copy()
    y_nan[::2, :6] = np.nan
    a = HourglassRegressor(**TINY).fit(X, y_nan)
    b = HourglassRegressor(**TINY).fit(X, y_nan.reshape(len(y), 14, 2))
    assert np.isfinite(a.history[:, "train_loss"]).all()
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.predict(X).shape == (len(X), 28)


# -- scikit-learn / skorch integration ----------------------------------------


def test_clone_pickle_pipeline_grid_search(tiny_data):
    X, y = tiny_data
    net = HourglassRegressor(loss_prediction=True, **TINY)
    params = clone(net).get_params()
    assert params["loss_prediction"] is True and params["module__n_features"] == 8
    net.fit(X, y)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))
    np.testing.assert_array_equal(restored.predict_loss(X), net.predict_loss(X))

    pipe = make_pipeline(FunctionTransformer(lambda a: a * 2.0), clone(net))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert 0.0 <= pipe.score(X, y) <= 1.0

    search = GridSearchCV(
        HourglassRegressor(**{**TINY, "max_epochs": 1}), {"lr": [1e-3, 1e-2]}, cv=2
    ).fit(X, y)
    assert set(search.cv_results_["params"][0]) == {"lr"}
    assert search.best_estimator_.predict(X).shape == y.shape


def test_warm_start_and_partial_fit(tiny_data):
    X, y = tiny_data
    net = HourglassRegressor(warm_start=True, **{**TINY, "max_epochs": 1})
    net.fit(X, y)
    first = net.predict_heatmaps(X)
    net.fit(X, y)
    assert len(net.history) == 2
    assert not np.array_equal(first, net.predict_heatmaps(X))
    cold = HourglassRegressor(**{**TINY, "max_epochs": 1}).fit(X, y).fit(X, y)
    assert len(cold.history) == 1
    # a cold refit is a fresh fit: same weights as the first warm fit
    np.testing.assert_array_equal(cold.predict_heatmaps(X), first)
    net.partial_fit(X, y)
    assert len(net.history) == 3


def test_module_parameters_inferred(tiny_data):
    X, y = tiny_data
    X3 = np.repeat(X[:8], 3, axis=1)
    net = HourglassRegressor(**TINY).fit(X3, y[:8, :10])
    assert net.module_.in_channels == 3 and net.module_.n_joints == 5
    assert net.n_joints_ == 5 and net.heatmap_size_ == (16, 16)
    paper = HourglassRegressor(
        module__n_features=256, module__depth=4, module__n_stacks=2
    ).initialize()
    assert isinstance(paper.module_, StackedHourglass)
    assert paper.module_.size_multiple == 64


def test_prediction_restores_modes_and_forward(tiny_data):
    X, y = tiny_data
    net = HourglassRegressor(module__dropout=0.5, **TINY).fit(X, y)
    net.module_.eval()
    drops = [m for m in net.module_.modules() if isinstance(m, torch.nn.Dropout2d)]
    for d in drops:  # as Monte Carlo dropout would
        d.train()
    heatmaps = net.predict_heatmaps(X)
    assert all(d.training for d in drops) and not net.module_.training
    net.module_.eval()
    np.testing.assert_allclose(net.predict_heatmaps(X), heatmaps, rtol=1e-5)
    # skorch's forward: one tensor per stack
    stacks = net.forward(X)
    assert isinstance(stacks, tuple) and len(stacks) == 2
    np.testing.assert_allclose(stacks[-1].numpy(), heatmaps, rtol=1e-5)


def test_modal_active_learner_loop(tiny_data):
    from sk_eglpp import ActiveLearner

    X, y = tiny_data
    learner = ActiveLearner(
        estimator=HourglassRegressor(**{**TINY, "max_epochs": 1}),
        X_training=X[:8],
        y_training=y[:8],
        force_all_finite=False,  # NaN keypoints: joints not annotated
    )
    learner.teach(X[8:12], y[8:12])
    assert learner.X_training.shape[0] == 12
    assert learner.predict(X[12:]).shape == (12, 28)
    assert learner.score(X[12:], y[12:]) == pytest.approx(
        pck(y[12:], learner.estimator.predict(X[12:]))
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device(tiny_data):  # pragma: no cover - CPU-only CI
    X, y = tiny_data
    net = HourglassRegressor(device="cuda", loss_prediction=True, **TINY).fit(X, y)
    assert next(net.module_.parameters()).is_cuda
    assert net.predict(X).shape == y.shape
    assert net.predict_loss(X).shape == (len(X),)


# -- errors -------------------------------------------------------------------


def test_errors(tiny_data):
    X, y = tiny_data
    net = HourglassRegressor(**TINY)
    with pytest.raises(NotFittedError):
        net.predict(X)
    with pytest.raises(ValueError, match=r"image batch of shape \(n_samples, channels"):
        net.fit(X.reshape(len(X), -1), y)
    X_nan = X.copy()
    X_nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        net.fit(X_nan, y)
    with pytest.raises(ValueError, match="multiples of 8"):
        net.fit(X[:, :, :60, :60], y)
    with pytest.raises(ValueError, match="y of shape .* must have an even number"):
        net.fit(X, y[:, :27])
    with pytest.raises(ValueError, match="same number of samples"):
        net.fit(X, y[:5])
    with pytest.raises(ValueError, match="requires y to be passed"):
        net.fit(X, None)
    with pytest.raises(ValueError, match=r"module predicts 5 heatmaps"):
        HourglassRegressor(module__n_joints=5, **TINY).fit(X, y)
    with pytest.raises(
        ValueError, match=r"^HourglassRegressor: sigma must be .* in \(0, inf\)"
    ):
        HourglassRegressor(sigma=0.0, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="loss_prediction_stop_epoch must be an int"):
        HourglassRegressor(loss_prediction_stop_epoch=-1, **TINY).fit(X, y)
    with pytest.raises(TypeError, match="loss_prediction_stop_epoch must be an int"):
        HourglassRegressor(loss_prediction_stop_epoch=1.5, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="^HourglassRegressor: sigma must"):
        HourglassRegressor(sigma=-1.0, **TINY).initialize()
    with pytest.raises(ValueError, match="^HourglassRegressor: embedding_layer must"):
        HourglassRegressor(embedding_layer="neck", **TINY).initialize()
    with pytest.raises(TypeError, match="^HourglassRegressor: loss_prediction must"):
        HourglassRegressor(loss_prediction="yes", **TINY).fit(X, y)
    with pytest.raises(TypeError, match="HourglassRegressor: random_state must"):
        HourglassRegressor(**{**TINY, "random_state": "seed"}).fit(X, y)
    with pytest.raises(TypeError, match="X: Sparse data was passed"):
        net.fit(sp.csr_matrix(np.ones((3, 3))), y[:3])
    net.fit(X, y)
    with pytest.raises(ValueError, match="predict_loss needs a loss-prediction head"):
        net.predict_loss(X)
    with pytest.raises(ValueError, match=r"input must have shape \(n_samples, 1"):
        net.predict(np.repeat(X, 3, axis=1))
    with pytest.raises(ValueError, match="sample_weight"):
        net.score(X, y, sample_weight=np.ones(len(X)))


def _with(X, value):
    """A float64 copy of ``X`` whose first entry is ``value``."""
    X = np.array(X, dtype=np.float64)
    X.flat[0] = value
    return X


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda X, y: (_with(X, np.nan), y), ValueError, "Input X contains NaN"),
        (lambda X, y: (_with(X, np.inf), y), ValueError, "Input X contains infinity"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "X must contain at least one"),
        (lambda X, y: (X[:, 0], y), ValueError, r"shape \(12, 32, 32\)"),
        (lambda X, y: (X.reshape(12, -1), y), ValueError, "image batch of shape"),
        (lambda X, y: (np.full(X.shape, "a", dtype=object), y), ValueError,
         "X must hold numbers"),
        (lambda X, y: (sp.csr_matrix(X.reshape(12, -1)), y), TypeError,
         "X: Sparse data was passed for X, but dense data is required"),
        (lambda X, y: (X, y[:5]), ValueError,
         "X and y must have the same number of samples, got 12 and 5"),
        (lambda X, y: (X, y[:, :5]), ValueError, r"2 \* n_joints.*\(12, 5\)"),
        (lambda X, y: (X, y[:, 0]), ValueError, r"y must have shape .* \(12,\)"),
        (lambda X, y: (X, np.where(np.isnan(y), np.inf, y)), ValueError,
         "y must be finite or NaN"),
        (lambda X, y: (X, np.full(y.shape, "a", dtype=object)), ValueError,
         "y must hold numbers"),
        (lambda X, y: (X, None), ValueError, "requires y to be passed"),
        (lambda X, y: (X[..., :20, :20], y), ValueError, "multiples of 16"),
    ],
)
def test_fit_rejects_bad_data(occluded_pose, small_hourglass, make, error, match):
    X, y = occluded_pose
    X_bad, y_bad = make(X[:12], y[:12])
    with pytest.raises(error, match=match):
        small_hourglass(module__depth=2).fit(X_bad, y_bad)


def test_accepts_other_dtypes_and_frames(
    fitted_query_hourglass, occluded_pose, small_hourglass
):
    pd = pytest.importorskip("pandas")
    X, y = occluded_pose
    net = fitted_query_hourglass
    expected = net.predict(X[12:16])
    read_only = X[12:16].copy()
    read_only.flags.writeable = False
    for X_in in (X[12:16].astype(np.float64), X[12:16].astype(object),
                 X[12:16].tolist(), read_only):
        np.testing.assert_array_equal(net.predict(X_in), expected)
    fitted = small_hourglass(module__depth=2).fit(X[:12], pd.DataFrame(y[:12]))
    reference = small_hourglass(module__depth=2).fit(X[:12], y[:12])
    np.testing.assert_array_equal(fitted.predict(X[:4]), reference.predict(X[:4]))


def test_wrong_number_of_joints_for_the_model(
    fitted_query_hourglass, occluded_pose, small_hourglass
):
    X, y = occluded_pose
    with pytest.raises(ValueError, match="y has 3 joints, but the module predicts 14"):
        small_hourglass(module__depth=2, warm_start=True).fit(X[:8], y[:8]).fit(
            X[:8], y[:8, :6]
        )
    with pytest.raises(ValueError, match="y has 3 joints, but the module predicts 14"):
        small_hourglass(module__depth=2).fit(X[:8], y[:8]).partial_fit(
            X[:8], y[:8, :6]
        )
    with pytest.raises(ValueError, match="y has 14 joints, but the module predicts 3"):
        small_hourglass(module__depth=2, module__n_joints=3).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"y_true and y_pred must hold the same"):
        fitted_query_hourglass.score(X[:4], y[:4, :6])
    learner = ActiveLearner(small_hourglass(module__depth=2), random_query,
                            X_training=X[:8], y_training=y[:8],
                            force_all_finite=False)
    with pytest.raises(ValueError, match=r"same dimensions .* got X .* y \(6,\)"):
        learner.teach(X[8:10], y[8:10, :6])


def test_unfitted_methods_raise_not_fitted(occluded_pose, small_hourglass):
    X, _ = occluded_pose
    for method in ("predict", "predict_heatmaps", "embed", "predict_loss"):
        net = small_hourglass(module__depth=2, loss_prediction=True)
        with pytest.raises(NotFittedError, match="not initialized"):
            getattr(net, method)(X[:2])
    with pytest.raises(NotFittedError, match="not initialized"):
        small_hourglass().heatmap_size_for((32, 32))


@pytest.mark.parametrize("value", (float("nan"), float("inf")))
def test_non_finite_real_parameters_are_rejected(occluded_pose, small_hourglass,
                                                 value):
    X, y = occluded_pose
    with pytest.raises(ValueError, match="sigma must be a finite real number"):
        small_hourglass(module__depth=2, sigma=value).fit(X[:4], y[:4])
    for name in ("loss_prediction_margin", "loss_prediction_weight"):
        with pytest.raises(ValueError, match=f"{name} must be a finite real"):
            small_hourglass(module__depth=2, **{name: value}).fit(X[:4], y[:4])


_READ_ONLY_SCRIPT = """
import warnings
import numpy as np
import torch
from sk_eglpp import HourglassRegressor, make_pose_dataset

X, y = make_pose_dataset(8, image_size=16, random_state=0)
y = y.astype(np.float32)
X.flags.writeable = False
y.flags.writeable = False
warnings.simplefilter("error")  # torch's "not writable" warning included
net = HourglassRegressor(module__n_features=4, module__n_stacks=1,
                         module__depth=1, max_epochs=1, random_state=0)
net.fit(X, y)
state = torch.get_rng_state()
net.predict(X)
net.embed(X)
assert torch.equal(torch.get_rng_state(), state), "prediction drew from torch's RNG"
print("ok")
"""


def test_fit_and_predict_take_read_only_inputs_without_warnings():
    """In a fresh process: torch warns about read-only arrays only once."""
    result = subprocess.run(
        [sys.executable, "-c", _READ_ONLY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


# -- scikit-learn's estimator checks ------------------------------------------

_IMAGE = (
    "X must be an image batch (n_samples, channels, height, width); the check "
    "passes tabular 2-D X, which is rejected with a shape error"
)
_EXPECTED_FAILED = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_, virtual_params_ "
        "and stores module__ parameters as attributes"
    ),
    "check_set_params": (
        "skorch's set_params validates and re-initialises components eagerly and "
        "fails on the check's arbitrary values (e.g. a float as callbacks)"
    ),
    "check_estimators_nan_inf": (
        _IMAGE + "; NaN/inf in images are rejected (tested in test_errors)"
    ),
    "check_fit2d_1sample": _IMAGE,
    "check_fit2d_1feature": _IMAGE,
    "check_positive_only_tag_during_fit": _IMAGE,
    **{
        name: _IMAGE
        for name in [
            "check_fit_score_takes_y",
            "check_estimators_overwrite_params",
            "check_dont_overwrite_parameters",
            "check_estimators_fit_returns_self",
            "check_readonly_memmap_input",
            "check_n_features_in_after_fitting",
            "check_estimators_dtypes",
            "check_dtype_object",
            "check_pipeline_consistency",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_regressors_train",
            "check_regressor_data_not_an_array",
            "check_estimators_partial_fit_n_features",
            "check_regressor_multioutput",
            "check_regressors_no_decision_function",
            "check_regressors_int",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_dict_unchanged",
            "check_fit_idempotent",
            "check_fit_check_is_fitted",
            "check_n_features_in",
            "check_fit2d_predict1d",
        ]
    },
}


@parametrize_with_checks(
    [HourglassRegressor(**{**TINY, "max_epochs": 1})],
    expected_failed_checks=lambda est: _EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("channels", [1, 3])
def test_channels_last_images_get_a_transpose_hint(tiny_data, channels):
    X, y = tiny_data  # (n, 1, 32, 32)
    X = np.repeat(X, channels, axis=1)
    X_last = X.transpose(0, 2, 3, 1)  # (n, 32, 32, channels)
    hint = r"looks like channels-last .*X\.transpose\(0, 3, 1, 2\)"
    with pytest.raises(ValueError, match=hint):
        HourglassRegressor(**TINY).fit(X_last, y)
    with pytest.raises(ValueError, match=hint):
        HourglassRegressor(**TINY, module__in_channels=channels).fit(X_last, y)
    net = HourglassRegressor(**TINY).fit(X[:8], y[:8])
    for method in (net.predict, net.predict_heatmaps, net.embed):
        with pytest.raises(ValueError, match=hint):
            method(X_last[:2])
    # channels-first data of any channel count is not mistaken for it
    assert net.predict(X[:2]).shape == (2, y.shape[1])
