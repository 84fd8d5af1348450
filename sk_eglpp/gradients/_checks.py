"""Checks of the gradient computation's inputs and the parameter selection.

The parameters of the public functions are checked by their
:func:`~sk_eglpp._param_validation.validate_params` tables; what depends on
the data (shapes, dtypes, index ranges, the selected parameters of the given
module) is checked here.
"""

import numpy as np
import torch
from torch import nn

from .._param_validation import StrOptions
from ._layerwise import FAST_TYPES

#: the named selections of ``parameters``
PARAMETER_KEYWORDS = ("default", "all", "last")
#: the ``method`` values of :func:`~sk_eglpp.gradients.expected_gradient_norms`
METHODS = ("exact", "lowrank")
#: the ``reduction`` values of the loss
REDUCTIONS = ("sum", "mean")


class ExactMethod(StrOptions):
    """The ``method`` of :func:`~sk_eglpp.gradients.squared_gradient_norms`.

    Only ``"exact"``: per-pair norms are exact; the message of any other value
    points to the low-rank mode of ``expected_gradient_norms``.

    Examples
    --------
    >>> from sk_eglpp._param_validation import validate_param
    >>> validate_param("lowrank", "method", [ExactMethod()], "f")
    Traceback (most recent call last):
    ...
    ValueError: f: method must be 'exact' (...), got 'lowrank' (str).
    """

    def __init__(self):
        super().__init__(["exact"])

    def __str__(self):
        return (
            "'exact' (per-pair norms are exact; expected_gradient_norms has "
            "method='lowrank')"
        )


def _own_parameters(module):
    return [p for p in (module.weight, module.bias) if p is not None]


def select_parameters(module, parameters):
    """The selected parameters of ``module`` as a list (registration order)."""
    named = list(module.named_parameters())
    if isinstance(parameters, str):  # one of PARAMETER_KEYWORDS (checked)
        if parameters == "all":
            selected = [p for _, p in named if p.requires_grad]
        else:
            layers = [m for m in module.modules() if isinstance(m, FAST_TYPES)]
            if parameters == "last":
                layers = layers[-1:]
            selected = [p for m in layers for p in _own_parameters(m)]
    else:
        if callable(parameters) and not isinstance(parameters, nn.Parameter):
            candidates = parameters(module)
        else:
            candidates = parameters
        try:
            candidates = list(candidates)
        except TypeError:
            raise TypeError(
                f"parameters must be one of {PARAMETER_KEYWORDS}, a callable "
                "module -> iterable of parameters, or an iterable of parameters, "
                f"got {type(parameters).__name__}."
            ) from None
        own = {id(p) for _, p in named}
        for p in candidates:
            if not isinstance(p, torch.Tensor) or id(p) not in own:
                raise ValueError(
                    "parameters must be parameters of the module, got "
                    f"{type(p).__name__} that is not one of them."
                )
        wanted = {id(p) for p in candidates}
        selected = [p for _, p in named if id(p) in wanted]
    if not selected:
        raise ValueError(
            f"parameters={parameters!r} selects no parameter of "
            f"{type(module).__name__}."
        )
    return selected


def _as_tensor(X, name, dtype):
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu()
    else:
        try:
            X = torch.as_tensor(np.ascontiguousarray(X))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an array or a tensor: {exc}") from exc
    if not (X.is_floating_point() or X.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name} must hold numbers, got dtype {X.dtype}.")
    X = X.to(dtype)
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(
            f"{name} must have at least one sample, got shape {tuple(X.shape)}."
        )
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return X


def check_inputs(module, X, target_bank, neighbor_indices, weight_bank, device):
    """The data as tensors in the module's dtype, checked against each other.

    Returns ``(X, target_bank, neighbor_indices, weight_bank, device)``:
    float tensors on the CPU, ``neighbor_indices`` as int64, ``device`` as a
    ``torch.device``.
    """
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    if not dtype.is_floating_point:
        dtype = torch.float32
    X = _as_tensor(X, "X", dtype)
    target_bank = _as_tensor(target_bank, "target_bank", dtype)
    idx = np.asarray(neighbor_indices)
    if idx.ndim != 2 or idx.shape[0] != X.shape[0] or idx.shape[1] == 0:
        raise ValueError(
            f"neighbor_indices must have shape (n_samples, n_neighbors) = "
            f"({X.shape[0]}, K) with K >= 1, got {idx.shape}."
        )
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"neighbor_indices must hold integers, got dtype {idx.dtype}.")
    m = target_bank.shape[0]
    if idx.min() < 0 or idx.max() >= m:
        raise ValueError(
            f"neighbor_indices must be in [0, {m - 1}] (rows of target_bank), got "
            f"values in [{idx.min()}, {idx.max()}]."
        )
    if weight_bank is not None:
        weight_bank = _as_tensor(weight_bank, "weight_bank", dtype)
        if weight_bank.shape[0] != m:
            raise ValueError(
                "weight_bank must have one row per row of target_bank, got "
                f"{weight_bank.shape[0]} and {m} rows."
            )
        try:
            torch.broadcast_shapes(weight_bank.shape, target_bank.shape)
        except RuntimeError:
            raise ValueError(
                f"weight_bank of shape {tuple(weight_bank.shape)} does not "
                f"broadcast to target_bank of shape {tuple(target_bank.shape)}."
            ) from None
    device = torch.device(device)
    return X, target_bank, torch.as_tensor(idx, dtype=torch.int64), weight_bank, device


def check_probabilities(probabilities, shape):
    """``probabilities`` as a float64 array of ``shape``, finite, non-negative."""
    q = np.asarray(probabilities, dtype=np.float64)
    if q.shape != tuple(shape):
        raise ValueError(
            "probabilities must have the shape of neighbor_indices "
            f"{tuple(shape)}, got {q.shape}."
        )
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("probabilities must be finite and non-negative.")
    return q
