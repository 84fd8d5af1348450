"""The per-input engine: gradients of the selected parameters themselves.

Used for any selection the layerwise engine does not handle (e.g. ``"all"``
with BatchNorm affine parameters, or a weight tied between modules): one input
at a time, one forward pass, and the K gradients with respect to the
parameters from one batched backward pass.
"""

import torch
import torch.nn.functional as F

from ._backprop import MAX_GRAD_ELEMENTS, as_outputs, batched_grad, squared_norms


def per_input_batch(work, params, xb, cot_fn, target_shape):
    """Squared norms (b, V): one input at a time, gradients of the parameters."""
    rows = []
    for i in range(xb.shape[0]):
        with torch.enable_grad():
            outputs = as_outputs(work(xb[i : i + 1]), target_shape)
        cots = cot_fn(outputs, rows=slice(i, i + 1))
        V = cots[0].shape[0]
        linked = [j for j, o in enumerate(outputs) if o.requires_grad]
        if not linked:
            rows.append(xb.new_zeros(V, dtype=torch.float64))
            continue
        n_param = sum(p.numel() for p in params)
        v_step = max(1, MAX_GRAD_ELEMENTS // max(n_param, 1))
        norm = xb.new_zeros(V, dtype=torch.float64)
        for v0 in range(0, V, v_step):
            v1 = min(V, v0 + v_step)
            grads = batched_grad(
                [outputs[j] for j in linked],
                params,
                [cots[j][v0:v1] for j in linked],
                v1 < V,
            )
            for g in grads:
                if g is not None:
                    norm[v0:v1] += squared_norms(g.reshape(v1 - v0, -1), 1)
        rows.append(norm)
    width = max(r.shape[0] for r in rows)
    return torch.stack([F.pad(r, (0, width - r.shape[0])) for r in rows])
