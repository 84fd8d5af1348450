"""Batch modes of the score-based strategies, against slow references."""

import math

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetRegressor

from sk_eglpp import ActiveLearner
from sk_eglpp._validation import top_indices
from sk_eglpp.query import (
    EGLPlusPlusQuery,
    EMCMQuery,
    LinearEGLQuery,
    information_density,
    select_batch,
)
from sk_eglpp.query._batch import diversity_scale

# -- slow references ---------------------------------------------------------


def _dist(a, b):
    return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b, strict=True)))


def _ref_scale(Z, Z_lab):
    nearest = [min(_dist(z, w) for w in Z_lab) for z in Z]
    return float(np.median(nearest))


def _ref_diverse(u, Z, Z_lab, B):
    s = _ref_scale(Z, Z_lab)
    chosen, gains = [], []
    for _ in range(B):
        best, best_gain = None, -math.inf
        for i in range(len(u)):
            if i in chosen:
                continue
            w = 1.0
            for j in chosen:
                w = min(w, 1.0 - math.exp(-_dist(Z[i], Z[j]) ** 2 / (2 * s * s)))
            if u[i] * w > best_gain:
                best, best_gain = i, u[i] * w
        chosen.append(best)
        gains.append(best_gain)
    return chosen, gains


def _ref_kmeanspp(u, Z, B, seed):
    rng = np.random.RandomState(seed)
    chosen = []
    for b in range(B):
        weights = []
        for i in range(len(u)):
            if i in chosen:
                weights.append(0.0)
            elif b == 0:
                weights.append(u[i])
            else:
                weights.append(u[i] * min(_dist(Z[i], Z[j]) ** 2 for j in chosen))
        total = math.fsum(weights)
        r = rng.random_sample() * total
        acc = 0.0
        for i, w in enumerate(weights):
            acc += w
            if acc > r:
                chosen.append(i)
                break
    return chosen


# -- select_batch -------------------------------------------------------------


def test_top_is_top_indices(rng):
    u = rng.random(50)
    u[[3, 7]] = u.max()  # a tie: lower index first
    idx, util = select_batch(u, None, 10, mode="top")
    np.testing.assert_array_equal(idx, top_indices(u, 10))
    np.testing.assert_array_equal(util, u[idx])


@pytest.mark.parametrize("seed", range(4))
def test_diverse_equals_reference(seed):
    rng = np.random.default_rng(seed)
    Z, Z_lab = rng.normal(size=(30, 3)), rng.normal(size=(8, 3))
    u = rng.random(30)
    idx, util = select_batch(u, Z, 12, mode="diverse", Z_labelled=Z_lab,
                             chunk_size=7)
    ref, gains = _ref_diverse(u, Z, Z_lab, 12)
    assert idx.tolist() == ref
    np.testing.assert_allclose(util, gains, rtol=1e-12)
    assert len(set(idx.tolist())) == 12


@pytest.mark.parametrize("seed", range(4))
def test_kmeanspp_equals_reference(seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(25, 2))
    u = rng.random(25)
    idx, util = select_batch(u, Z, 10, mode="kmeans++", random_state=seed,
                             chunk_size=4)
    assert idx.tolist() == _ref_kmeanspp(u, Z, 10, seed)
    np.testing.assert_array_equal(util, u[idx])


def test_kmeanspp_first_pick_follows_the_utilities():
    u = np.array([1.0, 3.0, 0.0, 6.0])
    Z = np.arange(4.0)[:, None]
    rng = np.random.RandomState(0)
    picks = [select_batch(u, Z, 1, mode="kmeans++", random_state=rng)[0][0]
             for _ in range(4000)]
    freq = np.bincount(picks, minlength=4) / 4000
    np.testing.assert_allclose(freq, u / u.sum(), atol=0.03)
    assert freq[2] == 0.0


def test_kmeanspp_deterministic_for_a_seed_and_unique(rng):
    Z, u = rng.normal(size=(60, 4)), rng.random(60)
    a = select_batch(u, Z, 30, mode="kmeans++", random_state=3)[0]
    b = select_batch(u, Z, 30, mode="kmeans++", random_state=3)[0]
    c = select_batch(u, Z, 30, mode="kmeans++", random_state=4)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(set(a.tolist())) == 30


@pytest.mark.parametrize("mode", ["diverse", "kmeans++"])
def test_whole_pool_and_duplicates(mode):
    # all samples identical, some utilities zero: still B unique indices
    Z = np.zeros((6, 2))
    u = np.array([0.0, 1.0, 0.0, 2.0, 0.0, 0.0])
    idx, _ = select_batch(u, Z, 6, mode=mode, Z_labelled=np.zeros((2, 2)),
                          random_state=0)
    assert sorted(idx.tolist()) == list(range(6))


def test_diverse_prefers_distinct_samples():
    # two clusters; the best three utilities are all in the first one
    Z = np.array([[0.0], [0.01], [0.02], [10.0], [10.01]])
    u = np.array([1.0, 0.99, 0.98, 0.5, 0.49])
    top = select_batch(u, Z, 2, mode="top")[0]
    diverse = select_batch(u, Z, 2, mode="diverse", Z_labelled=np.array([[5.0]]))[0]
    assert top.tolist() == [0, 1]
    assert diverse.tolist() == [0, 3]


def test_sparse_space_equals_dense(rng):
    Z = rng.normal(size=(40, 5)) * (rng.random((40, 5)) < 0.4)
    Z_lab = rng.normal(size=(6, 5))
    u = rng.random(40)
    for mode in ("diverse", "kmeans++"):
        dense = select_batch(u, Z, 8, mode=mode, Z_labelled=Z_lab, random_state=1)
        sp = select_batch(u, sparse.csr_matrix(Z), 8, mode=mode,
                          Z_labelled=sparse.csr_matrix(Z_lab), random_state=1)
        np.testing.assert_array_equal(dense[0], sp[0])
        np.testing.assert_allclose(dense[1], sp[1], rtol=1e-10)


def test_bad_utilities_and_mode():
    Z = np.zeros((3, 1))
    with pytest.raises(ValueError, match="non-negative utilities.*-1"):
        select_batch(np.array([1.0, -1.0, 0.0]), Z, 2, mode="diverse")
    with pytest.raises(ValueError, match=r"^select_batch: mode must be one of"):
        select_batch(np.ones(3), Z, 2, mode="spread")
    with pytest.raises(TypeError, match=r"^select_batch: mode must be .*got 3 \(int\)"):
        select_batch(np.ones(3), Z, 2, mode=3)


def test_scale_and_density_against_brute_force(rng):
    Z, Z_lab = rng.normal(size=(20, 3)), rng.normal(size=(5, 3))
    assert diversity_scale(Z, Z_lab) == pytest.approx(_ref_scale(Z, Z_lab))
    s = _ref_scale(Z, Z_lab)
    ref = [
        np.mean([math.exp(-_dist(a, b) ** 2 / (2 * s * s))
                 for j, b in enumerate(Z) if j != i])
        for i, a in enumerate(Z)
    ]
    np.testing.assert_allclose(information_density(Z, Z_lab), ref, rtol=1e-9)
    assert information_density(Z[:1], Z_lab).tolist() == [1.0]
    # without a labelled set: the median nearest-other-sample distance
    nearest = [min(_dist(a, b) for j, b in enumerate(Z) if j != i)
               for i, a in enumerate(Z)]
    assert diversity_scale(Z) == pytest.approx(np.median(nearest))


# -- the strategies -----------------------------------------------------------


@pytest.fixture(scope="module")
def linear_problem():
    rng = np.random.default_rng(1)
    X = rng.lognormal(size=(120, 4))
    y = X @ np.array([1.0, -0.5, 0.2, 0.0]) + rng.normal(size=120)
    model = make_pipeline(StandardScaler(), Ridge()).fit(X[:15], y[:15])
    return model, X[15:], X[:15], y[:15]


@pytest.mark.parametrize("cls", [LinearEGLQuery, EMCMQuery])
def test_linear_top_is_unchanged(cls, linear_problem):
    model, X_pool, X_lab, y_lab = linear_problem
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    plain = cls(random_state=0)
    scores = plain.score(model, X_pool, **kw)
    idx = cls(random_state=0, batch="top").select(model, X_pool, 9, **kw)
    np.testing.assert_array_equal(idx, top_indices(scores, 9))
    np.testing.assert_array_equal(idx, plain.select(model, X_pool, 9, **kw))


@pytest.mark.parametrize("cls", [LinearEGLQuery, EMCMQuery])
@pytest.mark.parametrize("mode", ["diverse", "kmeans++"])
def test_linear_batch_modes_use_the_final_step_space(cls, mode, linear_problem):
    model, X_pool, X_lab, y_lab = linear_problem
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    strategy = cls(random_state=2, batch=mode)
    idx = strategy.select(model, X_pool, 9, **kw)
    scaler = model[0]
    expected, _ = select_batch(
        cls(random_state=2).score(model, X_pool, **kw),
        scaler.transform(X_pool),
        9,
        mode=mode,
        Z_labelled=scaler.transform(X_lab),
        random_state=2,
    )
    np.testing.assert_array_equal(idx, expected)
    assert len(set(idx.tolist())) == 9


def test_linear_density_weight(linear_problem):
    model, X_pool, X_lab, y_lab = linear_problem
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    plain = LinearEGLQuery(random_state=0).score(model, X_pool, **kw)
    Z, Z_lab = model[0].transform(X_pool), model[0].transform(X_lab)
    rho = information_density(Z, Z_lab)
    for beta in (0.5, 1.0, 2.0):
        weighted = LinearEGLQuery(random_state=0, density=beta).score(
            model, X_pool, **kw
        )
        np.testing.assert_allclose(weighted, plain * rho**beta, rtol=1e-12)
    # an outlier far from the pool: first for Eq. 6, not with the weight
    X_out = np.vstack([X_pool, X_pool.max(axis=0) * 3.0])
    plain = LinearEGLQuery(random_state=0).score(model, X_out, **kw)
    weighted = LinearEGLQuery(random_state=0, density=1.0).score(model, X_out, **kw)
    assert int(np.argmax(plain)) == len(X_out) - 1
    assert int(np.argmax(weighted)) != len(X_out) - 1


def test_linear_batch_modes_without_a_labelled_set(linear_problem):
    # a fitted BootstrapLinearRegressor needs no labelled set: the scale of
    # "diverse" then comes from the pool itself
    from sk_eglpp.models import BootstrapLinearRegressor

    _, X_pool, X_lab, y_lab = linear_problem
    model = BootstrapLinearRegressor(n_estimators=4, random_state=0).fit(X_lab, y_lab)
    scores = LinearEGLQuery().score(model, X_pool)
    for mode in ("diverse", "kmeans++"):
        idx = LinearEGLQuery(batch=mode, random_state=5).select(model, X_pool, 6)
        expected, _ = select_batch(scores, X_pool, 6, mode=mode, random_state=5)
        np.testing.assert_array_equal(idx, expected)


def test_linear_numpy_scalar_density(linear_problem):
    model, X_pool, X_lab, y_lab = linear_problem
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    a = LinearEGLQuery(random_state=0, density=np.float32(2)).score(model, X_pool, **kw)
    b = LinearEGLQuery(random_state=0, density=2.0).score(model, X_pool, **kw)
    np.testing.assert_array_equal(a, b)


def test_linear_sparse_pool_with_batch_modes(linear_problem):
    _, X_pool, X_lab, y_lab = linear_problem
    model = LinearRegression().fit(X_lab, y_lab)
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    for mode in ("diverse", "kmeans++"):
        q = LinearEGLQuery(random_state=0, batch=mode, density=1.0)
        dense = q.select(model, X_pool, 5, **kw)
        sp = q.select(model, sparse.csr_matrix(X_pool), 5, **kw)
        np.testing.assert_array_equal(dense, sp)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"batch": "greedy"}, ValueError, "batch must be one of"),
        ({"batch": 3}, TypeError, "batch must be"),
        ({"density": -1.0}, ValueError, r"density must be a finite real number in \["),
        ({"density": "high"}, TypeError, "density must be a finite real number"),
    ],
)
def test_linear_bad_parameters(params, error, match, linear_problem):
    model, X_pool, X_lab, y_lab = linear_problem
    with pytest.raises(error, match=match):
        LinearEGLQuery(**params).select(
            model, X_pool, 3, X_labelled=X_lab, y_labelled=y_lab
        )


# -- EGL++ --------------------------------------------------------------------


@pytest.fixture(scope="module")
def net_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 3)).astype(np.float32)
    y = (X @ [1.0, -2.0, 0.5]).astype(np.float32).reshape(-1, 1)
    torch.manual_seed(0)
    net = NeuralNetRegressor(
        torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                            torch.nn.Linear(8, 1)),
        max_epochs=5, train_split=None, verbose=0,
    ).fit(X[:25], y[:25])
    return net, X[25:], X[:25], y[:25]


def test_egl_pp_top_is_bit_identical(net_problem):
    net, X_pool, X_lab, y_lab = net_problem
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    plain = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0)
    scores = plain.score(net, X_pool, **kw)
    top = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0, batch="top")
    idx = top.select(net, X_pool, 10, **kw)
    np.testing.assert_array_equal(idx, top_indices(scores, 10))
    np.testing.assert_array_equal(top.scores_, scores)
    assert not hasattr(top, "_space")  # private selection data stays private


@pytest.mark.parametrize("mode", ["diverse", "kmeans++"])
def test_egl_pp_batch_modes_in_the_embedding_space(mode, net_problem):
    net, X_pool, X_lab, y_lab = net_problem
    kw = dict(X_labelled=X_lab, y_labelled=y_lab)
    strategy = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0, batch=mode,
                                random_state=7)
    idx = strategy.select(net, X_pool, 10, **kw)
    # a net without embed: the flattened inputs are its embeddings
    expected, _ = select_batch(strategy.scores_, X_pool.astype(np.float64), 10,
                               mode=mode, Z_labelled=X_lab.astype(np.float64),
                               random_state=7)
    np.testing.assert_array_equal(idx, expected)
    again = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0, batch=mode,
                             random_state=7).select(net, X_pool, 10, **kw)
    np.testing.assert_array_equal(idx, again)


def test_egl_pp_bad_batch_fails_before_scoring(net_problem, monkeypatch):
    net, X_pool, X_lab, y_lab = net_problem
    import sk_eglpp.query._egl_pp as module

    def fail(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("scored before the parameters were checked")

    monkeypatch.setattr(module, "squared_gradient_norms", fail)
    with pytest.raises(ValueError, match=r"batch must be one of \['top', 'diverse'"):
        EGLPlusPlusQuery(batch="spread").select(
            net, X_pool, 2, X_labelled=X_lab, y_labelled=y_lab
        )


@pytest.mark.parametrize("mode", ["diverse", "kmeans++"])
def test_modal_loop_with_batch_modes(mode, net_problem):
    net, X_pool, X_lab, y_lab = net_problem
    learner = ActiveLearner(
        estimator=net,
        query_strategy=EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0, batch=mode,
                                        random_state=0),
        X_training=X_lab,
        y_training=y_lab,
    )
    result = learner.query(X_pool, n_instances=4)
    idx = result[0]
    assert len(set(np.asarray(idx).tolist())) == 4
