"""Strategies shared across threads: every call keeps its own results.

Calls never read their results back from the instance, so concurrent calls on
one instance (a module-level default such as ``egl_linear`` used by several
learners) neither fail nor mix up pools. The tests start the threads together
behind a barrier and shorten the interpreter's switch interval so that calls
interleave; nothing depends on timing for correctness of the checks.
"""

import pickle
import sys
import threading
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from skorch import NeuralNetRegressor

from sk_eglpp import (
    CoreSetQuery,
    EGLPlusPlusQuery,
    EMCMQuery,
    LinearEGLQuery,
    MCDropoutQuery,
    RandomQuery,
    coreset,
    egl_linear,
    emcm,
    random_query,
)
from sk_eglpp.query import STRATEGIES, get_strategy

N_THREADS = 8


class Metrics0421Learner:
    """A learner in modAL-python 0.4.2.1's convention.

    Its ``query`` has a ``return_metrics`` parameter (what the strategies look
    for) and unpacks ``(indices, utilities)`` from the strategy, without
    modAL's bare ``except`` retry, so any failure surfaces.
    """

    def __init__(self, estimator, query_strategy, X_training, y_training):
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.X_training = X_training
        self.y_training = y_training

    def query(self, X_pool, *query_args, return_metrics=False, **query_kwargs):
        indices, metrics = self.query_strategy(
            self, X_pool, *query_args, **query_kwargs
        )
        result = (indices, X_pool[indices])
        return result + (metrics,) if return_metrics else result


@contextmanager
def interleaving():
    """Switch threads as often as the interpreter allows."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(work, n_threads=N_THREADS):
    """Run ``work(thread_index)`` in threads started together; re-raise errors."""
    barrier = threading.Barrier(n_threads)
    errors = []

    def target(t):
        try:
            barrier.wait()
            work(t)
        except BaseException as exc:  # noqa: B036 - collected and re-raised
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(t,)) for t in range(n_threads)]
    with interleaving():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise AssertionError(f"{len(errors)} thread(s) failed") from errors[0]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(140, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=140)
    X_lab, y_lab = X[:20], y[:20]
    model = LinearRegression().fit(X_lab, y_lab)
    # pools of different sizes, one per thread
    pools = [X[20 + 3 * t : 20 + 3 * t + 6 + 7 * t] for t in range(N_THREADS)]
    return model, X_lab, y_lab, pools


# Deterministic instances: a call's result depends on its pool only.
DETERMINISTIC = {
    "egl_linear": lambda: LinearEGLQuery(n_estimators=4, random_state=0),
    "emcm": lambda: EMCMQuery(n_estimators=4, random_state=0),
    "coreset": lambda: CoreSetQuery(),
    "random": lambda: RandomQuery(random_state=0),
    "coreset_default": lambda: coreset,
}


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_shared_instance_calls_in_threads_match_single_threaded(problem, name):
    model, X_lab, y_lab, pools = problem
    strategy = DETERMINISTIC[name]()
    learner = Metrics0421Learner(model, strategy, X_lab, y_lab)
    n_instances = 3
    reference = [strategy(learner, pool, n_instances) for pool in pools]
    expected_select = [
        strategy.select(model, pool, n_instances, X_labelled=X_lab, y_labelled=y_lab)
        for pool in pools
    ]
    for (idx, utilities), pool in zip(reference, pools, strict=True):
        assert idx.shape == (n_instances,) == utilities.shape
        if not name.startswith("coreset"):
            # the utilities are the scores at the selected indices
            scores = clone(strategy).score(learner, pool)
            np.testing.assert_array_equal(utilities, scores[idx])
    results = [[] for _ in pools]

    def work(t):
        for call in range(60):
            if call % 2:
                idx, X_sel, utilities = learner.query(
                    pools[t], n_instances=n_instances, return_metrics=True
                )
                np.testing.assert_array_equal(X_sel, pools[t][idx])
                results[t].append((idx, utilities))
            else:
                idx = strategy.select(
                    model, pools[t], n_instances, X_labelled=X_lab, y_labelled=y_lab
                )
                np.testing.assert_array_equal(idx, expected_select[t])

    run_threads(work)
    for t, pool_results in enumerate(results):
        ref_idx, ref_utilities = reference[t]
        for idx, utilities in pool_results:
            np.testing.assert_array_equal(idx, ref_idx)
            np.testing.assert_array_equal(utilities, ref_utilities)


@pytest.mark.parametrize("strategy", [random_query, egl_linear, emcm, coreset],
                         ids=["random_query", "egl_linear", "emcm", "coreset"])
def test_module_level_defaults_in_threads(problem, strategy):
    """The defaults (random_state=None: every call draws anew) under threads."""
    model, X_lab, y_lab, pools = problem
    learner = Metrics0421Learner(model, strategy, X_lab, y_lab)

    def work(t):
        pool = pools[t]
        for _ in range(250):
            idx, X_sel, utilities = learner.query(
                pool, n_instances=4, return_metrics=True
            )
            assert idx.shape == (4,) == utilities.shape
            assert len(set(idx.tolist())) == 4
            assert 0 <= idx.min() and idx.max() < len(pool)
            np.testing.assert_array_equal(X_sel, pool[idx])
            # most informative first: the utilities never increase
            assert np.all(np.diff(utilities) <= 0)

    run_threads(work)
    assert not hasattr(strategy, "scores_")


def test_diagnostics_are_those_of_one_whole_call(problem):
    """After concurrent calls, the attributes all come from the same call."""
    model, X_lab, y_lab, pools = problem
    strategy = CoreSetQuery()
    reference = {}
    for pool in pools:
        strategy.select(model, pool, 3, X_labelled=X_lab, y_labelled=y_lab)
        reference[len(pool)] = (strategy.scores_, strategy.pick_distances_,
                                strategy.covering_radius_)

    def work(t):
        for _ in range(40):
            strategy.select(model, pools[t], 3, X_labelled=X_lab, y_labelled=y_lab)

    run_threads(work)
    scores, picks, radius = reference[len(strategy.scores_)]
    np.testing.assert_array_equal(strategy.scores_, scores)
    np.testing.assert_array_equal(strategy.pick_distances_, picks)
    assert strategy.covering_radius_ == radius


# -- torch strategies: a tiny net, few calls ------------------------------------


class _DropoutMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Dropout(0.3),
            torch.nn.Linear(8, 1),
        )

    def forward(self, x):
        return self.body(x)


@pytest.fixture(scope="module")
def tiny_net(problem):
    _, X_lab, y_lab, _ = problem
    net = NeuralNetRegressor(
        _DropoutMLP, max_epochs=2, train_split=None, verbose=0, lr=0.01
    )
    torch.manual_seed(0)
    return net.fit(X_lab.astype(np.float32), y_lab.astype(np.float32).reshape(-1, 1))


@pytest.mark.parametrize(
    "make",
    [
        lambda: EGLPlusPlusQuery(n_neighbors=4, perplexity=3.0),
        lambda: MCDropoutQuery(n_samples=3, random_state=0),
    ],
    ids=["egl_pp", "mc_dropout"],
)
def test_torch_strategies_in_threads(problem, tiny_net, make):
    _, X_lab, y_lab, pools = problem
    X_lab = X_lab.astype(np.float32)
    y_lab = y_lab.astype(np.float32).reshape(-1, 1)
    pools = [p.astype(np.float32) for p in pools[:4]]
    strategy = make()
    learner = Metrics0421Learner(tiny_net, strategy, X_lab, y_lab)
    reference = [strategy(learner, pool, 2) for pool in pools]
    ref_scores = [clone(strategy).score(learner, pool) for pool in pools]
    for (idx, utilities), scores in zip(reference, ref_scores, strict=True):
        np.testing.assert_allclose(utilities, scores[idx], rtol=1e-6)
    results = [[] for _ in pools]

    def work(t):
        for _ in range(3):
            idx, _, utilities = learner.query(pools[t], n_instances=2,
                                              return_metrics=True)
            results[t].append((idx, utilities))

    run_threads(work, n_threads=len(pools))
    for (ref_idx, ref_utilities), pool_results in zip(reference, results,
                                                      strict=True):
        for idx, utilities in pool_results:
            np.testing.assert_array_equal(idx, ref_idx)
            np.testing.assert_allclose(utilities, ref_utilities, rtol=1e-6)
    # the diagnostics are those of one whole call
    if isinstance(strategy, EGLPlusPlusQuery):
        assert strategy.neighbors_.shape[0] == strategy.scores_.shape[0]


# -- the shared default instances keep no diagnostics ---------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_default_instances_keep_no_diagnostics(name):
    default = STRATEGIES[name]
    assert not hasattr(default, "scores_")
    with pytest.raises(AttributeError, match="shared by the whole process"):
        default.scores_  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        default.nothing  # noqa: B018
    # an own copy is an ordinary instance
    own = get_strategy(name)
    assert "_shared_default" not in vars(own)
    assert repr(own) == repr(default)
    # pickling keeps the mark
    assert vars(pickle.loads(pickle.dumps(default))).get("_shared_default")


def test_own_instance_keeps_diagnostics(problem):
    model, X_lab, y_lab, pools = problem
    random_query.score(None, pools[0])
    assert not hasattr(random_query, "scores_")
    own = get_strategy("random_query")
    scores = own.score(None, pools[0])
    assert own.scores_ is scores


def test_hourglass_predictions_in_threads_keep_eval_mode():
    """Concurrent predictions of one net (as concurrent EGL++ calls make)."""
    from sk_eglpp.datasets import make_pose_dataset
    from sk_eglpp.models import HourglassRegressor

    X, y = make_pose_dataset(n_samples=12, random_state=0)
    net = HourglassRegressor(module__n_features=8, module__depth=1, max_epochs=1,
                             batch_size=4, random_state=0).fit(X, y)
    net.module_.train()  # skorch leaves the module in training mode
    running = [b.clone() for b in net.module_.buffers()]
    expected_embed, expected_pred = net.embed(X[:4]), net.predict(X[:4])

    def work(t):
        for _ in range(6):
            if t % 2:
                np.testing.assert_array_equal(net.embed(X[:4]), expected_embed)
            else:
                np.testing.assert_array_equal(net.predict(X[:4]), expected_pred)

    run_threads(work, n_threads=4)
    assert all(m.training for m in net.module_.modules())
    for before, after in zip(running, net.module_.buffers(), strict=True):
        assert torch.equal(before, after)  # BatchNorm statistics untouched
