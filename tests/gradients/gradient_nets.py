"""Modules of the gradient tests that worker processes must import by name.

The joblib tests send a copy of the module to loky workers, which unpickle it
by importing its class: the class lives here, in a module of its own name
(not in a ``conftest.py``, of which the tests tree has several).
"""

import torch
from torch import nn


class TwoStackNet(nn.Module):
    """Small conv net with BatchNorm, returning two 'stacks' of heatmaps."""

    def __init__(self, n_joints=3):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1),
            nn.BatchNorm2d(6),
            nn.ReLU(inplace=True),
        )
        self.down = nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2)
        self.bn = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1)
        self.head1 = nn.Conv2d(6, n_joints, 1)
        self.head2 = nn.Conv2d(6, n_joints, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        h = self.stem(x)
        low = torch.relu(self.bn(self.down(h)))
        h2 = self.up(low)
        h2 += h  # in-place on a layer output
        out1 = self.head1(self.dropout(h2))
        return [out1, self.head2(h2) + out1]
