"""What both engines share: outputs against targets, output gradients, norms.

Per-output targets, outputs no parameter influences, the mean reduction and
norms beyond float32's range, each checked on both engines where it matters.
"""

import numpy as np
import pytest
import torch
from torch import nn

from sk_eglpp._testing import per_pair_norms, squared_error_norms
from sk_eglpp.gradients import squared_gradient_norms

reference_norms = squared_error_norms  # one forward and backward per pair


@pytest.mark.parametrize("scale", [1e-30, 1e30, "mixed"])
def test_norms_beyond_the_float32_range(conv_problem, scale):
    """Norms far below (1e-60) and above (1e60) float32's range, and a batch
    mixing both with ordinary ones, equal the per-pair loop's in every entry."""
    module, X, bank, weights, idx = conv_problem
    weights = weights.clone()
    if scale == "mixed":
        weights[0] *= 1e-30
        weights[2] *= 1e30
    else:
        weights *= scale
    expected = reference_norms(module, X, bank, idx, weights)
    assert np.all(np.isfinite(expected))
    for kw in ({}, {"parameters": "all"}):  # layerwise and per-input engines
        got = squared_gradient_norms(
            module, X, bank, idx, weight_bank=weights, batch_size=5, **kw
        )
        if kw:
            expected_all = reference_norms(
                module, X, bank, idx, weights, params=list(module.parameters())
            )
            np.testing.assert_allclose(got, expected_all, rtol=1e-4)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_mean_reduction(conv_problem, assert_rel):
    module, X, bank, weights, idx = conv_problem
    total = squared_gradient_norms(module, X, bank, idx, weight_bank=weights)
    mean = squared_gradient_norms(
        module, X, bank, idx, weight_bank=weights, reduction="mean"
    )
    n_elements = 2 * bank[0].numel()
    assert_rel(mean * n_elements**2, total)


def test_outputs_not_connected_and_bad_output(mlp_problem):
    module, X, bank, idx = mlp_problem

    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.unused = nn.Linear(5, 2)

        def forward(self, x):
            return torch.zeros(x.shape[0], 2)

    got = squared_gradient_norms(Constant(), X, bank, idx)
    np.testing.assert_array_equal(got, np.zeros(idx.shape))
    got = squared_gradient_norms(Constant(), X, bank, idx, parameters="all")
    np.testing.assert_array_equal(got, np.zeros(idx.shape))

    class Dict(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(5, 2)

        def forward(self, x):
            return {"out": self.lin(x)}

    with pytest.raises(TypeError, match="must return a tensor or a list/tuple"):
        squared_gradient_norms(Dict(), X, bank, idx)


def _per_output_reference(module, X, bank, idx, weights):
    """Output s against target s, one backward per pair (batch size 1)."""

    def loss(outputs, i, j):
        return sum(
            ((o[0] - bank[j, s]) ** 2 * weights[j, min(s, weights.shape[1] - 1)]).sum()
            for s, o in enumerate(outputs)
        )

    return per_pair_norms(module, X, idx, loss)


@pytest.mark.parametrize("shared_weights", [False, True])
def test_per_output_targets_equal_per_pair_loop(
    conv_problem, shared_weights, assert_rel
):
    """A target per output (m, n_outputs, *out), e.g. every stack's heatmaps."""
    module, X, _, weights, idx = conv_problem
    gen = torch.Generator().manual_seed(5)
    bank = torch.randn(6, 2, 3, 8, 8, generator=gen)
    if shared_weights:
        w = weights[:, None]  # (m, 1, J, 1, 1): the same for both outputs
    else:
        w = torch.rand(6, 2, 3, 1, 1, generator=gen)
    expected = _per_output_reference(module, X, bank, idx, w)
    for method_kw in ({}, {"batch_size": 1}):
        got = squared_gradient_norms(module, X, bank, idx, weight_bank=w, **method_kw)
        assert_rel(got, expected)
    # the same targets for both outputs give the shared-target result
    same = bank[:, :1].expand(-1, 2, -1, -1, -1)
    np.testing.assert_allclose(
        squared_gradient_norms(module, X, same, idx, weight_bank=weights[:, None]),
        squared_gradient_norms(module, X, bank[:, 0], idx, weight_bank=weights),
        rtol=1e-5,
    )


def test_per_output_targets_wrong_count(conv_problem):
    module, X, _, _, idx = conv_problem
    bank = torch.zeros(6, 3, 3, 8, 8)  # three targets, two outputs
    with pytest.raises(ValueError, match="one tensor per output"):
        squared_gradient_norms(module, X, bank, idx)
