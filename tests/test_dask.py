"""The gradient stage and EGL++ on a ``dask.distributed`` cluster via joblib.

Needs the ``dask`` extra (``pip install "dask[distributed]>=2023.1"``); the
module is skipped without it. Scores computed with
``joblib.parallel_config(backend="dask")`` must equal the ``n_jobs=1`` ones
exactly (every pool input is computed in the same batch whatever the
backend), and the work must really have gone to the cluster's workers.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_friedman1
from skorch import NeuralNetRegressor

distributed = pytest.importorskip("distributed")

from joblib import parallel_config  # noqa: E402

from sk_eglpp import EGLPlusPlusQuery  # noqa: E402
from sk_eglpp.gradients import (  # noqa: E402
    expected_gradient_norms,
    squared_gradient_norms,
)

pytestmark = pytest.mark.filterwarnings(
    # Port clashes with other clusters on the machine and dask's notes on
    # large task graphs are not what these tests are about.
    "ignore::UserWarning:distributed",
    "ignore:Port .* is already in use:UserWarning",
)


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1),
            torch.nn.BatchNorm2d(4),
            torch.nn.ReLU(),
            torch.nn.Conv2d(4, 3, 3, padding=1),
        )

    def forward(self, x):
        return self.body(x)


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
        )

    def forward(self, x):
        return self.body(x)


@pytest.fixture(scope="module")
def thread_cluster():
    """Two single-threaded workers in this process (starts in well under 1 s)."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def conv_problem():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    module = ConvNet()
    module.train()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        module(torch.randn(8, 1, 6, 6, generator=gen))
    X = torch.randn(7, 1, 6, 6, generator=gen)
    bank = torch.randn(5, 3, 6, 6, generator=gen)
    weights = torch.ones(5, 3, 1, 1)
    weights[2, 1] = 0.0
    idx = torch.randint(0, 5, (7, 3), generator=gen).numpy()
    q = torch.rand(7, 3, generator=gen).double().numpy()
    return module, X, bank, weights, idx, q


def _run_on_cluster(client, fn):
    """``fn()`` under the dask joblib backend; also the number of dask tasks."""
    with distributed.get_task_stream(client) as stream:
        with parallel_config(backend="dask"):
            got = fn()
    return got, len(stream.data)


@pytest.mark.parametrize("method", ["exact", "lowrank"])
def test_gradient_stage_identical(thread_cluster, conv_problem, method):
    module, X, bank, weights, idx, q = conv_problem
    state = {k: v.clone() for k, v in module.state_dict().items()}
    threads = torch.get_num_threads()
    kw = dict(weight_bank=weights, batch_size=2)
    if method == "exact":
        expected = squared_gradient_norms(module, X, bank, idx, n_jobs=1, **kw)
        got, n_tasks = _run_on_cluster(
            thread_cluster,
            lambda: squared_gradient_norms(module, X, bank, idx, **kw),
        )
    else:
        kw["method"] = "lowrank"
        expected = expected_gradient_norms(module, X, bank, idx, q, n_jobs=1, **kw)
        got, n_tasks = _run_on_cluster(
            thread_cluster,
            lambda: expected_gradient_norms(module, X, bank, idx, q, **kw),
        )
    assert n_tasks >= 2, "the work did not go to the dask workers"
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    # The caller's module and thread setting are untouched.
    assert module.training
    assert torch.get_num_threads() == threads
    for k, v in module.state_dict().items():
        assert torch.equal(v, state[k])


@pytest.fixture(scope="module")
def friedman_net():
    X, y = make_friedman1(n_samples=70, noise=0.1, random_state=0)
    X = X.astype(np.float32)
    y = y.astype(np.float32).reshape(-1, 1)
    torch.manual_seed(0)
    net = NeuralNetRegressor(
        MLP, max_epochs=5, lr=0.01, train_split=None, verbose=0
    ).fit(X[:20], y[:20])
    return net, X[:20], y[:20], X[20:]


def _egl_pp_scores(net, X_lab, y_lab, X_pool, **params):
    strategy = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0, batch_size=4, **params)
    return strategy.score(net, X_pool, X_labelled=X_lab, y_labelled=y_lab)


def test_egl_pp_identical_threads(thread_cluster, friedman_net):
    net, X_lab, y_lab, X_pool = friedman_net
    expected = _egl_pp_scores(net, X_lab, y_lab, X_pool, n_jobs=1)
    got, n_tasks = _run_on_cluster(
        thread_cluster, lambda: _egl_pp_scores(net, X_lab, y_lab, X_pool)
    )
    assert n_tasks >= 2
    np.testing.assert_array_equal(got, expected)
    # Same selection through select().
    strategy = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0, batch_size=4)
    with parallel_config(backend="dask"):
        idx = strategy.select(net, X_pool, 5, X_labelled=X_lab, y_labelled=y_lab)
    np.testing.assert_array_equal(
        np.sort(idx), np.sort(np.argsort(-expected, kind="stable")[:5])
    )


def test_egl_pp_identical_processes(friedman_net):
    """Worker processes: the model and banks are pickled to other interpreters."""
    net, X_lab, y_lab, X_pool = friedman_net
    expected = _egl_pp_scores(net, X_lab, y_lab, X_pool, n_jobs=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got, n_tasks = _run_on_cluster(
            client, lambda: _egl_pp_scores(net, X_lab, y_lab, X_pool)
        )
    assert n_tasks >= 2
    np.testing.assert_array_equal(got, expected)
