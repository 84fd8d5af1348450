"""Training augmentation (flip, rotation, scale), flip-averaged prediction and
learning-rate schedules of HourglassRegressor, against hand-computed transforms."""

import math

import numpy as np
import pytest
import torch
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import LambdaLR, StepLR

from sk_eglpp._fingerprints import describe
from sk_eglpp.datasets import keypoints_to_heatmaps
from sk_eglpp.models import LSP_FLIP_PAIRS, HourglassRegressor, augment_batch
from sk_eglpp.models._augment import (
    check_flip_pairs,
    flip_heatmaps,
    flip_permutation,
    transform_batch,
)


def _matrix(degrees=0.0, scale=1.0, mirror=False):
    t = math.radians(degrees)
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    flip = np.diag([-1.0 if mirror else 1.0, 1.0])
    return torch.tensor(scale * rotation @ flip)[None]


def _dot(h, w, x, y):
    X = torch.zeros(1, 1, h, w)
    X[0, 0, y, x] = 1.0
    return X


@pytest.mark.parametrize(
    "degrees, scale, mirror, point, expected",
    [
        # 8 x 8: centre (3.5, 3.5); mirror x -> 7 - x
        (0.0, 1.0, True, (1.0, 2.0), (6.0, 2.0)),
        # +90 degrees: (p - c) = (-2.5, -1.5) -> (1.5, -2.5)
        (90.0, 1.0, False, (1.0, 2.0), (5.0, 1.0)),
        (-90.0, 1.0, False, (1.0, 2.0), (2.0, 6.0)),
        (180.0, 1.0, False, (1.0, 2.0), (6.0, 5.0)),
        # scale 2 about the centre: (2.5, 3.5) -> (1.5, 3.5)
        (0.0, 2.0, False, (2.5, 3.5), (1.5, 3.5)),
    ],
)
def test_keypoint_lands_on_hand_computed_pixel(degrees, scale, mirror, point,
                                               expected):
    y = torch.tensor([point], dtype=torch.float32)
    _, out = transform_batch(torch.zeros(1, 1, 8, 8), y,
                             _matrix(degrees, scale, mirror),
                             torch.tensor([mirror]), None)
    np.testing.assert_allclose(out[0].numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("degrees, mirror", [(90.0, False), (-90.0, False),
                                             (180.0, False), (0.0, True),
                                             (90.0, True)])
def test_image_moves_with_its_keypoint(degrees, mirror):
    # exact pixel permutations: the bright pixel lands on the keypoint
    X = _dot(8, 8, 1, 2)
    y = torch.tensor([[1.0, 2.0]])
    Xo, yo = transform_batch(X, y, _matrix(degrees, 1.0, mirror),
                             torch.tensor([mirror]), None)
    row, col = np.unravel_index(int(Xo[0, 0].argmax()), (8, 8))
    assert (col, row) == tuple(np.round(yo[0].numpy()).astype(int))
    assert float(Xo.sum()) == pytest.approx(1.0, abs=1e-5)


def test_non_square_image_rotates_about_its_centre():
    # 6 rows x 10 columns: centre (4.5, 2.5); +90 degrees: (5.5, 2.5) -> (4.5, 3.5)
    X = torch.zeros(1, 1, 6, 10)
    X[0, 0, 2:4, 5:7] = 1.0  # a 2 x 2 square centred on (5.5, 2.5)
    y = torch.tensor([[5.5, 2.5]])
    Xo, yo = transform_batch(X, y, _matrix(90.0), torch.tensor([False]), None)
    np.testing.assert_allclose(yo[0].numpy(), (4.5, 3.5), atol=1e-5)
    rows, cols = np.nonzero(Xo[0, 0].numpy() > 0.5)
    assert (cols.mean(), rows.mean()) == pytest.approx((4.5, 3.5))


def test_mirror_swaps_the_joint_pairs():
    # joints 0 and 1 are a pair, joint 2 has no side
    y = torch.tensor([[1.0, 1.0, 5.0, 2.0, 3.0, 4.0]])
    perm = flip_permutation(3, [(0, 1)])
    _, out = transform_batch(torch.zeros(1, 1, 8, 8), y, _matrix(mirror=True),
                             torch.tensor([True]), perm)
    # joint 0 of the mirror image is joint 1 mirrored: (7 - 5, 2)
    np.testing.assert_allclose(out[0].numpy(), [2.0, 2.0, 6.0, 1.0, 4.0, 4.0])


def test_keypoints_leaving_the_image_become_nan_and_nan_stays_nan():
    y = torch.tensor([[0.0, 0.0, np.nan, np.nan, 3.5, 3.5]])
    _, out = transform_batch(torch.zeros(1, 1, 8, 8), y, _matrix(scale=2.0),
                             torch.tensor([False]), None)
    out = out[0].numpy()
    assert np.isnan(out[:4]).all()  # (0, 0) -> (-3.5, -3.5): outside
    np.testing.assert_allclose(out[4:], [3.5, 3.5])


def test_random_augmentation_keeps_blobs_on_their_keypoints():
    # any drawn transform: a Gaussian blob drawn at the keypoint is found at
    # the transformed keypoint (bilinear resampling of a smooth image)
    rng = np.random.default_rng(0)
    n, size = 32, 48
    pts = rng.uniform(16, 32, size=(n, 2))
    grid = np.arange(size)
    X = np.exp(-((grid[None, None, :] - pts[:, 0, None, None]) ** 2
                 + (grid[None, :, None] - pts[:, 1, None, None]) ** 2) / 8.0)
    X = torch.tensor(X[:, None], dtype=torch.float32)
    y = torch.tensor(pts, dtype=torch.float32)
    g = torch.Generator().manual_seed(0)
    Xo, yo = augment_batch(X, y, max_rotation=30, scale_range=(0.75, 1.25),
                           flip_pairs=(), generator=g)
    yo = yo.numpy()
    for i in range(n):
        row, col = np.unravel_index(int(Xo[i, 0].argmax()), (size, size))
        assert np.hypot(col - yo[i, 0], row - yo[i, 1]) <= 1.0


def test_augment_batch_is_seeded_and_identity_without_settings():
    X = torch.rand(4, 3, 16, 16)
    y = torch.rand(4, 28) * 15
    a = augment_batch(X, y, max_rotation=30, scale_range=(0.75, 1.25),
                      flip_pairs=LSP_FLIP_PAIRS,
                      generator=torch.Generator().manual_seed(3))
    b = augment_batch(X, y, max_rotation=30, scale_range=(0.75, 1.25),
                      flip_pairs=LSP_FLIP_PAIRS,
                      generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    same = augment_batch(X, y)
    torch.testing.assert_close(same[0], X)
    torch.testing.assert_close(same[1], y)


def test_flip_heatmaps_inverts_a_mirror_at_the_hourglass_stride():
    # heatmaps rendered for mirrored keypoints, flipped back, are those of the
    # original keypoints: the stride-4 grid is symmetric
    kp = np.array([[[5.3, 9.0], [20.0, 30.7], [12.0, 3.0]]])
    perm = flip_permutation(3, [(0, 1)])
    mirrored = kp[:, perm].copy()
    mirrored[..., 0] = 31 - mirrored[..., 0]
    h = keypoints_to_heatmaps(kp, (8, 8), sigma=1.0, stride=4)
    hm = keypoints_to_heatmaps(mirrored, (8, 8), sigma=1.0, stride=4)
    back = flip_heatmaps(torch.tensor(hm), perm).numpy()
    np.testing.assert_allclose(back, h, atol=1e-6)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((16, 3, 16, 16), dtype=np.float32)
    y = rng.uniform(2, 13, size=(16, 28))
    return X, y


def _net(**params):
    params = {"max_epochs": 2, **params}
    return HourglassRegressor(module__n_features=8, module__depth=1,
                              random_state=0, **params)


def test_augmented_fit_is_reproducible_and_augments(data):
    X, y = data
    aug = dict(flip_pairs=LSP_FLIP_PAIRS, max_rotation=30.0,
               scale_range=(0.75, 1.25))
    a, b, plain = _net(**aug).fit(X, y), _net(**aug).fit(X, y), _net().fit(X, y)
    np.testing.assert_array_equal(a.predict_heatmaps(X), b.predict_heatmaps(X))
    assert not np.array_equal(a.predict_heatmaps(X), plain.predict_heatmaps(X))


def test_training_batches_are_transformed(data, monkeypatch):
    X, y = data
    seen = []
    original = HourglassRegressor.get_loss

    def spy(self, y_pred, y_true, X=None, training=False):
        if training:
            seen.append(np.asarray(y_true))
        return original(self, y_pred, y_true, X=X, training=training)

    monkeypatch.setattr(HourglassRegressor, "get_loss", spy)
    _net(max_rotation=30.0, max_epochs=1, batch_size=16,
         iterator_train__shuffle=False).fit(X, y)
    assert len(seen) == 1
    moved = seen[0].reshape(16, 14, 2)
    original_kp = y.reshape(16, 14, 2)
    inside = ~np.isnan(moved).any(axis=2)
    assert not np.allclose(moved[inside], original_kp[inside])
    # rotations and shifts about the centre keep distances to it
    c = 7.5
    np.testing.assert_allclose(
        np.hypot(*(moved[inside] - c).T), np.hypot(*(original_kp[inside] - c).T),
        rtol=1e-4)


def test_flip_test_averages_the_mirror_prediction(data):
    X, y = data
    net = _net(flip_pairs=LSP_FLIP_PAIRS).fit(X, y)
    plain = net.predict_heatmaps(X)
    perm = flip_permutation(14, LSP_FLIP_PAIRS)
    mirror = net.predict_heatmaps(X[..., ::-1].copy())[:, perm, :, ::-1]
    net.set_params(flip_test=True)
    np.testing.assert_allclose(net.predict_heatmaps(X), (plain + mirror) / 2,
                               atol=1e-6)
    assert net.predict(X).shape == (16, 28)


def test_flip_test_needs_flip_pairs(data):
    X, y = data
    net = _net().fit(X, y).set_params(flip_test=True)
    with pytest.raises(ValueError, match="flip_test=True needs flip_pairs"):
        net.predict(X)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(flip_pairs=[(0, 14)]), ValueError, r"in \[0, 14\), got \(0, 14\)"),
        (dict(flip_pairs=[(0, 1), (1, 2)]), ValueError, "joint 1 twice"),
        (dict(flip_pairs=[(0, 0)]), ValueError, "joint 0 twice"),
        (dict(flip_pairs=[(0, 1.5)]), TypeError, "two int joint indices"),
        (dict(flip_pairs="ab"), TypeError, "flip_pairs"),
        (dict(scale_range=(1.2, 0.8)), ValueError, "0 < low <= high"),
        (dict(scale_range=(0.0, 1.0)), ValueError, "0 < low <= high"),
        (dict(scale_range=(0.5,)), TypeError, "pair of numbers"),
        (dict(max_rotation=200.0), ValueError, "max_rotation"),
        (dict(max_rotation=-1.0), ValueError, "max_rotation"),
    ],
)
def test_bad_augmentation_parameters(data, params, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        _net(**params).fit(X, y)


def test_check_flip_pairs_accepts_numpy_ints():
    assert check_flip_pairs(np.array([[0, 5]]), 6) == ((0, 5),)


def _halving(epoch):
    return 0.5**epoch


def test_learning_rate_schedule_through_skorch_callbacks(data):
    X, y = data
    net = _net(lr=0.1, max_epochs=3,
               callbacks=[("lr", LRScheduler(StepLR, step_size=1, gamma=0.5))])
    net.fit(X, y)
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)


def test_closed_form_schedule_continues_across_warm_starts(data):
    # skorch re-creates the scheduler from the epoch count at every fit: a
    # schedule given as a function of the epoch continues exactly
    X, y = data
    net = _net(lr=0.1, max_epochs=3, warm_start=True,
               callbacks=[("lr", LRScheduler(LambdaLR, lr_lambda=_halving))])
    net.fit(X, y)
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    net.partial_fit(X, y)
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**6)


def test_fingerprint_omits_augmentation_at_its_defaults():
    # stores written before augmentation existed keep their identity
    params = describe(HourglassRegressor())["params"]
    assert not {"flip_pairs", "max_rotation", "scale_range", "flip_test"} & set(params)
    assert describe(HourglassRegressor(max_rotation=30.0))["params"][
        "max_rotation"] == 30.0


def test_uint8_images_are_scaled_batch_by_batch(data):
    # uint8 images train and predict as their float32 / 255 copies
    X, y = data
    X8 = (X * 255).round().astype(np.uint8)
    Xf = X8.astype(np.float32) / 255
    aug = dict(max_rotation=30.0, flip_pairs=LSP_FLIP_PAIRS)
    a, b = _net(**aug).fit(X8, y), _net(**aug).fit(Xf, y)
    np.testing.assert_array_equal(a.predict_heatmaps(X8), b.predict_heatmaps(Xf))
    np.testing.assert_array_equal(a.embed(X8), a.embed(Xf))
    assert a.score(X8, y) == a.score(Xf, y)


def test_egl_pp_reads_uint8_pools_as_their_scaled_floats(data):
    from sk_eglpp.query import EGLPlusPlusQuery

    X, y = data
    X8 = (X * 255).round().astype(np.uint8)
    Xf = X8.astype(np.float32) / 255
    net = _net().fit(Xf[:8], y[:8])
    query = EGLPlusPlusQuery(n_neighbors=3, perplexity=1.0, random_state=0)
    s8 = query.score(net, X8[8:], X_labelled=X8[:8], y_labelled=y[:8])
    sf = query.score(net, Xf[8:], X_labelled=Xf[:8], y_labelled=y[:8])
    np.testing.assert_allclose(s8, sf, rtol=1e-6)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((np.zeros((1, 1, 8, 8)), torch.zeros(1, 2)), {}, TypeError,
         "X must be a floating tensor"),
        ((torch.zeros(1, 8, 8), torch.zeros(1, 2)), {}, TypeError,
         "X must be a floating tensor"),
        ((torch.zeros(1, 1, 8, 8), torch.zeros(2, 2)), {}, ValueError,
         r"y must be a tensor of shape \(1, 2 \* n_joints\)"),
        ((torch.zeros(1, 1, 8, 8), torch.zeros(1, 3)), {}, ValueError,
         "y must be a tensor"),
        ((torch.zeros(1, 1, 8, 8), torch.zeros(1, 2)), {"max_rotation": -5},
         ValueError, "max_rotation must be a number of degrees"),
        ((torch.zeros(1, 1, 8, 8), torch.zeros(1, 2)), {"max_rotation": True},
         ValueError, "max_rotation"),
        ((torch.zeros(1, 1, 8, 8), torch.zeros(1, 2)), {"scale_range": (2, 1)},
         ValueError, "0 < low <= high"),
        ((torch.zeros(1, 1, 8, 8), torch.zeros(1, 2)), {"flip_pairs": [(0, 1)]},
         ValueError, r"in \[0, 1\)"),
    ],
)
def test_augment_batch_bad_inputs(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        augment_batch(*args, **kwargs)
