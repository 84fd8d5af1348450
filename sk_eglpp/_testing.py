"""Slow, obvious reference implementations, for the tests and the benchmarks.

Each one computes what a fast routine of the package computes, the plain way,
so that the tests can check the routine against it and the benchmarks can time
the routine beside it. Nothing here is used by the package itself.

- :func:`per_pair_norms`: squared gradient norms, one forward and one
  ``loss.backward()`` per (input, neighbour) pair, batch size 1, for any loss.
- :func:`squared_error_norms`: the same for the loss of
  :func:`sk_eglpp.gradients.squared_gradient_norms` (weighted squared error
  of every output against the pair's target).
- :func:`brute_force_k_center`: k-center greedy recomputing every
  nearest-centre distance from scratch.
- :class:`TwoStackNet`: a small network with every layer kind the gradient
  engines treat apart (here so that worker processes can import it by name).
"""

import copy
import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "FAST_TYPES",
    "TwoStackNet",
    "brute_force_k_center",
    "fast_parameters",
    "per_pair_norms",
    "squared_error_norms",
]

#: Layers whose weights and biases form the default parameter set theta.
FAST_TYPES = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


def fast_parameters(module):
    """The weights and biases of the module's :data:`FAST_TYPES` layers.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    >>> [tuple(p.shape) for p in fast_parameters(net)]
    [(4, 3), (4,), (2, 4)]
    """
    return [
        p
        for m in module.modules()
        if isinstance(m, FAST_TYPES)
        for p in (m.weight, m.bias)
        if p is not None
    ]


def per_pair_norms(module, X, idx, loss, params=None):
    """Squared gradient norm of ``loss`` for every pair, one backward each.

    Parameters
    ----------
    module : torch.nn.Module
        Copied and put in eval mode; the module itself is left alone.
    X : array-like of shape (n, ...)
        The inputs.
    idx : array-like of int, shape (n, K)
        The neighbours of each input.
    loss : callable
        ``loss(outputs, i, j)``: the scalar loss of input ``i`` paired with
        neighbour ``j``, where ``outputs`` is the list of the copy's outputs
        for ``X[i:i + 1]`` (a single tensor output becomes a list of one).
    params : list of torch.nn.Parameter, default=None
        Parameters of ``module`` to differentiate with respect to;
        ``None``: :func:`fast_parameters`.

    Returns
    -------
    norms : ndarray of shape (n, K), float64
        Sum over the parameters of the squared gradient entries.

    Examples
    --------
    One linear output, the loss the output itself: the gradient is the input
    (weight) and 1 (bias), so the norm is ``|x|^2 + 1``.

    >>> import numpy as np
    >>> lin = nn.Linear(2, 1)
    >>> X = np.array([[3.0, 4.0]], dtype=np.float32)
    >>> per_pair_norms(lin, X, [[0]], lambda out, i, j: out[0].sum())
    array([[26.]])
    """
    model = copy.deepcopy(module).eval()
    if params is None:
        params = fast_parameters(model)
    else:
        names = {id(p): n for n, p in module.named_parameters()}
        own = dict(model.named_parameters())
        params = [own[names[id(p)]] for p in params]
    chosen = {id(p) for p in params}
    for p in model.parameters():
        p.requires_grad_(id(p) in chosen)
    X = torch.as_tensor(np.asarray(X))
    idx = np.asarray(idx)
    out = np.zeros(idx.shape)
    for i in range(X.shape[0]):
        for k in range(idx.shape[1]):
            for p in params:
                p.grad = None
            outputs = model(X[i : i + 1])
            if isinstance(outputs, torch.Tensor):
                outputs = [outputs]
            loss(list(outputs), i, int(idx[i, k])).backward()
            out[i, k] = sum(float((p.grad.double() ** 2).sum()) for p in params)
    return out


def squared_error_norms(module, X, bank, idx, weights=None, params=None):
    """:func:`per_pair_norms` for the weighted squared error against ``bank``.

    The loss of input ``i`` with neighbour ``j`` is
    ``sum over outputs o of sum(w_j * (o - bank[j]) ** 2)``, the loss of
    :func:`sk_eglpp.gradients.squared_gradient_norms` (``weights=None``:
    ``w_j = 1``).

    Examples
    --------
    >>> import numpy as np
    >>> lin = nn.Linear(1, 1)
    >>> _ = nn.init.zeros_(lin.weight), nn.init.zeros_(lin.bias)
    >>> X, bank = np.ones((1, 1), np.float32), np.array([[1.0], [3.0]], np.float32)
    >>> squared_error_norms(lin, X, bank, [[0, 1]])  # gradient 2 * (0 - t) * (x, 1)
    array([[ 8., 72.]])
    """
    bank = torch.as_tensor(np.asarray(bank))
    weights = None if weights is None else torch.as_tensor(np.asarray(weights))

    def loss(outputs, i, j):
        w = 1.0 if weights is None else weights[j]
        return sum(((o[0] - bank[j]) ** 2 * w).sum() for o in outputs)

    return per_pair_norms(module, X, idx, loss, params=params)


def brute_force_k_center(Z_pool, Z_lab, n_instances, first=None):
    """k-center greedy recomputing every min distance from scratch.

    Each step picks the pool point farthest from its nearest centre (the
    labelled points and the points picked so far); the lowest index wins
    ties. ``first`` forces the first pick (without labelled points the
    distances are all infinite).

    Returns
    -------
    chosen : ndarray of int, shape (n_instances,)
    radius : float
        The largest nearest-centre distance after the last pick.

    Examples
    --------
    >>> brute_force_k_center([[0.0], [1.0], [5.0]], [[0.0]], 2)
    (array([2, 1]), 0.0)
    """
    n_pool = len(Z_pool)
    centres = [list(z) for z in Z_lab]
    chosen = []

    def nearest(i):
        return min((math.dist(Z_pool[i], c) for c in centres), default=math.inf)

    for step in range(n_instances):
        if step == 0 and first is not None:
            best = first
        else:
            best, best_d = None, -1.0
            for i in range(n_pool):
                if i in chosen:
                    continue
                d = nearest(i)
                if d > best_d:  # strict: the lowest index wins ties
                    best, best_d = i, d
        chosen.append(best)
        centres.append(list(Z_pool[best]))
    radius = max(nearest(i) for i in range(n_pool))
    return np.array(chosen), radius


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
