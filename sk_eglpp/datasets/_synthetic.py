"""Embedded synthetic pose data: articulated figures rendered to images.

The generator draws planar stick figures with the 14 joints of the Leeds Sports
Pose (LSP) data set, renders them as grey-level images and groups them into
video-like sequences whose frames scatter around a base pose with a spread of
their own (some sequences nearly static, others dispersed, as the MPII videos in
Fig. 2 of the EGL++ paper).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .._param_validation import (
    POSITIVE_INT,
    InstanceOf,
    Interval,
    validate_param,
    validate_params,
)

__all__ = ["make_pose_dataset", "LSP_JOINT_NAMES"]

#: Names of the 14 joints, in LSP order (the order of ``y``'s columns).
LSP_JOINT_NAMES = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck",
    "head_top",
)

_N_JOINTS = 14
_FRACTION = [Interval(Real, 0, 1, closed="both")]
_NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
_CHUNK = 128  # frames rendered at once; bounds memory, does not affect results

# Body proportions in units of the figure height (head top to ankles when
# standing upright).
_TORSO = 0.30
_HEAD = 0.15
_HEAD_RADIUS = 0.065
_HIP_HALF_WIDTH = 0.07
_SHOULDER_HALF_WIDTH = 0.11
_SHOULDER_DROP = 0.03
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.17, 0.16, 0.25, 0.24

# Pose parameters: (low, high) of the base pose drawn per sequence, the
# standard deviation of a frame around its base at spread 1, and the hard
# limits (all angles in degrees; 0 = limb hanging along the torso, positive =
# away from the body).
_ANGLES = {
    #            base low, base high, frame sd, limit low, limit high
    "shoulder": (-10.0, 170.0, 40.0, -30.0, 180.0),
    "elbow": (-30.0, 140.0, 40.0, -45.0, 160.0),
    "hip": (-10.0, 50.0, 15.0, -25.0, 80.0),
    "knee": (-20.0, 90.0, 25.0, -40.0, 130.0),
}

# Appearance of each drawn part: (intensity, half thickness in figure-height
# units). Right limbs are bright, left limbs dark, the torso in between, so
# that left/right and limb identity can be told from a single grey channel.
_PARTS = {
    "torso": (0.60, 0.080),
    "hips": (0.60, 0.045),
    "shoulders": (0.60, 0.035),
    "neck": (0.60, 0.022),
    "head": (0.78, _HEAD_RADIUS),
    "r_upper_arm": (1.00, 0.035),
    "r_forearm": (0.86, 0.030),
    "l_upper_arm": (0.46, 0.035),
    "l_forearm": (0.34, 0.030),
    "r_thigh": (0.96, 0.045),
    "r_shin": (0.82, 0.035),
    "l_thigh": (0.50, 0.045),
    "l_shin": (0.38, 0.035),
}
# Drawing order (painter's algorithm) with the figure's right side in front;
# the mirrored order puts the left side in front. The head is drawn last.
_ORDER_RIGHT_FRONT = (
    "l_thigh",
    "l_shin",
    "l_upper_arm",
    "l_forearm",
    "torso",
    "hips",
    "shoulders",
    "neck",
    "r_thigh",
    "r_shin",
    "r_upper_arm",
    "r_forearm",
    "head",
)
_ORDER_LEFT_FRONT = tuple(
    {"l": "r", "r": "l"}.get(name[0], name[0]) + name[1:]
    if name[:2] in ("l_", "r_")
    else name
    for name in _ORDER_RIGHT_FRONT
)


def _check_spread(spread):
    """``(low, high)`` of ``spread``, a pair of finite numbers with 0 <= low <= high."""
    values = list(spread)
    if len(values) != 2:
        raise ValueError(
            f"make_pose_dataset: spread must be a pair (low, high), got "
            f"{len(values)} values."
        )
    for k, value in enumerate(values):
        validate_param(value, f"spread[{k}]", _NON_NEGATIVE, "make_pose_dataset")
    low, high = (float(v) for v in values)
    if low > high:
        raise ValueError(
            f"make_pose_dataset: spread must satisfy low <= high, got ({low}, {high})."
        )
    return low, high


def _draw_sequence_parameters(rng, n_sequences, spread, image_size):
    """Base pose, spread and appearance of every sequence."""
    low, high = spread
    if low > 0:
        seq_spread = np.exp(rng.uniform(np.log(low), np.log(high), n_sequences))
    else:
        seq_spread = rng.uniform(low, high, n_sequences)
    base = {}
    for name, (lo, hi, _, _, _) in _ANGLES.items():
        base[name] = rng.uniform(lo, hi, (n_sequences, 2))  # right, left
    base["head"] = rng.uniform(-20.0, 20.0, n_sequences)
    base["rotation"] = np.clip(rng.normal(0.0, 15.0, n_sequences), -45.0, 45.0)
    base["scale"] = rng.uniform(0.55, 0.80, n_sequences) * image_size
    base["offset"] = rng.uniform(-0.08, 0.08, (n_sequences, 2)) * image_size
    # Foreshortening of the eight limbs (upper arm, forearm, thigh, shin; x2).
    base["lengths"] = rng.uniform(0.8, 1.0, (n_sequences, 2, 4))
    appearance = {
        "thickness": rng.uniform(0.85, 1.15, n_sequences),
        "intensity_jitter": rng.uniform(-0.04, 0.04, (n_sequences, len(_PARTS))),
        "right_in_front": rng.random(n_sequences) < 0.5,
        "background": rng.uniform(0.0, 0.2, n_sequences),
    }
    return seq_spread, base, appearance


def _draw_frame_parameters(rng, seq, seq_spread, base, truncation, image_size):
    """Per-frame pose parameters scattered around their sequence's base."""
    n = seq.shape[0]
    s = seq_spread[seq]
    frame = {}
    for name, (_, _, sd, lim_lo, lim_hi) in _ANGLES.items():
        value = base[name][seq] + rng.normal(0.0, sd, (n, 2)) * s[:, None]
        frame[name] = np.clip(value, lim_lo, lim_hi)
    frame["head"] = np.clip(base["head"][seq] + rng.normal(0, 10.0, n) * s, -40, 40)
    frame["rotation"] = base["rotation"][seq] + rng.normal(0.0, 15.0, n) * s
    frame["scale"] = base["scale"][seq] * np.exp(rng.normal(0.0, 0.08, n) * s)
    jitter = rng.normal(0.0, 0.06, (n, 2)) * s[:, None] * image_size
    offset = base["offset"][seq] + jitter
    truncated = rng.random(n) < truncation
    direction = rng.uniform(0.0, 2.0 * np.pi, n)
    shift = rng.uniform(0.25, 0.45, n) * image_size * truncated
    offset = offset + shift[:, None] * np.stack(
        [np.cos(direction), np.sin(direction)], axis=1
    )
    frame["offset"] = offset
    frame["lengths"] = base["lengths"][seq]
    return frame


def _unit(angle_deg, side):
    """Direction of a limb at ``angle_deg`` from 'down', outward for ``side``.

    ``side`` is -1 for the figure's right (image left when facing the viewer)
    and +1 for its left. Image coordinates: x to the right, y downwards.
    """
    a = np.deg2rad(angle_deg)
    return np.stack([side * np.sin(a), np.cos(a)], axis=-1)


def _skeleton(frame, image_size):
    """Joint positions (n, 14, 2) in pixels, plus the head centre (n, 2)."""
    n = frame["scale"].shape[0]
    joints = np.zeros((n, _N_JOINTS, 2))
    neck = np.array([0.0, -_TORSO])
    joints[:, 12] = neck
    for k, side in ((0, -1.0), (1, 1.0)):  # 0: right, 1: left
        upper, fore, thigh, shin = (frame["lengths"][:, k, i] for i in range(4))
        hip = np.array([side * _HIP_HALF_WIDTH, 0.0])
        shoulder = neck + np.array([side * _SHOULDER_HALF_WIDTH, _SHOULDER_DROP])
        h, kn = frame["hip"][:, k], frame["knee"][:, k]
        sh, el = frame["shoulder"][:, k], frame["elbow"][:, k]
        knee = hip + _THIGH * thigh[:, None] * _unit(h, side)
        ankle = knee + _SHIN * shin[:, None] * _unit(h + kn, side)
        elbow = shoulder + _UPPER_ARM * upper[:, None] * _unit(sh, side)
        wrist = elbow + _FOREARM * fore[:, None] * _unit(sh + el, side)
        if k == 0:
            idx = (0, 1, 2, 6, 7, 8)
        else:
            idx = (5, 4, 3, 11, 10, 9)
        for j, point in zip(
            idx, (ankle, knee, hip, wrist, elbow, shoulder), strict=True
        ):
            joints[:, j] = point
    head_dir = _unit(180.0 + frame["head"], 1.0)  # 'up', tilted
    joints[:, 13] = neck + _HEAD * head_dir
    head_centre = neck + (_HEAD - _HEAD_RADIUS) * head_dir
    # Rotate about the pelvis, scale to pixels, centre the figure's bounding
    # box on the image centre plus the frame's offset.
    theta = np.deg2rad(frame["rotation"])
    c, s = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (n,2,2)
    scale = frame["scale"][:, None, None]
    joints = np.einsum("nij,nkj->nki", rot, joints) * scale
    head_centre = np.einsum("nij,nj->ni", rot, head_centre) * scale[:, :, 0]
    centre = 0.5 * (joints.min(axis=1) + joints.max(axis=1))
    shift = (image_size - 1) / 2.0 + frame["offset"] - centre
    return joints + shift[:, None, :], head_centre + shift


def _segments(joints, head_centre):
    """Endpoints (n, n_parts, 2, 2) of every part, in the order of ``_PARTS``."""
    pelvis = 0.5 * (joints[:, 2] + joints[:, 3])
    ends = {
        "torso": (joints[:, 12], pelvis),
        "hips": (joints[:, 2], joints[:, 3]),
        "shoulders": (joints[:, 8], joints[:, 9]),
        "neck": (joints[:, 12], head_centre),
        "head": (head_centre, head_centre),
        "r_upper_arm": (joints[:, 8], joints[:, 7]),
        "r_forearm": (joints[:, 7], joints[:, 6]),
        "l_upper_arm": (joints[:, 9], joints[:, 10]),
        "l_forearm": (joints[:, 10], joints[:, 11]),
        "r_thigh": (joints[:, 2], joints[:, 1]),
        "r_shin": (joints[:, 1], joints[:, 0]),
        "l_thigh": (joints[:, 3], joints[:, 4]),
        "l_shin": (joints[:, 4], joints[:, 5]),
    }
    return np.stack([np.stack(ends[name], axis=1) for name in _PARTS], axis=1)


def _coverage(px, py, a, b, radius):
    """Anti-aliased coverage of thick segments ``a``-``b`` at pixel centres.

    ``px``/``py`` are (h, w) pixel-centre coordinates; ``a``, ``b`` (m, 2) and
    ``radius`` (m,) describe m segments (a == b gives a disc). Coverage is the
    distance to the segment's border, ``radius + 0.5 - distance``, clipped to
    [0, 1]: a one-pixel linear ramp across the border. Returns float32
    (m, h, w).
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    ax, ay = a[:, 0, None, None], a[:, 1, None, None]
    dx = b[:, 0, None, None] - ax
    dy = b[:, 1, None, None] - ay
    inv_length2 = 1.0 / np.maximum(dx * dx + dy * dy, np.float32(1e-12))
    rx = px - ax  # (m, h, w)
    ry = py - ay
    t = rx * (dx * inv_length2)
    t += ry * (dy * inv_length2)
    np.clip(t, 0.0, 1.0, out=t)
    rx -= t * dx
    ry -= t * dy
    rx *= rx
    ry *= ry
    rx += ry
    np.sqrt(rx, out=rx)
    cov = np.subtract(
        (np.asarray(radius, dtype=np.float32) + np.float32(0.5))[:, None, None],
        rx,
        out=rx,
    )
    return np.clip(cov, 0.0, 1.0, out=cov)


def _composite(img, cov, intensity):
    """Paint ``intensity`` (m,) over ``img`` (m, h, w) with coverage ``cov``."""
    diff = np.asarray(intensity, dtype=np.float32)[:, None, None] - img
    diff *= cov
    img += diff


def _render_backgrounds(rng, appearance, clutter, image_size):
    """One cluttered background per sequence (shared by its frames)."""
    n_sequences = appearance["background"].shape[0]
    grid = np.arange(image_size, dtype=np.float32)  # pixel centres
    px, py = np.meshgrid(grid, grid)
    backgrounds = np.empty((n_sequences, image_size, image_size), dtype=np.float32)
    counts = rng.poisson(clutter, n_sequences)
    for i in range(n_sequences):
        img = np.full((image_size, image_size), appearance["background"][i])
        k = counts[i]
        if k:
            is_blob = rng.random(k) < 0.5
            a = rng.uniform(0.0, image_size, (k, 2))
            b = np.where(is_blob[:, None], a, rng.uniform(0.0, image_size, (k, 2)))
            radius = np.where(
                is_blob,
                rng.uniform(0.03, 0.12, k) * image_size,
                rng.uniform(0.3, 1.0, k) * image_size / 64.0,
            )
            intensity = rng.uniform(0.1, 0.5, k)
            cov = _coverage(px, py, a, b, radius)
            for j in range(k):
                img += cov[j] * (intensity[j] - img)  # float64, one image
        backgrounds[i] = img
    return backgrounds


@validate_params({
    "n_samples": [POSITIVE_INT],
    "image_size": [Interval(Integral, 16, None, closed="left")],
    "n_sequences": [POSITIVE_INT, None],
    "spread": [InstanceOf(tuple, list, np.ndarray,
                          description="a pair (low, high) of non-negative numbers")],
    "occlusion": _FRACTION,
    "truncation": _FRACTION,
    "clutter": _NON_NEGATIVE,
    "noise": _NON_NEGATIVE,
    "shuffle": ["boolean"],
    "return_sequences": ["boolean"],
    "random_state": ["random_state", None],
})
def make_pose_dataset(
    n_samples=1000,
    *,
    image_size=64,
    n_sequences=None,
    spread=(0.05, 1.0),
    occlusion=0.1,
    truncation=0.05,
    clutter=4.0,
    noise=0.03,
    shuffle=True,
    return_sequences=False,
    random_state=None,
):
    """Generate synthetic human-like figures with 14 LSP joints as images.

    Each sample is a planar articulated figure (a kinematic tree: torso, head,
    two arms of two limbs, two legs of two limbs) with random joint angles
    within plausible limits, random scale, rotation and position, rendered as
    a grey-level image: limbs are thick anti-aliased segments whose intensity
    and thickness depend on the limb (right limbs bright, left limbs dark, the
    torso in between) and the head is a disc. Frames are grouped into
    video-like sequences: every sequence has a base pose, appearance and
    cluttered background, and its frames scatter around the base pose with a
    per-sequence spread, so some sequences are nearly static and others
    dispersed (the structure of the MPII videos in Fig. 2 of the EGL++ paper).
    Limbs occlude each other (drawn in depth order); foreign occluders hide
    some joints, and some frames are shifted partly out of the image; hidden
    joints are NaN in ``y``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of images.
    image_size : int, default=64
        Height and width of the square images, in pixels (>= 16).
    n_sequences : int, default=None
        Number of sequences, in ``[1, n_samples]``. ``None`` uses
        ``ceil(n_samples / 25)``. Sequence lengths vary (every sequence has at
        least one frame).
    spread : tuple of (float, float), default=(0.05, 1.0)
        Range of the per-sequence spread, drawn log-uniformly (uniformly when
        the lower end is 0). A frame's joint angles, rotation, scale and
        position deviate from its sequence's base pose by Gaussian amounts
        whose standard deviations are the spread times 40 deg (shoulders,
        elbows), 25 deg (knees), 15 deg (hips, global rotation), 10 deg (head),
        8 % (scale) and 6 % of the image size (position). Spread 0 gives
        identical poses within a sequence (only the occluders and the noise
        change).
    occlusion : float, default=0.1
        Probability, per joint and frame, that an occluder (a disc of radius 6
        to 10 % of the image size) is drawn over the joint. Joints under any
        occluder are NaN in ``y``; an occluder often hides a neighbouring
        joint too, so the fraction of occluded joints is above ``occlusion``
        (about 0.14 at 0.1 and 0.38 at 0.3). Must be in ``[0, 1]``.
    truncation : float, default=0.05
        Probability that a frame's figure is shifted by 25 to 45 % of the image
        size, typically moving some joints out of the image; joints outside the
        image are NaN in ``y``. Must be in ``[0, 1]``.
    clutter : float, default=4.0
        Mean (Poisson) number of clutter shapes (soft blobs and thin lines of
        intensity 0.1 to 0.5) on a sequence's background.
    noise : float, default=0.03
        Standard deviation of the additive Gaussian pixel noise (images are
        clipped to [0, 1] afterwards).
    shuffle : bool, default=True
        Whether to shuffle the samples. When False, the frames of a sequence
        are contiguous and sequences appear in order of their id.
    return_sequences : bool, default=False
        Whether to also return the sequence id of every sample.
    random_state : int, RandomState instance or None, default=None
        Determines all randomness. Pass an int for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, image_size, image_size), dtype float32
        Grey-level images with values in [0, 1].
    y : ndarray of shape (n_samples, 28), dtype float64
        Keypoints ``(x0, y0, x1, y1, ...)`` of the 14 joints in LSP order (see
        ``LSP_JOINT_NAMES``: 0 right ankle, 1 right knee, 2 right hip, 3 left
        hip, 4 left knee, 5 left ankle, 6 right wrist, 7 right elbow, 8 right
        shoulder, 9 left shoulder, 10 left elbow, 11 left wrist, 12 neck,
        13 head top), in pixel coordinates with pixel centres at integers:
        pixel ``(i, j)`` (row, column) covers ``[j - 0.5, j + 0.5) x
        [i - 0.5, i + 0.5)`` and has its centre at ``(x, y) = (j, i)`` (the
        convention of :func:`keypoints_to_heatmaps`). NaN marks occluded
        joints and joints outside the image.
    sequences : ndarray of shape (n_samples,), dtype int64
        Sequence id of every sample, in ``[0, n_sequences)``. Only returned
        when ``return_sequences=True``.

    See Also
    --------
    load_lsp, load_lspet, load_mpii : The real data sets, in the same form.

    Notes
    -----
    The "right" joints are the figure's own right: when the figure faces the
    viewer they appear on the image's left (the LSP convention). The default
    difficulty (moderate clutter, 0.03 noise, about 15 % NaN joints) is meant
    to be learnable by a small stacked hourglass in a few CPU epochs: a
    two-stack hourglass with 32 features trained for 6 epochs on 600 images
    reaches a PCK@0.2 of about 0.25 on fresh images (0.6 after 20 epochs),
    against 0.04 for the mean pose. ``occlusion=0, truncation=0, clutter=0,
    noise=0`` gives clean figures. Generating 1000 images of 64 x 64 takes
    about a second on one CPU core.

    Examples
    --------
    >>> from sk_eglpp.datasets import make_pose_dataset
    >>> X, y, seq = make_pose_dataset(
    ...     20, n_sequences=4, return_sequences=True, random_state=0)
    >>> X.shape, X.dtype, y.shape
    ((20, 1, 64, 64), dtype('float32'), (20, 28))
    >>> sorted(set(seq.tolist()))
    [0, 1, 2, 3]
    """
    n_samples, image_size = int(n_samples), int(image_size)
    if n_sequences is None:
        n_sequences = -(-n_samples // 25)
    elif n_sequences > n_samples:
        raise ValueError(
            f"make_pose_dataset: n_sequences must be in [1, n_samples={n_samples}], "
            f"got {n_sequences}."
        )
    n_sequences = int(n_sequences)
    spread = _check_spread(spread)
    occlusion, truncation = float(occlusion), float(truncation)
    clutter, noise = float(clutter), float(noise)
    rng = check_random_state(random_state)

    # Sequence lengths: at least one frame each, the rest spread unevenly.
    weights = rng.dirichlet(np.full(n_sequences, 2.0))
    lengths = 1 + rng.multinomial(n_samples - n_sequences, weights)
    seq = np.repeat(np.arange(n_sequences), lengths)

    seq_spread, base, appearance = _draw_sequence_parameters(
        rng, n_sequences, spread, image_size
    )
    frame = _draw_frame_parameters(rng, seq, seq_spread, base, truncation, image_size)
    joints, head_centre = _skeleton(frame, image_size)
    segments = _segments(joints, head_centre)

    part_names = list(_PARTS)
    intensity = np.array([_PARTS[p][0] for p in part_names])
    intensity = np.clip(intensity + appearance["intensity_jitter"], 0.0, 1.0)
    half = np.array([_PARTS[p][1] for p in part_names])
    # Pixels: half thickness scales with the figure; at least half a pixel.
    radius = half[None, :] * (appearance["thickness"][seq] * frame["scale"])[:, None]
    radius = np.maximum(radius, 0.5)
    order_r = np.array([part_names.index(p) for p in _ORDER_RIGHT_FRONT])
    order_l = np.array([part_names.index(p) for p in _ORDER_LEFT_FRONT])
    order = np.where(appearance["right_in_front"][seq][:, None], order_r, order_l)

    # Occluders: one disc per chosen joint, centred near it.
    chosen = rng.random((n_samples, _N_JOINTS)) < occlusion
    occ_radius = rng.uniform(0.06, 0.10, (n_samples, _N_JOINTS)) * image_size
    occ_centre = (
        joints
        + rng.normal(0.0, 0.35, (n_samples, _N_JOINTS, 2)) * (occ_radius[:, :, None])
    )
    occ_intensity = rng.uniform(0.05, 0.6, (n_samples, _N_JOINTS))

    backgrounds = _render_backgrounds(rng, appearance, clutter, image_size)
    # Drawn before the pixel noise (whose draws depend on image_size) and also
    # when not shuffling, so that the other outputs do not depend on either.
    perm = rng.permutation(n_samples)

    grid = np.arange(image_size, dtype=np.float32)  # pixel centres
    px, py = np.meshgrid(grid, grid)
    X = np.empty((n_samples, 1, image_size, image_size), dtype=np.float32)
    rows = np.arange(n_samples)
    for start in range(0, n_samples, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n_samples))
        r = rows[sl]
        img = backgrounds[seq[sl]].astype(np.float32)
        for k in range(order.shape[1]):
            part = order[sl, k]
            seg = segments[r, part].astype(np.float32)
            cov = _coverage(px, py, seg[:, 0], seg[:, 1], radius[r, part])
            _composite(img, cov, intensity[seq[sl], part])
        # Occluders in front of the figure, compacted per frame.
        ch = chosen[sl]
        n_occ = ch.sum(axis=1)
        rank = np.argsort(~ch, axis=1, kind="stable")  # chosen joints first
        for k in range(int(n_occ.max(initial=0))):
            j = rank[:, k]
            active = k < n_occ
            rad = np.where(active, occ_radius[r, j], -1.0)  # -1: covers nothing
            c = occ_centre[r, j].astype(np.float32)
            cov = _coverage(px, py, c, c, rad.astype(np.float32))
            _composite(img, cov, occ_intensity[r, j])
        if noise > 0:
            img += rng.normal(0.0, noise, img.shape).astype(np.float32)
        X[sl, 0] = np.clip(img, 0.0, 1.0)

    # Labels: NaN for joints under an occluder or outside the image.
    d2 = np.sum((joints[:, :, None, :] - occ_centre[:, None, :, :]) ** 2, axis=-1)
    hidden = np.any(chosen[:, None, :] & (d2 < occ_radius[:, None, :] ** 2), axis=2)
    outside = np.any((joints < -0.5) | (joints >= image_size - 0.5), axis=2)
    y = joints.copy()
    y[hidden | outside] = np.nan
    y = y.reshape(n_samples, 2 * _N_JOINTS)

    if shuffle:
        X, y, seq = X[perm], y[perm], seq[perm]
    seq = seq.astype(np.int64)
    if return_sequences:
        return X, y, seq
    return X, y
