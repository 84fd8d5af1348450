"""Multi-peak entropy of predicted heatmaps (Liu & Ferrari, 2017)."""

import numpy as np
from scipy.ndimage import maximum_filter

from .._validation import check_option, check_positive_int, check_real
from ._base import BaseQueryStrategy, _shared_default

__all__ = ["MultiPeakEntropyQuery", "multipeak_entropy", "heatmap_peaks"]

_AGGREGATES = {"sum": np.sum, "mean": np.mean, "max": np.max}


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
    >>> hm = np.zeros((1, 9, 9))
    >>> hm[0, 2, 2], hm[0, 6, 6] = 1.0, 0.5
    >>> heatmap_peaks(hm, n_peaks=3)
    array([[ 1. ,  0.5, -inf]])
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    min_distance = check_positive_int(min_distance, "min_distance")
    if n_peaks is not None:
        n_peaks = check_positive_int(n_peaks, "n_peaks")
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


def _peak_entropy(peaks):
    """Entropy (nats) of the softmax over the finite entries of the last axis.

    Rows without a finite entry (maps without peaks) have entropy zero.
    """
    valid = np.isfinite(peaks)
    peaks = np.where(valid, peaks, -np.inf)
    top = np.max(peaks, axis=-1, keepdims=True)
    weights = np.exp(peaks - np.where(np.isfinite(top), top, 0.0))
    total = weights.sum(axis=-1, keepdims=True)
    probs = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    logs = np.log(probs, out=np.zeros_like(probs), where=probs > 0)
    return 0.0 - (probs * logs).sum(axis=-1)  # 0.0 - : no negative zeros


class MultiPeakEntropyQuery(BaseQueryStrategy):
    """Multi-peak entropy of the predicted heatmaps (Liu & Ferrari, 2017).

    For every joint, the local maxima of the predicted heatmap are turned into
    a distribution by a softmax over their values; its entropy is high when a
    joint has several similar peaks (the model hesitates between locations)
    and zero when it has a single one. The entropies of the joints are
    aggregated into the utility of the image.

    Parameters
    ----------
    min_distance : int, default=2
        Peaks are maxima of square windows of side ``2 * min_distance + 1``
        (in heatmap pixels); see :func:`heatmap_peaks`.
    n_peaks : int or None, default=5
        At most this many peaks (the largest) per joint; ``None`` keeps all.
    threshold_rel : float in [0, 1] or None, default=0.1
        Ignore peaks below this fraction of the joint's heatmap maximum, so
        that background noise does not count as a peak.
    threshold_abs : float or None, default=None
        Ignore peaks below this value.
    aggregate : {"sum", "mean", "max"}, default="sum"
        How the joints' entropies are combined (Liu & Ferrari sum them).
    batch_size : int, default=256
        Pool samples whose heatmaps are predicted and held at once.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Utilities from the last call (not kept by the shared default instance;
        see :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    heatmap_peaks : the peak detection.
    MCDropoutQuery : another uncertainty baseline.

    Notes
    -----
    With peaks :math:`m_1, \\dots, m_K` of joint :math:`j`,
    :math:`p_k = e^{m_k} / \\sum_l e^{m_l}` and
    :math:`H_j = -\\sum_k p_k \\log p_k` (natural log); the utility is
    ``aggregate`` over joints of :math:`H_j`. A joint whose map has no peak
    (constant map, or all below the thresholds) has :math:`H_j = 0`. The
    estimator must provide ``predict_heatmaps(X) -> (n, n_joints, h, w)``, as
    :class:`~sk_eglpp.HourglassRegressor` does. The defaults suit low
    resolution heatmaps; the EGL++ authors' code uses ``min_distance=7`` on
    64 x 64 heatmaps.

    References
    ----------
    .. [1] B. Liu and V. Ferrari, "Active Learning for Human Pose Estimation",
       ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp import MultiPeakEntropyQuery
    >>> class Model:
    ...     def predict_heatmaps(self, X):
    ...         hm = np.zeros((len(X), 1, 8, 8))
    ...         hm[:, 0, 1, 1] = 1.0
    ...         hm[1, 0, 6, 6] = 1.0  # the second image has two equal peaks
    ...         return hm
    >>> scores = MultiPeakEntropyQuery().score(Model(), np.zeros((2, 3)))
    >>> scores.round(4)
    array([0.    , 0.6931])
    """

    #: y is never read, so unannotated (NaN) joints are fine
    _allow_nan_y = True

    def __init__(
        self,
        min_distance=2,
        n_peaks=5,
        threshold_rel=0.1,
        threshold_abs=None,
        aggregate="sum",
        batch_size=256,
    ):
        self.min_distance = min_distance
        self.n_peaks = n_peaks
        self.threshold_rel = threshold_rel
        self.threshold_abs = threshold_abs
        self.aggregate = aggregate
        self.batch_size = batch_size

    def _check_params(self):
        check_option(self.aggregate, "aggregate", sorted(_AGGREGATES))
        check_real(
            self.threshold_rel, "threshold_rel", low=0.0, high=1.0, allow_none=True
        )
        check_real(self.threshold_abs, "threshold_abs", allow_none=True)
        check_positive_int(self.min_distance, "min_distance")
        if self.n_peaks is not None:
            check_positive_int(self.n_peaks, "n_peaks")
        return check_positive_int(self.batch_size, "batch_size")

    def _score(self, context):
        batch_size = self._check_params()
        estimator = context.estimator
        if not hasattr(estimator, "predict_heatmaps"):
            raise ValueError(
                "MultiPeakEntropyQuery needs a model with predict_heatmaps(X) -> "
                f"(n, n_joints, height, width), got {type(estimator).__name__}."
            )
        X = context.X_pool
        scores = np.empty(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            stop = min(start + batch_size, X.shape[0])
            heatmaps = np.asarray(estimator.predict_heatmaps(X[start:stop]))
            if heatmaps.ndim != 4 or heatmaps.shape[0] != stop - start:
                raise ValueError(
                    "predict_heatmaps must return an array of shape "
                    f"({stop - start}, n_joints, height, width), got shape "
                    f"{heatmaps.shape}."
                )
            if not np.all(np.isfinite(heatmaps)):
                raise ValueError("predict_heatmaps returned non-finite values.")
            peaks = heatmap_peaks(
                heatmaps,
                min_distance=self.min_distance,
                n_peaks=self.n_peaks,
                threshold_rel=self.threshold_rel,
                threshold_abs=self.threshold_abs,
            )
            scores[start:stop] = _AGGREGATES[self.aggregate](
                _peak_entropy(peaks), axis=1
            )
        return scores


#: default :class:`MultiPeakEntropyQuery` instance
multipeak_entropy = _shared_default(MultiPeakEntropyQuery())
