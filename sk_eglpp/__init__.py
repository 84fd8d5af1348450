"""sk_eglpp: active learning for regression with EGL++ and its baselines.

The query strategies are callables in modAL's convention; the stacked-hourglass
regressor is a skorch ``NeuralNetRegressor``. See the user guide for EGL++
(Shukla, "EGL++: Extending Expected Gradient Length to Active Learning for
Human Pose Estimation").

Submodules and the names below load on first use (PEP 562), so that
``import sk_eglpp.neighbors`` does not pay for torch, skorch and modAL.
"""

import importlib

from ._version import __version__

#: submodules reachable as attributes (``sk_eglpp.neighbors``, ...)
_SUBMODULES = (
    "annotation",
    "datasets",
    "diagnostics",
    "gradients",
    "metrics",
    "models",
    "neighbors",
    "query",
    "simulation",
)

#: submodule -> the names it gives the top-level namespace; the tests check
#: this against each submodule's ``__all__``
_EXPORTS = {
    "learner": ("ActiveLearner",),
    "annotation": ("select_for_annotation", "AnnotationSelection"),
    "simulation": ("simulate", "compare", "plot_learning_curves", "plot_selection_map"),
    "query": (
        "BaseQueryStrategy", "QueryTags", "STRATEGIES", "get_query_tags",
        "get_strategy", "select_with_utilities",
        "EGLPlusPlusQuery", "egl_pp", "LinearEGLQuery", "egl_linear",
        "EMCMQuery", "emcm", "RandomQuery", "random_query",
        "CoreSetQuery", "coreset", "MultiPeakEntropyQuery", "multipeak_entropy",
        "LearningLossQuery", "learning_loss", "MCDropoutQuery", "mc_dropout",
        "GreedySamplingQuery", "greedy_sampling",
        "BATCH_MODES", "select_batch", "information_density",
    ),
    "models": (
        "StackedHourglass", "HourglassRegressor", "BootstrapLinearRegressor",
        "LSP_FLIP_PAIRS", "augment_batch", "pose_estimator",
    ),
    "datasets": (
        "heatmap_peaks", "heatmaps_to_keypoints", "keypoints_to_heatmaps",
        "make_pose_dataset", "load_lsp", "load_lspet", "load_mpii",
        "load_coco_keypoints", "write_coco_keypoints", "merge_coco_keypoints",
        "make_synthetic_coco", "get_cache_dir", "clear_cache", "leeds_to_coco",
    ),
    "metrics": ("pck", "pckh", "pck_scorer", "make_pck_scorer", "make_pckh_scorer"),
}  # fmt: skip

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_WHERE]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_SUBMODULES, *_WHERE})
