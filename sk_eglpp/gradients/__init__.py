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

* **layerwise** (every selected parameter is the weight or bias of a
  ``Linear``, ``Conv1d/2d/3d`` or ``ConvTranspose1d/2d/3d`` module): per-layer
  squared norms from each layer's input activations and output gradients,
  without whole-model per-sample gradients ever existing (``_layerwise``);
* **per-input** (any other selection, e.g. ``"all"`` with BatchNorm affine
  parameters): one input at a time, one forward pass, and the K gradients with
  respect to the parameters themselves from one batched backward pass.

Both are exact (up to floating point rounding) and need the model in eval mode
(BatchNorm statistics frozen, dropout off), which is what is used; the module
given is not modified (a copy is used).

The package's modules, one job each: ``_checks`` (inputs and the parameter
selection), ``_backprop`` (what both engines share), ``_layerwise`` and
``_per_input`` (the engines), ``_driver`` (the plan, the cotangents, the
batches and workers, and the public functions).
"""

from ._driver import expected_gradient_norms, squared_gradient_norms

__all__ = ["expected_gradient_norms", "squared_gradient_norms"]
