"""Pose-estimation metrics (PCK, PCKh) and scikit-learn scorers."""

__all__ = []
