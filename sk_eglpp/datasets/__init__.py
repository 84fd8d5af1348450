"""Pose data: the synthetic generator, LSP / LSPET / MPII / COCO readers, heatmaps.

Every loader returns images ``X`` of shape ``(n, channels, height, width)``
(float32 in [0, 1]; the LSP / LSPET / MPII loaders also give uint8 with
``dtype="uint8"``) and keypoints ``y`` of shape ``(n, 2 * n_joints)`` in pixel
coordinates (``x0, y0, x1, y1, ...``; NaN for a joint that is not annotated),
in LSP's 14-joint order (``LSP_JOINT_NAMES``). The LSP / LSPET / MPII loaders
keep their arrays in an on-disk cache (:func:`get_cache_dir`,
:func:`clear_cache`).
"""

from ._cache import clear_cache, get_cache_dir
from ._coco import LSP_SKELETON as LSP_SKELETON
from ._coco import load_coco_keypoints
from ._coco_write import merge_coco_keypoints, write_coco_keypoints
from ._heatmaps import heatmap_peaks, heatmaps_to_keypoints, keypoints_to_heatmaps
from ._leeds_coco import leeds_to_coco
from ._loaders import MPII_TO_LSP as MPII_TO_LSP
from ._loaders import load_lsp, load_lspet, load_mpii
from ._synthetic import LSP_JOINT_NAMES as LSP_JOINT_NAMES
from ._synthetic import make_pose_dataset
from ._synthetic_coco import make_synthetic_coco

# The joint constants (LSP_JOINT_NAMES, LSP_SKELETON, MPII_TO_LSP) are importable
# from here but left out of __all__, so they stay out of the top-level namespace.
__all__ = [
    "heatmap_peaks",
    "heatmaps_to_keypoints",
    "keypoints_to_heatmaps",
    "make_pose_dataset",
    "load_lsp",
    "load_lspet",
    "load_mpii",
    "get_cache_dir",
    "clear_cache",
    "load_coco_keypoints",
    "write_coco_keypoints",
    "merge_coco_keypoints",
    "make_synthetic_coco",
    "leeds_to_coco",
]
