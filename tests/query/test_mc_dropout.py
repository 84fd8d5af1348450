"""Tests of MCDropoutQuery on small skorch regressors."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from skorch import NeuralNetRegressor
from torch import nn

from sk_eglpp import ActiveLearner, MCDropoutQuery, mc_dropout
from sk_eglpp.query import STRATEGIES


class MLP(nn.Module):
    """Small MLP with BatchNorm (must stay in eval mode) and dropout."""

    def __init__(self, n_in=4, n_hidden=16, n_out=2, p=0.3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, n_hidden),
            nn.BatchNorm1d(n_hidden),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(n_hidden, n_out),
        )

    def forward(self, x):
        return self.body(x)


class DropoutLinear(nn.Module):
    """``W @ dropout(x)``: its Monte Carlo variance has a closed form."""

    def __init__(self, n_in=20, n_out=3, p=0.2):
        super().__init__()
        self.drop = nn.Dropout(p)
        self.lin = nn.Linear(n_in, n_out, bias=False)

    def forward(self, x):
        return self.lin(self.drop(x))


def make_net(module, **params):
    params = {"max_epochs": 2, "lr": 0.01, "train_split": None, "verbose": 0,
              "batch_size": 16, **params}
    return NeuralNetRegressor(module, **params)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5], axis=1).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def fitted_net(data):
    torch.manual_seed(0)  # test-side seeding only
    return make_net(MLP).fit(*data)


def test_zero_with_dropout_off_and_positive_with_it_on(fitted_net, data):
    X, _ = data
    off = MCDropoutQuery(n_samples=5, dropout=0.0, random_state=0).score(fitted_net, X)
    np.testing.assert_array_equal(off, np.zeros(len(X)))
    on = MCDropoutQuery(n_samples=5, random_state=0).score(fitted_net, X)
    assert on.shape == (len(X),)
    assert np.all(on > 0)
    # a larger rate for the query only gives larger variances on average
    more = MCDropoutQuery(n_samples=20, dropout=0.6, random_state=0).score(
        fitted_net, X
    )
    less = MCDropoutQuery(n_samples=20, dropout=0.1, random_state=0).score(
        fitted_net, X
    )
    assert more.mean() > less.mean()


def test_same_random_state_same_scores(fitted_net, data):
    X, _ = data
    a = MCDropoutQuery(n_samples=4, random_state=3).score(fitted_net, X)
    b = MCDropoutQuery(n_samples=4, random_state=3).score(fitted_net, X)
    c = MCDropoutQuery(n_samples=4, random_state=4).score(fitted_net, X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    rs = np.random.RandomState(5)
    d = MCDropoutQuery(n_samples=4, random_state=rs).score(fitted_net, X)
    e = MCDropoutQuery(n_samples=4, random_state=np.random.RandomState(5)).score(
        fitted_net, X
    )
    np.testing.assert_array_equal(d, e)


def test_state_restored_and_global_rng_untouched(fitted_net, data):
    X, _ = data
    module = fitted_net.module_
    for mode in (False, True):
        module.train(mode)
        before = {k: v.clone() for k, v in module.state_dict().items()}
        flags = [m.training for m in module.modules()]
        torch_state = torch.get_rng_state()
        np_state = np.random.get_state()[1].copy()
        MCDropoutQuery(n_samples=3, dropout=0.5, random_state=0).score(fitted_net, X)
        assert [m.training for m in module.modules()] == flags
        assert module.body[3].p == 0.3  # the override is undone
        assert not module.body[3]._forward_pre_hooks  # hooks removed
        after = module.state_dict()
        for k, v in before.items():  # BatchNorm running stats untouched: eval mode
            assert torch.equal(v, after[k]), k
        assert torch.equal(torch_state, torch.get_rng_state())
        np.testing.assert_array_equal(np_state, np.random.get_state()[1])
    module.eval()


def test_state_restored_after_an_error(fitted_net):
    module = fitted_net.module_
    module.eval()  # fit leaves it in training mode, a predict in eval mode
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        MCDropoutQuery(n_samples=2, dropout=0.5).score(
            fitted_net, np.zeros((3, 5), dtype=np.float32)  # wrong width
        )
    assert module.body[3].p == 0.3
    assert not module.body[3]._forward_pre_hooks
    assert not any(m.training for m in module.modules())


def test_variance_matches_closed_form():
    """Var of W @ dropout(x) is p / (1 - p) * sum_k sum_i W_ki^2 x_i^2."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 20)).astype(np.float32)
    net = make_net(DropoutLinear, module__p=0.2).initialize()
    W = net.module_.lin.weight.detach().numpy().astype(np.float64)
    expected = 0.2 / 0.8 * ((W**2) @ (X.astype(np.float64).T ** 2)).sum(axis=0)
    got = MCDropoutQuery(n_samples=3000, random_state=0).score(net, X)
    np.testing.assert_allclose(got, expected, rtol=0.08)
    np.testing.assert_allclose(got.mean(), expected.mean(), rtol=0.03)
    # the rate override enters the same formula
    got_half = MCDropoutQuery(n_samples=3000, dropout=0.5, random_state=0).score(
        net, X
    )
    np.testing.assert_allclose(got_half, expected * 4.0, rtol=0.08)


def test_batch_size_chunks_cover_the_pool(fitted_net, data):
    X, _ = data
    scores = MCDropoutQuery(n_samples=3, batch_size=7, random_state=0).score(
        fitted_net, X
    )
    assert scores.shape == (len(X),) and np.all(scores > 0)
    idx = MCDropoutQuery(n_samples=3, batch_size=7, random_state=0).select(
        fitted_net, X, 5
    )
    np.testing.assert_array_equal(idx, np.argsort(-scores, kind="stable")[:5])


def test_modal_loop_three_cycles(data):
    X, y = data
    torch.manual_seed(1)
    learner = ActiveLearner(
        make_net(MLP, max_epochs=1),
        MCDropoutQuery(n_samples=3, random_state=0),
        X_training=X[:8],
        y_training=y[:8],
    )
    pool = np.arange(8, 40)
    for _ in range(3):
        idx, X_sel = learner.query(X[pool], n_instances=4)
        assert len(set(idx.tolist())) == 4 and np.all((idx >= 0) & (idx < len(pool)))
        np.testing.assert_array_equal(X_sel, X[pool][idx])
        learner.teach(X[pool][idx], y[pool][idx])
        pool = np.delete(pool, idx)
    assert learner.X_training.shape == (20, 4)


def test_params_and_registry():
    s = MCDropoutQuery(n_samples=7, dropout=0.2)
    assert clone(s).get_params() == {
        "n_samples": 7, "dropout": 0.2, "output": "predict", "batch_size": 256,
        "random_state": None,
    }
    assert STRATEGIES["mc_dropout"] is mc_dropout


def test_bad_inputs(fitted_net, data):
    X, y = data
    with pytest.raises(ValueError, match="needs a fitted skorch net"):
        MCDropoutQuery().score(LinearRegression().fit(X, y), X)
    with pytest.raises(NotFittedError, match="not initialized"):
        MCDropoutQuery().score(make_net(MLP), X)
    no_dropout = make_net(nn.Linear, module__in_features=4, module__out_features=2)
    no_dropout.initialize()
    with pytest.raises(ValueError, match="needs dropout layers"):
        MCDropoutQuery().score(no_dropout, X)
    zero = make_net(MLP, module__p=0.0).initialize()
    with pytest.raises(ValueError, match="have p=0"):
        MCDropoutQuery().score(zero, X)
    assert np.all(MCDropoutQuery(n_samples=2, dropout=0.0).score(zero, X) == 0)
    with pytest.raises(ValueError, match=r"dropout must be .* in \[0, 1\)"):
        MCDropoutQuery(dropout=1.0).score(fitted_net, X)
    with pytest.raises(ValueError, match=r"n_samples must be an int in \[2,"):
        MCDropoutQuery(n_samples=1).score(fitted_net, X)
    with pytest.raises(ValueError, match="output must be one of"):
        MCDropoutQuery(output="logits").score(fitted_net, X)
    with pytest.raises(ValueError, match="needs a model with predict_heatmaps"):
        MCDropoutQuery(output="heatmaps").score(fitted_net, X)
    with pytest.raises(ValueError, match=r"n_instances must be in \[1, 40\], got 41"):
        MCDropoutQuery().select(fitted_net, X, 41)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MCDropoutQuery().select(fitted_net, bad, 1)


# -- with the stacked-hourglass regressor ------------------------------------


def test_hourglass_dropout_off_on_and_state(small_pose, small_hourglass):
    X, y = small_pose
    # module__dropout=0 by default
    net = small_hourglass(module__n_stacks=2).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match="module__dropout"):
        MCDropoutQuery().score(net, X[8:])
    before = {k: v.clone() for k, v in net.module_.state_dict().items()}
    off = MCDropoutQuery(n_samples=3, dropout=0.0).score(net, X[8:])
    np.testing.assert_array_equal(off, np.zeros(32))
    for output in ("predict", "heatmaps"):
        on = MCDropoutQuery(n_samples=4, dropout=0.3, output=output, random_state=0)
        a, b = on.score(net, X[8:]), clone(on).score(net, X[8:])
        np.testing.assert_array_equal(a, b)
        assert np.all(a >= 0) and a.max() > 0
    after = net.module_.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    assert all(m.p == 0.0 for m in net.module_.dropouts)


