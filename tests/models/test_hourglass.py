"""StackedHourglass: shapes, the paper's configuration, features and dropout."""

import pytest
import torch
from torch.nn import functional as F

from sk_eglpp.models import StackedHourglass
from sk_eglpp.models._hourglass import Hourglass, LossPredictionHead, Residual


def _small(**kwargs):
    params = dict(n_joints=5, n_stacks=2, n_features=8, depth=2, in_channels=1)
    params.update(kwargs)
    return StackedHourglass(**params)


def test_output_shapes_and_embedding():
    torch.manual_seed(0)
    net = _small(n_stacks=3).eval()
    x = torch.randn(2, 1, 32, 48)
    heatmaps = net(x)
    assert isinstance(heatmaps, list) and len(heatmaps) == 3
    for h in heatmaps:
        assert h.shape == (2, 5, 8, 12)
    heatmaps2, features = net(x, return_features=True)
    for a, b in zip(heatmaps, heatmaps2, strict=True):
        torch.testing.assert_close(a, b)
    # depth + 1 scales: lower branch of each level (h/8, h/16), innermost h/16
    assert [tuple(f.shape[2:]) for f in features] == [(4, 6), (2, 3), (2, 3)]
    assert [f.shape[1] for f in features] == net.feature_channels
    embedding = net.embed(x)
    assert embedding.shape == (2, 8)
    torch.testing.assert_close(embedding, features[-1].mean(dim=(2, 3)))


def test_paper_configuration_is_constructible():
    torch.manual_seed(0)
    net = StackedHourglass(
        n_joints=16, n_stacks=2, n_features=256, depth=4, in_channels=3
    ).eval()
    with torch.no_grad():
        heatmaps, features = net(torch.zeros(1, 3, 256, 256), return_features=True)
    assert [tuple(h.shape) for h in heatmaps] == [(1, 16, 64, 64)] * 2
    # innermost features of the last hourglass: 256 channels at 4 x 4
    assert tuple(features[-1].shape) == (1, 256, 4, 4)
    assert net.size_multiple == 64
    # the stem grows 64 -> 128 -> 256 channels as in Newell et al.
    assert net.stem[0].out_channels == 64


def test_residual_matches_functional_reference():
    torch.manual_seed(0)
    block = Residual(4, 6).eval()
    x = torch.randn(2, 4, 5, 5)
    b = block.body

    def bn(layer, t):
        return F.batch_norm(
            t, layer.running_mean, layer.running_var, layer.weight, layer.bias
        )

    t = F.conv2d(F.relu(bn(b[0], x)), b[2].weight, b[2].bias)
    t = F.conv2d(F.relu(bn(b[3], t)), b[5].weight, b[5].bias, padding=1)
    t = F.conv2d(F.relu(bn(b[6], t)), b[8].weight, b[8].bias)
    skip = F.conv2d(x, block.skip.weight, block.skip.bias)
    before = x.clone()
    torch.testing.assert_close(block(x), t + skip)
    torch.testing.assert_close(x, before)  # no in-place change of the input


def test_hourglass_recursion_matches_reference():
    torch.manual_seed(0)
    hg = Hourglass(2, 4).eval()
    x = torch.randn(1, 4, 8, 8)

    def reference(level, t):
        low = level.down[1](F.max_pool2d(t, 2))
        inner = (
            reference(level.inner, low)
            if isinstance(level.inner, Hourglass)
            else (level.inner(low))
        )
        up = F.interpolate(level.after(inner), scale_factor=2, mode="nearest")
        return level.up(t) + up

    out, features = hg(x)
    torch.testing.assert_close(out, reference(hg, x))
    assert [tuple(f.shape) for f in features] == [(1, 4, 4, 4), (1, 4, 2, 2)] + [
        (1, 4, 2, 2)
    ]


def test_dropout_layers():
    net = _small(dropout=0.5)
    drops = [m for m in net.modules() if isinstance(m, torch.nn.Dropout2d)]
    assert len(drops) == 2 and all(d.p == 0.5 for d in drops)
    assert len([m for m in _small().modules() if isinstance(m, torch.nn.Dropout2d)])
    x = torch.randn(2, 1, 32, 32)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(x)[-1], net(x)[-1])
        for d in drops:  # Monte Carlo dropout: only the dropout layers on
            d.train()
        torch.manual_seed(0)
        a = net(x)[-1]
        torch.manual_seed(1)
        b = net(x)[-1]
    assert not torch.allclose(a, b)


def test_loss_prediction_head_matches_reference():
    torch.manual_seed(0)
    head = LossPredictionHead([3, 5], n_hidden=4)
    f = [torch.randn(2, 3, 4, 4), torch.randn(2, 5, 2, 2)]
    hidden = [
        F.relu(layer[0](t.mean(dim=(2, 3))))
        for layer, t in zip(head.scales, f, strict=True)
    ]
    expected = head.out(torch.cat(hidden, dim=1))[:, 0]
    torch.testing.assert_close(head(f), expected)


def test_invalid_parameters_and_inputs():
    with pytest.raises(ValueError, match="n_features must be a multiple of 4"):
        StackedHourglass(n_features=10)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        StackedHourglass(depth=0)
    with pytest.raises(TypeError, match="n_stacks must be an integer"):
        StackedHourglass(n_stacks=1.5)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        StackedHourglass(dropout=1.0)
    with pytest.raises(TypeError, match=r"dropout must be a number in \[0, 1\)"):
        StackedHourglass(dropout="a")
    net = _small()
    with pytest.raises(ValueError, match="multiples of 16"):
        net(torch.zeros(1, 1, 24, 32))
    with pytest.raises(ValueError, match=r"input must have shape \(n_samples, 1"):
        net(torch.zeros(1, 3, 32, 32))


def test_head_embedding_is_the_last_heads_output_pooled():
    """embed(layer="head"): what the last heatmap convolution reads, pooled."""
    torch.manual_seed(0)
    net = _small(n_stacks=2, dropout=0.3).eval()
    x = torch.randn(3, 1, 32, 32)
    seen = {}
    hook = net.heatmap_convs[-1].register_forward_hook(
        lambda module, inputs, output: seen.update(h=inputs[0].detach().clone())
    )
    try:
        heatmaps = net(x)
    finally:
        hook.remove()
    # the head output is the input of the heatmap convolution (dropout is off)
    torch.testing.assert_close(net.heatmap_convs[-1](seen["h"]), heatmaps[-1])
    torch.testing.assert_close(net.embed(x, layer="head"), seen["h"].mean(dim=(2, 3)))
    _, features = net(x, return_features=True)
    torch.testing.assert_close(
        net.embed(x, layer="bottleneck"), features[-1].mean(dim=(2, 3))
    )
    with pytest.raises(ValueError, match="layer must be one of"):
        net.embed(x, layer="stem")


def test_regressor_embedding_layer():
    import numpy as np

    from sk_eglpp.models import HourglassRegressor

    rng = np.random.default_rng(0)
    X = rng.random((6, 1, 16, 16), dtype=np.float32)
    y = rng.uniform(2, 14, size=(6, 4))
    net = HourglassRegressor(
        module__n_features=8, module__depth=1, max_epochs=1, random_state=0
    ).fit(X, y)
    bottleneck = net.embed(X)
    net.set_params(embedding_layer="head")
    head = net.embed(X)
    with torch.no_grad():
        expected = net.module_.eval().embed(torch.as_tensor(X), layer="head").numpy()
    np.testing.assert_allclose(head, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(head, bottleneck)
    net.set_params(embedding_layer="neck")
    with pytest.raises(ValueError, match="embedding_layer must be one of"):
        net.embed(X)
    with pytest.raises(TypeError, match="embedding_layer must be one of"):
        HourglassRegressor(embedding_layer=1, max_epochs=1).fit(X, y)
