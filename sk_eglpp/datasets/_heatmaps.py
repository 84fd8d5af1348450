"""Gaussian joint heatmaps: rendering from keypoints and decoding back.

Coordinate convention
---------------------
Pixel centres sit at integer coordinates: pixel ``(row v, column u)`` of an
image covers ``[u - 0.5, u + 0.5] x [v - 0.5, v + 0.5]`` and a keypoint
``(x, y)`` is given as ``(column, row)``. A heatmap with ``stride`` ``s`` has
one pixel per ``s x s`` block of input pixels, so heatmap pixel ``u`` covers the
input pixels ``s * u, ..., s * u + s - 1`` and its centre is the input
coordinate ``s * u + (s - 1) / 2``:

    x_input = s * u_heatmap + (s - 1) / 2,
    u_heatmap = (x_input - (s - 1) / 2) / s.

This is the mapping of average pooling by ``s`` (and of a stack of stride-2
layers with "same" padding), so a feature at heatmap pixel ``u`` is centred on
the input pixels it summarises.
"""

import numbers
from numbers import Integral, Real

import numpy as np
from scipy.ndimage import maximum_filter

from .._param_validation import POSITIVE_INT, InstanceOf, Interval, validate_params
from .._validation import check_keypoints

__all__ = [
    "PEAK_CONSTRAINTS",
    "keypoints_to_heatmaps",
    "heatmaps_to_keypoints",
    "heatmap_peaks",
]

#: the peak parameters of :func:`heatmap_peaks`, which
#: :class:`~sk_eglpp.query.MultiPeakEntropyQuery` takes too
PEAK_CONSTRAINTS = {
    "min_distance": [POSITIVE_INT],
    "n_peaks": [POSITIVE_INT, None],
    "threshold_rel": [Interval(Real, 0, 1, closed="both"), None],
    "threshold_abs": [Interval(Real, None, None, closed="neither"), None],
}
#: ``stride``: input pixels per heatmap pixel
_STRIDE = [Interval(Real, 0, None, closed="neither")]


@validate_params({
    "keypoints": ["array-like"],
    "heatmap_size": [
        Interval(Integral, None, None, closed="neither"),
        InstanceOf(tuple, list, np.ndarray, description="a (height, width) pair"),
    ],
    "sigma": [Interval(Real, 0, None, closed="neither")],
    "stride": _STRIDE,
})
def keypoints_to_heatmaps(keypoints, heatmap_size, *, sigma=1.0, stride=1):
    """Render one Gaussian heatmap per joint.

    Each joint ``(x, y)`` (input-pixel coordinates) becomes the heatmap
    ``exp(-((u - u0) ** 2 + (v - v0) ** 2) / (2 * sigma ** 2))`` where
    ``(u0, v0) = ((x - (stride - 1) / 2) / stride, (y - (stride - 1) / 2) /
    stride)`` is the joint in heatmap pixels (see the module's coordinate
    convention). The peak value is 1 when the joint falls on a pixel centre.
    A joint with a NaN coordinate (not annotated) gets an all-zero heatmap.

    Parameters
    ----------
    keypoints : array-like of shape (n_samples, 2 * n_joints) or \
            (n_samples, n_joints, 2)
        Joint coordinates ``x0, y0, x1, y1, ...`` in input pixels.
    heatmap_size : int or tuple of (int, int)
        ``(height, width)`` of the heatmaps; an int means a square.
    sigma : float, default=1.0
        Standard deviation of the Gaussian, in heatmap pixels.
    stride : float, default=1
        Input pixels per heatmap pixel (4 for a stacked hourglass).

    Returns
    -------
    heatmaps : ndarray of shape (n_samples, n_joints, height, width), float32

    See Also
    --------
    heatmaps_to_keypoints : the inverse mapping.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.datasets import keypoints_to_heatmaps
    >>> h = keypoints_to_heatmaps([[2.0, 1.0]], (4, 5), sigma=1.0)
    >>> h.shape, float(h[0, 0, 1, 2])
    ((1, 1, 4, 5), 1.0)
    >>> float(keypoints_to_heatmaps([[np.nan, np.nan]], 3).max())
    0.0
    """
    kp = check_keypoints(keypoints)
    height, width = _heatmap_shape(heatmap_size)
    stride = float(stride)

    centre = (kp - (stride - 1.0) / 2.0) / stride  # (n, J, 2) in heatmap px
    visible = ~np.isnan(centre).any(axis=2)
    centre = np.where(visible[..., None], centre, 0.0)
    sigma = float(sigma)
    # The 2-D Gaussian is separable: an outer product of two 1-D profiles.
    # Distances are divided by sigma before squaring, so that no sigma ** 2
    # under- or overflows; distances of more than about 1e154 sigma overflow
    # the square to inf, and exp(-inf) = 0 is the right value.
    with np.errstate(over="ignore"):
        gx = np.exp(-0.5 * ((np.arange(width) - centre[..., 0:1]) / sigma) ** 2)
        gy = np.exp(-0.5 * ((np.arange(height) - centre[..., 1:2]) / sigma) ** 2)
    heatmaps = gy[..., :, None] * gx[..., None, :]
    heatmaps *= visible[..., None, None]
    return heatmaps.astype(np.float32)


def _heatmap_shape(heatmap_size):
    """``(height, width)`` of an int or a pair, each >= 1 (its type is checked)."""
    if isinstance(heatmap_size, numbers.Integral):
        heatmap_size = (heatmap_size, heatmap_size)
    sizes = list(heatmap_size)
    if len(sizes) != 2:
        raise ValueError(
            f"keypoints_to_heatmaps: heatmap_size must be an int or a (height, "
            f"width) pair, got {len(sizes)} values."
        )
    for size in sizes:
        if isinstance(size, bool | np.bool_) or not isinstance(size, numbers.Integral):
            raise TypeError(
                f"keypoints_to_heatmaps: heatmap_size must hold ints, got {size!r} "
                f"({type(size).__name__})."
            )
    height, width = (int(s) for s in sizes)
    if height < 1 or width < 1:
        raise ValueError(
            f"keypoints_to_heatmaps: heatmap_size must be positive, got "
            f"{(height, width)}."
        )
    return height, width


def _log_parabola_offset(left, centre, right):
    """Sub-pixel offset of the vertex of a parabola through log-values.

    Exact for a sampled Gaussian. Falls back to a quarter-pixel step towards
    the larger neighbour when a value is not positive (no logarithm).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = (left > 0) & (centre > 0) & (right > 0)
        ll = np.log(np.where(positive, left, 1.0))
        lc = np.log(np.where(positive, centre, 1.0))
        lr = np.log(np.where(positive, right, 1.0))
        curvature = ll - 2.0 * lc + lr
        offset = np.where(
            positive & (curvature < 0),
            0.5 * (ll - lr) / np.where(curvature < 0, curvature, -1.0),
            0.25 * np.sign(right - left),
        )
    return np.clip(offset, -0.5, 0.5)


@validate_params({
    "heatmaps": ["array-like"],
    "stride": _STRIDE,
    "refine": ["boolean"],
})
def heatmaps_to_keypoints(heatmaps, *, stride=1, refine=True):
    """Decode keypoints from heatmaps: arg-max plus sub-pixel refinement.

    Parameters
    ----------
    heatmaps : array-like of shape (n_samples, n_joints, height, width)
        One heatmap per joint; finite values (NaN and infinity are rejected).
    stride : float, default=1
        Input pixels per heatmap pixel; the result is mapped back to input
        pixels with ``x = stride * u + (stride - 1) / 2`` (see the module's
        coordinate convention).
    refine : bool, default=True
        Refine the arg-max per axis by the vertex of the parabola through the
        logarithms of the arg-max and its two neighbours (exact for a Gaussian
        peak; offset clipped to half a pixel). Where a value in that
        neighbourhood is not positive, move a quarter pixel towards the larger
        neighbour instead (Newell et al.'s rule). No refinement on the border
        axis of a peak at the heatmap's edge.

    Returns
    -------
    keypoints : ndarray of shape (n_samples, 2 * n_joints), float64
        ``x0, y0, x1, y1, ...`` in input pixels. An all-zero heatmap (a
        missing joint) decodes to its first pixel, like any flat heatmap.

    See Also
    --------
    keypoints_to_heatmaps : the inverse mapping.

    Examples
    --------
    >>> from sk_eglpp.datasets import heatmaps_to_keypoints, keypoints_to_heatmaps
    >>> h = keypoints_to_heatmaps([[21.3, 40.7]], 16, sigma=1.5, stride=4)
    >>> heatmaps_to_keypoints(h, stride=4).round(3)
    array([[21.3, 40.7]])
    """
    try:
        h = np.asarray(heatmaps, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"heatmaps must hold numbers, got values that cannot be converted to "
            f"float: {exc}"
        ) from exc
    if h.ndim != 4:
        raise ValueError(
            "heatmaps must have shape (n_samples, n_joints, height, width), got "
            f"shape {h.shape}."
        )
    if h.shape[2] < 1 or h.shape[3] < 1:
        raise ValueError(f"heatmaps must not be empty, got shape {h.shape}.")
    stride = float(stride)
    n, n_joints, height, width = h.shape
    flat = h.reshape(n, n_joints, height * width)
    if flat.size == 0:  # no sample or no joint: nothing to decode
        return np.empty((n, 2 * n_joints))
    if not np.isfinite(flat).all():
        raise ValueError("heatmaps must not contain NaN or infinity.")
    index = flat.argmax(axis=2)
    v, u = np.divmod(index, width)
    x = u.astype(np.float64)
    y = v.astype(np.float64)
    if refine:

        def at(rows, cols):
            return np.take_along_axis(flat, (rows * width + cols)[..., None], 2)[..., 0]

        peak = at(v, u)
        dx = _log_parabola_offset(
            at(v, np.maximum(u - 1, 0)), peak, at(v, np.minimum(u + 1, width - 1))
        )
        dy = _log_parabola_offset(
            at(np.maximum(v - 1, 0), u), peak, at(np.minimum(v + 1, height - 1), u)
        )
        x += np.where((u > 0) & (u < width - 1), dx, 0.0)
        y += np.where((v > 0) & (v < height - 1), dy, 0.0)
    x = stride * x + (stride - 1.0) / 2.0
    y = stride * y + (stride - 1.0) / 2.0
    return np.stack([x, y], axis=2).reshape(n, 2 * n_joints)


@validate_params({"heatmaps": ["array-like"], **PEAK_CONSTRAINTS})
def heatmap_peaks(heatmaps, *, min_distance=2, n_peaks=5, threshold_rel=0.1,
                  threshold_abs=None):
    """Values of the local maxima of every heatmap, largest first.

    Parameters
    ----------
    heatmaps : ndarray of shape (..., height, width)
        Heatmaps; every trailing ``(height, width)`` slice is one map.
    min_distance : int, default=2
        A peak is the largest value in the square window of side
        ``2 * min_distance + 1`` centred on it (the window is cut at the
        border), so two peaks are more than ``min_distance`` pixels apart in
        both directions or not at all. On a plateau, the first pixel in raster
        order is the peak.
    n_peaks : int or None, default=5
        Keep at most this many peaks per map (the largest); ``None`` keeps all.
    threshold_rel : float or None, default=0.1
        Keep only peaks ``>= threshold_rel * max(map)``.
    threshold_abs : float or None, default=None
        Keep only peaks ``>= threshold_abs``.

    Returns
    -------
    peaks : ndarray of shape (..., n_kept)
        Peak values, sorted in decreasing order and padded with ``-inf``;
        ``n_kept`` is ``n_peaks`` (or the largest number of peaks found). A
        peak is always strictly above the minimum of its map, so a constant map
        has none.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.datasets import heatmap_peaks
    >>> hm = np.zeros((1, 9, 9))
    >>> hm[0, 2, 2], hm[0, 6, 6] = 1.0, 0.5
    >>> heatmap_peaks(hm, n_peaks=3)
    array([[ 1. ,  0.5, -inf]])
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    lead, (h, w) = heatmaps.shape[:-2], heatmaps.shape[-2:]
    flat = heatmaps.reshape(-1, h * w)
    # Rank of every pixel within its map: by value, ties won by the lower index.
    # A strict total order makes "largest in its window" a unique peak per
    # plateau, and maximum_filter over ranks finds it for all maps at once.
    order = np.lexsort((-np.arange(h * w)[None, :].repeat(len(flat), 0), flat))
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(h * w)[None, :], axis=1)
    rank = rank.reshape(-1, h, w)
    size = (1, 2 * min_distance + 1, 2 * min_distance + 1)
    is_peak = rank == maximum_filter(rank, size=size, mode="constant", cval=-1)
    is_peak = is_peak.reshape(len(flat), h * w)
    low, high = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    is_peak &= flat > low
    if threshold_rel is not None:
        is_peak &= flat >= float(threshold_rel) * high
    if threshold_abs is not None:
        is_peak &= flat >= float(threshold_abs)
    values = np.where(is_peak, flat, -np.inf)
    values = -np.sort(-values, axis=1)
    n_kept = n_peaks if n_peaks is not None else max(int(is_peak.sum(1).max()), 1)
    if n_kept > values.shape[1]:
        pad = np.full((len(values), n_kept - values.shape[1]), -np.inf)
        values = np.concatenate([values, pad], axis=1)
    return values[:, :n_kept].reshape(*lead, n_kept)
