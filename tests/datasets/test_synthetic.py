"""Tests of the embedded synthetic pose data set (make_pose_dataset)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from sk_eglpp.datasets import LSP_JOINT_NAMES, make_pose_dataset
from sk_eglpp.datasets._synthetic import _coverage

CLEAN = dict(occlusion=0.0, truncation=0.0, clutter=0.0, noise=0.0)


@pytest.fixture(scope="module")
def data():
    return make_pose_dataset(300, n_sequences=12, return_sequences=True, random_state=0)


def _joints(y):
    return y.reshape(y.shape[0], 14, 2)


def test_shapes_dtypes_ranges(data):
    X, y, seq = data
    assert X.shape == (300, 1, 64, 64) and X.dtype == np.float32
    assert y.shape == (300, 28) and y.dtype == np.float64
    assert seq.shape == (300,) and seq.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert np.isfinite(X).all()
    # Keypoints inside the image (pixel centres at integers) or NaN, x and y
    # of a joint NaN together.
    kp = _joints(y)
    assert np.array_equal(np.isnan(kp[..., 0]), np.isnan(kp[..., 1]))
    finite = kp[~np.isnan(kp)]
    assert finite.min() >= -0.5 and finite.max() < 63.5
    assert set(np.unique(seq)) == set(range(12))
    assert len(LSP_JOINT_NAMES) == 14


def test_default_number_of_sequences_and_return_form():
    out = make_pose_dataset(60, random_state=0)
    assert isinstance(out, tuple) and len(out) == 2
    _, _, seq = make_pose_dataset(60, return_sequences=True, random_state=0)
    assert len(np.unique(seq)) == 3  # ceil(60 / 25)
    _, _, seq = make_pose_dataset(5, n_sequences=5, return_sequences=True)
    assert sorted(seq.tolist()) == [0, 1, 2, 3, 4]


def test_deterministic_with_random_state():
    a = make_pose_dataset(40, return_sequences=True, random_state=3)
    b = make_pose_dataset(40, return_sequences=True, random_state=3)
    rs = np.random.RandomState(3)
    c = make_pose_dataset(40, return_sequences=True, random_state=rs)
    for u, v, w in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(u, w)
    d = make_pose_dataset(40, return_sequences=True, random_state=4)
    assert not np.array_equal(a[0], d[0])


def test_shuffle_permutes_the_unshuffled_samples():
    X0, y0, s0 = make_pose_dataset(
        50, shuffle=False, return_sequences=True, random_state=1
    )
    X1, y1, s1 = make_pose_dataset(
        50, shuffle=True, return_sequences=True, random_state=1
    )
    assert np.all(np.diff(s0) >= 0)  # contiguous sequences, in order
    assert not np.all(np.diff(s1) >= 0)
    # Every shuffled image is one of the unshuffled ones, with its labels.
    flat0 = X0.reshape(50, -1)
    for i in range(50):
        j = np.flatnonzero((flat0 == X1[i].ravel()).all(axis=1))
        assert j.size == 1
        np.testing.assert_array_equal(y0[j[0]], y1[i])
        assert s0[j[0]] == s1[i]


def test_nan_fraction_follows_occlusion():
    fractions = [
        np.isnan(
            make_pose_dataset(300, occlusion=o, truncation=0.0, random_state=0)[1]
        ).mean()
        for o in (0.0, 0.1, 0.3, 0.6)
    ]
    assert fractions[0] < 0.01
    assert 0.1 <= fractions[1] <= 0.2
    assert np.all(np.diff(fractions) > 0.05)
    # All joints covered when every joint gets an occluder.
    _, y = make_pose_dataset(20, occlusion=1.0, truncation=0.0, random_state=0)
    assert np.isnan(y).mean() > 0.95


def test_truncation_moves_joints_out_of_the_image():
    _, y0 = make_pose_dataset(200, occlusion=0.0, truncation=0.0, random_state=0)
    _, y1 = make_pose_dataset(200, occlusion=0.0, truncation=1.0, random_state=0)
    assert np.isnan(y1).mean() > np.isnan(y0).mean() + 0.1


def _dispersion(y, seq, k):
    """Mean standard deviation of the keypoints of sequence k, in pixels."""
    return np.nanmean(np.nanstd(y[seq == k], axis=0))


def test_sequences_differ_in_spread():
    _, y, seq = make_pose_dataset(
        600,
        n_sequences=12,
        spread=(0.02, 1.0),
        return_sequences=True,
        random_state=0,
        **CLEAN,
    )
    disp = np.array([_dispersion(y, seq, k) for k in range(12)])
    assert disp.max() > 5 * disp.min()  # static and dispersed sequences
    assert disp.min() < 1.0 and disp.max() > 3.0
    # A wider spread range makes sequences more dispersed on average.
    _, y2, seq2 = make_pose_dataset(
        600,
        n_sequences=12,
        spread=(0.02, 0.1),
        return_sequences=True,
        random_state=0,
        **CLEAN,
    )
    disp2 = np.array([_dispersion(y2, seq2, k) for k in range(12)])
    assert disp2.mean() < disp.mean() / 3


def test_zero_spread_gives_identical_frames():
    X, y, seq = make_pose_dataset(
        30,
        n_sequences=3,
        spread=(0.0, 0.0),
        return_sequences=True,
        random_state=2,
        **CLEAN,
    )
    for k in range(3):
        frames = X[seq == k]
        assert frames.shape[0] >= 1
        assert np.array_equal(frames, np.broadcast_to(frames[0], frames.shape))
        assert np.allclose(y[seq == k], y[seq == k][0], equal_nan=True)
    assert not np.array_equal(X[seq == 0][0], X[seq == 1][0])


def test_images_differ_when_poses_differ():
    X, y = make_pose_dataset(80, n_sequences=80, random_state=5, **CLEAN)
    assert not np.isnan(y).any()
    i, j = np.triu_indices(80, 1)
    pose_dist = np.linalg.norm(y[i] - y[j], axis=1)
    image_dist = np.linalg.norm(
        X[i].reshape(len(i), -1) - X[j].reshape(len(j), -1), axis=1
    )
    assert image_dist.min() > 0
    assert spearmanr(pose_dist, image_dist).statistic > 0.3


def test_joints_lie_on_the_drawn_figure():
    X, y = make_pose_dataset(100, random_state=6, **CLEAN)
    kp = _joints(y)
    background = X.reshape(100, -1).min(axis=1)
    hits = []
    for n in range(100):
        for j in range(14):
            if np.isnan(kp[n, j]).any():
                continue
            cx, cy = np.rint(kp[n, j]).astype(int)
            patch = X[n, 0, max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2]
            hits.append(patch.max() > background[n] + 0.1)
    assert np.mean(hits) > 0.99


def test_kinematic_structure_and_lsp_left_right():
    _, y = make_pose_dataset(200, random_state=7, **CLEAN)
    kp = _joints(y)
    hip_width = np.linalg.norm(kp[:, 2] - kp[:, 3], axis=1)
    shoulder_width = np.linalg.norm(kp[:, 8] - kp[:, 9], axis=1)
    head = np.linalg.norm(kp[:, 13] - kp[:, 12], axis=1)
    # Rigid parts keep their proportions under rotation and scaling.
    np.testing.assert_allclose(head / hip_width, 0.15 / 0.14, rtol=1e-9)
    np.testing.assert_allclose(
        shoulder_width / hip_width, np.hypot(0.22, 0.0) / 0.14, rtol=1e-9
    )
    # The figure's right hip appears on the image's left when upright.
    assert np.mean(kp[:, 2, 0] < kp[:, 3, 0]) > 0.99
    assert np.mean(kp[:, 13, 1] < kp[:, 12, 1]) > 0.95  # head top above neck


def test_keypoints_scale_with_image_size():
    _, y64 = make_pose_dataset(50, image_size=64, random_state=8)
    X128, y128 = make_pose_dataset(50, image_size=128, random_state=8)
    assert X128.shape == (50, 1, 128, 128)
    # Pixel centres at integers: x_128 + 0.5 = 2 * (x_64 + 0.5).
    np.testing.assert_allclose(y128, 2 * y64 + 0.5, rtol=0, atol=1e-9)


def test_coverage_against_per_pixel_loop(rng):
    size = 12
    px, py = np.meshgrid(
        np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32)
    )
    a = rng.uniform(-2, size + 2, (4, 2))
    b = rng.uniform(-2, size + 2, (4, 2))
    b[0] = a[0]  # a disc
    radius = rng.uniform(0.5, 3.0, 4)
    got = _coverage(px, py, a, b, radius)
    expected = np.zeros((4, size, size))
    for m in range(4):
        for i in range(size):
            for j in range(size):
                p = np.array([j, i], dtype=float)
                seg = b[m] - a[m]
                if seg @ seg == 0:
                    dist = np.linalg.norm(p - a[m])
                else:
                    t = min(1.0, max(0.0, (p - a[m]) @ seg / (seg @ seg)))
                    dist = np.linalg.norm(p - (a[m] + t * seg))
                expected[m, i, j] = min(1.0, max(0.0, radius[m] + 0.5 - dist))
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_samples": 0}, ValueError, r"n_samples must be an int in \[1, inf\)"),
        ({"n_samples": 2.5}, TypeError, r"n_samples must be an int .*\(float\)"),
        ({"image_size": 8}, ValueError, r"image_size must be an int in \[16, inf\)"),
        ({"n_sequences": 11}, ValueError, r"n_sequences must be in \[1, n_samples"),
        ({"n_sequences": 0}, ValueError, r"n_sequences must be an int in \[1, inf\)"),
        ({"occlusion": 1.5}, ValueError, r"occlusion must be .* in \[0, 1\]"),
        ({"occlusion": "high"}, TypeError, "occlusion must be a finite real number"),
        ({"truncation": -0.1}, ValueError, r"truncation must be .* in \[0, 1\]"),
        ({"clutter": -1}, ValueError, r"clutter must be a finite real number in \[0"),
        ({"noise": np.inf}, ValueError, r"noise must be a finite real number in \[0"),
        ({"noise": True}, TypeError, r"noise must be a finite real .*\(bool\)"),
        ({"spread": 0.5}, TypeError, r"spread must be a pair \(low, high\)"),
        ({"spread": (1.0, 0.5)}, ValueError, "spread must satisfy low <= high"),
        ({"spread": (-1.0, 0.5)}, ValueError,
         r"spread\[0\] must be a finite real number in \[0"),
        ({"return_sequences": "yes"}, TypeError, "return_sequences must be a bool"),
        ({"shuffle": 1}, TypeError, "shuffle must be a bool"),
        ({"n_samples": 5.0}, TypeError, r"n_samples must be .*got 5.0"),
        ({"n_samples": 5, "image_size": 8}, ValueError, r"image_size must .* \[16"),
        ({"n_samples": 5, "n_sequences": 6}, ValueError,
         r"n_sequences must be in \[1"),
        ({"n_samples": 5, "occlusion": 1.5}, ValueError,
         r"occlusion must .* \[0, 1\]"),
        ({"n_samples": 5, "noise": -1.0}, ValueError,
         r"noise must be .* in \[0, inf\)"),
        ({"n_samples": 5, "spread": (1.0, 0.1)}, ValueError, "low <= high"),
        ({"n_samples": 5, "shuffle": "yes"}, TypeError, "shuffle must be a bool"),
    ],
)
def test_invalid_parameters(kwargs, error, match):
    params = {"n_samples": 10, **kwargs}
    with pytest.raises(error, match=match):
        make_pose_dataset(**params)


@settings(max_examples=25, deadline=None)
@given(
    n_samples=st.integers(1, 12),
    image_size=st.integers(16, 40),
    occlusion=st.floats(0, 1),
    truncation=st.floats(0, 1),
    clutter=st.floats(0, 10),
    noise=st.floats(0, 0.5),
    spread=st.tuples(st.floats(0, 2), st.floats(0, 2)).map(sorted),
    seed=st.integers(0, 2**31 - 1),
)
def test_any_valid_parameters_give_valid_output(
    n_samples, image_size, occlusion, truncation, clutter, noise, spread, seed
):
    n_sequences = 1 + seed % n_samples
    kwargs = dict(
        image_size=image_size,
        n_sequences=n_sequences,
        occlusion=occlusion,
        truncation=truncation,
        clutter=clutter,
        noise=noise,
        spread=tuple(spread),
        return_sequences=True,
        random_state=seed,
    )
    X, y, seq = make_pose_dataset(n_samples, **kwargs)
    assert X.shape == (n_samples, 1, image_size, image_size)
    assert np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1
    finite = y[~np.isnan(y)]
    assert finite.size == 0 or (finite.min() >= -0.5 and finite.max() < image_size)
    assert np.array_equal(np.unique(seq), np.arange(n_sequences))
    X2, y2, seq2 = make_pose_dataset(n_samples, **kwargs)
    assert np.array_equal(X, X2) and np.array_equal(y, y2, equal_nan=True)
