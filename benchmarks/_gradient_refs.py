"""Reference implementations of the gradient stage, for the benchmarks only.

(a) ``per_pair_loop``: one forward and one ``loss.backward()`` per pair.
(b) ``k_clones_torch_func``: the published EGL++ route: K clones of each input
    in one batch, forward + backward, per-sample gradients via ``torch.func``.
(f) ``k_clones_forward_backward``: the cost floor of (b) without any
    per-sample separation: one plain forward and ``backward()`` over the same
    (input, target) clones, batch by batch, the gradients of all pairs summed.
"""

import copy

import numpy as np
import torch

from sk_eglpp._testing import fast_parameters, squared_error_norms


def _default_names(model):
    ids = {id(p) for p in fast_parameters(model)}
    return [n for n, p in model.named_parameters() if id(p) in ids]


def _outputs(out):
    return [out] if isinstance(out, torch.Tensor) else list(out)


# (a): the tests' reference, one forward and one backward per pair
per_pair_loop = squared_error_norms


def k_clones_torch_func(module, X, bank, idx, weights=None):
    from torch.func import functional_call, grad, vmap

    model = copy.deepcopy(module).eval()
    names = _default_names(model)
    params = {n: p.detach() for n, p in model.named_parameters() if n in names}
    buffers = {n: b for n, b in model.named_buffers()}
    others = {n: p.detach() for n, p in model.named_parameters() if n not in params}
    X, bank = torch.as_tensor(X), torch.as_tensor(bank)
    K = idx.shape[1]

    def loss(p, x, t, w):
        o = functional_call(model, ({**p, **others}, buffers), (x[None],))
        return sum(((oo[0] - t) ** 2 * w).sum() for oo in _outputs(o))

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0, 0))
    out = np.zeros(np.shape(idx))
    for i in range(X.shape[0]):
        xs = X[i : i + 1].expand(K, *X.shape[1:])
        ts = bank[idx[i]]
        ws = torch.ones(K) if weights is None else weights[idx[i]]
        if weights is None:
            ws = ws.reshape(K, *([1] * (bank.ndim - 1)))
        g = per_sample(params, xs, ts, ws)
        out[i] = sum(v.double().reshape(K, -1).square().sum(1) for v in g.values())
    return out


def k_clones_forward_backward(
    module, X, bank, idx, weights=None, batch_size=16, device="cpu"
):
    """Plain forward + backward over the K clones of ``batch_size`` inputs at a
    time (``batch_size * K`` images per pass); returns the summed loss."""
    model = copy.deepcopy(module).eval().to(device)
    names = set(_default_names(model))
    for n, p in model.named_parameters():
        p.requires_grad_(n in names)
    X, bank = torch.as_tensor(X).to(device), torch.as_tensor(bank).to(device)
    if weights is not None:
        weights = torch.as_tensor(weights).to(device)
    idx = torch.as_tensor(np.asarray(idx), device=device)
    K = idx.shape[1]
    total = 0.0
    for s in range(0, X.shape[0], batch_size):
        xb, ib = X[s : s + batch_size], idx[s : s + batch_size].reshape(-1)
        xs = xb.repeat_interleave(K, dim=0)
        t = bank[ib]
        w = 1.0 if weights is None else weights[ib]
        model.zero_grad(set_to_none=True)
        loss = sum(((o - t) ** 2 * w).sum() for o in _outputs(model(xs)))
        loss.backward()
        total += float(loss.detach())
    return total
