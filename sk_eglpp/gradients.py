"""Per-pair squared gradient norms of EGL++ (paper Algorithm 1, Eq. 7).

For a pool input ``x`` and the targets ``t_1, ..., t_K`` of its K labelled
neighbours, EGL++ needs ``||grad_theta L(x, t_k)||^2`` for every k, with the
squared loss ``L(x, t) = sum_o sum(w * (o - t) ** 2)`` over the outputs ``o`` of
the model. The gradient of a squared loss is linear in the residual: with
``J`` the Jacobian of the outputs with respect to the parameters,
``grad_theta L(x, t_k) = J^T g_k`` with ``g_k = 2 w (o - t_k)``. So one forward
pass per input serves all K targets, and the K output-gradient vectors ``g_k``
are propagated backwards together.

Two exact engines implement this:

* **layerwise** (used when every selected parameter is the weight or bias of a
  ``Linear``, ``Conv1d/2d/3d`` or ``ConvTranspose1d/2d/3d`` module): a batch of
  inputs goes forward once; forward hooks keep every selected layer's input
  activation; one batched backward pass (``torch.autograd.grad`` under
  ``torch.func.vmap``) gives, for every input and every target, the gradient
  with respect to every selected layer's output.
  A layer's weight gradient for one (input, target) pair is ``G^T A`` (``A``:
  the layer input unfolded to ``(positions, fan_in)``, ``G``: the output
  gradient ``(positions, fan_out)``), so its squared norm is computed per layer,
  per sample, without whole-model per-sample gradients ever existing: either
  explicitly (``||G^T A||_F^2``) or by the Gram "ghost norm" identity
  ``<A A^T, G G^T>`` whose activation Gram ``A A^T`` is shared by the K
  targets, whichever costs fewer operations for the layer's shape.
* **per-input** (any other selection, e.g. ``"all"`` with BatchNorm affine
  parameters): one input at a time, one forward pass, and the K gradients with
  respect to the parameters themselves from one batched backward pass.

Both are exact (up to floating point rounding) and need the model in eval mode
(BatchNorm statistics frozen, dropout off), which is what is used; the module
given is not modified (a copy is used).
"""

import copy
import ctypes
import functools
import numbers
import os
import sys
import threading

import numpy as np
import torch
import torch.nn.functional as F
from joblib import Parallel, delayed, effective_n_jobs
from torch import nn

from ._param_validation import (
    POSITIVE_INT,
    VERBOSE,
    Interval,
    StrOptions,
    check_params,
)

__all__ = ["expected_gradient_norms", "squared_gradient_norms"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_TRANSPOSE = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_LINEAR = (nn.Linear,)
_FAST_TYPES = _CONV + _CONV_TRANSPOSE + _LINEAR
_PARAMETER_KEYWORDS = ("default", "all", "last")
_METHODS = ("exact", "lowrank")
_REDUCTIONS = ("sum", "mean")
_CONSTRAINTS = {
    "batch_size": [POSITIVE_INT],
    "n_jobs": ["n_jobs", None],
    "method": [StrOptions(_METHODS)],
    "energy": [Interval(numbers.Real, 0, 1, closed="right")],
    "reduction": [StrOptions(_REDUCTIONS)],
    "verbose": VERBOSE,
}
# Most elements of output gradients kept at once (all layers, all targets of a
# batch); more targets than this allows are back-propagated in several passes
# over the same graph.
_MAX_GRAD_ELEMENTS = 2**26
# Most elements of one layer's per-sample intermediate products (the explicit
# weight gradients or the Gram matrices) computed at once.
_MAX_BLOCK_ELEMENTS = 2**24


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def _is_fast_module(module):
    """Whether the layerwise engine knows the module's forward computation."""
    if not isinstance(module, _FAST_TYPES):
        return False
    base = next(t for t in _FAST_TYPES if isinstance(module, t))
    # A subclass that changes ``forward`` may use its weight differently.
    return type(module).forward is base.forward


def _own_parameters(module):
    return [p for p in (module.weight, module.bias) if p is not None]


def _select_parameters(module, parameters):
    """The selected parameters of ``module`` as a list (registration order)."""
    named = list(module.named_parameters())
    if isinstance(parameters, str):
        if parameters not in _PARAMETER_KEYWORDS:
            raise ValueError(
                f"parameters must be one of {_PARAMETER_KEYWORDS}, a callable or a "
                f"list of parameters of the module, got {parameters!r}."
            )
        if parameters == "all":
            selected = [p for _, p in named if p.requires_grad]
        else:
            layers = [m for m in module.modules() if isinstance(m, _FAST_TYPES)]
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
                f"parameters must be one of {_PARAMETER_KEYWORDS}, a callable "
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


def _check_inputs(module, X, target_bank, neighbor_indices, weight_bank, device):
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"module must be a torch.nn.Module, got {type(module).__name__}."
        )
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


# --------------------------------------------------------------------------
# forward helpers
# --------------------------------------------------------------------------


def _as_outputs(out, target_shape):
    """The module's output as a list of tensors, checked against the targets.

    A target is either one tensor compared with every output (``target_shape
    == out_shape``) or one tensor per output (``target_shape == (n_outputs,
    *out_shape)``).
    """
    outputs = list(out) if isinstance(out, (list, tuple)) else [out]
    if not outputs or not all(isinstance(o, torch.Tensor) for o in outputs):
        raise TypeError(
            "module(x) must return a tensor or a list/tuple of tensors, got "
            f"{type(out).__name__}."
        )
    target_shape = tuple(target_shape)
    for o in outputs:
        shape = tuple(o.shape[1:])
        if target_shape not in (shape, (len(outputs), *shape)):
            raise ValueError(
                "Every output of module(x) must have the shape of one target, "
                f"(batch, *{target_shape}), or the targets must hold one "
                f"tensor per output, (n_outputs, *out) = ({len(outputs)}, "
                f"*{shape}); got an output of shape {tuple(o.shape)} and "
                f"{len(outputs)} output(s)."
            )
    return outputs


class _Problem:
    """Targets and weights of the pairs of one batch; builds cotangents."""

    def __init__(self, target_bank, weight_bank, reduction):
        self.target_bank = target_bank
        self.weight_bank = weight_bank
        self.reduction = reduction

    def residual_grads(self, outputs, idx):
        """dL/do for every output and every pair: list of (K, b, *out)."""
        t = self.target_bank[idx]  # (b, K, *out) or (b, K, n_outputs, *out)
        w = None if self.weight_bank is None else self.weight_bank[idx]
        per_output = t.ndim == outputs[0].ndim + 2
        scale = 2.0
        if self.reduction == "mean":
            scale /= len(outputs) * outputs[0][0].numel()
        # per-output weights: those of output s when the weights have the
        # outputs axis, else the same for all (broadcast from the right)
        w_axis = per_output and w is not None and w.ndim == t.ndim
        cots = []
        for s, o in enumerate(outputs):
            r = o.detach().unsqueeze(1) - (t[:, :, s] if per_output else t)
            if w is not None:
                r = r * (w[:, :, min(s, w.shape[2] - 1)] if w_axis else w)
            cots.append((scale * r).transpose(0, 1))
        return cots


# --------------------------------------------------------------------------
# layerwise engine
# --------------------------------------------------------------------------


def _unfold(x, module, pad):
    """im2col of ``x`` (n, c, *spatial) for ``module``'s kernel: (n, T, c*k).

    For 1 x 1 kernels of stride 1 this is a view of ``x``; for other 2-d
    kernels ``F.unfold`` (one pass of torch's im2col), returned as a transposed
    view; other dimensions gather the windows by strides.
    """
    if pad is not None and any(pad):
        mode = "constant" if module.padding_mode == "zeros" else module.padding_mode
        x = F.pad(x, pad, mode=mode)
    n, c = x.shape[:2]
    if all(k == 1 for k in module.kernel_size) and all(s == 1 for s in module.stride):
        return x.flatten(2).transpose(1, 2)  # 1 x 1 kernels: a view
    if x.ndim == 4:
        cols = F.unfold(
            x, module.kernel_size, dilation=module.dilation, stride=module.stride
        )
        return cols.transpose(1, 2)
    nd = x.ndim - 2
    for dim in range(nd):
        k, d, s = module.kernel_size[dim], module.dilation[dim], module.stride[dim]
        x = x.unfold(2 + dim, d * (k - 1) + 1, s)
    if any(d > 1 for d in module.dilation):
        x = x[(Ellipsis, *(slice(None, None, d) for d in module.dilation))]
    # (n, c, L..., k...) -> (n, L..., c, k...)
    perm = [0, *range(2, 2 + nd), 1, *range(2 + nd, 2 + 2 * nd)]
    x = x.permute(perm)
    T = int(np.prod(x.shape[1 : 1 + nd]))
    return x.reshape(n, T, -1)


def _layer_factors(module, a, g):
    """The factors (A, G) of a layer's per-pair weight gradient ``sum_t G_t A_t``.

    ``a``: layer input (b, ...); ``g``: output gradients (V, b, ...).
    Returns ``A`` (b, T, groups, da), ``G`` (V, b, T, groups, dg), and the bias
    gradient (V, b, fan_out) or None.
    """
    V, b = g.shape[:2]
    bias = None
    if isinstance(module, _LINEAR):
        A = a.reshape(b, -1, 1, a.shape[-1])
        G = g.reshape(V, b, -1, 1, g.shape[-1])
        if module.bias is not None:
            bias = G.sum(dim=2).reshape(V, b, -1)
        return A, G, bias
    groups = module.groups
    nd = a.ndim - 2
    if module.bias is not None:
        bias = g.sum(dim=tuple(range(3, 3 + nd)))
    if isinstance(module, _CONV):
        A = _unfold(a, module, module._reversed_padding_repeated_twice)
        A = A.reshape(b, A.shape[1], groups, -1)
        G = g.reshape(V, b, groups, g.shape[2] // groups, -1).permute(0, 1, 4, 2, 3)
        return A, G, bias
    # Transposed convolution: the weight gradient is the convolution weight
    # gradient with the roles of input and output gradient swapped.
    pad = [p for p in reversed(module.padding) for _ in range(2)]
    Gu = _unfold(g.reshape(V * b, *g.shape[2:]), module, pad)
    L = a.shape[2:]
    # Keep exactly the input's positions (output_padding may add windows).
    n_win = Gu.shape[1]
    if n_win != int(np.prod(L)):
        Gu = _unfold_exact(g.reshape(V * b, *g.shape[2:]), module, pad, L)
    G = Gu.reshape(V, b, Gu.shape[1], groups, -1)
    A = a.reshape(b, groups, a.shape[1] // groups, -1).permute(0, 3, 1, 2)
    return A, G, bias


def _unfold_exact(x, module, pad, L):
    x = F.pad(x, pad)
    nd = x.ndim - 2
    for dim in range(nd):
        k, d, s = module.kernel_size[dim], module.dilation[dim], module.stride[dim]
        x = x.unfold(2 + dim, d * (k - 1) + 1, s).narrow(2 + dim, 0, L[dim])
    if any(d > 1 for d in module.dilation):
        x = x[(Ellipsis, *(slice(None, None, d) for d in module.dilation))]
    perm = [0, *range(2, 2 + nd), 1, *range(2 + nd, 2 + 2 * nd)]
    x = x.permute(perm)
    return x.reshape(x.shape[0], int(np.prod(L)), -1)


def _scaled(x, n_batch_dims):
    """``x`` divided by its largest magnitude over the non-batch dimensions.

    Squared gradient norms overflow float32 long before the gradients do (inputs
    of order 1e12 give norms of order 1e48), and underflow for gradients below
    about 1e-19: such norms are computed on the scaled factors and multiplied
    back by the squared scales in float64.
    """
    dims = tuple(range(n_batch_dims, x.ndim))
    scale = torch.linalg.vector_norm(x.detach(), float("inf"), dim=dims, keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return x / scale, scale.double()


# Norms computed in the tensors' own precision are kept when finite and at
# least this large: the squares that underflow to zero are then below 1e-38
# each, a relative error below 1e-10 for up to 1e8 of them. Smaller, zero or
# non-finite results are computed again on scaled factors (see _scaled).
_SMALLEST_UNSCALED = 1e-20


def _unscaled_ok(out):
    return bool(torch.all(torch.isfinite(out) & (out >= _SMALLEST_UNSCALED)))


def _squared_norms(x, n_batch_dims):
    """Sum of squares over the non-batch dimensions, in float64, overflow-free."""
    dims = tuple(range(n_batch_dims, x.ndim))
    out = x.square().sum(dim=dims)
    if _unscaled_ok(out):
        return out.double()
    x, scale = _scaled(x, n_batch_dims)
    return (
        x.square().sum(dim=dims).double() * scale.reshape(x.shape[:n_batch_dims]) ** 2
    )


def _factor_norms(A, G, mode=None):
    """sum over groups of ||G_gr^T A_gr||_F^2 for every (v, sample): (V, b), float64.

    ``A`` is (b, T, groups, da) and ``G`` (V, b, T, groups, dg), with any
    strides: the products read them as views where they can (the output
    gradients of a convolution are stored position-last, those of a linear
    layer position-first), so neither is copied into another layout.
    ``mode`` forces "ghost" or "explicit"; by default the cheaper one per shape.
    """
    V, b, T, groups, dg = G.shape
    da = A.shape[-1]
    if mode is None:
        explicit_cost = T * dg * da
        ghost_cost = T * T * (dg + da / V + 1)
        mode = "ghost" if ghost_cost < explicit_cost else "explicit"
    A = A.transpose(1, 2)  # (b, groups, T, da)
    G = G.transpose(2, 3)  # (V, b, groups, T, dg)
    out = _factor_norms_unscaled(A, G, mode)
    if _unscaled_ok(out):
        return out.double()
    A, scale_a = _scaled(A, 1)
    G, scale_g = _scaled(G, 2)
    out = _factor_norms_unscaled(A, G, mode).double()
    return out * (scale_a.reshape(1, b) * scale_g.reshape(V, b)) ** 2


def _factor_norms_unscaled(A, G, mode):
    """``_factor_norms`` on A (b, groups, T, da), G (V, b, groups, T, dg)."""
    V, b, groups, T, dg = G.shape
    da = A.shape[-1]
    out = A.new_zeros((V, b))
    if mode == "ghost":
        # <A A^T, G G^T> per (v, sample, group); A A^T is shared by the V vectors.
        step = max(1, _MAX_BLOCK_ELEMENTS // max(V * groups * T * T, 1))
        for s in range(0, b, step):
            a = A[s : s + step]
            gram_a = a @ a.transpose(-1, -2)  # (bs, gr, T, T)
            for v in range(V):
                g = G[v, s : s + step]
                gram_g = g @ g.transpose(-1, -2)
                out[v, s : s + step] = (gram_g * gram_a).sum(dim=(1, 2, 3))
    else:
        # G_v^T A per (v, sample, group), one batched product per v: G[v] is a
        # view, and A is not repeated V times.
        step = max(1, _MAX_BLOCK_ELEMENTS // max(groups * dg * da, 1))
        for s in range(0, b, step):
            a = A[s : s + step]
            for v in range(V):
                M = G[v, s : s + step].transpose(-1, -2) @ a  # (bs, gr, dg, da)
                out[v, s : s + step] = M.square().sum(dim=(1, 2, 3))
    return out


class _Recorder:
    """Forward hooks keeping the inputs and outputs of the selected layers."""

    def __init__(self, layers, copy_inputs=False):
        self.layers = layers
        self.copy_inputs = copy_inputs
        self.records = {id(m): [] for m in layers}
        self.versions = []
        self.handles = []

    def inputs_unchanged(self):
        """False if a kept layer input was modified in place after the layer."""
        return all(a._version == v for a, v in self.versions)

    def __enter__(self):
        for m in self.layers:
            self.handles.append(m.register_forward_hook(self._hook))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles = []

    def _hook(self, module, inputs, output):
        z = output if output.requires_grad else output.detach().requires_grad_()
        a = inputs[0].detach()
        if self.copy_inputs:
            a = a.clone()
        self.versions.append((a, a._version))
        self.records[id(module)].append((a, z))
        # Downstream in-place operations act on a copy, so that ``z`` keeps
        # being the layer's output in the graph.
        return z.clone()


def _batched_grad(outputs, inputs, cotangents, retain_graph):
    """Vector-Jacobian products of ``outputs`` for a leading batch of cotangents.

    ``torch.func.vmap`` over ``torch.autograd.grad`` rather than
    ``is_grads_batched=True``: the latter runs on the legacy vmap, which has no
    batching rule for the backward of convolutions, BatchNorm, pooling or
    upsampling and calls each of them once per cotangent, then stacks the
    results; ``torch.func``'s rules fold the cotangents into the batch of one
    call. Inputs the outputs do not depend on get zeros.
    """

    def vjp(*cots):
        return torch.autograd.grad(
            outputs,
            inputs,
            grad_outputs=cots,
            retain_graph=retain_graph,
            allow_unused=True,
            materialize_grads=True,
        )

    return torch.func.vmap(vjp)(*cotangents)


def _layerwise_batch(work, layers, xb, cot_fn, target_shape):
    """Squared norms (b, V) for one batch with the layerwise engine."""
    rec = _Recorder([m for m, _, _ in layers])
    with torch.enable_grad(), rec:
        outputs = _as_outputs(work(xb), target_shape)
    if not rec.inputs_unchanged():
        # The model modifies a layer's input in place after the layer used
        # it: run the forward again keeping copies of the inputs.
        rec = _Recorder([m for m, _, _ in layers], copy_inputs=True)
        with torch.enable_grad(), rec:
            outputs = _as_outputs(work(xb), target_shape)
    cots = cot_fn(outputs)
    V, b = cots[0].shape[:2]
    calls = [(m, a, z) for m, _, _ in layers for a, z in rec.records[id(m)]]
    norms = xb.new_zeros((V, b), dtype=torch.float64)
    # Outputs that no selected layer influences contribute nothing.
    linked = [i for i, o in enumerate(outputs) if o.requires_grad]
    outputs = [outputs[i] for i in linked]
    cots = [cots[i] for i in linked]
    if not calls or not outputs:
        return norms.T
    zs = [z for _, _, z in calls]
    grad_elems = sum(z.numel() for z in zs)
    v_step = max(1, _MAX_GRAD_ELEMENTS // max(grad_elems, 1))
    for v0 in range(0, V, v_step):
        v1 = min(V, v0 + v_step)
        grads = _batched_grad(outputs, zs, [c[v0:v1] for c in cots], v1 < V)
        per_layer = {id(m): [] for m, _, _ in layers}
        for (m, a, z), g in zip(calls, grads, strict=True):
            if g is None:
                g = z.new_zeros((v1 - v0, *z.shape))
            per_layer[id(m)].append((a, g))
        del grads
        for m, use_weight, use_bias in layers:
            pairs = per_layer[id(m)]
            if not pairs:
                continue
            factors = [_layer_factors(m, a, g) for a, g in pairs]
            if use_weight and len(factors) == 1:
                norms[v0:v1] += _factor_norms(factors[0][0], factors[0][1])
            elif use_weight:
                A = torch.cat([f[0] for f in factors], dim=1)
                G = torch.cat([f[1] for f in factors], dim=2)
                norms[v0:v1] += _factor_norms(A, G)
            if use_bias:
                bias = sum(f[2] for f in factors)
                norms[v0:v1] += _squared_norms(bias, 2)
    return norms.T


# --------------------------------------------------------------------------
# per-input engine
# --------------------------------------------------------------------------


def _per_input_batch(work, params, xb, cot_fn, target_shape):
    """Squared norms (b, V): one input at a time, gradients of the parameters."""
    rows = []
    for i in range(xb.shape[0]):
        with torch.enable_grad():
            outputs = _as_outputs(work(xb[i : i + 1]), target_shape)
        cots = cot_fn(outputs, rows=slice(i, i + 1))
        V = cots[0].shape[0]
        linked = [j for j, o in enumerate(outputs) if o.requires_grad]
        if not linked:
            rows.append(xb.new_zeros(V, dtype=torch.float64))
            continue
        n_param = sum(p.numel() for p in params)
        v_step = max(1, _MAX_GRAD_ELEMENTS // max(n_param, 1))
        norm = xb.new_zeros(V, dtype=torch.float64)
        for v0 in range(0, V, v_step):
            v1 = min(V, v0 + v_step)
            grads = _batched_grad(
                [outputs[j] for j in linked],
                params,
                [cots[j][v0:v1] for j in linked],
                v1 < V,
            )
            for g in grads:
                if g is not None:
                    norm[v0:v1] += _squared_norms(g.reshape(v1 - v0, -1), 1)
        rows.append(norm)
    width = max(r.shape[0] for r in rows)
    return torch.stack([F.pad(r, (0, width - r.shape[0])) for r in rows])


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------


class _Plan:
    """A private eval-mode copy of the module and the engine to use on it.

    The copy keeps the caller's module untouched (mode, ``requires_grad``
    flags, parameters, buffers and ``.grad``), and is what joblib workers get.
    """

    def __init__(self, module, parameters, device):
        selected = _select_parameters(module, parameters)
        names = [name for name, _ in module.named_parameters()]
        by_id = {id(p): name for name, p in module.named_parameters()}
        chosen = {by_id[id(p)] for p in selected}
        work = copy.deepcopy(module).to(device)
        work.eval()
        for m in work.modules():
            if (
                isinstance(m, nn.modules.batchnorm._BatchNorm)
                and m.running_mean is not None
                and m.running_var is not None
            ):
                m.forward = functools.partial(_frozen_batch_norm, m)
        params = dict(work.named_parameters())
        owners = {}
        for m in work.modules():
            for p in m.parameters(recurse=False):
                owners.setdefault(id(p), []).append(m)
        self.params = [params[n] for n in names if n in chosen]
        # Layerwise engine: every selected parameter is the weight or bias of
        # exactly one supported layer, and used only there.
        self.layers = []
        fast = True
        for p in self.params:
            mods = owners.get(id(p), [])
            if len(mods) != 1 or not _is_fast_module(mods[0]):
                fast = False
                break
            if all(m is not mods[0] for m, _, _ in self.layers):
                self.layers.append((mods[0], False, False))
        if fast:
            ids = {id(p) for p in self.params}
            self.layers = [
                (m, id(m.weight) in ids, m.bias is not None and id(m.bias) in ids)
                for m, _, _ in self.layers
            ]
        else:
            self.layers = []
        self.fast = fast
        for p in work.parameters():
            p.requires_grad_(False)
        if not fast:
            for p in self.params:
                p.requires_grad_(True)
        self.work = work
        self.device = device


def _frozen_batch_norm(module, x):
    """An eval-mode BatchNorm layer as the elementwise ops it amounts to.

    ``(x - running_mean) * weight / sqrt(running_var + eps) + bias``, with the
    same values as ``F.batch_norm`` in eval mode up to rounding, and with
    gradients for ``weight`` and ``bias`` when they are selected. Under
    ``torch.func.vmap`` (the batched backward pass) these ops need no copies,
    where the batching rule of BatchNorm's own backward moves the cotangents'
    axis and copies them twice per layer: about a fifth of the backward pass
    of the default hourglass.
    """
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = torch.rsqrt(module.running_var + module.eps)
    if module.weight is not None:
        scale = scale * module.weight
    out = (x - module.running_mean.reshape(shape)) * scale.reshape(shape)
    if module.bias is not None:
        out = out + module.bias.reshape(shape)
    return out


def _exact_cotangents(problem, idx):
    def build(outputs, rows=slice(None)):
        return problem.residual_grads(outputs, idx[rows])

    return build


def _lowrank_cotangents(problem, idx, q, energy):
    """Output-gradient vectors ``s_r v_r`` of the truncated SVD of every sample's
    ``[sqrt(q_k) g_k]`` matrix (as rows of the eigen-decomposition of its Gram)."""

    def build(outputs, rows=slice(None)):
        cots = problem.residual_grads(outputs, idx[rows])
        K, b = cots[0].shape[:2]
        sizes = [c[0, 0].numel() for c in cots]
        C = torch.cat([c.reshape(K, b, -1) for c in cots], dim=2).transpose(0, 1)
        C = C * q[rows].sqrt().to(C.dtype).unsqueeze(-1)  # (b, K, D)
        gram = (C.double() @ C.double().transpose(1, 2)).cpu()
        evals, evecs = torch.linalg.eigh(gram)  # ascending
        evals = evals.flip(-1).clamp_min(0.0)
        evecs = evecs.flip(-1)
        total = evals.sum(dim=1, keepdim=True)
        cum = evals.cumsum(dim=1)
        # Smallest rank whose directions carry ``energy`` of ||C||_F^2.
        rank = (cum < energy * total * (1 - 1e-12)).sum(dim=1) + 1
        rank = rank.clamp(max=K)
        R = int(rank.max())
        keep = (torch.arange(R) < rank[:, None]).to(evecs.dtype)  # (b, R)
        U = (evecs[:, :, :R] * keep[:, None, :]).to(device=C.device, dtype=C.dtype)
        vectors = U.transpose(1, 2) @ C  # (b, R, D)
        out, start = [], 0
        for c, size in zip(cots, sizes, strict=True):
            part = vectors[:, :, start : start + size].transpose(0, 1)
            out.append(part.reshape(R, b, *c.shape[2:]))
            start += size
        return out

    return build


_MALLOC_TRIM = []  # glibc's malloc_trim, looked up on first use ([None] if absent)


def _release_freed_memory():
    """Return the C heap's freed pages to the operating system (glibc only).

    The activations of a batch, freed by torch, otherwise stay in the resident
    memory of the process. loky (joblib's default backend) takes a worker
    whose resident memory grew by more than 300 MB since its first task for a
    leak and replaces it with a fresh process (when psutil is installed),
    which must import torch again: 1-3 s lost per call of the gradient stage.
    """
    if not _MALLOC_TRIM:
        trim = None
        if sys.platform.startswith("linux"):
            try:
                trim = ctypes.CDLL("libc.so.6").malloc_trim
            except (OSError, AttributeError):
                trim = None
        _MALLOC_TRIM.append(trim)
    if _MALLOC_TRIM[0] is not None:
        _MALLOC_TRIM[0](0)


def _run_batches(plan, X, idx, problem, q, settings, n_threads):
    """Squared norms of one contiguous share of the batches (a joblib task).

    ``n_threads`` is set for tasks of a parallel run. A task run in a
    process's main thread (loky workers) sets the torch threads of its process
    and gives its freed heap memory back to the system at the end (see
    :func:`_release_freed_memory`); it owns the plan it was sent. A task run in
    another thread (threading backend, dask workers) leaves the shared thread
    setting alone and works on its own copy of the module: other threads may
    share the plan, and the forward hooks must see this task's calls only.
    """
    old_threads = torch.get_num_threads()
    worker_process = (
        n_threads is not None and threading.current_thread() is threading.main_thread()
    )
    if worker_process:
        torch.set_num_threads(n_threads)
    elif n_threads is not None:
        plan = copy.deepcopy(plan)
    try:
        device = plan.device
        # Only the rows of the banks this share refers to travel to the device.
        used, local = torch.unique(idx, return_inverse=True)
        problem = _Problem(
            problem.target_bank[used].to(device),
            None
            if problem.weight_bank is None
            else problem.weight_bank[used].to(device),
            problem.reduction,
        )
        local = local.to(device)
        target_shape = problem.target_bank.shape[1:]
        results = []
        batch_size = settings["batch_size"]
        for s in range(0, X.shape[0], batch_size):
            xb = X[s : s + batch_size].to(device)
            ib = local[s : s + batch_size]
            if settings["method"] == "exact":
                cot_fn = _exact_cotangents(problem, ib)
            else:
                cot_fn = _lowrank_cotangents(
                    problem, ib, q[s : s + batch_size].to(device), settings["energy"]
                )
            if plan.fast:
                norms = _layerwise_batch(
                    plan.work, plan.layers, xb, cot_fn, target_shape
                )
            else:
                norms = _per_input_batch(
                    plan.work, plan.params, xb, cot_fn, target_shape
                )
            if settings["method"] != "exact":
                norms = norms.sum(dim=1, keepdim=True)
            results.append(norms.detach().cpu().double())
        return torch.cat(results).numpy()
    finally:
        torch.set_num_threads(old_threads)
        if worker_process:  # the batches' activations are freed by now
            _release_freed_memory()


def _compute(
    module,
    X,
    target_bank,
    neighbor_indices,
    probabilities,
    *,
    weight_bank,
    parameters,
    batch_size,
    n_jobs,
    device,
    method,
    energy,
    reduction,
    verbose,
    caller,
):
    check_params(
        dict(batch_size=batch_size, n_jobs=n_jobs, reduction=reduction,
             verbose=verbose),
        _CONSTRAINTS,
        caller,
    )
    batch_size, verbose = int(batch_size), int(verbose)
    X, target_bank, idx, weight_bank, device = _check_inputs(
        module, X, target_bank, neighbor_indices, weight_bank, device
    )
    q = None
    if probabilities is not None:
        q = np.asarray(probabilities, dtype=np.float64)
        if q.shape != tuple(idx.shape):
            raise ValueError(
                "probabilities must have the shape of neighbor_indices "
                f"{tuple(idx.shape)}, got {q.shape}."
            )
        if not np.all(np.isfinite(q)) or np.any(q < 0):
            raise ValueError("probabilities must be finite and non-negative.")
        q = torch.as_tensor(q)
    plan = _Plan(module, parameters, device)
    problem = _Problem(target_bank, weight_bank, reduction)
    settings = {"batch_size": batch_size, "method": method, "energy": energy}

    n = X.shape[0]
    n_batches = -(-n // batch_size)
    n_workers = min(effective_n_jobs(n_jobs), n_batches)
    # Whole batches go to the tasks, so every sample is computed in the same
    # batch whatever n_jobs is; more tasks than workers for a progress bar.
    n_tasks = n_workers if not verbose else min(n_batches, 4 * n_workers)
    bounds = np.linspace(0, n_batches, n_tasks + 1).round().astype(int) * batch_size
    bounds = np.minimum(bounds, n)
    n_threads = None
    if n_workers > 1:
        n_threads = max(1, (os.cpu_count() or 1) // n_workers)
    tasks = (
        delayed(_run_batches)(
            plan,
            X[a:b],
            idx[a:b],
            problem,
            None if q is None else q[a:b],
            settings,
            n_threads,
        )
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        if b > a
    )
    if n_workers == 1 and not verbose:
        parts = [_run_batches(plan, X, idx, problem, q, settings, None)]
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        parts = parallel(tasks)
        if verbose:
            from tqdm.auto import tqdm

            parts = tqdm(parts, total=n_tasks, desc="gradient norms")
        parts = list(parts)
    return np.concatenate(parts)


def squared_gradient_norms(
    module,
    X,
    target_bank,
    neighbor_indices,
    *,
    weight_bank=None,
    parameters="default",
    batch_size=16,
    n_jobs=None,
    device="cpu",
    method="exact",
    reduction="sum",
    verbose=False,
):
    """Squared gradient norms of the loss for every (input, neighbour target) pair.

    For every input ``X[i]`` and each of its K targets
    ``t = target_bank[neighbor_indices[i, k]]``, the squared L2 norm of the
    gradient, with respect to the selected parameters, of the squared loss

    ``L(x, t) = sum over outputs o of module(x) of sum(w * (o - t) ** 2)``

    with ``w = weight_bank[neighbor_indices[i, k]]`` (or 1), in eval mode (with
    per-output targets, output ``s`` is compared with ``t[s]``). These
    are the ``||grad_theta l(x_i, y_j)||^2`` of EGL++ (paper Algorithm 1, Eq. 7).

    Parameters
    ----------
    module : torch.nn.Module
        The model. ``module(x)`` returns a tensor ``(b, *out)`` or a list/tuple
        of such tensors (e.g. one heatmap tensor per hourglass stack), each
        compared with the same target. It is not modified: the computation runs
        on an eval-mode copy (BatchNorm statistics frozen, dropout off).
    X : array-like or Tensor of shape (n_samples, ...)
        The inputs (e.g. the pool), in the module's input layout.
    target_bank : array-like or Tensor of shape (m, *out) or (m, n_outputs, *out)
        Candidate targets (e.g. the labelled set's rendered heatmaps): one
        tensor compared with every output of the module, or one per output
        (e.g. every stack's predicted heatmaps of a neighbour, EGL++'s
        ``target="output"``).
    neighbor_indices : array-like of int of shape (n_samples, K)
        Rows of ``target_bank`` paired with each input.
    weight_bank : array-like or Tensor of shape (m, ...), default=None
        Loss weights of each target, broadcastable to the shape of
        ``target_bank`` (e.g. zero for unannotated joints). None means 1.
    parameters : {"default", "all", "last"}, callable or list, default="default"
        Which parameters the gradient is taken over: ``"default"`` the weights
        and biases of the Linear, Conv1d/2d/3d and ConvTranspose1d/2d/3d
        modules (the paper's theta; BatchNorm excluded), ``"all"`` every
        parameter with ``requires_grad``, ``"last"`` the weight and bias of the
        last such module in registration order, a callable
        ``module -> iterable of parameters``, or an iterable of the module's
        parameters.
    batch_size : int, default=16
        Inputs per forward pass. Memory grows with
        ``batch_size * K * (sum of the selected layers' output sizes)``; the K
        targets are back-propagated in several passes over the same forward
        graph when that would exceed about 256 MiB of float32.
    n_jobs : int, default=None
        Number of joblib workers over contiguous shares of the batches (None
        means 1 unless in a :func:`joblib.parallel_config` context). Each
        worker uses ``cpu_count // n_workers`` torch threads. Every sample is
        computed in the same batch whatever ``n_jobs``, so results are
        identical as long as the number of torch threads does not change the
        rounding of the operations (they are identical with one thread per
        worker).
    device : str or torch.device, default="cpu"
        Where the copy of the module and the inputs go (e.g. ``"cuda"``).
    method : {"exact"}, default="exact"
        Only the exact computation gives per-pair norms; see
        :func:`expected_gradient_norms` for the low-rank approximation.
    reduction : {"sum", "mean"}, default="sum"
        ``"mean"`` divides the loss by the number of outputs times the number
        of elements of one output (the norms by its square).
    verbose : int, default=False
        0 (or ``False``) is silent; 1 or more (or ``True``) shows a progress
        bar (tqdm).

    Returns
    -------
    norms : ndarray of shape (n_samples, K), dtype float64
        ``norms[i, k] = ||grad L(X[i], target_bank[neighbor_indices[i, k]])||^2``.

    See Also
    --------
    expected_gradient_norms : The probability-weighted sum over the K targets.

    Notes
    -----
    ``dL/do = 2 w (o - t_k)`` is linear in the residual, so one forward pass
    per input serves all K targets: the K output gradients are
    back-propagated together (``torch.autograd.grad`` under
    ``torch.func.vmap``, on a private eval-mode copy of the module whose
    BatchNorm layers run as the elementwise affine map they amount to). With
    the default selection (and any selection made only of Linear / Conv /
    ConvTranspose weights and biases, each used by its own module only) a
    batch of ``batch_size`` inputs shares each forward and backward pass and
    the norms are assembled per layer from the layer's input and output
    gradient, by the explicit product or by the Gram ("ghost
    norm") identity, whichever is cheaper for the layer's shape. Other
    selections (e.g. ``"all"`` with BatchNorm affine parameters) take the
    gradients of the parameters themselves, one input at a time. Both are
    exact; the results agree with a per-pair ``loss.backward()`` loop to
    floating point rounding. One caveat of float32: a batched forward pass may
    round differently from a single-input one, and where a max-pooling window
    holds a near-tie (or a ReLU input is within rounding of zero) the gradient
    can then be routed differently; for such inputs the batched norm differs
    from the batch-size-1 norm by more than rounding (0.5 % was seen on one of
    eight hourglass inputs). In float64, or with ``batch_size=1``, the two
    agree to rounding. Squared norms are computed in the model's precision and
    kept when finite and not tiny; otherwise (gradients beyond about 1e±19 in
    float32) they are computed again from factors scaled to unit magnitude and
    rescaled in float64, so they neither overflow nor underflow. The per-layer engine
    assumes that a selected Linear / Conv parameter acts only through its
    module's ``forward`` (a parameter registered in several modules, i.e. tied
    weights, sends the computation to the per-input engine; one used
    functionally elsewhere is not detected).

    References
    ----------
    .. [1] Shukla, "EGL++: Extending Expected Gradient Length to Active
       Learning for Human Pose Estimation", Algorithm 1.
    .. [2] Goodfellow, "Efficient Per-Example Gradient Computations", 2015
       (the per-layer factorisation of per-sample gradients).

    Examples
    --------
    >>> import torch
    >>> from sk_eglpp.gradients import squared_gradient_norms
    >>> module = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = module.weight.fill_(1.0), module.bias.fill_(0.0)
    >>> X = torch.tensor([[1.0, 2.0]])          # output 3
    >>> targets = torch.tensor([[3.0], [2.0]])  # residuals 0 and 1
    >>> squared_gradient_norms(module, X, targets, [[0, 1]])
    array([[ 0., 24.]])
    """
    if method != "exact":
        raise ValueError(
            "squared_gradient_norms computes per-pair norms exactly: method must "
            f"be 'exact', got {method!r}. Use expected_gradient_norms for "
            "method='lowrank'."
        )
    return _compute(
        module,
        X,
        target_bank,
        neighbor_indices,
        None,
        weight_bank=weight_bank,
        parameters=parameters,
        batch_size=batch_size,
        n_jobs=n_jobs,
        device=device,
        method="exact",
        energy=1.0,
        reduction=reduction,
        verbose=verbose,
        caller="squared_gradient_norms",
    )


def expected_gradient_norms(
    module,
    X,
    target_bank,
    neighbor_indices,
    probabilities,
    *,
    weight_bank=None,
    parameters="default",
    batch_size=16,
    n_jobs=None,
    device="cpu",
    method="exact",
    energy=0.99,
    reduction="sum",
    verbose=False,
):
    """Expected squared gradient length of every input (paper Eq. 7).

    ``score_i = sum_k q_ik ||grad L(X[i], target_bank[neighbor_indices[i, k]])||^2``
    with ``q_ik = probabilities[i, k]`` (e.g. the neighbour probabilities of
    :func:`sk_eglpp.neighbors.top_k_neighbors`).

    Parameters
    ----------
    module, X, target_bank, neighbor_indices
        As in :func:`squared_gradient_norms`.
    probabilities : array-like of shape (n_samples, K)
        Non-negative weights ``q_ik`` of the pairs.
    weight_bank, parameters, batch_size, n_jobs, device, reduction, verbose
        As in :func:`squared_gradient_norms`.
    method : {"exact", "lowrank"}, default="exact"
        ``"exact"``: the weighted sum of the exact per-pair norms.
        ``"lowrank"``: with ``J`` the Jacobian of the outputs with respect to
        the parameters and ``g_k`` the output gradient of pair k, the score is
        ``||J^T C^T||_F^2`` with ``C = [sqrt(q_k) g_k]`` (K rows). Keeping only
        the leading singular directions of ``C`` that carry a fraction
        ``energy`` of ``||C||_F^2`` needs one back-propagated vector per kept
        direction instead of K.
    energy : float, default=0.99
        Fraction of ``||C||_F^2`` kept by ``method="lowrank"``, in (0, 1].
        ``energy=1`` is exact up to rounding.

    Returns
    -------
    scores : ndarray of shape (n_samples,), dtype float64

    Notes
    -----
    Error bound of ``method="lowrank"``: with ``C = U S V^T``, the score is
    ``sum_r s_r^2 ||J^T v_r||^2``; dropping the directions ``r > m`` removes
    ``sum_{r>m} s_r^2 ||J^T v_r||^2 <= (1 - energy) ||C||_F^2 ||J||_2^2``. The
    approximation never exceeds the exact score. The singular directions come
    from the ``K x K`` Gram matrix ``C C^T`` (float64), so the output size does
    not enter the decomposition.

    See Also
    --------
    squared_gradient_norms : The per-pair norms.

    Examples
    --------
    >>> import torch
    >>> from sk_eglpp.gradients import expected_gradient_norms
    >>> module = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = module.weight.fill_(1.0), module.bias.fill_(0.0)
    >>> X = torch.tensor([[1.0, 2.0]])
    >>> targets = torch.tensor([[3.0], [2.0]])
    >>> expected_gradient_norms(module, X, targets, [[0, 1]], [[0.5, 0.25]])
    array([6.])
    >>> expected_gradient_norms(module, X, targets, [[0, 1]], [[0.5, 0.25]],
    ...                         method="lowrank")
    array([6.])
    """
    check_params(
        dict(method=method, energy=energy), _CONSTRAINTS, "expected_gradient_norms"
    )
    if probabilities is None:
        raise ValueError("probabilities must be an array of shape (n_samples, K).")
    common = dict(
        weight_bank=weight_bank,
        parameters=parameters,
        batch_size=batch_size,
        n_jobs=n_jobs,
        device=device,
        reduction=reduction,
        verbose=verbose,
    )
    if method == "exact":
        q = np.asarray(probabilities, dtype=np.float64)
        idx_shape = np.shape(neighbor_indices)
        if q.shape != idx_shape:
            raise ValueError(
                "probabilities must have the shape of neighbor_indices "
                f"{idx_shape}, got {q.shape}."
            )
        norms = squared_gradient_norms(
            module, X, target_bank, neighbor_indices, **common
        )
        return np.sum(q * norms, axis=1)
    scores = _compute(
        module,
        X,
        target_bank,
        neighbor_indices,
        probabilities,
        method=method,
        energy=float(energy),
        caller="expected_gradient_norms",
        **common,
    )
    return scores[:, 0]
