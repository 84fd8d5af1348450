"""The per-input engine: selections that are not only Linear / Conv layers.

BatchNorm affine parameters (``"all"``, a callable) and weights tied between
modules are differentiated directly, one input at a time; the norms equal a
per-pair autograd loop's over the same parameters.
"""

import numpy as np
import torch
from torch import nn

from sk_eglpp._testing import squared_error_norms
from sk_eglpp.gradients import squared_gradient_norms

reference_norms = squared_error_norms  # one forward and backward per pair


def test_parameter_selections(conv_problem, assert_rel):
    module, X, bank, weights, idx = conv_problem
    kw = dict(weight_bank=weights, batch_size=4)
    selections = {
        "all": [p for p in module.parameters() if p.requires_grad],
        "last": [module.head2.weight],
        # one weight without its bias: still the per-layer engine
        "list": [module.down.weight, module.up.bias],
        "callable": [module.bn.weight, module.bn.bias, module.head1.weight],
    }
    for name, params in selections.items():
        selection = {
            "all": "all",
            "last": "last",
            "list": selections["list"],
            "callable": lambda m: [m.bn.weight, m.bn.bias, m.head1.weight],
        }[name]
        got = squared_gradient_norms(module, X, bank, idx, parameters=selection, **kw)
        expected = reference_norms(module, X, bank, idx, weights, params=params)
        assert_rel(got, expected)
    # the norms over all parameters dominate the default selection's
    default = squared_gradient_norms(module, X, bank, idx, **kw)
    every = squared_gradient_norms(module, X, bank, idx, parameters="all", **kw)
    assert np.all(every >= default * (1 - 1e-5))


class TiedWeights(nn.Module):
    """An encoder weight registered again in the decoder (tied weights)."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(5, 5)
        self.dec = nn.Linear(5, 5, bias=False)
        self.dec.weight = self.enc.weight
        self.out = nn.Linear(5, 2)

    def forward(self, x):
        return self.out(torch.tanh(self.dec(torch.tanh(self.enc(x)))))


def test_tied_weights_count_once(mlp_problem, assert_rel):
    """A weight registered in two layers is one parameter: its gradient is the
    sum of both uses, and its squared norm counts once."""
    _, X, bank, idx = mlp_problem
    torch.manual_seed(0)
    module = TiedWeights()
    expected = reference_norms(
        module, X, bank, idx, params=list(module.parameters())
    )
    for batch_size in (1, 3):
        got = squared_gradient_norms(module, X, bank, idx, batch_size=batch_size)
        assert_rel(got, expected)
