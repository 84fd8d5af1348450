"""Fixtures of the gradient tests: a small MLP and a two-stack conv net problem."""

import numpy as np
import pytest
import torch
from gradient_nets import TwoStackNet
from torch import nn


@pytest.fixture(scope="module")
def mlp_problem():
    """``(module, X, bank, idx)``: an MLP with dropout, 7 inputs, K = 4."""
    gen = torch.Generator().manual_seed(0)
    module = nn.Sequential(
        nn.Linear(5, 16),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(16, 8),
        nn.ReLU(),
        nn.Linear(8, 2),
    )
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    X = torch.randn(7, 5, generator=gen)
    bank = torch.randn(6, 2, generator=gen)
    idx = torch.randint(0, 6, (7, 4), generator=gen).numpy()
    return module, X, bank, idx


@pytest.fixture(scope="module")
def conv_problem():
    """``(module, X, bank, weights, idx)``: :class:`TwoStackNet`, 5 inputs, K = 3."""
    gen = torch.Generator().manual_seed(1)
    module = TwoStackNet()
    # Give BatchNorm non-trivial statistics, then leave the module in train mode
    # (the computation must use eval mode anyway).
    module.train()
    with torch.no_grad():
        for _ in range(3):
            module(torch.randn(8, 1, 8, 8, generator=gen))
    X = torch.randn(5, 1, 8, 8, generator=gen)
    bank = torch.randn(6, 3, 8, 8, generator=gen)
    weights = torch.ones(6, 3, 1, 1)
    weights[1, 2] = 0.0  # unannotated joints
    weights[4, 0] = 0.0
    idx = torch.randint(0, 6, (5, 3), generator=gen).numpy()
    return module, X, bank, weights, idx


@pytest.fixture(scope="session")
def assert_rel():
    """``assert_rel(actual, expected, rtol=1e-4)``: equal to ``rtol`` of the
    largest expected value."""

    def check(actual, expected, rtol=1e-4):
        np.testing.assert_allclose(
            actual, expected, rtol=rtol, atol=rtol * np.max(expected)
        )

    return check
