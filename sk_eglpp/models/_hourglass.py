"""Stacked hourglass network (Newell et al. 2016) and a loss-prediction head.

The modules know nothing of scikit-learn; :class:`HourglassRegressor` wraps
them for fitting.
"""

import numbers

import torch
from torch import nn

from .._param_validation import StrOptions, validate_param

__all__ = ["StackedHourglass", "LossPredictionHead"]

#: layers :meth:`StackedHourglass.embed` can pool
EMBEDDING_LAYERS = ("bottleneck", "head")


class Residual(nn.Module):
    """Pre-activation bottleneck residual block (BN-ReLU-conv, three times).

    ``1x1 (out/2) -> 3x3 (out/2) -> 1x1 (out)``, plus the identity, or a 1x1
    projection when the channel counts differ.
    """

    def __init__(self, in_channels, out_channels):
        super().__init__()
        mid = max(out_channels // 2, 1)
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, mid, 1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 1),
        )
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, 1)
        )

    def forward(self, x):
        # BatchNorm-ReLU in ``body`` works on its own tensor (BatchNorm outputs
        # a new tensor), so the in-place ReLU never touches ``x``.
        return self.body(x) + self.skip(x)


class Hourglass(nn.Module):
    """Recursive hourglass of ``depth`` levels with ``n_features`` channels.

    ``forward`` returns the output (same resolution as the input) and the list
    of multi-scale features: the lower-branch features of every level, finest
    first, then the innermost (coarsest) features.
    """

    def __init__(self, depth, n_features):
        super().__init__()
        self.up = Residual(n_features, n_features)
        self.down = nn.Sequential(nn.MaxPool2d(2), Residual(n_features, n_features))
        self.inner = (
            Hourglass(depth - 1, n_features)
            if depth > 1
            else Residual(n_features, n_features)
        )
        self.after = Residual(n_features, n_features)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        low = self.down(x)
        if isinstance(self.inner, Hourglass):
            inner, features = self.inner(low)
        else:
            inner = self.inner(low)
            features = [inner]
        out = self.up(x) + self.upsample(self.after(inner))
        return out, [low, *features]


class StackedHourglass(nn.Module):
    """Stacked hourglass network with intermediate supervision.

    A stem reduces the input resolution by 4 (7x7 convolution with stride 2,
    a residual block, 2x2 max-pooling, two residual blocks), then ``n_stacks``
    hourglasses each predict one heatmap per joint; every stack but the last
    feeds its features and heatmaps back into the next (Newell et al. 2016).
    All residual blocks are pre-activation bottlenecks (BatchNorm-ReLU-conv).

    Parameters
    ----------
    n_stacks : int, default=2
        Number of stacked hourglasses.
    n_features : int, default=32
        Channels inside the hourglasses (256 in the paper). Must be a multiple
        of 4: the stem grows ``n_features // 4 -> n_features // 2 ->
        n_features`` channels, as Newell et al.'s 64 -> 128 -> 256.
    n_joints : int, default=14
        Number of heatmaps (joints) per stack.
    depth : int, default=3
        Levels of the recursive hourglass (4 in the paper). Height and width of
        the input must be multiples of ``4 * 2 ** depth``.
    in_channels : int, default=1
        Input channels (1 grayscale, 3 colour).
    dropout : float, default=0.0
        Rate of the :class:`torch.nn.Dropout2d` layer in every stack's head,
        just before the heatmap convolution. The layers always exist (with
        ``p=dropout``), so Monte Carlo dropout can switch them to training
        mode; with the default 0 they do nothing.

    Attributes
    ----------
    stride : int
        Input pixels per heatmap pixel (4).
    size_multiple : int
        Height and width of the input must be multiples of this.
    feature_channels : list of int
        Channels of the multi-scale features returned with
        ``return_features=True`` (``depth + 1`` scales).

    See Also
    --------
    HourglassRegressor : the scikit-learn / skorch estimator around it.

    References
    ----------
    A. Newell, K. Yang, J. Deng. "Stacked Hourglass Networks for Human Pose
    Estimation", ECCV 2016.

    Examples
    --------
    >>> import torch
    >>> from sk_eglpp.models import StackedHourglass
    >>> net = StackedHourglass(n_joints=3, n_features=8, depth=1).eval()
    >>> heatmaps = net(torch.zeros(2, 1, 16, 16))
    >>> len(heatmaps), tuple(heatmaps[-1].shape)
    (2, (2, 3, 4, 4))
    >>> tuple(net.embed(torch.zeros(2, 1, 16, 16)).shape)
    (2, 8)
    >>> tuple(net.embed(torch.zeros(2, 1, 16, 16), layer="head").shape)
    (2, 8)
    """

    stride = 4

    def __init__(
        self,
        n_stacks=2,
        n_features=32,
        n_joints=14,
        depth=3,
        in_channels=1,
        dropout=0.0,
    ):
        super().__init__()
        # A torch module, built by skorch from the module__ parameters, checks
        # its own arguments (the same rule: wrong type TypeError, wrong value
        # ValueError); the messages are those the simulation's presets expect.
        for name, value, minimum in [
            ("n_joints", n_joints, 1),
            ("n_stacks", n_stacks, 1),
            ("n_features", n_features, 4),
            ("depth", depth, 1),
            ("in_channels", in_channels, 1),
        ]:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {value!r}.")
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {value}.")
        if n_features % 4:
            raise ValueError(f"n_features must be a multiple of 4, got {n_features}.")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
            raise TypeError(f"dropout must be a number in [0, 1), got {dropout!r}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
        self.n_joints = int(n_joints)
        self.n_stacks = int(n_stacks)
        self.n_features = int(n_features)
        self.depth = int(depth)
        self.in_channels = int(in_channels)
        self.dropout = float(dropout)
        self.size_multiple = self.stride * 2**self.depth
        self.feature_channels = [self.n_features] * (self.depth + 1)

        nf = self.n_features
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, nf // 4, 7, stride=2, padding=3),
            nn.BatchNorm2d(nf // 4),
            nn.ReLU(inplace=True),
            Residual(nf // 4, nf // 2),
            nn.MaxPool2d(2),
            Residual(nf // 2, nf // 2),
            Residual(nf // 2, nf),
        )
        self.hourglasses = nn.ModuleList(
            Hourglass(self.depth, nf) for _ in range(self.n_stacks)
        )
        self.heads = nn.ModuleList(
            nn.Sequential(
                Residual(nf, nf),
                nn.Conv2d(nf, nf, 1),
                nn.BatchNorm2d(nf),
                nn.ReLU(inplace=True),
            )
            for _ in range(self.n_stacks)
        )
        self.dropouts = nn.ModuleList(
            nn.Dropout2d(self.dropout) for _ in range(self.n_stacks)
        )
        self.heatmap_convs = nn.ModuleList(
            nn.Conv2d(nf, self.n_joints, 1) for _ in range(self.n_stacks)
        )
        # feed-back of features and heatmaps into the next stack
        self.merge_features = nn.ModuleList(
            nn.Conv2d(nf, nf, 1) for _ in range(self.n_stacks - 1)
        )
        self.merge_heatmaps = nn.ModuleList(
            nn.Conv2d(self.n_joints, nf, 1) for _ in range(self.n_stacks - 1)
        )

    def _check_input(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"input must have shape (n_samples, {self.in_channels}, height, "
                f"width), got {tuple(x.shape)}."
            )
        if x.shape[2] % self.size_multiple or x.shape[3] % self.size_multiple:
            raise ValueError(
                f"input height and width must be multiples of {self.size_multiple}"
                f" (4 * 2 ** depth with depth={self.depth}), got "
                f"{tuple(x.shape[2:])}."
            )

    def forward(self, x, return_features=False):
        """Heatmaps of every stack, optionally with multi-scale features.

        Parameters
        ----------
        x : Tensor of shape (n, in_channels, h, w)
        return_features : bool, default=False
            Also return the multi-scale features of the last hourglass (for a
            loss-prediction head): one tensor per level of the hourglass's
            lower branch, finest (``h / 8``) first, then the innermost
            (coarsest) features.

        Returns
        -------
        heatmaps : list of Tensor of shape (n, n_joints, h / 4, w / 4)
            One per stack; the last is the prediction.
        features : list of Tensor
            Only with ``return_features=True``.
        """
        heatmaps, features, _ = self._forward(x)
        return (heatmaps, features) if return_features else heatmaps

    def _forward(self, x):
        """Heatmaps, last hourglass's features and last stack's head output."""
        self._check_input(x)
        x = self.stem(x)
        heatmaps = []
        for i in range(self.n_stacks):
            out, features = self.hourglasses[i](x)
            out = self.heads[i](out)
            heatmaps.append(self.heatmap_convs[i](self.dropouts[i](out)))
            if i < self.n_stacks - 1:
                x = (
                    x
                    + self.merge_features[i](out)
                    + self.merge_heatmaps[i](heatmaps[-1])
                )
        return heatmaps, features, out

    def embed(self, x, layer="bottleneck"):
        """Globally average-pooled features of the last stack.

        Parameters
        ----------
        x : Tensor of shape (n, in_channels, h, w)
        layer : {"bottleneck", "head"}, default="bottleneck"
            ``"bottleneck"``: the innermost (coarsest) features of the last
            hourglass; ``"head"``: the output of the last stack's head (the
            features the heatmap convolution reads, before dropout), the
            embedding of the EGL++ authors' code.

        Returns
        -------
        embedding : Tensor of shape (n, n_features)
        """
        validate_param(layer, "layer", [StrOptions(EMBEDDING_LAYERS)],
                       "StackedHourglass.embed")
        _, features, head = self._forward(x)
        pooled = features[-1] if layer == "bottleneck" else head
        return pooled.mean(dim=(2, 3))


class LossPredictionHead(nn.Module):
    """Loss-prediction module of Yoo & Kweon (2019).

    Every input feature map goes through global average pooling, a linear
    layer and a ReLU; the concatenation is mapped to one scalar per sample,
    the predicted loss.

    Parameters
    ----------
    in_channels : list of int
        Channels of each feature map (one entry per scale).
    n_hidden : int, default=128
        Width of every per-scale linear layer (128 in Yoo & Kweon).

    References
    ----------
    D. Yoo, I. S. Kweon. "Learning Loss for Active Learning", CVPR 2019.

    Examples
    --------
    >>> import torch
    >>> head = LossPredictionHead([4, 8], n_hidden=3)
    >>> tuple(head([torch.zeros(2, 4, 5, 5), torch.zeros(2, 8, 2, 2)]).shape)
    (2,)
    """

    def __init__(self, in_channels, n_hidden=128):
        super().__init__()
        self.in_channels = [int(c) for c in in_channels]
        self.n_hidden = int(n_hidden)
        self.scales = nn.ModuleList(
            nn.Sequential(nn.Linear(c, self.n_hidden), nn.ReLU())
            for c in self.in_channels
        )
        self.out = nn.Linear(self.n_hidden * len(self.in_channels), 1)

    def forward(self, features):
        pairs = zip(self.scales, features, strict=True)
        pooled = [layer(f.mean(dim=(2, 3))) for layer, f in pairs]
        return self.out(torch.cat(pooled, dim=1)).squeeze(1)
