"""EGL++ (Algorithm 1) against an independent reference, in modAL loops."""

import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import make_friedman1
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.manifold._utils import _binary_search_perplexity
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetRegressor

from sk_eglpp import ActiveLearner, EGLPlusPlusQuery, StackedHourglass, egl_pp
from sk_eglpp._testing import per_pair_norms


class MLP(torch.nn.Module):
    def __init__(self, n_in=10, n_hidden=16, n_out=1):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_in, n_hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.2),
            torch.nn.Linear(n_hidden, n_out),
        )

    def forward(self, x):
        return self.body(x)


def _net(**kw):
    torch.manual_seed(0)
    params = dict(
        module=MLP,
        max_epochs=20,
        lr=0.01,
        optimizer=torch.optim.Adam,
        train_split=None,
        verbose=0,
    )
    params.update(kw)
    return NeuralNetRegressor(**params)


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(n_samples=90, noise=0.1, random_state=0)
    X = X.astype(np.float32)
    y = y.astype(np.float32).reshape(-1, 1)
    return X[:30], y[:30], X[30:]


@pytest.fixture(scope="module")
def fitted_net(friedman):
    X_lab, y_lab, _ = friedman
    return _net().fit(X_lab, y_lab)


def _reference_scores(net, X_pool, X_lab, y_lab, k, perplexity, targets=None):
    """Eq. 7-8 the slow, obvious way: sklearn's bandwidth search + a per-pair loop."""
    sqdist = ((X_pool[:, None, :] - X_lab[None, :, :]) ** 2).sum(-1)
    P = _binary_search_perplexity(sqdist.astype(np.float32), perplexity, 0)
    targets = torch.as_tensor(y_lab if targets is None else targets)
    top = np.argsort(-P, axis=1, kind="stable")[:, :k]

    def loss(outputs, i, j):
        return torch.nn.functional.mse_loss(outputs[0], targets[j : j + 1])

    norms = per_pair_norms(net.module_, X_pool, top, loss)
    return (np.take_along_axis(P, top, axis=1) * norms).sum(1)


@pytest.mark.parametrize("target", ["label", "prediction"])
def test_scores_equal_reference(friedman, fitted_net, target):
    X_lab, y_lab, X_pool = friedman
    strategy = EGLPlusPlusQuery(n_neighbors=5, perplexity=4.0, target=target)
    scores = strategy.score(fitted_net, X_pool, X_labelled=X_lab, y_labelled=y_lab)
    targets = y_lab if target == "label" else fitted_net.predict(X_lab)
    expected = _reference_scores(
        fitted_net, X_pool, X_lab, y_lab, 5, 4.0, targets=targets
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-4)
    assert strategy.neighbors_.shape == (60, 5)
    assert strategy.pair_gradient_norms_.shape == (60, 5)
    np.testing.assert_allclose(
        scores, (strategy.probabilities_ * strategy.pair_gradient_norms_).sum(1)
    )


def test_renormalize(friedman, fitted_net):
    X_lab, y_lab, X_pool = friedman
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    plain = EGLPlusPlusQuery(n_neighbors=5, perplexity=4.0)
    renorm = EGLPlusPlusQuery(n_neighbors=5, perplexity=4.0, renormalize=True)
    s_plain = plain.score(fitted_net, X_pool, **kw)
    s_renorm = renorm.score(fitted_net, X_pool, **kw)
    np.testing.assert_allclose(renorm.probabilities_.sum(1), 1.0)
    mass = plain.probabilities_.sum(1)
    assert np.all(mass <= 1 + 1e-9)
    np.testing.assert_allclose(s_renorm, s_plain / mass, rtol=1e-6)


@pytest.mark.parametrize("energy", [1.0, 0.6, 0.2])
def test_lowrank_energy(friedman, fitted_net, energy):
    """``energy`` reaches the low-rank engine: equal to calling it directly with
    the strategy's neighbours, exact at 1, never above the exact score."""
    from sk_eglpp.gradients import expected_gradient_norms

    X_lab, y_lab, X_pool = friedman
    # several outputs: the K output gradients of a sample span several
    # directions, so a low energy drops some of them
    y3 = np.hstack([y_lab, -y_lab, X_lab[:, :1] * 5.0]).astype(np.float32)
    net = _net(module__n_out=3, max_epochs=5).fit(X_lab, y3)
    kw = dict(X_labelled=X_lab, y_labelled=y3)
    exact = EGLPlusPlusQuery(n_neighbors=6, perplexity=4.0)
    s_exact = exact.score(net, X_pool, **kw)
    low = EGLPlusPlusQuery(n_neighbors=6, perplexity=4.0, method="lowrank",
                           energy=energy)
    s_low = low.score(net, X_pool, **kw)
    # the strategy's MSE weights (1 / n_outputs) are those of render_targets
    direct = expected_gradient_norms(
        net.module_, X_pool, y3, exact.neighbors_, exact.probabilities_,
        weight_bank=np.full_like(y3, 1.0 / 3.0), method="lowrank", energy=energy,
    )
    np.testing.assert_allclose(s_low, direct, rtol=1e-6)
    assert np.all(s_low <= s_exact * (1 + 1e-4))
    if energy == 1.0:
        np.testing.assert_allclose(s_low, s_exact, rtol=1e-4)
    else:
        assert np.all(s_low < s_exact)  # directions were dropped


def test_modal_loop_with_pipeline(friedman):
    X_lab, y_lab, X_pool = friedman
    pipe = make_pipeline(StandardScaler(), _net(max_epochs=5))
    learner = ActiveLearner(
        pipe,
        EGLPlusPlusQuery(n_neighbors=5, perplexity=4.0),
        X_training=X_lab,
        y_training=y_lab,
    )
    pool = X_pool.copy()
    y_pool = make_friedman1(n_samples=90, noise=0.1, random_state=0)[1][30:]
    y_pool = y_pool.astype(np.float32).reshape(-1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            idx, X_query = learner.query(pool, n_instances=4)
            assert len(set(idx.tolist())) == 4 and idx.max() < len(pool)
            learner.teach(X_query, y_pool[idx])
            pool = np.delete(pool, idx, axis=0)
            y_pool = np.delete(y_pool, idx, axis=0)
    assert learner.X_training.shape[0] == 42


def test_deterministic_and_n_jobs(friedman, fitted_net):
    X_lab, y_lab, X_pool = friedman
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    a = EGLPlusPlusQuery(n_neighbors=4, perplexity=3.0, n_jobs=1, random_state=0)
    b = EGLPlusPlusQuery(n_neighbors=4, perplexity=3.0, n_jobs=2, random_state=0)
    np.testing.assert_array_equal(
        a.score(fitted_net, X_pool, **kw), b.score(fitted_net, X_pool, **kw)
    )
    np.testing.assert_array_equal(
        a.select(fitted_net, X_pool, 5, **kw), a.select(fitted_net, X_pool, 5, **kw)
    )


def test_model_state_untouched(friedman, fitted_net):
    X_lab, y_lab, X_pool = friedman
    module = fitted_net.module_
    module.train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    flags = [p.requires_grad for p in module.parameters()]
    # skorch leaves the last training step's gradients: they must stay as they are
    grads = [None if p.grad is None else p.grad.clone() for p in module.parameters()]
    pool = X_pool.copy()
    pool.setflags(write=False)
    egl_pp.score(fitted_net, pool, X_labelled=X_lab, y_labelled=y_lab)
    assert module.training
    assert flags == [p.requires_grad for p in module.parameters()]
    for k, v in module.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    for p, g in zip(module.parameters(), grads, strict=True):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    module.eval()


def test_clips_neighbours_to_labelled_set(friedman, fitted_net):
    X_lab, y_lab, X_pool = friedman
    strategy = EGLPlusPlusQuery(n_neighbors=50, perplexity=4.0)
    with pytest.warns(UserWarning, match="using all 30 labelled samples"):
        strategy.score(fitted_net, X_pool, X_labelled=X_lab, y_labelled=y_lab)
    assert strategy.neighbors_.shape == (60, 30)


def test_embedding_callable_and_raw_inputs(friedman, fitted_net):
    X_lab, y_lab, X_pool = friedman
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    raw = EGLPlusPlusQuery(n_neighbors=3, perplexity=2.0)
    same = EGLPlusPlusQuery(n_neighbors=3, perplexity=2.0, embedding=lambda X: X)
    np.testing.assert_array_equal(
        raw.score(fitted_net, X_pool, **kw), same.score(fitted_net, X_pool, **kw)
    )


def test_bad_inputs(friedman, fitted_net):
    X_lab, y_lab, X_pool = friedman
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    with pytest.raises(NotFittedError):
        egl_pp.select(_net(), X_pool, 1, **kw)
    with pytest.raises(TypeError, match="skorch neural net"):
        egl_pp.select(LinearRegression().fit(X_lab, y_lab), X_pool, 1, **kw)
    with pytest.raises(ValueError, match=r"n_instances must be in \[1, 60\]"):
        egl_pp.select(fitted_net, X_pool, 61, **kw)
    bad = X_pool.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity|NaN"):
        egl_pp.select(fitted_net, bad, 1, **kw)
    with pytest.raises(ValueError, match="same dimension"):
        EGLPlusPlusQuery(embedding=lambda X: np.ones((len(X), len(X)))).select(
            fitted_net, X_pool, 1, **kw
        )
    with pytest.raises(ValueError, match="target must be one of"):
        EGLPlusPlusQuery(target="mean").select(fitted_net, X_pool, 1, **kw)
    with pytest.raises(ValueError, match="perplexity must be"):
        EGLPlusPlusQuery(perplexity=-1).select(fitted_net, X_pool, 1, **kw)
    with pytest.raises(TypeError, match=r"n_neighbors must be an int .* got 2.5"):
        EGLPlusPlusQuery(n_neighbors=2.5).select(fitted_net, X_pool, 1, **kw)
    with pytest.raises(ValueError, match="needs the labelled set"):
        egl_pp.select(fitted_net, X_pool, 1)


# -- the stacked hourglass -----------------------------------------------------


@pytest.fixture(scope="module")
def pose():
    from sk_eglpp.datasets import make_pose_dataset

    X, y = make_pose_dataset(n_samples=70, image_size=32, random_state=0)
    return X, y.astype(np.float32)


def _hourglass(**kw):
    from sk_eglpp import HourglassRegressor

    params = dict(
        module__n_features=8,
        module__n_stacks=2,
        module__depth=2,
        max_epochs=2,
        batch_size=8,
        random_state=0,
    )
    params.update(kw)
    return HourglassRegressor(**params)


@pytest.fixture(scope="module")
def fitted_hourglass(pose):
    X, y = pose
    return _hourglass().fit(X[:20], y[:20])


def test_hourglass_scores_equal_per_pair_loop(pose, fitted_hourglass):
    """Per-pair reference: the regressor's own training loss, one backward per pair."""
    X, y = pose
    net = fitted_hourglass
    X_lab, y_lab, X_pool = X[:20], y[:20], X[20:28]
    # batch_size=1 as in the reference: in float32 a batched forward may round a
    # max-pool near-tie differently (see test_hourglass_batched_exact_in_float64)
    strategy = EGLPlusPlusQuery(n_neighbors=4, perplexity=3.0, batch_size=1)
    scores = strategy.score(net, X_pool, X_labelled=X_lab, y_labelled=y_lab)
    expected_norms = per_pair_norms(
        net.module_, X_pool, strategy.neighbors_,
        lambda out, i, j: net.get_loss(out, torch.as_tensor(y_lab[j : j + 1])),
    )
    np.testing.assert_allclose(strategy.pair_gradient_norms_, expected_norms, rtol=1e-4)
    np.testing.assert_allclose(
        scores, (strategy.probabilities_ * expected_norms).sum(1), rtol=1e-4
    )
    # the neighbours come from the hourglass embeddings
    # (sklearn's routine drops column i when n_cols >= n_rows: give it 30 rows)
    H_pool, H_lab = net.embed(X[20:50]), net.embed(X_lab)
    d = ((H_pool[:, None] - H_lab[None]) ** 2).sum(-1)
    P = _binary_search_perplexity(d.astype(np.float32), 3.0, 0)[:8]
    np.testing.assert_allclose(
        strategy.probabilities_,
        np.take_along_axis(P, strategy.neighbors_, axis=1),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        strategy.probabilities_, -np.sort(-P, axis=1)[:, :4], atol=1e-5
    )


def test_hourglass_batched_exact_in_float64(pose, fitted_hourglass):
    """Batching inputs changes nothing but float32 rounding."""
    import copy

    from sk_eglpp.gradients import squared_gradient_norms

    X, y = pose
    module = copy.deepcopy(fitted_hourglass.module_).double()
    bank, weights = fitted_hourglass.render_targets(y[:20])
    idx = np.random.default_rng(0).integers(0, 20, size=(9, 5))
    one = squared_gradient_norms(
        module,
        X[20:29].astype(np.float64),
        bank.astype(np.float64),
        idx,
        weight_bank=weights.astype(np.float64),
        batch_size=1,
    )
    many = squared_gradient_norms(
        module,
        X[20:29].astype(np.float64),
        bank.astype(np.float64),
        idx,
        weight_bank=weights.astype(np.float64),
        batch_size=4,
    )
    np.testing.assert_allclose(many, one, rtol=1e-10)


def _pose_loop(learner_cls, pose, n_cycles=3, budget=4):
    X, y = pose
    learner = learner_cls(
        estimator=_hourglass(warm_start=True, max_epochs=1),
        query_strategy=EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0),
        X_training=X[:20],
        y_training=y[:20],
        force_all_finite=False,
    )
    pool, y_pool = X[20:], y[20:]
    seen = []
    for _ in range(n_cycles):
        idx, X_query = learner.query(pool, n_instances=budget)
        idx = np.asarray(idx)
        assert len(set(idx.tolist())) == budget and idx.max() < len(pool)
        np.testing.assert_array_equal(X_query, pool[idx])
        learner.teach(X_query, y_pool[idx])
        seen.append(idx.tolist())
        pool, y_pool = np.delete(pool, idx, axis=0), np.delete(y_pool, idx, axis=0)
    assert learner.X_training.shape[0] == 20 + n_cycles * budget
    return seen


def test_full_modal_loop_with_hourglass(pose):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = _pose_loop(ActiveLearner, pose)
    assert _pose_loop(ActiveLearner, pose) == first  # same random_state, same picks


_MODAL_0421_POSE = """
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import modAL, numpy as np, torch
torch.set_num_threads(1)
import test_egl_pp as t
from sk_eglpp import ActiveLearner
from sk_eglpp.datasets import make_pose_dataset

X, y = make_pose_dataset(n_samples=70, image_size=32, random_state=0)
calls = []
original = t.EGLPlusPlusQuery._query  # what select and __call__ run
def counted(self, *a, **k):
    calls.append(1)
    return original(self, *a, **k)
t.EGLPlusPlusQuery._query = counted
with warnings.catch_warnings():
    warnings.simplefilter("error")
    seen = t._pose_loop(ActiveLearner, (X, y.astype(np.float32)))
print(json.dumps({"modal": modAL.__file__, "calls": len(calls), "seen": seen}))
"""


def test_full_modal_0421_loop_with_hourglass(pose, modal_0421_path, tmp_path):
    import json
    import os
    import subprocess
    import sys

    script = tmp_path / "loop.py"
    script.write_text(_MODAL_0421_POSE)
    proc = subprocess.run(
        [sys.executable, str(script), modal_0421_path, os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["modal"].startswith(modal_0421_path)
    assert out["calls"] == 3  # one strategy call per query
    assert out["seen"] == _pose_loop(ActiveLearner, pose)


def test_modal_own_learner():
    """modAL's own ActiveLearner: query works; teach only where sklearn < 1.8."""
    import modAL.models
    import sklearn
    from sklearn.utils.fixes import parse_version

    from sk_eglpp.datasets import make_pose_dataset

    # modAL's own teach rejects NaN targets: every joint visible
    X, y = make_pose_dataset(
        n_samples=40, image_size=32, occlusion=0.0, truncation=0.0, random_state=0
    )
    y = y.astype(np.float32)
    learner = modAL.models.ActiveLearner(
        estimator=_hourglass(max_epochs=1),
        query_strategy=EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0),
        X_training=X[:15],
        y_training=y[:15],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idx, X_query = learner.query(X[15:], n_instances=3)
    assert len(set(np.asarray(idx).tolist())) == 3
    if parse_version(sklearn.__version__) >= parse_version("1.8"):
        with pytest.raises(TypeError, match="force_all_finite"):
            learner.teach(X_query, y[15:][idx])
    else:  # pragma: no cover - older scikit-learn
        learner.teach(X_query, y[15:][idx])
        assert learner.X_training.shape[0] == 18


@pytest.mark.parametrize(
    "n_jobs, error", [("x", TypeError), (0, ValueError), (2.0, TypeError)]
)
def test_n_jobs_checked_before_the_gradient_stage(friedman, fitted_net, n_jobs,
                                                  error):
    X_lab, y_lab, X_pool = friedman
    strategy = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0, n_jobs=n_jobs)
    with pytest.raises(error, match=r"n_jobs must be a non-zero int"):
        strategy.select(fitted_net, X_pool[:5], 2, X_labelled=X_lab,
                        y_labelled=y_lab)


# -- target="output": the EGL++ authors' default configuration ----------------


def test_output_target_mlp_equals_reference(friedman, fitted_net):
    """Targets are the net's own raw outputs for the neighbours (eval mode)."""
    X_lab, y_lab, X_pool = friedman
    strategy = EGLPlusPlusQuery(n_neighbors=5, perplexity=4.0, target="output")
    scores = strategy.score(fitted_net, X_pool, X_labelled=X_lab, y_labelled=y_lab)
    module = fitted_net.module_.eval()
    with torch.no_grad():
        outputs = module(torch.as_tensor(X_lab)).numpy()
    expected = _reference_scores(
        fitted_net, X_pool, X_lab, y_lab, 5, 4.0, targets=outputs
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-4)
    # not the labels: the scores differ from target="label"
    label = EGLPlusPlusQuery(n_neighbors=5, perplexity=4.0).score(
        fitted_net, X_pool, X_labelled=X_lab, y_labelled=y_lab
    )
    assert not np.allclose(scores, label, rtol=1e-2)


def test_output_target_hourglass_per_stack_loop(pose, fitted_hourglass):
    """Every stack's heatmaps against the neighbour's heatmaps of the same stack.

    Reference: a plain autograd loop, one backward per pair, loss the mean
    squared error of each stack summed over stacks; the labels are NaN-free
    or not, they play no part.
    """
    X, y = pose
    net = fitted_hourglass
    X_lab, y_lab, X_pool = X[:20], y[:20].copy(), X[20:26]
    y_lab[:, :4] = np.nan  # annotations must not matter for target="output"
    strategy = EGLPlusPlusQuery(
        n_neighbors=4, perplexity=3.0, batch_size=1, target="output"
    )
    scores = strategy.score(net, X_pool, X_labelled=X_lab, y_labelled=y_lab)
    module = net.module_
    module.eval()
    with torch.no_grad():
        neighbour_out = [
            [h.clone() for h in module(torch.as_tensor(X_lab[j : j + 1]))]
            for j in range(len(X_lab))
        ]

    def loss(heatmaps, i, j):
        assert len(heatmaps) == 2
        return sum(
            torch.nn.functional.mse_loss(h, t)
            for h, t in zip(heatmaps, neighbour_out[j], strict=True)
        )

    expected = per_pair_norms(module, X_pool, strategy.neighbors_, loss)
    np.testing.assert_allclose(strategy.pair_gradient_norms_, expected, rtol=1e-4)
    np.testing.assert_allclose(
        scores, (strategy.probabilities_ * expected).sum(1), rtol=1e-4
    )


def test_output_target_follows_predict_heatmaps(pose, fitted_hourglass):
    """The targets are what predict_heatmaps(all_stacks=True) returns."""
    from sk_eglpp._network import as_module_input
    from sk_eglpp.query._egl_pp import _output_targets

    X, _ = pose
    module = fitted_hourglass.module_
    targets, weights = _output_targets(
        module, as_module_input(X[:10], module), 3, "cpu"
    )
    stacks = fitted_hourglass.predict_heatmaps(X[:10], all_stacks=True)
    np.testing.assert_allclose(targets, np.moveaxis(stacks, 0, 1), atol=1e-6)
    n_elements = np.prod(stacks.shape[2:])
    np.testing.assert_allclose(weights, 1.0 / n_elements)
    assert weights.shape == (10, 1, 1, 1, 1)


def test_perplexity_lowered_for_small_labelled_sets(friedman, fitted_net):
    """perplexity > (n_labelled - 1) / 3: that limit is used, with a warning."""
    X_lab, y_lab, X_pool = friedman  # 30 labelled: limit 29 / 3
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    with pytest.warns(UserWarning, match=r"using perplexity=9\.667"):
        default = EGLPlusPlusQuery(n_neighbors=5, perplexity=20.0)
        scores = default.score(fitted_net, X_pool, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit = EGLPlusPlusQuery(n_neighbors=5, perplexity=29 / 3)
        expected = explicit.score(fitted_net, X_pool, **kw)
    np.testing.assert_array_equal(scores, expected)
    # the rows are not uniform over the labelled set
    assert np.ptp(default.probabilities_, axis=1).min() > 0
    # a single labelled sample: perplexity 1 (the only neighbour, probability 1)
    with pytest.warns(UserWarning, match="using perplexity=1"):
        one = EGLPlusPlusQuery(n_neighbors=1)
        one.score(fitted_net, X_pool, X_labelled=X_lab[:1], y_labelled=y_lab[:1])
    np.testing.assert_allclose(one.probabilities_, 1.0)


# -- the strategy's own checks on the hourglass fitted for every strategy ----------


def test_fewer_labels_than_neighbours_warns_and_uses_all(
    fitted_query_hourglass, occluded_pose
):
    X, y = occluded_pose
    strategy = EGLPlusPlusQuery(n_neighbors=30, perplexity=2.0, random_state=0)
    with pytest.warns(UserWarning, match="n_neighbors=30 is larger than the labelled"):
        idx = strategy.select(fitted_query_hourglass, X[12:20], 2,
                              X_labelled=X[:3], y_labelled=y[:3])
    assert len(set(idx.tolist())) == 2


def test_rejects_targets_of_the_wrong_width(fitted_query_hourglass, occluded_pose):
    X, y = occluded_pose
    strategy = EGLPlusPlusQuery(n_neighbors=4, perplexity=2.0, random_state=0)
    X_lab, y_lab, X_pool = X[:12], y[:12], X[12:20]
    with pytest.raises(ValueError, match="shape"):
        strategy.select(fitted_query_hourglass, X_pool, 1, X_labelled=X_lab,
                        y_labelled=y_lab[:, :6])
    with pytest.raises(ValueError, match=r"y of shape .* even number .*\(12, 5\)"):
        strategy.select(fitted_query_hourglass, X_pool, 1, X_labelled=X_lab,
                        y_labelled=y_lab[:, :5])


class FailingHourglass(StackedHourglass):
    """Raises inside the gradient pass (the joblib task) when ``fail`` is set."""

    fail = False

    def forward(self, x, return_features=False):
        if self.fail and torch.is_grad_enabled():
            raise ArithmeticError(f"failing on a batch of {x.shape[0]}")
        return super().forward(x, return_features=return_features)


@pytest.mark.parametrize("n_jobs", (1, 2))
def test_error_in_a_worker_surfaces_as_the_original_error(
    occluded_pose, small_hourglass, n_jobs
):
    X, y = occluded_pose
    failing = small_hourglass(module=FailingHourglass, module__depth=2,
                              module__dropout=0.2)
    failing.fit(X[:12], y[:12])
    failing.module_.fail = True
    strategy = EGLPlusPlusQuery(n_neighbors=4, perplexity=2.0, random_state=0,
                                batch_size=2, n_jobs=n_jobs)
    kwargs = dict(X_labelled=X[:12], y_labelled=y[:12])
    with joblib.parallel_config(backend="threading"):  # no process start-up
        with pytest.raises(ArithmeticError, match="failing on a batch of"):
            strategy.select(failing, X[12:20], 2, **kwargs)
        failing.module_.fail = False  # and the next query works normally
        assert np.isfinite(strategy.score(failing, X[12:20], **kwargs)).all()
