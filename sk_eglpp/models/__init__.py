"""Torch modules and skorch / scikit-learn estimators (stacked hourglass)."""

from ._bootstrap import BootstrapLinearRegressor
from ._hourglass import StackedHourglass
from ._regressor import HourglassRegressor

__all__ = [
    "StackedHourglass",
    "HourglassRegressor",
    "BootstrapLinearRegressor",
]
