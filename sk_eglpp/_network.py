"""The fitted network behind an estimator, as the gradient stage needs it.

EGL++ (:mod:`sk_eglpp.query`) and the fidelity diagnostic
(:mod:`sk_eglpp.diagnostics`) both take a fitted skorch net (or a bare torch
module) and need the same four things from it: the fitted ``torch.nn.Module``
(:func:`fitted_module`), the device it runs on (:func:`device_of`), inputs as
the module reads them (:func:`as_module_input`) and labels rendered into the
module's output space with their loss weights (:func:`render_targets`).
"""

import numpy as np
import torch

from ._tensors import image_tensor

__all__ = ["as_module_input", "device_of", "fitted_module", "render_targets"]


def fitted_module(estimator):
    """The fitted torch module of a skorch net (or a bare module).

    Parameters
    ----------
    estimator : skorch.NeuralNet or torch.nn.Module

    Returns
    -------
    module : torch.nn.Module
        ``estimator.module_``, or ``estimator`` itself when it is a module.

    Raises
    ------
    TypeError
        When ``estimator`` is neither a skorch net nor a torch module.
    sklearn.exceptions.NotFittedError
        When the net is not fitted.

    Examples
    --------
    >>> import torch
    >>> module = torch.nn.Linear(2, 1)
    >>> fitted_module(module) is module
    True
    """
    if isinstance(estimator, torch.nn.Module):
        return estimator
    if not hasattr(estimator, "check_is_fitted") or not hasattr(
        type(estimator), "initialize_module"
    ):
        raise TypeError(
            "EGL++ needs a skorch neural net (e.g. HourglassRegressor or "
            "NeuralNetRegressor) or a torch.nn.Module, got "
            f"{type(estimator).__name__}."
        )
    estimator.check_is_fitted()
    return estimator.module_


def device_of(estimator):
    """The estimator's ``device`` attribute; ``"cpu"`` when it has none.

    Examples
    --------
    >>> import torch
    >>> device_of(torch.nn.Linear(2, 1))
    'cpu'
    """
    device = getattr(estimator, "device", None)
    return "cpu" if device is None else device


def render_targets(estimator, y):
    """Targets and loss weights in the model's output space.

    Estimators with ``render_targets`` (the hourglass: keypoints -> heatmaps)
    provide both. Otherwise ``y`` is the output itself and the weights are those
    of a mean squared error over the outputs, with NaN entries masked out.

    Parameters
    ----------
    estimator : object
        A skorch net or torch module; its ``render_targets(y)`` is used when it
        has one.
    y : array-like of shape (n_samples,) or (n_samples, ...)
        Labels; NaN marks an entry that is not observed.

    Returns
    -------
    targets : ndarray, float32
    weights : ndarray, float32
        Broadcastable to ``targets``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> targets, weights = render_targets(torch.nn.Linear(2, 2), [[1.0, np.nan]])
    >>> targets.tolist(), weights.tolist()
    ([[1.0, 0.0]], [[0.5, 0.0]])
    """
    if hasattr(estimator, "render_targets"):
        targets, weights = estimator.render_targets(y)
        return np.asarray(targets, dtype=np.float32), np.asarray(
            weights, dtype=np.float32
        )
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    observed = np.isfinite(y)
    n_outputs = int(np.prod(y.shape[1:]))
    weights = observed.astype(np.float32) / n_outputs
    return np.where(observed, y, 0.0).astype(np.float32), weights


def as_module_input(X, module):
    """``X`` as a float tensor in the dtype of the module's parameters.

    uint8 images in [0, 255] are scaled to [0, 1], as HourglassRegressor reads
    them (:func:`sk_eglpp._tensors.image_tensor`). The caller's array is never
    written to.

    Examples
    --------
    >>> import numpy as np, torch
    >>> as_module_input(np.array([[0, 255]], dtype=np.uint8), torch.nn.Linear(2, 1))
    tensor([[0., 1.]])
    """
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    X = np.ascontiguousarray(X)
    if not X.flags.writeable:  # torch wants writable memory; never touch the user's
        X = X.copy()
    return image_tensor(torch.from_numpy(X), dtype).to(dtype)
