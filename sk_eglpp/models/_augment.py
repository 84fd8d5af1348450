"""Data augmentation of image batches and their keypoints: flip, rotation, scale.

The stacked hourglass' training recipe (Newell et al. 2016): horizontal flips
that swap left and right joints, rotations of up to about 30 degrees and
scalings of 0.75-1.25, applied to the images and their keypoints together.

Coordinates follow :mod:`sk_eglpp.datasets._heatmaps`: pixel centres at
integers, ``(x, y) = (column, row)``. An image of ``H x W`` pixels is
transformed about its centre ``c = ((W - 1) / 2, (H - 1) / 2)``: a point moves
to ``c + A (p - c)`` with ``A = s R(theta) F``, where ``F`` is the mirror
``diag(-1, 1)`` for a flipped sample (else the identity), ``R(theta)`` the
rotation by ``theta`` and ``s`` the scale (above 1 enlarges the person).
Output pixel ``u`` samples the input at ``c + A^-1 (u - c)`` (bilinear, black
outside the image). A transformed keypoint outside ``[-0.5, W - 0.5) x [-0.5,
H - 0.5)`` is set to NaN (not annotated), like the loaders' crops.
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "LSP_FLIP_PAIRS",
    "augment_batch",
    "check_flip_pairs",
    "check_scale_range",
    "flip_heatmaps",
    "flip_permutation",
]

#: the left/right joint pairs of the 14 LSP joints (0 right ankle, 1 right
#: knee, 2 right hip, 3 left hip, 4 left knee, 5 left ankle, 6 right wrist,
#: 7 right elbow, 8 right shoulder, 9 left shoulder, 10 left elbow, 11 left
#: wrist, 12 neck, 13 head top): what a horizontal flip swaps
LSP_FLIP_PAIRS = ((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9))


def check_flip_pairs(flip_pairs, n_joints):
    """Validate joint pairs ``((a, b), ...)`` for ``n_joints`` joints.

    Parameters
    ----------
    flip_pairs : sequence of (int, int)
        Disjoint pairs of distinct joint indices in ``[0, n_joints)``.
    n_joints : int

    Returns
    -------
    pairs : tuple of (int, int)

    Examples
    --------
    >>> check_flip_pairs([(0, 1)], 3)
    ((0, 1),)
    >>> check_flip_pairs([(0, 3)], 3)
    Traceback (most recent call last):
    ...
    ValueError: flip_pairs must hold joint indices in [0, 3), got (0, 3).
    """
    if isinstance(flip_pairs, str | bytes) or not hasattr(flip_pairs, "__iter__"):
        raise TypeError(
            "flip_pairs must be a sequence of (left, right) joint index pairs, got "
            f"{type(flip_pairs).__name__}."
        )
    pairs, seen = [], set()
    for pair in flip_pairs:
        items = tuple(pair) if hasattr(pair, "__iter__") else (pair,)
        if len(items) != 2 or not all(
            isinstance(j, Integral | np.integer) and not isinstance(j, bool)
            for j in items
        ):
            raise TypeError(
                f"flip_pairs must hold pairs of two int joint indices, got {pair!r}."
            )
        a, b = int(items[0]), int(items[1])
        if not (0 <= a < n_joints and 0 <= b < n_joints):
            raise ValueError(
                f"flip_pairs must hold joint indices in [0, {n_joints}), got "
                f"({a}, {b})."
            )
        if a == b or a in seen or b in seen:
            raise ValueError(
                "flip_pairs must be disjoint pairs of two different joints, got "
                f"joint {a if a == b or a in seen else b} twice."
            )
        seen.update((a, b))
        pairs.append((a, b))
    return tuple(pairs)


def check_scale_range(scale_range):
    """Validate ``(low, high)`` with ``0 < low <= high``; returns two floats.

    Examples
    --------
    >>> check_scale_range((0.75, 1.25))
    (0.75, 1.25)
    """
    try:
        low, high = (float(s) for s in scale_range)
    except (TypeError, ValueError):
        raise TypeError(
            f"scale_range must be a pair of numbers (low, high), got {scale_range!r}."
        ) from None
    if any(isinstance(s, bool) for s in scale_range):
        raise TypeError(f"scale_range must hold numbers, got {scale_range!r}.")
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
        raise ValueError(
            f"scale_range must satisfy 0 < low <= high, got {scale_range!r}."
        )
    return low, high


def flip_permutation(n_joints, flip_pairs):
    """The joint order of a mirrored sample: joint ``j`` of the mirrored image
    is joint ``perm[j]`` of the original.

    Examples
    --------
    >>> flip_permutation(4, [(0, 2)]).tolist()
    [2, 1, 0, 3]
    """
    perm = np.arange(n_joints)
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    return perm


def flip_heatmaps(heatmaps, perm):
    """Heatmaps of the mirrored image mapped back to the original's.

    A mirror maps heatmap column ``u`` to ``w - 1 - u`` exactly (the heatmap
    grid's centres, see :mod:`sk_eglpp.datasets._heatmaps`), so this is a
    flip of the last axis and the joint permutation.

    Parameters
    ----------
    heatmaps : Tensor of shape (..., n_joints, h, w)
    perm : sequence of int
        :func:`flip_permutation`.
    """
    index = torch.as_tensor(np.asarray(perm), device=heatmaps.device)
    return torch.flip(heatmaps, dims=(-1,)).index_select(-3, index)


def _matrices(n, max_rotation, scale_range, flip, generator):
    """Forward matrices ``A`` (n, 2, 2) and flip flags, drawn from torch."""
    low, high = scale_range
    u = torch.rand(n, 3, generator=generator, dtype=torch.float64)
    theta = (2.0 * u[:, 0] - 1.0) * math.radians(max_rotation)
    scale = low + (high - low) * u[:, 1]
    flipped = (u[:, 2] < 0.5) if flip else torch.zeros(n, dtype=torch.bool)
    cos, sin = torch.cos(theta), torch.sin(theta)
    rotation = torch.stack(
        [torch.stack([cos, -sin], dim=1), torch.stack([sin, cos], dim=1)], dim=1
    )
    mirror = torch.ones(n, 2, dtype=torch.float64)
    mirror[flipped, 0] = -1.0
    return scale[:, None, None] * rotation * mirror[:, None, :], flipped


def transform_batch(X, y, matrices, flipped, perm):
    """Apply forward matrices ``A`` to images and keypoints (module docstring).

    Parameters
    ----------
    X : Tensor of shape (n, c, h, w), floating
    y : Tensor of shape (n, 2 * n_joints)
        Keypoints in input pixels; NaN for joints that are not annotated.
    matrices : Tensor of shape (n, 2, 2), float64
    flipped : Tensor of shape (n,), bool
        Which samples are mirrored (their joints are permuted by ``perm``).
    perm : sequence of int or None

    Returns
    -------
    X_out, y_out : Tensors like ``X`` and ``y``
    """
    n, _, h, w = X.shape
    centre = torch.tensor([(w - 1) / 2.0, (h - 1) / 2.0], dtype=torch.float64)
    # normalised coordinates (align_corners=True): n = D (p - c)
    D = torch.diag(torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)],
                                dtype=torch.float64))
    inverse = torch.linalg.inv(matrices)
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, :, :2] = D @ inverse @ torch.linalg.inv(D)
    grid = F.affine_grid(theta.to(X.dtype).to(X.device), list(X.shape),
                         align_corners=True)
    X_out = F.grid_sample(X, grid, mode="bilinear", padding_mode="zeros",
                          align_corners=True)

    kp = y.detach().to("cpu", torch.float64).reshape(n, -1, 2)
    if perm is not None:
        kp = torch.where(flipped[:, None, None], kp[:, torch.as_tensor(perm)], kp)
    moved = torch.einsum("nij,nkj->nki", matrices, kp - centre) + centre
    size = torch.tensor([w, h], dtype=torch.float64)
    outside = ((moved < -0.5) | (moved >= size - 0.5)).any(dim=2, keepdim=True)
    moved = moved.masked_fill(outside, float("nan"))
    return X_out, moved.reshape(y.shape).to(y.dtype).to(y.device)


def augment_batch(X, y, *, max_rotation=0.0, scale_range=(1.0, 1.0),
                  flip_pairs=None, generator=None):
    """Randomly flipped, rotated and scaled copies of a batch and its keypoints.

    Parameters
    ----------
    X : Tensor of shape (n, c, h, w), floating
        Images.
    y : Tensor of shape (n, 2 * n_joints)
        Keypoints ``x0, y0, x1, y1, ...`` in input pixels; NaN for joints that
        are not annotated.
    max_rotation : float, default=0.0
        Rotations drawn uniformly in ``[-max_rotation, max_rotation]`` degrees.
    scale_range : (float, float), default=(1.0, 1.0)
        Scales drawn uniformly in ``[low, high]``.
    flip_pairs : sequence of (int, int) or None, default=None
        ``None``: no flips. Else each sample is mirrored with probability 1/2
        and these joints swapped (``()`` mirrors without swapping).
    generator : torch.Generator, default=None
        Source of the random draws (torch's default generator when None).

    Returns
    -------
    X_out : Tensor like ``X``
    y_out : Tensor like ``y``
        Keypoints moved with the images; NaN where they leave the image.

    Examples
    --------
    >>> import torch
    >>> X = torch.zeros(1, 1, 8, 8)
    >>> y = torch.tensor([[1.0, 2.0]])
    >>> g = torch.Generator().manual_seed(0)
    >>> X2, y2 = augment_batch(X, y, flip_pairs=(), generator=g)
    >>> y2.tolist() in ([[1.0, 2.0]], [[6.0, 2.0]])
    True
    """
    if not (isinstance(X, torch.Tensor) and X.ndim == 4 and X.is_floating_point()):
        raise TypeError(
            "X must be a floating tensor of shape (n, channels, height, width), "
            f"got {type(X).__name__} {getattr(X, 'dtype', '')} of shape "
            f"{tuple(getattr(X, 'shape', ()))}."
        )
    if not (isinstance(y, torch.Tensor) and y.ndim == 2 and y.shape[1] % 2 == 0
            and y.shape[0] == X.shape[0]):
        raise ValueError(
            f"y must be a tensor of shape ({X.shape[0]}, 2 * n_joints), got "
            f"{type(y).__name__} of shape {tuple(getattr(y, 'shape', ()))}."
        )
    if isinstance(max_rotation, bool) or not (
        isinstance(max_rotation, Real) and 0 <= max_rotation <= 180
    ):
        raise ValueError(
            f"max_rotation must be a number of degrees in [0, 180], got "
            f"{max_rotation!r}."
        )
    scale_range = check_scale_range(scale_range)
    n_joints = y.shape[1] // 2
    perm = None
    if flip_pairs is not None:
        perm = flip_permutation(n_joints, check_flip_pairs(flip_pairs, n_joints))
    matrices, flipped = _matrices(
        X.shape[0], float(max_rotation), scale_range, perm is not None, generator
    )
    return transform_batch(X, y, matrices, flipped, perm)
