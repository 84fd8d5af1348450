"""Multi-peak entropy of predicted heatmaps (Liu & Ferrari, 2017)."""

import numpy as np

from .._param_validation import POSITIVE_INT, StrOptions
from ..datasets._heatmaps import PEAK_CONSTRAINTS, heatmap_peaks
from ._base import BaseQueryStrategy, shared_default

__all__ = ["MultiPeakEntropyQuery", "multipeak_entropy", "heatmap_peaks"]

_AGGREGATES = {"sum": np.sum, "mean": np.mean, "max": np.max}


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

    The strategy has no ``random_state``, ``n_jobs`` or ``device``: the scores
    are a deterministic function of the model's heatmaps (which the model
    computes on its own device), and the selection is their top
    ``n_instances`` with ties broken by the lower index.

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
    _parameter_constraints = {
        **PEAK_CONSTRAINTS,
        "aggregate": [StrOptions(sorted(_AGGREGATES))],
        "batch_size": [POSITIVE_INT],
    }

    _model = "network"

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

    def _score(self, context):
        batch_size = int(self.batch_size)
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
multipeak_entropy = shared_default(MultiPeakEntropyQuery())
