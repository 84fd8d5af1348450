"""What both engines share: outputs, output gradients, batched backward, norms.

One forward pass per batch serves all K targets of an input: the module's
outputs are checked against the targets (:func:`as_outputs`), the output
gradients of every (input, target) pair are built from the residuals
(:class:`Problem`), and the K of them are back-propagated together
(:func:`batched_grad`). Squared norms are summed in float64 without overflow
or underflow (:func:`squared_norms`).
"""

import torch

# Most elements of output gradients kept at once (all layers, all targets of a
# batch); more targets than this allows are back-propagated in several passes
# over the same graph.
MAX_GRAD_ELEMENTS = 2**26


def as_outputs(out, target_shape):
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


class Problem:
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


def scaled(x, n_batch_dims):
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
# non-finite results are computed again on scaled factors (see scaled).
_SMALLEST_UNSCALED = 1e-20


def unscaled_ok(out):
    """Whether norms computed unscaled are all finite and not tiny (see above)."""
    return bool(torch.all(torch.isfinite(out) & (out >= _SMALLEST_UNSCALED)))


def squared_norms(x, n_batch_dims):
    """Sum of squares over the non-batch dimensions, in float64, overflow-free."""
    dims = tuple(range(n_batch_dims, x.ndim))
    out = x.square().sum(dim=dims)
    if unscaled_ok(out):
        return out.double()
    x, scale = scaled(x, n_batch_dims)
    return (
        x.square().sum(dim=dims).double() * scale.reshape(x.shape[:n_batch_dims]) ** 2
    )


def batched_grad(outputs, inputs, cotangents, retain_graph):
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
