"""A query changes nothing: not its inputs, its model, nor the global state.

A query leaves the inputs (read-only arrays: any write raises), the model's
parameters, gradients, train/eval modes, BatchNorm running statistics and
``requires_grad`` flags, and the global random states exactly as they were,
also when it fails; ``teach`` after a query trains exactly as without the
query; repeated queries give the same scores.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from sk_eglpp import ActiveLearner

NEURAL = (
    "egl_pp",
    "coreset",
    "multipeak_entropy",
    "learning_loss",
    "mc_dropout",
    "random_query",
)


def read_only(*arrays):
    out = []
    for a in arrays:
        a = np.array(a)
        a.flags.writeable = False
        out.append(a)
    return out


def snapshot(net):
    """Everything a query could change in a skorch net."""
    modules = [net.module_, net.loss_module_]
    return {
        "state": [
            {k: v.detach().clone() for k, v in m.state_dict().items()}
            for m in modules
        ],
        "grads": [
            [None if p.grad is None else p.grad.clone() for p in m.parameters()]
            for m in modules
        ],
        "training": [[s.training for s in m.modules()] for m in modules],
        "requires_grad": [[p.requires_grad for p in m.parameters()] for m in modules],
        "dropout": [m.p for m in net.module_.modules() if hasattr(m, "p")],
        "hooks": [
            (len(s._forward_hooks), len(s._forward_pre_hooks),
             len(s._backward_hooks))
            for m in modules
            for s in m.modules()
        ],
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state()[1].copy(),
        "grad_enabled": torch.is_grad_enabled(),
        "threads": torch.get_num_threads(),
    }


def assert_same(before, after):
    for a, b in zip(before["state"], after["state"], strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key  # incl. BatchNorm statistics
    for ga, gb in zip(before["grads"], after["grads"], strict=True):
        for a, b in zip(ga, gb, strict=True):
            assert (a is None and b is None) or torch.equal(a, b)
    for key in ("training", "requires_grad", "dropout", "hooks", "grad_enabled",
                "threads"):
        assert before[key] == after[key], key
    assert torch.equal(before["torch_rng"], after["torch_rng"])
    np.testing.assert_array_equal(before["numpy_rng"], after["numpy_rng"])


@pytest.mark.parametrize("mode", ("eval", "train", "mixed"))
@pytest.mark.parametrize("name", NEURAL)
def test_query_leaves_the_network_and_inputs_alone(
    fitted_query_hourglass, occluded_pose, small_strategy, name, mode
):
    net = fitted_query_hourglass
    X, y = occluded_pose
    X_lab, y_lab, X_pool = read_only(X[:12], y[:12], X[12:20])
    copies = [a.copy() for a in (X_lab, y_lab, X_pool)]
    net.module_.train(mode != "eval")
    net.loss_module_.train(mode == "train")
    if mode == "mixed":
        net.module_.stem[1].eval()  # one BatchNorm in eval inside a training net
    frozen = list(net.module_.parameters())[0]
    frozen.requires_grad_(False)
    try:
        before = snapshot(net)
        strategy = small_strategy(name)
        strategy.select(net, X_pool, 3, X_labelled=X_lab, y_labelled=y_lab)
        strategy.score(net, X_pool, X_labelled=X_lab, y_labelled=y_lab)
        assert_same(before, snapshot(net))
    finally:
        frozen.requires_grad_(True)
        net.module_.eval()
        net.loss_module_.eval()
    for a, b in zip((X_lab, y_lab, X_pool), copies, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not a.flags.writeable


@pytest.mark.parametrize("name", ("egl_pp", "mc_dropout", "coreset"))
def test_query_restores_the_network_when_it_fails(
    fitted_query_hourglass, occluded_pose, small_strategy, name
):
    """A failing query (here: a broken embedding/prediction) changes nothing."""
    net = fitted_query_hourglass
    X, y = occluded_pose
    net.module_.train()
    before = snapshot(net)

    def broken(X):
        raise RuntimeError("broken on purpose")

    try:
        strategy = small_strategy(name)
        if name == "mc_dropout":
            strategy.set_params(dropout=0.5)
            original = net.predict
            net.predict = broken
        else:
            strategy.set_params(embedding=broken)
        with pytest.raises(RuntimeError, match="broken on purpose"):
            strategy.select(net, X[12:20], 2, X_labelled=X[:12], y_labelled=y[:12])
        if name == "mc_dropout":
            del net.predict
            assert net.predict == original
        assert_same(before, snapshot(net))
    finally:
        net.module_.eval()


@pytest.mark.parametrize("name", ("egl_linear", "emcm", "coreset", "random_query"))
def test_query_leaves_a_linear_model_and_inputs_alone(small_strategy, name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=30)
    model = LinearRegression().fit(X[:10], y[:10])
    pickled = pickle.dumps(model)
    X_lab, y_lab, X_pool = read_only(X[:10], y[:10], X[10:])
    numpy_state = np.random.get_state()[1].copy()
    small_strategy(name).select(model, X_pool, 4, X_labelled=X_lab, y_labelled=y_lab)
    assert pickle.dumps(model) == pickled
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    np.testing.assert_array_equal(X_pool, X[10:])


@pytest.mark.parametrize("name", NEURAL)
def test_teach_after_query_trains_as_without_the_query(
    fitted_query_hourglass, occluded_pose, small_strategy, name
):
    """Query then teach gives bit-identical weights to teach alone."""
    X, y = occluded_pose
    X_pool, y_pool = X[12:20], y[12:20]
    strategy = small_strategy(name)
    queried = ActiveLearner(clone(fitted_query_hourglass), strategy,
                            X_training=X[:12], y_training=y[:12],
                            force_all_finite=False)
    idx, X_chosen = queried.query(X_pool, n_instances=2)
    assert len(set(idx.tolist())) == 2
    np.testing.assert_array_equal(X_chosen, X_pool[idx])
    queried.teach(X_pool[idx], y_pool[idx])

    reference = ActiveLearner(clone(fitted_query_hourglass), strategy,
                              X_training=X[:12], y_training=y[:12],
                              force_all_finite=False)
    reference.teach(X_pool[idx], y_pool[idx])
    assert queried.X_training.shape[0] == 14
    a = queried.estimator.module_.state_dict()
    b = reference.estimator.module_.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert len(queried.estimator.history) == 1  # a fresh fit of one epoch


def test_query_is_deterministic_across_n_jobs_and_repeats(
    fitted_query_hourglass, occluded_pose, small_strategy
):
    net = fitted_query_hourglass
    X, y = occluded_pose
    kwargs = dict(X_labelled=X[:12], y_labelled=y[:12])
    scores = small_strategy("egl_pp", batch_size=2).score(net, X[12:20], **kwargs)
    again = small_strategy("egl_pp", batch_size=2).score(net, X[12:20], **kwargs)
    np.testing.assert_array_equal(scores, again)
    with joblib.parallel_config(backend="threading"):
        threaded = small_strategy("egl_pp", batch_size=2, n_jobs=2).score(
            net, X[12:20], **kwargs
        )
    np.testing.assert_array_equal(threaded, scores)
    for name in ("mc_dropout", "coreset", "random_query", "multipeak_entropy"):
        first = small_strategy(name).score(net, X[12:20], **kwargs)
        second = small_strategy(name).score(net, X[12:20], **kwargs)
        np.testing.assert_array_equal(first, second)
