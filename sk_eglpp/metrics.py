"""Pose-estimation metrics (PCK, PCKh) and scikit-learn scorers.

Keypoints are ``(n_samples, 2 * n_joints)`` arrays ``x0, y0, x1, y1, ...`` or
``(n_samples, n_joints, 2)`` arrays, in pixels. A joint whose ground truth is
NaN (not annotated) is left out of the metric; a NaN *prediction* counts as a
miss.

Joint orders
------------
LSP (14 joints): 0 right ankle, 1 right knee, 2 right hip, 3 left hip, 4 left
knee, 5 left ankle, 6 right wrist, 7 right elbow, 8 right shoulder, 9 left
shoulder, 10 left elbow, 11 left wrist, 12 neck, 13 head top.

MPII (16 joints): 0 right ankle, 1 right knee, 2 right hip, 3 left hip, 4 left
knee, 5 left ankle, 6 pelvis, 7 thorax, 8 upper neck, 9 head top, 10 right
wrist, 11 right elbow, 12 right shoulder, 13 left shoulder, 14 left elbow,
15 left wrist.
"""

import numbers
import warnings

import numpy as np
from sklearn.metrics import make_scorer

from ._param_validation import Interval, StrOptions, validate_params
from ._validation import as_float_array, check_keypoints
from ._warnings import warn

__all__ = ["pck", "pckh", "pck_scorer", "make_pck_scorer", "make_pckh_scorer"]

#: torso diagonals per joint count: (right shoulder, left hip), then
#: (left shoulder, right hip) where the first is not annotated
TORSO_JOINTS = {14: ((8, 3), (9, 2)), 16: ((12, 3), (13, 2))}


def _check_pair(y_true, y_pred):
    y_true = check_keypoints(y_true, "y_true")
    y_pred = check_keypoints(y_pred, "y_pred", allow_inf=True)  # inf: a miss, like NaN
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "y_true and y_pred must hold the same samples and joints, got shapes "
            f"{y_true.shape} and {y_pred.shape} (as (n_samples, n_joints, 2))."
        )
    if y_true.shape[0] == 0:
        raise ValueError("y_true must contain at least one sample, got 0.")
    return y_true, y_pred


_ALPHA = [Interval(numbers.Real, 0, None, closed="neither")]
_AVERAGE = [StrOptions(["all", "joints"])]


def _fraction_correct(y_true, y_pred, threshold, average):
    """Share of annotated joints within ``threshold`` (per sample) of the truth."""
    with np.errstate(over="ignore"):  # huge predictions: inf distance, a miss
        distance = np.linalg.norm(y_pred - y_true, axis=2)  # NaN pred -> NaN
    annotated = ~np.isnan(y_true).any(axis=2) & np.isfinite(threshold)[:, None]
    with np.errstate(invalid="ignore"):
        correct = (distance <= threshold[:, None]) & annotated
    if average == "joints":
        counts = annotated.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, correct.sum(axis=0) / counts, np.nan)
    n_annotated = annotated.sum()
    if n_annotated == 0:
        warn(
            "no annotated joint with a defined reference size; the score is NaN."
        )
        return float("nan")
    return float(correct.sum() / n_annotated)


def _torso_pairs(torso, n_joints):
    """``(i, j)`` or a sequence of such pairs -> list of int pairs, checked."""
    try:
        single = len(np.shape(torso)) == 1
    except ValueError:  # ragged: a sequence of pairs of differing lengths
        single = False
    pairs = [torso] if single else torso
    try:
        pairs = [tuple(int(j) for j in pair) for pair in pairs]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"torso must be a pair of joint indices or a sequence of pairs, got "
            f"{torso!r}."
        ) from exc
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"torso pairs must hold two joints, got {pair}.")
        if not all(0 <= j < n_joints for j in pair):
            raise ValueError(
                f"torso joints must be in [0, {n_joints - 1}], got {pair}."
            )
    if not pairs:
        raise ValueError("torso must name at least one pair of joints, got none.")
    return pairs


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "alpha": _ALPHA,
        "torso": ["no_validation"],  # checked against the number of joints
        "average": _AVERAGE,
    }
)
def pck(y_true, y_pred, alpha=0.2, *, torso=None, average="all"):
    """Percentage of correct keypoints, LSP convention (PCK@alpha).

    A predicted joint is correct when it lies within ``alpha`` times the
    sample's torso size of the ground truth. The torso size is the distance
    between two ground-truth joints: right shoulder and left hip by default,
    the other torso diagonal (left shoulder, right hip) where those are not
    annotated.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, 2 * n_joints) or \
            (n_samples, n_joints, 2)
        Ground-truth keypoints; NaN marks a joint that is not annotated, left
        out of the score (infinity is rejected).
    y_pred : array-like of the same shape
        Predicted keypoints; NaN or infinity counts as a miss.
    alpha : float, default=0.2
        Threshold as a fraction of the torso size.
    torso : pair of int, sequence of pairs, "bbox" or None, default=None
        Joints whose ground-truth distance is the torso size; with several
        pairs, the first pair annotated in a sample is used. ``None`` picks
        the torso diagonals (right shoulder, left hip), then (left shoulder,
        right hip): ``((8, 3), (9, 2))`` for LSP's 14 joints, ``((12, 3), (13,
        2))`` for MPII's 16 (see the module docstring); for any other joint
        count ``None`` means ``"bbox"``: the diagonal of the bounding box of
        the sample's annotated ground-truth joints. Samples without an
        annotated pair (or with coinciding torso joints) are left out.
    average : {"all", "joints"}, default="all"
        ``"all"``: one share over every annotated joint of every sample.
        ``"joints"``: one share per joint, shape ``(n_joints,)``.

    Returns
    -------
    score : float or ndarray of shape (n_joints,)
        In [0, 1]; NaN (with a warning) when nothing can be scored.

    See Also
    --------
    pckh : the MPII convention with head boxes.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.metrics import pck
    >>> y_true = np.array([[0.0, 0.0, 10.0, 0.0, 0.0, 5.0]])
    >>> y_pred = np.array([[1.0, 0.0, 10.0, 3.0, 0.0, 5.0]])
    >>> pck(y_true, y_pred, alpha=0.2, torso=(0, 1))  # threshold 2 px
    0.666...
    """
    alpha = float(alpha)
    y_true, y_pred = _check_pair(y_true, y_pred)
    n_joints = y_true.shape[1]
    if torso is None:
        torso = TORSO_JOINTS.get(n_joints, "bbox")
    if isinstance(torso, str):
        if torso != "bbox":
            raise ValueError(
                f'torso must be a pair of joint indices, "bbox" or None, got {torso!r}.'
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN samples
            extent = np.nanmax(y_true, axis=1) - np.nanmin(y_true, axis=1)
        size = np.linalg.norm(extent, axis=1)
    else:
        size = np.full(y_true.shape[0], np.nan)
        for a, b in _torso_pairs(torso, n_joints):
            pair = np.linalg.norm(y_true[:, a] - y_true[:, b], axis=1)
            size = np.where(np.isnan(size), pair, size)
    size = np.where(size > 0, size, np.nan)
    return _fraction_correct(y_true, y_pred, alpha * size, average)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "head_boxes": ["array-like"],
        "alpha": _ALPHA,
        "average": _AVERAGE,
    }
)
def pckh(y_true, y_pred, head_boxes, alpha=0.5, *, average="all"):
    """Percentage of correct keypoints relative to the head (MPII's PCKh).

    A predicted joint is correct when it lies within ``alpha * 0.6 *`` the
    diagonal of the sample's head box of the ground truth (PCKh@0.5 for the
    default ``alpha``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, 2 * n_joints) or \
            (n_samples, n_joints, 2)
        Ground-truth keypoints; NaN marks a joint that is not annotated
        (infinity is rejected).
    y_pred : array-like of the same shape
        Predicted keypoints; NaN or infinity counts as a miss.
    head_boxes : array-like of shape (n_samples, 4)
        Head boxes ``(x1, y1, x2, y2)`` in the same pixel coordinates; a
        sample whose box holds NaN is left out (infinity is rejected).
    alpha : float, default=0.5
        Threshold as a fraction of the head size ``0.6 * diagonal``.
    average : {"all", "joints"}, default="all"
        See :func:`pck`.

    Returns
    -------
    score : float or ndarray of shape (n_joints,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.metrics import pckh
    >>> box = np.array([[0.0, 0.0, 6.0, 8.0]])  # diagonal 10 -> threshold 3 px
    >>> pckh([[0.0, 0.0, 5.0, 5.0]], [[2.0, 2.0, 5.0, 9.0]], box)
    0.5
    """
    alpha = float(alpha)
    y_true, y_pred = _check_pair(y_true, y_pred)
    boxes = as_float_array(head_boxes, "head_boxes", "numbers (pixel coordinates)")
    if boxes.shape != (y_true.shape[0], 4):
        raise ValueError(
            f"head_boxes must have shape (n_samples, 4) = ({y_true.shape[0]}, 4), "
            f"got {boxes.shape}."
        )
    if np.isinf(boxes).any():
        raise ValueError(
            "head_boxes must be finite or NaN (no head box: the sample is left "
            f"out), got {int(np.isinf(boxes).sum())} infinite value(s)."
        )
    size = 0.6 * np.linalg.norm(boxes[:, 2:] - boxes[:, :2], axis=1)
    size = np.where(size > 0, size, np.nan)
    return _fraction_correct(y_true, y_pred, alpha * size, average)


@validate_params({"alpha": _ALPHA, "torso": ["no_validation"]})  # torso: by pck
def make_pck_scorer(alpha=0.2, *, torso=None):
    """A scorer ``scorer(estimator, X, y)`` computing :func:`pck` on predictions.

    Usable as ``scoring=`` of :class:`~sklearn.model_selection.GridSearchCV`.

    Parameters
    ----------
    alpha : float, default=0.2
    torso : tuple of (int, int), "bbox" or None, default=None
        See :func:`pck`.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from sk_eglpp.metrics import make_pck_scorer
    >>> scorer = make_pck_scorer(alpha=0.1)
    """
    return make_scorer(pck, alpha=alpha, torso=torso)


@validate_params({"alpha": _ALPHA})
def make_pckh_scorer(alpha=0.5):
    """A scorer computing :func:`pckh`; the head boxes come as metadata.

    The scorer requests ``head_boxes`` through scikit-learn's metadata routing:
    enable it with ``sklearn.set_config(enable_metadata_routing=True)`` (before
    creating the scorer) and pass ``head_boxes=`` to ``GridSearchCV.fit`` or
    ``cross_validate(..., params=...)``; the boxes are split with the samples.

    Parameters
    ----------
    alpha : float, default=0.5

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> import sklearn
    >>> from sk_eglpp.metrics import make_pckh_scorer
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scorer = make_pckh_scorer()
    """
    scorer = make_scorer(pckh, alpha=alpha)
    try:
        scorer = scorer.set_score_request(head_boxes=True)
    except RuntimeError:
        # metadata routing disabled: the caller must pass head_boxes directly
        pass
    return scorer


#: PCK@0.2 (LSP convention), for ``scoring=`` in model selection.
pck_scorer = make_pck_scorer()
