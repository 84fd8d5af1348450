"""sk_eglpp: active learning for regression with EGL++ and its baselines.

The query strategies are callables in modAL's convention; the stacked-hourglass
regressor is a skorch ``NeuralNetRegressor``. See the user guide for EGL++
(Shukla, "EGL++: Extending Expected Gradient Length to Active Learning for
Human Pose Estimation").
"""

# submodules reachable as attributes (sk_eglpp.neighbors, ...)
from . import annotation as annotation
from . import datasets as datasets
from . import diagnostics as diagnostics
from . import gradients as gradients
from . import metrics as metrics
from . import models as models
from . import neighbors as neighbors
from . import query as query
from . import simulation as simulation
from ._version import __version__
from .annotation import AnnotationSelection, select_for_annotation
from .datasets import *  # noqa: F403
from .learner import ActiveLearner
from .metrics import *  # noqa: F403
from .models import *  # noqa: F403
from .query import *  # noqa: F403
from .simulation import compare, plot_learning_curves, plot_selection_map, simulate

__all__ = (
    ["ActiveLearner", "__version__"]
    + ["select_for_annotation", "AnnotationSelection"]
    + ["simulate", "compare", "plot_learning_curves", "plot_selection_map"]
    + list(query.__all__)
    + list(models.__all__)
    + list(datasets.__all__)
    + list(metrics.__all__)
)
