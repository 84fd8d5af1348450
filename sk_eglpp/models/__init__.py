"""Torch modules and skorch / scikit-learn estimators (stacked hourglass)."""

from ._augment import LSP_FLIP_PAIRS, augment_batch
from ._bootstrap import BootstrapLinearRegressor
from ._factory import pose_estimator
from ._hourglass import StackedHourglass
from ._regressor import HourglassRegressor

__all__ = [
    "StackedHourglass",
    "HourglassRegressor",
    "BootstrapLinearRegressor",
    "LSP_FLIP_PAIRS",
    "augment_batch",
    "pose_estimator",
]
