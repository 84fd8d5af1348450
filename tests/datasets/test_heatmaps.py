"""Heatmap rendering and decoding against slow per-pixel references."""

import math

import numpy as np
import pytest

from sk_eglpp.datasets import heatmaps_to_keypoints, keypoints_to_heatmaps


def _render_reference(keypoints, height, width, sigma, stride):
    """Pixel-by-pixel loop over the documented formula."""
    kp = np.asarray(keypoints, dtype=float).reshape(len(keypoints), -1, 2)
    out = np.zeros((kp.shape[0], kp.shape[1], height, width))
    for n in range(kp.shape[0]):
        for j in range(kp.shape[1]):
            x, y = kp[n, j]
            if math.isnan(x) or math.isnan(y):
                continue
            u0 = (x - (stride - 1) / 2) / stride
            v0 = (y - (stride - 1) / 2) / stride
            for v in range(height):
                for u in range(width):
                    d2 = (u - u0) ** 2 + (v - v0) ** 2
                    out[n, j, v, u] = math.exp(-d2 / (2 * sigma**2))
    return out


@pytest.mark.parametrize("stride, sigma", [(1, 1.0), (4, 1.5), (2, 0.7)])
def test_render_matches_reference(rng, stride, sigma):
    kp = rng.uniform(-2, 30, size=(3, 8))
    kp[1, 2:4] = np.nan
    got = keypoints_to_heatmaps(kp, (7, 9), sigma=sigma, stride=stride)
    assert got.dtype == np.float32 and got.shape == (3, 4, 7, 9)
    expected = _render_reference(kp, 7, 9, sigma, stride)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert not got[1, 1].any()  # NaN joint -> zero heatmap
    # (n, J, 2) input is the same keypoints
    same = keypoints_to_heatmaps(
        kp.reshape(3, 4, 2), (7, 9), sigma=sigma, stride=stride
    )
    np.testing.assert_array_equal(same, got)


def test_input_not_mutated(rng):
    kp = rng.uniform(0, 10, size=(2, 4))
    kp[0, 0] = np.nan
    before = kp.copy()
    keypoints_to_heatmaps(kp, 4, stride=4)
    np.testing.assert_array_equal(kp, before)
    h = rng.random((2, 2, 4, 4))
    h_before = h.copy()
    heatmaps_to_keypoints(h, stride=4)
    np.testing.assert_array_equal(h, h_before)


@pytest.mark.parametrize("stride, sigma", [(4, 1.0), (4, 2.0), (1, 1.5), (2, 1.0)])
def test_round_trip_sub_pixel(rng, stride, sigma):
    size = 16
    # keep peaks at least one pixel inside the heatmap (refinement needs both
    # neighbours)
    low = stride * 1.0 + (stride - 1) / 2
    high = stride * (size - 2.0) + (stride - 1) / 2
    kp = rng.uniform(low, high, size=(20, 2 * 5))
    h = keypoints_to_heatmaps(kp, size, sigma=sigma, stride=stride)
    decoded = heatmaps_to_keypoints(h, stride=stride)
    error = np.abs(decoded - kp)
    assert error.max() < 0.5
    # the log-parabola is exact for a Gaussian up to float32 rounding
    assert error.max() < 0.01 * stride


def test_no_refinement_gives_argmax_centre(rng):
    kp = rng.uniform(6, 56, size=(10, 6))
    h = keypoints_to_heatmaps(kp, 16, sigma=1.0, stride=4)
    decoded = heatmaps_to_keypoints(h, stride=4, refine=False)
    # the decoded point is a heatmap-pixel centre ...
    u = (decoded - 1.5) / 4
    np.testing.assert_allclose(u, np.round(u), atol=1e-12)
    # ... of the pixel holding the keypoint
    assert np.abs(decoded - kp).max() <= 2.0 + 1e-9


def test_quarter_pixel_fallback_and_border():
    h = np.zeros((1, 2, 5, 5))
    # joint 0: peak at (u=2, v=2), right neighbour 0.5, left 0 (no logarithm):
    # quarter pixel to the right; vertical neighbours equal: no vertical shift
    h[0, 0, 2, 2] = 1.0
    h[0, 0, 2, 3] = 0.5
    h[0, 0, 1, 2] = h[0, 0, 3, 2] = 0.2
    # joint 1: peak on the left border: no horizontal refinement
    h[0, 1, 1, 0] = 1.0
    h[0, 1, 1, 1] = 0.9
    got = heatmaps_to_keypoints(h, stride=1)
    np.testing.assert_allclose(got[0, :2], [2.25, 2.0])
    np.testing.assert_allclose(got[0, 2:], [0.0, 1.0])


def test_hand_computed_log_parabola():
    # a Gaussian row with centre u = 2.3, symmetric rows above and below:
    # x = 4 * 2.3 + 1.5 = 10.7 and y = 4 * 1 + 1.5 = 5.5 in input pixels
    u = np.arange(5)
    row = np.exp(-((u - 2.3) ** 2) / 2)
    h = np.zeros((1, 1, 3, 5))
    h[0, 0, 1] = row
    h[0, 0, 0] = h[0, 0, 2] = row * 0.1
    got = heatmaps_to_keypoints(h, stride=4)
    np.testing.assert_allclose(got, [[10.7, 4 * 1 + 1.5]], atol=1e-9)


def test_errors():
    with pytest.raises(ValueError, match="even number of columns"):
        keypoints_to_heatmaps(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match=r"\(n_samples, n_joints, 2\)"):
        keypoints_to_heatmaps(np.zeros((2, 3, 3)), 4)
    with pytest.raises(ValueError, match=r"sigma must be a finite real number in \(0"):
        keypoints_to_heatmaps(np.zeros((1, 2)), 4, sigma=0)
    with pytest.raises(TypeError, match="sigma must be a finite real number"):
        keypoints_to_heatmaps(np.zeros((1, 2)), 4, sigma="1")
    with pytest.raises(ValueError, match=r"stride must be a finite real number in \(0"):
        keypoints_to_heatmaps(np.zeros((1, 2)), 4, stride=-1)
    with pytest.raises(ValueError, match="heatmap_size must be positive"):
        keypoints_to_heatmaps(np.zeros((1, 2)), (0, 3))
    with pytest.raises(TypeError, match="heatmap_size must be an int"):
        keypoints_to_heatmaps(np.zeros((1, 2)), "big")
    with pytest.raises(ValueError, match="finite or NaN"):
        keypoints_to_heatmaps(np.array([[np.inf, 0.0]]), 4)
    with pytest.raises(ValueError, match=r"\(n_samples, n_joints, height, width\)"):
        heatmaps_to_keypoints(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="must not contain NaN"):
        heatmaps_to_keypoints(np.full((1, 1, 2, 2), np.nan))
    with pytest.raises(TypeError, match="stride must be a finite real number"):
        heatmaps_to_keypoints(np.zeros((1, 1, 2, 2)), stride=None)


def test_heatmap_peaks_import_paths_and_checks():
    import sk_eglpp.query._multipeak as multipeak
    from sk_eglpp.datasets import heatmap_peaks
    from sk_eglpp.datasets._heatmaps import heatmap_peaks as direct

    assert heatmap_peaks is direct is multipeak.heatmap_peaks
    with pytest.raises(ValueError, match=r"^heatmap_peaks: min_distance must be an"):
        heatmap_peaks(np.zeros((1, 4, 4)), min_distance=0)
    with pytest.raises(TypeError, match=r"^heatmap_peaks: threshold_abs must be"):
        heatmap_peaks(np.zeros((1, 4, 4)), threshold_abs="high")


def test_bad_values_rejected_and_edges_handled():
    with pytest.raises(ValueError, match="keypoints must be finite or NaN"):
        keypoints_to_heatmaps([[np.inf, 1.0]], 4)
    with pytest.raises(ValueError, match="keypoints must hold numbers"):
        keypoints_to_heatmaps([["a", "b"]], 4)
    with pytest.raises(ValueError, match=r"heatmap_size must be positive"):
        keypoints_to_heatmaps([[1.0, 1.0]], 0)
    with pytest.raises(ValueError, match="heatmaps must have shape"):
        heatmaps_to_keypoints(np.zeros((1, 3, 3)))
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="heatmaps must not contain NaN or inf"):
            heatmaps_to_keypoints(np.full((1, 1, 3, 3), bad))
    with pytest.raises(ValueError, match="heatmaps must hold numbers"):
        heatmaps_to_keypoints(np.full((1, 1, 3, 3), "a"))
    with np.errstate(all="raise"):
        # documented: far-away joints give zero maps, empty batches decode empty
        far = keypoints_to_heatmaps([[1e300, 1.0]], 4)
        assert far.shape == (1, 1, 4, 4) and not far.any()
        assert keypoints_to_heatmaps(np.zeros((0, 2)), 4).shape == (0, 1, 4, 4)
        assert heatmaps_to_keypoints(np.zeros((0, 2, 3, 3))).shape == (0, 4)


@pytest.mark.parametrize("sigma", (float("nan"), float("inf")))
def test_non_finite_sigma_is_rejected(sigma):
    with pytest.raises(ValueError, match="sigma must be a finite real number"):
        keypoints_to_heatmaps([[1.0, 1.0]], 4, sigma=sigma)


@pytest.mark.parametrize("sigma", (1e-300, 1e-160, 1e-3, 1e3, 1e160, 1e300))
def test_tiny_and_huge_sigma(strict_numerics, sigma):
    """Limits: a single hot pixel for tiny sigma, a flat map for huge sigma."""
    keypoints = [[2.0, 1.0, np.nan, np.nan]]
    with strict_numerics():
        h = keypoints_to_heatmaps(keypoints, (4, 5), sigma=sigma)
    assert h.shape == (1, 2, 4, 5) and np.all(np.isfinite(h))
    assert h[0, 0, 1, 2] == 1.0 and not h[0, 1].any()
    # reference: the Gaussian evaluated pixel by pixel in log space
    v, u = np.mgrid[0:4, 0:5]
    with np.errstate(over="ignore"):  # far pixels for tiny sigma: -inf
        log = -0.5 * (((u - 2.0) / sigma) ** 2 + ((v - 1.0) / sigma) ** 2)
    np.testing.assert_allclose(h[0, 0], np.exp(np.maximum(log, -745.0)),
                               rtol=1e-6, atol=1e-30)
