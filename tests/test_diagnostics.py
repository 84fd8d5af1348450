"""The fidelity diagnostic: true gradient lengths and utility_fidelity."""

import re

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetRegressor

from sk_eglpp.diagnostics import (
    FIDELITY_COLUMNS,
    fidelity_measures,
    true_gradient_lengths,
    utility_fidelity,
)
from sk_eglpp.query import BaseQueryStrategy


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.default_rng(0)
    X = rng.standard_t(3, size=(120, 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=120)
    return X, y


def test_linear_lengths_equal_autograd(linear_data):
    """4 r^2 (||x||^2 + 1) against autograd of (w.x + b - y)^2 over (w, b)."""
    X, y = linear_data
    model = make_pipeline(StandardScaler(), Ridge(alpha=0.5)).fit(X[:30], y[:30])
    got = true_gradient_lengths(model, X, y)
    Xt = model[0].transform(X)
    w = torch.tensor(model[-1].coef_, requires_grad=True)
    b = torch.tensor(float(model[-1].intercept_), requires_grad=True, dtype=w.dtype)
    expected = []
    for x, t in zip(Xt, y, strict=True):
        loss = (torch.as_tensor(x) @ w + b - t) ** 2
        gw, gb = torch.autograd.grad(loss, [w, b])
        expected.append(float((gw**2).sum() + gb**2))
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    no_intercept = LinearRegression(fit_intercept=False).fit(X, y)
    r = no_intercept.predict(X) - y
    np.testing.assert_allclose(
        true_gradient_lengths(no_intercept, X, y), 4 * r**2 * (X**2).sum(1)
    )


def test_net_lengths_equal_autograd_loop():
    """Nets: the loss EGL++ uses at the real label, one backward per sample."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, 4)).astype(np.float32)
    y = np.stack([X[:, 0] - X[:, 1], X[:, 2] ** 2], axis=1).astype(np.float32)
    y[3, 1] = np.nan  # masked out
    torch.manual_seed(0)
    net = NeuralNetRegressor(
        torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
        ),
        max_epochs=3,
        train_split=None,
        verbose=0,
    ).fit(X[:10], np.nan_to_num(y[:10]))
    got = true_gradient_lengths(net, X, y)
    module = net.module_.eval()
    expected = []
    for x, t in zip(X, y, strict=True):
        module.zero_grad()
        out = module(torch.as_tensor(x[None]))[0]
        observed = torch.as_tensor(np.isfinite(t))
        target = torch.as_tensor(np.nan_to_num(t))
        loss = (((out - target) ** 2) * observed).sum() / 2  # mean over 2 outputs
        loss.backward()
        grads = [p.grad.double() for p in module.parameters()]
        expected.append(sum(float((g**2).sum()) for g in grads))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


class _Oracle(BaseQueryStrategy):
    """Scores with the truth it is given (a strategy that cannot do better)."""

    def __init__(self, truth=None):
        self.truth = truth

    def _score(self, context):
        return np.asarray(self.truth, dtype=float)


def test_fidelity_of_an_oracle_and_of_its_opposite(linear_data):
    X, y = linear_data
    model = Ridge().fit(X[:20], y[:20])
    truth = true_gradient_lengths(model, X[20:], y[20:])
    fid = utility_fidelity(
        model,
        X[20:],
        y[20:],
        {"oracle": _Oracle(truth), "anti": _Oracle(-truth), "random": "random_query"},
        X_labelled=X[:20],
        y_labelled=y[:20],
        n_instances=10,
        random_state=0,
    )
    assert set(fid) == {"oracle", "anti", "random"}
    assert fid["oracle"]["spearman_gradient"] == pytest.approx(1.0)
    assert fid["oracle"]["precision"] == 1.0
    assert fid["anti"]["spearman_gradient"] == pytest.approx(-1.0)
    assert fid["anti"]["precision"] == 0.0
    assert abs(fid["random"]["spearman_gradient"]) < 0.3
    assert sorted(fid["random"]) == sorted(FIDELITY_COLUMNS)
    # truth="error" ranks the true top-B by the per-sample error
    fid_e, truths = utility_fidelity(
        model, X[20:], y[20:], {"oracle": _Oracle(truth)}, n_instances=10,
        truth="error", return_truth=True,
    )
    np.testing.assert_allclose(truths["gradient"], truth)
    err = (model.predict(X[20:]) - y[20:]) ** 2
    np.testing.assert_allclose(truths["error"], err)
    top_err = set(np.argsort(-err)[:10].tolist())
    top_sel = set(np.argsort(-truth)[:10].tolist())
    assert fid_e["oracle"]["precision"] == len(top_err & top_sel) / 10


def test_fidelity_of_egl_pp_on_a_net():
    """EGL++'s utility estimates the true gradient length better than random."""
    from sk_eglpp.datasets import make_pose_dataset
    from sk_eglpp.models import HourglassRegressor

    X, y = make_pose_dataset(90, image_size=16, random_state=0)
    net = HourglassRegressor(
        module__n_features=8, module__depth=1, max_epochs=3, random_state=0
    ).fit(X[:40], y[:40])
    before = net.module_.state_dict()
    fid = utility_fidelity(
        net, X[40:], y[40:], ["egl_pp", "random_query"], X_labelled=X[:40],
        y_labelled=y[:40], n_instances=10, random_state=0,
    )
    for key, value in net.module_.state_dict().items():
        torch.testing.assert_close(value, before[key])
    assert fid["egl_pp"]["spearman_gradient"] > fid["random_query"]["spearman_gradient"]


def test_fidelity_measures_edge_cases():
    g = np.array([1.0, 2.0, 3.0, np.nan])
    m = fidelity_measures(None, [2], g, g)
    assert np.isnan(m["spearman_gradient"]) and m["precision"] == 1.0
    const = fidelity_measures(np.ones(4), [0], g, g)
    assert np.isnan(const["spearman_gradient"])  # a constant utility ranks nothing


def test_bad_input(linear_data):
    X, y = linear_data
    model = Ridge().fit(X, y)
    with pytest.raises(ValueError, match="same number of samples"):
        utility_fidelity(model, X, y[:-1], "random_query")
    with pytest.raises(ValueError, match="truth must be one of"):
        utility_fidelity(model, X, y, "random_query", truth="loss")
    with pytest.raises(ValueError, match="Unknown strategy"):
        utility_fidelity(model, X, y, "nope")
    with pytest.raises(ValueError, match="n_instances"):
        utility_fidelity(model, X, y, "random_query", n_instances=10_000)
    with pytest.raises(ValueError, match="one row per entry of y"):
        true_gradient_lengths(model, X, y[:-1])
    with pytest.raises(ValueError, match="truth must be one of"):
        fidelity_measures(None, [0], y, y, truth="loss")
    with pytest.raises(TypeError, match="return_truth must be"):
        utility_fidelity(model, X, y, "random_query", return_truth="yes")
    with pytest.raises(TypeError, match=r"^fidelity_measures: truth must be one of"):
        fidelity_measures(None, [0], y, y, truth=None)
    with pytest.raises(ValueError, match=r"^utility_fidelity: batch_size must be an"):
        utility_fidelity(model, X, y, "random_query", batch_size=0)


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("n_instances", True, TypeError),
        ("n_instances", 0, ValueError),
        ("batch_size", 2.0, TypeError),
        ("random_state", -1, ValueError),
        ("device", "tpu", ValueError),
        ("return_truth", 1, TypeError),
        ("truth", None, TypeError),
    ],
)
def test_utility_fidelity_parameter_errors_name_it(linear_data, name, value, error):
    """Parameters are checked before any strategy runs; a bool is not an int."""
    X, y = linear_data
    model = Ridge().fit(X, y)
    got = re.escape(f"got {value!r} ({type(value).__name__})")
    with pytest.raises(error, match=rf"^utility_fidelity: {name} must be .*{got}"):
        utility_fidelity(model, X, y, "random_query", **{name: value})


def test_true_gradient_lengths_parameter_errors_name_it(linear_data):
    X, y = linear_data
    model = Ridge().fit(X, y)
    with pytest.raises(
        TypeError, match=r"^true_gradient_lengths: batch_size must be an int .*True"
    ):
        true_gradient_lengths(model, X, y, batch_size=True)
    with pytest.raises(ValueError, match=r"^true_gradient_lengths: device must be"):
        true_gradient_lengths(model, X, y, device="tpu")
    with pytest.raises(TypeError, match=r"^fidelity_measures: truth must be one of"):
        fidelity_measures(None, [0], y, y, truth=1)


def test_net_lengths_bad_input():
    torch.manual_seed(0)
    X = np.zeros((4, 2), dtype=np.float32)
    net = NeuralNetRegressor(
        torch.nn.Linear(2, 1), max_epochs=1, train_split=None, verbose=0
    ).fit(X, np.zeros((4, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="same number of samples"):
        true_gradient_lengths(net, X, np.zeros((3, 1)))
