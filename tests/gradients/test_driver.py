"""The driver: the plan, the cotangents, the batches and workers.

The caller's module is never modified; results do not depend on the number of
workers or the joblib backend; the low-rank mode stays within its documented
bound; the elementwise BatchNorm of the private copy equals BatchNorm in eval
mode; the public signatures are kept.
"""

import copy
import inspect

import numpy as np
import pytest
import torch
from torch import nn

from sk_eglpp._testing import fast_parameters, squared_error_norms
from sk_eglpp.gradients import expected_gradient_norms, squared_gradient_norms
from sk_eglpp.gradients._driver import _frozen_batch_norm

reference_norms = squared_error_norms  # one forward and backward per pair


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
def test_lowrank_within_bound(problem, mlp_problem, conv_problem, rng, assert_rel):
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
def test_device(mlp_problem, device, assert_rel):
    module, X, bank, idx = mlp_problem
    expected = reference_norms(module, X, bank, idx)
    got = squared_gradient_norms(module, X, bank, idx, device=device)
    assert_rel(got, expected)
    assert next(module.parameters()).device.type == "cpu"


@pytest.mark.parametrize("affine", [True, False])
def test_frozen_batch_norm_equals_eval_batch_norm(affine):
    """The engine's elementwise BatchNorm equals ``F.batch_norm`` in eval mode,
    also with running means far from zero (no cancellation), and gives the
    affine parameters their gradients."""
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


def test_public_signatures_are_kept():
    common = [
        "weight_bank", "parameters", "batch_size", "n_jobs", "device", "method",
    ]
    assert list(inspect.signature(squared_gradient_norms).parameters) == [
        "module", "X", "target_bank", "neighbor_indices", *common, "reduction",
        "verbose",
    ]
    assert list(inspect.signature(expected_gradient_norms).parameters) == [
        "module", "X", "target_bank", "neighbor_indices", "probabilities",
        *common, "energy", "reduction", "verbose",
    ]
    assert squared_gradient_norms.__name__ == "squared_gradient_norms"
    assert "Examples" in squared_gradient_norms.__doc__
