"""The layerwise engine: per-layer squared norms from activations and gradients.

Used when every selected parameter is the weight or bias of a ``Linear``,
``Conv1d/2d/3d`` or ``ConvTranspose1d/2d/3d`` module. A batch of inputs goes
forward once; forward hooks keep every selected layer's input activation; one
batched backward pass gives, for every input and every target, the gradient
with respect to every selected layer's output.

A layer's weight gradient for one (input, target) pair is ``G^T A`` (``A``:
the layer input unfolded to ``(positions, fan_in)``, ``G``: the output
gradient ``(positions, fan_out)``), so its squared norm is computed per layer,
per sample, without whole-model per-sample gradients ever existing: either
explicitly (``||G^T A||_F^2``) or by the Gram "ghost norm" identity
``<A A^T, G G^T>`` whose activation Gram ``A A^T`` is shared by the K
targets, whichever costs fewer operations for the layer's shape.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._backprop import (
    MAX_GRAD_ELEMENTS,
    as_outputs,
    batched_grad,
    scaled,
    squared_norms,
    unscaled_ok,
)

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_TRANSPOSE = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_LINEAR = (nn.Linear,)
#: the layer types whose weight and bias the layerwise engine handles (a
#: subclass only when it keeps its base class's forward: see is_fast_module)
FAST_TYPES = _CONV + _CONV_TRANSPOSE + _LINEAR


# Most elements of one layer's per-sample intermediate products (the explicit
# weight gradients or the Gram matrices) computed at once.
_MAX_BLOCK_ELEMENTS = 2**24


def is_fast_module(module):
    """Whether the layerwise engine knows the module's forward computation."""
    if not isinstance(module, FAST_TYPES):
        return False
    base = next(t for t in FAST_TYPES if isinstance(module, t))
    # A subclass that changes ``forward`` may use its weight differently.
    return type(module).forward is base.forward


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
    if unscaled_ok(out):
        return out.double()
    A, scale_a = scaled(A, 1)
    G, scale_g = scaled(G, 2)
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


def layerwise_batch(work, layers, xb, cot_fn, target_shape):
    """Squared norms (b, V) for one batch with the layerwise engine.

    ``layers`` holds ``(module, use_weight, use_bias)`` for every selected
    layer of ``work``; ``cot_fn(outputs)`` gives the V output gradients of
    every output, each of shape (V, b, *out).
    """
    rec = _Recorder([m for m, _, _ in layers])
    with torch.enable_grad(), rec:
        outputs = as_outputs(work(xb), target_shape)
    if not rec.inputs_unchanged():
        # The model modifies a layer's input in place after the layer used
        # it: run the forward again keeping copies of the inputs.
        rec = _Recorder([m for m, _, _ in layers], copy_inputs=True)
        with torch.enable_grad(), rec:
            outputs = as_outputs(work(xb), target_shape)
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
    v_step = max(1, MAX_GRAD_ELEMENTS // max(grad_elems, 1))
    for v0 in range(0, V, v_step):
        v1 = min(V, v0 + v_step)
        grads = batched_grad(outputs, zs, [c[v0:v1] for c in cots], v1 < V)
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
                norms[v0:v1] += squared_norms(bias, 2)
    return norms.T
