"""Per-pair squared gradient norms against a plain per-pair autograd loop."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from sk_eglpp._testing import (
    fast_parameters,
    per_pair_norms,
    squared_error_norms,
)
from sk_eglpp.gradients import expected_gradient_norms, squared_gradient_norms

reference_norms = squared_error_norms  # one forward and backward per pair


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


@pytest.fixture(scope="module")
def mlp_problem():
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


def assert_rel(actual, expected, rtol=1e-4):
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=rtol * np.max(expected)
    )


def test_mlp_equals_per_pair_loop(mlp_problem):
    module, X, bank, idx = mlp_problem
    expected = reference_norms(module, X, bank, idx)
    for batch_size in (1, 3, 16):
        got = squared_gradient_norms(module, X, bank, idx, batch_size=batch_size)
        assert got.shape == idx.shape and got.dtype == np.float64
        assert_rel(got, expected)
    assert expected.min() > 0


def test_conv_two_stacks_weights_equals_per_pair_loop(conv_problem):
    module, X, bank, weights, idx = conv_problem
    expected = reference_norms(module, X, bank, idx, weights)
    got = squared_gradient_norms(
        module, X, bank, idx, weight_bank=weights, batch_size=2
    )
    assert_rel(got, expected)


def test_hourglass_equals_per_pair_loop():
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
def test_odd_layers_equal_per_pair_loop():
    torch.manual_seed(0)
    module = OddLayers()
    X = torch.randn(4, 2, 9)
    bank = torch.randn(5, 3)
    idx = np.array([[0, 1], [2, 3], [4, 4], [1, 0]])
    expected = reference_norms(module, X, bank, idx)
    got = squared_gradient_norms(module, X, bank, idx, batch_size=3)
    assert_rel(got, expected)


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


@pytest.mark.parametrize("mode", ["ghost", "explicit"])
def test_factor_norms_both_modes(rng, mode):
    from sk_eglpp.gradients import _factor_norms

    A = torch.as_tensor(rng.normal(size=(3, 5, 2, 4)))  # (b, T, groups, da)
    G = torch.as_tensor(rng.normal(size=(6, 3, 5, 2, 7)))  # (V, b, T, groups, dg)
    expected = np.zeros((6, 3))
    for v in range(6):
        for i in range(3):
            for g in range(2):
                M = G[v, i, :, g].numpy().T @ A[i, :, g].numpy()
                expected[v, i] += np.sum(M**2)
    np.testing.assert_allclose(_factor_norms(A, G, mode).numpy(), expected, rtol=1e-10)


def test_module_state_untouched(conv_problem):
    module, X, bank, weights, idx = conv_problem
    module = copy.deepcopy(module)
    module.train()
    module.head1.weight.requires_grad_(False)
    module.stem[0].weight.grad = torch.ones_like(module.stem[0].weight)
    state = {k: v.clone() for k, v in module.state_dict().items()}
    flags = [p.requires_grad for p in module.parameters()]
    X_before = X.clone()
    for parameters in ("default", "all"):
        squared_gradient_norms(
            module, X, bank, idx, weight_bank=weights, parameters=parameters
        )
    assert module.training and all(m.training for m in module.modules())
    assert [p.requires_grad for p in module.parameters()] == flags
    for k, v in module.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert torch.equal(
        module.stem[0].weight.grad, torch.ones_like(module.stem[0].weight)
    )
    assert module.down.weight.grad is None
    assert torch.equal(X, X_before)


def test_parameter_selections(conv_problem):
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


def test_n_jobs_identical(conv_problem):
    module, X, bank, weights, idx = conv_problem
    kw = dict(weight_bank=weights, batch_size=2)
    one = squared_gradient_norms(module, X, bank, idx, n_jobs=1, **kw)
    two = squared_gradient_norms(module, X, bank, idx, n_jobs=2, **kw)
    np.testing.assert_array_equal(one, two)
    q = np.full(idx.shape, 1.0 / idx.shape[1])
    kw["method"] = "lowrank"
    a = expected_gradient_norms(module, X, bank, idx, q, n_jobs=1, **kw)
    b = expected_gradient_norms(module, X, bank, idx, q, n_jobs=2, **kw)
    np.testing.assert_array_equal(a, b)


def test_verbose_and_numpy_inputs(mlp_problem, capsys):
    module, X, bank, idx = mlp_problem
    expected = squared_gradient_norms(module, X, bank, idx)
    got = squared_gradient_norms(
        module, X.numpy().astype(np.float64), bank.numpy(), idx.tolist(), verbose=True
    )
    np.testing.assert_array_equal(got, expected)
    assert "gradient norms" in capsys.readouterr().err


def test_mean_reduction(conv_problem):
    module, X, bank, weights, idx = conv_problem
    total = squared_gradient_norms(module, X, bank, idx, weight_bank=weights)
    mean = squared_gradient_norms(
        module, X, bank, idx, weight_bank=weights, reduction="mean"
    )
    n_elements = 2 * bank[0].numel()
    assert_rel(mean * n_elements**2, total)


def test_expected_exact_is_weighted_sum(mlp_problem, rng):
    module, X, bank, idx = mlp_problem
    q = rng.dirichlet(np.ones(idx.shape[1]), size=idx.shape[0])
    norms = squared_gradient_norms(module, X, bank, idx)
    scores = expected_gradient_norms(module, X, bank, idx, q)
    np.testing.assert_allclose(scores, np.sum(q * norms, axis=1), rtol=1e-12)


def _jacobian_spectral_norms(module, X):
    """||J||_2 of the outputs with respect to the default parameters, per input."""
    model = copy.deepcopy(module).eval()
    fast = {id(p) for p in fast_parameters(model)}
    names = [n for n, p in model.named_parameters() if id(p) in fast]
    params = dict(model.named_parameters())
    out = []
    for i in range(X.shape[0]):

        def f(*values, i=i):
            new = dict(params)
            new.update(zip(names, values, strict=True))
            o = torch.func.functional_call(model, new, (X[i : i + 1],))
            o = [o] if isinstance(o, torch.Tensor) else o
            return torch.cat([t.reshape(-1) for t in o])

        jac = torch.autograd.functional.jacobian(f, tuple(params[n] for n in names))
        J = torch.cat([j.reshape(j.shape[0], -1) for j in jac], dim=1).double()
        out.append(float(torch.linalg.matrix_norm(J, ord=2)))
    return np.array(out)


@pytest.mark.parametrize("problem", ["mlp", "conv"])
def test_lowrank_within_bound(problem, mlp_problem, conv_problem, rng):
    if problem == "mlp":
        module, X, bank, idx = mlp_problem
        weights = None
    else:
        module, X, bank, weights, idx = conv_problem
    q = rng.dirichlet(np.ones(idx.shape[1]), size=idx.shape[0])
    kw = dict(weight_bank=weights, batch_size=3)
    exact = expected_gradient_norms(module, X, bank, idx, q, **kw)
    full = expected_gradient_norms(
        module, X, bank, idx, q, method="lowrank", energy=1.0, **kw
    )
    assert_rel(full, exact)
    # ||C||_F^2 = sum_k q_k ||g_k||^2 with g_k = 2 w (o - t_k), every output.
    model = copy.deepcopy(module).eval()
    with torch.no_grad():
        outs = model(X)
    outs = [outs] if isinstance(outs, torch.Tensor) else outs
    w = 1.0 if weights is None else weights
    frob = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        for k in range(idx.shape[1]):
            wk = w if weights is None else w[idx[i, k]]
            g2 = sum(
                float(((2 * wk * (o[i] - bank[idx[i, k]])) ** 2).sum()) for o in outs
            )
            frob[i] += q[i, k] * g2
    spectral = _jacobian_spectral_norms(module, X)
    for energy in (0.5, 0.9):
        approx = expected_gradient_norms(
            module, X, bank, idx, q, method="lowrank", energy=energy, **kw
        )
        bound = (1 - energy) * frob * spectral**2
        assert np.all(approx <= exact * (1 + 1e-4))
        assert np.all(exact - approx <= bound * (1 + 1e-4) + 1e-6 * exact)


def test_bad_inputs(mlp_problem):
    module, X, bank, idx = mlp_problem
    with pytest.raises(ValueError, match=r"neighbor_indices must be in \[0, 5\]"):
        squared_gradient_norms(module, X, bank, idx + 6)
    with pytest.raises(ValueError, match="neighbor_indices must have shape"):
        squared_gradient_norms(module, X, bank, idx[:3])
    with pytest.raises(TypeError, match="neighbor_indices must hold integers"):
        squared_gradient_norms(module, X, bank, idx.astype(float))
    with pytest.raises(ValueError, match=r"shape of one target, \(batch, \*\(3,\)\)"):
        squared_gradient_norms(module, X, torch.zeros(6, 3), idx)
    with pytest.raises(ValueError, match="parameters must be one of"):
        squared_gradient_norms(module, X, bank, idx, parameters="weights")
    with pytest.raises(ValueError, match="must be parameters of the module"):
        squared_gradient_norms(
            module, X, bank, idx, parameters=[nn.Parameter(torch.zeros(2))]
        )
    with pytest.raises(ValueError, match="selects no parameter"):
        squared_gradient_norms(module, X, bank, idx, parameters=lambda m: [])
    with pytest.raises(TypeError, match="parameters must be one of"):
        squared_gradient_norms(module, X, bank, idx, parameters=3)
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        squared_gradient_norms(lambda x: x, X, bank, idx)
    with pytest.raises(ValueError, match="X contains NaN"):
        squared_gradient_norms(module, X * np.nan, bank, idx)
    with pytest.raises(ValueError, match="weight_bank must have one row per row"):
        squared_gradient_norms(module, X, bank, idx, weight_bank=torch.ones(2, 2))
    with pytest.raises(ValueError, match="does not broadcast"):
        squared_gradient_norms(module, X, bank, idx, weight_bank=torch.ones(6, 3))
    with pytest.raises(
        ValueError, match=r"^squared_gradient_norms: batch_size must be an int in"
    ):
        squared_gradient_norms(module, X, bank, idx, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int .* got 2.0"):
        squared_gradient_norms(module, X, bank, idx, batch_size=2.0)
    with pytest.raises(TypeError, match="reduction must be one of .* got None"):
        squared_gradient_norms(module, X, bank, idx, reduction=None)
    with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
        squared_gradient_norms(module, X, bank, idx, n_jobs=0)
    with pytest.raises(ValueError, match="method must be 'exact'"):
        squared_gradient_norms(module, X, bank, idx, method="lowrank")
    with pytest.raises(ValueError, match="reduction must be one of"):
        squared_gradient_norms(module, X, bank, idx, reduction="max")
    q = np.ones(idx.shape)
    with pytest.raises(ValueError, match="method must be one of"):
        expected_gradient_norms(module, X, bank, idx, q, method="fast")
    with pytest.raises(
        ValueError,
        match=r"^expected_gradient_norms: energy must be a finite real number in "
        r"\(0, 1\], got 0",
    ):
        expected_gradient_norms(module, X, bank, idx, q, method="lowrank", energy=0)
    with pytest.raises(TypeError, match="energy must be a finite real number"):
        expected_gradient_norms(module, X, bank, idx, q, method="lowrank",
                                energy="high")
    with pytest.raises(ValueError, match="probabilities must have the shape"):
        expected_gradient_norms(module, X, bank, idx, q[:, :2])
    with pytest.raises(ValueError, match="non-negative"):
        expected_gradient_norms(module, X, bank, idx, -q, method="lowrank")


def test_joblib_backends_identical(conv_problem):
    from joblib import parallel_config

    module, X, bank, weights, idx = conv_problem
    kw = dict(weight_bank=weights, batch_size=2)
    expected = squared_gradient_norms(module, X, bank, idx, n_jobs=1, **kw)
    threads = torch.get_num_threads()
    with parallel_config(backend="threading", n_jobs=2):
        got = squared_gradient_norms(module, X, bank, idx, **kw)
    np.testing.assert_array_equal(got, expected)
    assert torch.get_num_threads() == threads


def test_dask_backend_identical(conv_problem):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    module, X, bank, weights, idx = conv_problem
    kw = dict(weight_bank=weights, batch_size=2)
    expected = squared_gradient_norms(module, X, bank, idx, n_jobs=1, **kw)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False
        ) as cluster,
        distributed.Client(cluster),
    ):
        with parallel_config(backend="dask"):
            got = squared_gradient_norms(module, X, bank, idx, **kw)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "device",
    [
        torch.device("cpu"),
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(
                not torch.cuda.is_available(), reason="no CUDA device"
            ),
        ),
    ],
)
def test_device(mlp_problem, device):
    module, X, bank, idx = mlp_problem
    expected = reference_norms(module, X, bank, idx)
    got = squared_gradient_norms(module, X, bank, idx, device=device)
    assert_rel(got, expected)
    assert next(module.parameters()).device.type == "cpu"


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


def test_layer_input_modified_in_place(mlp_problem):
    _, X, bank, idx = mlp_problem
    torch.manual_seed(0)
    plain = InPlaceAfterUse(inplace=False)
    inplace = InPlaceAfterUse(inplace=True)
    inplace.load_state_dict(plain.state_dict())
    expected = reference_norms(plain, X, bank, idx)
    got = squared_gradient_norms(inplace, X, bank, idx, batch_size=4)
    assert_rel(got, expected)


def _per_output_reference(module, X, bank, idx, weights):
    """Output s against target s, one backward per pair (batch size 1)."""

    def loss(outputs, i, j):
        return sum(
            ((o[0] - bank[j, s]) ** 2 * weights[j, min(s, weights.shape[1] - 1)]).sum()
            for s, o in enumerate(outputs)
        )

    return per_pair_norms(module, X, idx, loss)


@pytest.mark.parametrize("shared_weights", [False, True])
def test_per_output_targets_equal_per_pair_loop(conv_problem, shared_weights):
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


@pytest.mark.parametrize("affine", [True, False])
def test_frozen_batch_norm_equals_eval_batch_norm(affine):
    """The engine's elementwise BatchNorm equals ``F.batch_norm`` in eval mode,
    also with running means far from zero (no cancellation), and gives the
    affine parameters their gradients."""
    from sk_eglpp.gradients import _frozen_batch_norm

    gen = torch.Generator().manual_seed(0)
    bn = nn.BatchNorm2d(4, affine=affine)
    with torch.no_grad():
        bn.running_mean.copy_(1e3 + torch.randn(4, generator=gen))
        bn.running_var.copy_(torch.rand(4, generator=gen) + 0.1)
        if affine:
            bn.weight.copy_(torch.randn(4, generator=gen))
            bn.bias.copy_(torch.randn(4, generator=gen))
    bn.eval()
    x = 1e3 + torch.randn(3, 4, 5, 5, generator=gen)
    expected = bn(x)
    got = _frozen_batch_norm(bn, x)
    # Both against float64: the error is that of rounding x (|x| ~ 1e3) itself.
    exact = copy.deepcopy(bn).double()(x.double())
    scale = (bn.running_var + bn.eps).rsqrt()
    if affine:
        scale = scale * bn.weight.abs()
    bound = 4 * torch.finfo(torch.float32).eps * 1e3 * float(scale.detach().max())
    assert float((got.double() - exact).abs().max()) <= bound
    assert float((expected.double() - exact).abs().max()) <= bound
    if affine:
        g_expected = torch.autograd.grad(expected.square().sum(), [bn.weight, bn.bias])
        g_got = torch.autograd.grad(got.square().sum(), [bn.weight, bn.bias])
        for a, b in zip(g_got, g_expected, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
