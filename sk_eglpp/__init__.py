"""sk_eglpp: active learning for regression with EGL++ and its baselines.

The query strategies are callables in modAL's convention; the stacked-hourglass
regressor is a skorch ``NeuralNetRegressor``. See the user guide for EGL++
(Shukla, "EGL++: Extending Expected Gradient Length to Active Learning for
Human Pose Estimation").
"""

from . import datasets, gradients, metrics, models, neighbors, query
from ._version import __version__
from .datasets import *  # noqa: F403
from .learner import ActiveLearner
from .metrics import *  # noqa: F403
from .models import *  # noqa: F403
from .query import *  # noqa: F403

__all__ = (
    ["ActiveLearner", "__version__"]
    + list(query.__all__)
    + list(models.__all__)
    + list(datasets.__all__)
    + list(metrics.__all__)
)
