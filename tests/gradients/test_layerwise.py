"""The layerwise engine against a plain per-pair autograd loop.

Every selected parameter here is the weight or bias of a Linear, Conv or
ConvTranspose layer, so the norms are assembled per layer from the layers'
inputs and output gradients.
"""

import numpy as np
import pytest
import torch
from torch import nn

from sk_eglpp._testing import squared_error_norms
from sk_eglpp.gradients import squared_gradient_norms
from sk_eglpp.gradients._layerwise import _factor_norms

reference_norms = squared_error_norms  # one forward and backward per pair


def test_mlp_equals_per_pair_loop(mlp_problem, assert_rel):
    module, X, bank, idx = mlp_problem
    expected = reference_norms(module, X, bank, idx)
    for batch_size in (1, 3, 16):
        got = squared_gradient_norms(module, X, bank, idx, batch_size=batch_size)
        assert got.shape == idx.shape and got.dtype == np.float64
        assert_rel(got, expected)
    assert expected.min() > 0


def test_conv_two_stacks_weights_equals_per_pair_loop(conv_problem, assert_rel):
    module, X, bank, weights, idx = conv_problem
    expected = reference_norms(module, X, bank, idx, weights)
    got = squared_gradient_norms(
        module, X, bank, idx, weight_bank=weights, batch_size=2
    )
    assert_rel(got, expected)


def test_hourglass_equals_per_pair_loop(assert_rel):
    hourglass = pytest.importorskip("sk_eglpp.models._hourglass")
    torch.manual_seed(0)
    module = hourglass.StackedHourglass(
        n_joints=3, n_stacks=2, n_features=8, depth=2, in_channels=1
    )
    module.train()
    with torch.no_grad():  # non-trivial BatchNorm running statistics
        module(torch.randn(6, 1, 32, 32))
    X = torch.randn(3, 1, 32, 32)
    bank = torch.rand(4, 3, 8, 8)
    weights = torch.ones(4, 3, 1, 1)
    weights[2, 1] = 0.0
    idx = np.array([[0, 1, 2], [3, 2, 1], [1, 1, 0]])
    expected = reference_norms(module, X, bank, idx, weights)
    got = squared_gradient_norms(
        module, X, bank, idx, weight_bank=weights, batch_size=2
    )
    assert_rel(got, expected)
    assert module.training


class OddLayers(nn.Module):
    """Layer types and options the per-layer engine must get right."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(2, 4, 3, padding=2, dilation=2, padding_mode="reflect")
        self.t1 = nn.ConvTranspose1d(4, 4, 3, stride=2, groups=2, dilation=2)
        self.c3 = nn.Conv3d(1, 2, (2, 3, 3), padding="same")
        self.t3 = nn.ConvTranspose3d(2, 1, 2, stride=(1, 2, 2))
        self.lin = nn.Linear(4, 4)  # applied to every position, called twice
        self.out = nn.Linear(4, 3)

    def forward(self, x):
        seq = self.t1(torch.tanh(self.c1(x)))  # (b, 4, L)
        vol = self.t3(
            torch.tanh(self.c3(seq[:, None, :, :4, None].expand(-1, -1, -1, -1, 3)))
        )  # (b, 1, 5, 8, 6)
        h = self.lin(torch.tanh(seq.transpose(1, 2)))  # (b, L, 4)
        h = self.lin(torch.tanh(h)).mean(dim=1) + vol.mean(dim=(1, 2, 3, 4))[:, None]
        return self.out(h)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_odd_layers_equal_per_pair_loop(assert_rel):
    torch.manual_seed(0)
    module = OddLayers()
    X = torch.randn(4, 2, 9)
    bank = torch.randn(5, 3)
    idx = np.array([[0, 1], [2, 3], [4, 4], [1, 0]])
    expected = reference_norms(module, X, bank, idx)
    got = squared_gradient_norms(module, X, bank, idx, batch_size=3)
    assert_rel(got, expected)


@pytest.mark.parametrize("mode", ["ghost", "explicit"])
def test_factor_norms_both_modes(rng, mode):
    """The Gram ("ghost") and the explicit product give ||G^T A||_F^2."""
    A = torch.as_tensor(rng.normal(size=(3, 5, 2, 4)))  # (b, T, groups, da)
    G = torch.as_tensor(rng.normal(size=(6, 3, 5, 2, 7)))  # (V, b, T, groups, dg)
    expected = np.zeros((6, 3))
    for v in range(6):
        for i in range(3):
            for g in range(2):
                M = G[v, i, :, g].numpy().T @ A[i, :, g].numpy()
                expected[v, i] += np.sum(M**2)
    np.testing.assert_allclose(_factor_norms(A, G, mode).numpy(), expected, rtol=1e-10)


class InPlaceAfterUse(nn.Module):
    """Modifies a layer's input in place after the layer used it."""

    def __init__(self, inplace):
        super().__init__()
        self.inplace = inplace
        self.lin1 = nn.Linear(5, 4)
        self.lin2 = nn.Linear(4, 2)

    def forward(self, x):
        h = self.lin1(x) + 0.0
        out = self.lin2(h)
        if self.inplace:
            h.mul_(3.0)
        else:
            h = h * 3.0
        return out + h[:, :2]


def test_layer_input_modified_in_place(mlp_problem, assert_rel):
    _, X, bank, idx = mlp_problem
    torch.manual_seed(0)
    plain = InPlaceAfterUse(inplace=False)
    inplace = InPlaceAfterUse(inplace=True)
    inplace.load_state_dict(plain.state_dict())
    expected = reference_norms(plain, X, bank, idx)
    got = squared_gradient_norms(inplace, X, bank, idx, batch_size=4)
    assert_rel(got, expected)
