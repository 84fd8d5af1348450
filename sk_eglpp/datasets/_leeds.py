"""The Leeds pose data sets, LSP and LSPET: their files and ``joints.mat``.

Shared by the loaders (:func:`load_lsp`, :func:`load_lspet`) and
:func:`leeds_to_coco`. Both data sets keep their images as
``images/im0001.jpg`` ... (LSP, four digits) or ``images/im00001.jpg`` ...
(LSPET, five digits) and their annotations in ``joints.mat``, whose variable
``joints`` holds 1-based MATLAB pixel coordinates and a flag per joint, in
one of two layouts:

``"lsp"``
    3 x 14 x n: x, y and an *occlusion* flag (1: occluded, its position
    estimated by the annotators).
``"lspet"``
    14 x 3 x n: x, y and a *visibility* flag (1: visible).
"""

import numpy as np

__all__ = ["LEEDS", "N_JOINTS", "leeds_image_name", "leeds_joints"]

#: The 14 LSP joints (the loaders map MPII's 16 joints to them too).
N_JOINTS = 14
#: per layout of ``joints.mat``: the data set's name in messages and the
#: digits of its image numbers
LEEDS = {"lsp": ("LSP", 4), "lspet": ("LSPET", 5)}


def leeds_image_name(number, layout):
    """The file name of image ``number`` (1-based) under ``images/``.

    Examples
    --------
    >>> leeds_image_name(7, "lspet")
    'im00007.jpg'
    """
    return f"im{number:0{LEEDS[layout][1]}d}.jpg"


def leeds_joints(mat, file, layout):
    """``(n, 14, 2)`` coordinates (0-based pixels) and ``(n, 14)`` visibility.

    Parameters
    ----------
    mat : dict
        The variables of ``joints.mat``.
    file : pathlib.Path
        The file, for the messages.
    layout : {"lsp", "lspet"}
        The layout of ``joints``.

    Returns
    -------
    xy : ndarray of shape (n_images, 14, 2)
        The joints in the package's pixel indices (MATLAB's less one).
    visible : ndarray of shape (n_images, 14), dtype bool
        Whether each joint is flagged visible.

    Raises
    ------
    ValueError
        ``mat`` has no real array ``joints`` of the layout's shape; the
        message says when it has the other layout's.
    """
    dataset = LEEDS[layout][0]
    if "joints" not in mat:
        keys = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(
            f"{str(file)!r} must contain a variable 'joints' ({dataset} format), "
            f"got variables {keys}."
        )
    joints = np.asarray(mat["joints"])
    if not np.issubdtype(joints.dtype, np.number) or joints.dtype.kind == "c":
        raise ValueError(
            f"'joints' in {str(file)!r} must be a real numeric array, got dtype "
            f"{joints.dtype}."
        )
    expected = (3, N_JOINTS) if layout == "lsp" else (N_JOINTS, 3)
    if joints.ndim == 2 and joints.shape == expected:  # a single image
        joints = joints[:, :, None]
    if joints.ndim != 3 or joints.shape[:2] != expected or joints.shape[2] < 1:
        hint = ""
        if joints.ndim == 3 and joints.shape[:2] == expected[::-1]:
            other = "load_lspet" if layout == "lsp" else "load_lsp"
            hint = f" This is the other Leeds layout; use {other}."
        raise ValueError(
            f"'joints' in {str(file)!r} must have shape {expected[0]} x "
            f"{expected[1]} x n_images ({dataset} format), got shape "
            f"{joints.shape}.{hint}"
        )
    joints = joints.astype(np.float64)
    if layout == "lsp":
        xy = joints[:2].transpose(2, 1, 0)  # (n, 14, 2)
        flag = joints[2].T
        visible = flag == 0  # LSP: the third row is 1 for occluded joints
    else:
        xy = joints[:, :2].transpose(2, 0, 1)
        flag = joints[:, 2].T
        visible = flag != 0  # LSPET: the third column is 1 for visible joints
    return xy - 1.0, visible
