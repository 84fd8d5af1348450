"""Tests of CoreSetQuery: k-center greedy against a brute-force reference."""

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

import sk_eglpp.query._coreset as coreset_module
from sk_eglpp import ActiveLearner, CoreSetQuery, coreset
from sk_eglpp._testing import brute_force_k_center
from sk_eglpp.query import STRATEGIES, get_strategy


class Embedder:
    """Stand-in for a fitted network exposing ``embed``."""

    def __init__(self, W):
        self.W = W

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def embed(self, X):
        return np.asarray(X).reshape(len(X), -1) @ self.W


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "n_pool, n_lab, d, n_instances", [(40, 5, 3, 10), (25, 1, 7, 25), (60, 12, 2, 1)]
)
def test_matches_brute_force(seed, n_pool, n_lab, d, n_instances):
    rng = np.random.default_rng(seed)
    X_pool, X_lab = rng.normal(size=(n_pool, d)), rng.normal(size=(n_lab, d))
    model = LinearRegression().fit(X_lab, np.zeros(n_lab))
    strategy = CoreSetQuery(chunk_size=7)
    idx = strategy.select(
        model, X_pool, n_instances, X_labelled=X_lab, y_labelled=np.zeros(n_lab)
    )
    ref_idx, ref_radius = brute_force_k_center(X_pool, X_lab, n_instances)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(strategy.covering_radius_, ref_radius, rtol=1e-12)
    assert len(set(idx.tolist())) == n_instances


def test_without_labelled_set_first_pick_is_random_state_controlled():
    rng = np.random.default_rng(3)
    X_pool = rng.normal(size=(30, 4))
    model = Embedder(np.eye(4))
    a = CoreSetQuery(random_state=7).select(model, X_pool, 6)
    b = CoreSetQuery(random_state=7).select(model, X_pool, 6)
    first = check_random_state(7).randint(30)
    ref_idx, ref_radius = brute_force_k_center(X_pool, [], 6, first=first)
    np.testing.assert_array_equal(a, ref_idx)
    np.testing.assert_array_equal(a, b)
    strategy = CoreSetQuery(random_state=7)
    strategy.select(model, X_pool, 6)
    np.testing.assert_allclose(strategy.covering_radius_, ref_radius, rtol=1e-12)
    assert np.isinf(strategy.pick_distances_[0])
    firsts = {
        CoreSetQuery(random_state=s).select(model, X_pool, 1)[0] for s in range(8)
    }
    assert len(firsts) > 1


def test_chunk_size_changes_nothing_and_bounds_distance_blocks(monkeypatch):
    rng = np.random.default_rng(4)
    X_pool, X_lab = rng.normal(size=(50, 3)), rng.normal(size=(9, 3))
    model = LinearRegression().fit(X_lab, np.zeros(9))
    shapes = []
    real_cdist = coreset_module.cdist

    def recording_cdist(A, B):
        shapes.append((len(A), len(B)))
        return real_cdist(A, B)

    monkeypatch.setattr(coreset_module, "cdist", recording_cdist)
    results = []
    for chunk_size in (1, 8, 1000):
        shapes.clear()
        s = CoreSetQuery(chunk_size=chunk_size)
        results.append(
            s.select(model, X_pool, 5, X_labelled=X_lab, y_labelled=np.zeros(9))
        )
        # every block against the labelled set has at most chunk_size rows; the
        # incremental updates are n_pool x 1
        for rows, cols in shapes:
            assert (cols == 9 and rows <= chunk_size) or cols == 1
        assert sum(cols == 1 for _, cols in shapes) == 5
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_score_is_distance_to_nearest_labelled_sample():
    rng = np.random.default_rng(5)
    X_pool, X_lab = rng.normal(size=(20, 3)), rng.normal(size=(4, 3))
    model = LinearRegression().fit(X_lab, np.zeros(4))
    scores = CoreSetQuery(chunk_size=3).score(
        model, X_pool, X_labelled=X_lab, y_labelled=np.zeros(4)
    )
    expected = [min(math.dist(p, q) for q in X_lab) for p in X_pool]
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    assert scores.shape == (20,)
    assert np.all(np.isinf(CoreSetQuery().score(Embedder(np.eye(3)), X_pool)))


def test_uses_embed_and_embedding_callable():
    rng = np.random.default_rng(6)
    X_pool = rng.normal(size=(30, 2, 3, 3)).astype(np.float32)  # image-like
    X_lab = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    y_lab = np.zeros((4, 2))
    W = rng.normal(size=(18, 5))
    model = Embedder(W)
    idx = CoreSetQuery().select(model, X_pool, 4, X_labelled=X_lab, y_labelled=y_lab)
    ref, _ = brute_force_k_center(
        model.embed(X_pool).astype(np.float64),
        model.embed(X_lab).astype(np.float64), 4,
    )
    np.testing.assert_array_equal(idx, ref)

    # an explicit embedding takes precedence over the model's embed
    def first_two(X):
        return np.asarray(X).reshape(len(X), -1)[:, :2]

    idx2 = CoreSetQuery(embedding=first_two).select(
        model, X_pool, 4, X_labelled=X_lab, y_labelled=y_lab
    )
    ref2, _ = brute_force_k_center(
        first_two(X_pool).astype(np.float64), first_two(X_lab).astype(np.float64), 4
    )
    np.testing.assert_array_equal(idx2, ref2)


def test_pipeline_works_in_the_space_of_the_final_step():
    rng = np.random.default_rng(7)
    X_pool = rng.normal(size=(30, 2)) * [1.0, 100.0]
    X_lab = rng.normal(size=(5, 2)) * [1.0, 100.0]
    y_lab = rng.normal(size=5)
    pipe = make_pipeline(StandardScaler(), LinearRegression()).fit(X_lab, y_lab)
    idx = CoreSetQuery().select(pipe, X_pool, 5, X_labelled=X_lab, y_labelled=y_lab)
    scaler = pipe[0]
    ref, _ = brute_force_k_center(scaler.transform(X_pool), scaler.transform(X_lab), 5)
    np.testing.assert_array_equal(idx, ref)


def test_duplicates_never_selected_twice():
    X_pool = np.zeros((6, 2))
    X_lab = np.zeros((2, 2))
    model = LinearRegression().fit(X_lab, np.zeros(2))
    strategy = CoreSetQuery()
    idx = strategy.select(model, X_pool, 6, X_labelled=X_lab, y_labelled=np.zeros(2))
    assert sorted(idx.tolist()) == list(range(6))
    assert strategy.covering_radius_ == 0.0


def test_modal_loop_three_cycles():
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    learner = ActiveLearner(
        LinearRegression(), coreset, X_training=X[:5], y_training=y[:5]
    )
    pool = np.arange(5, 60)
    seen = set()
    for _ in range(3):
        idx, X_sel = learner.query(X[pool], n_instances=4)
        assert len(set(idx.tolist())) == 4
        assert np.all((idx >= 0) & (idx < len(pool)))
        np.testing.assert_array_equal(X_sel, X[pool][idx])
        ref, _ = brute_force_k_center(X[pool], learner.X_training, 4)
        np.testing.assert_array_equal(idx, ref)
        assert not seen & set(pool[idx].tolist())
        seen |= set(pool[idx].tolist())
        learner.teach(X[pool][idx], y[pool][idx])
        pool = np.delete(pool, idx)
    assert learner.X_training.shape == (17, 3)


def test_params_clone_and_registry():
    s = CoreSetQuery(chunk_size=3, random_state=1)
    assert clone(s).get_params() == {
        "embedding": None, "chunk_size": 3, "random_state": 1
    }
    assert STRATEGIES["coreset"] is coreset
    assert isinstance(get_strategy("coreset"), CoreSetQuery)


@pytest.mark.parametrize("n_instances", [0, 11])
def test_bad_n_instances(n_instances):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"n_instances must be in \[1, 10\]"):
        CoreSetQuery().select(Embedder(np.eye(2)), X, n_instances)


def test_bad_inputs():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(10, 2))
    model = LinearRegression().fit(X, np.zeros(10))
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CoreSetQuery().select(model, bad, 2)
    with pytest.raises(ValueError, match="has no embed method"):
        CoreSetQuery().select(model, rng.normal(size=(10, 1, 2, 2)), 2)
    with pytest.raises(ValueError, match=r"return an array of shape \(10, n_dims\)"):
        CoreSetQuery(embedding=lambda X: np.zeros(len(X))).select(model, X, 2)
    with pytest.raises(ValueError, match="non-finite"):
        CoreSetQuery(embedding=lambda X: np.full((len(X), 2), np.nan)).select(
            model, X, 2
        )
    with pytest.raises(TypeError, match="embedding must be a callable or None"):
        CoreSetQuery(embedding="embed").select(model, X, 2)
    with pytest.raises(ValueError, match=r"chunk_size must be an int .* got 0"):
        CoreSetQuery(chunk_size=0).select(model, X, 2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        CoreSetQuery().select(model, X, 2, foo=1)


# -- with the stacked-hourglass regressor ------------------------------------


def test_hourglass_picks_equal_brute_force_on_its_embeddings(
    small_pose, fitted_small_hourglass
):
    X, y = small_pose
    net = fitted_small_hourglass
    idx = coreset(net, X[8:], n_instances=4, X_labelled=X[:8], y_labelled=y[:8])
    ref, _ = brute_force_k_center(
        net.embed(X[8:]).astype(np.float64), net.embed(X[:8]).astype(np.float64), 4
    )
    np.testing.assert_array_equal(idx, ref)


def test_call_returns_pick_distances_to_learners_expecting_metrics():
    class MetricsLearner(ActiveLearner):
        """Like modAL >= 0.4.2, whose query unpacks (indices, utilities)."""

        def query(self, X_pool, *args, return_metrics=False, **kwargs):
            indices, metrics = self.query_strategy(self, X_pool, *args, **kwargs)
            return (indices, X_pool[indices], metrics) if return_metrics else (
                indices, X_pool[indices]
            )

    rng = np.random.default_rng(10)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    learner = MetricsLearner(
        LinearRegression(), coreset, X_training=X[:4], y_training=y[:4]
    )
    idx, _, metrics = learner.query(X[4:], n_instances=3, return_metrics=True)
    ref, _ = brute_force_k_center(X[4:], X[:4], 3)
    np.testing.assert_array_equal(idx, ref)
    own = CoreSetQuery()
    own.select(learner, X[4:], n_instances=3)
    np.testing.assert_array_equal(metrics, own.pick_distances_)
    assert not hasattr(coreset, "pick_distances_")  # the shared default keeps none
    assert np.all(np.diff(metrics) <= 0)  # greedy gains never increase
    # modAL 0.4.1 (the installed one) gets bare indices
    plain = ActiveLearner(LinearRegression(), coreset, X_training=X[:4],
                          y_training=y[:4])
    out = coreset(plain, X[4:], 3)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("scale", [1e155, 1e200, 1e-170])
@pytest.mark.parametrize("labelled", [True, False])
def test_exact_at_extreme_scales(scale, labelled):
    """k-center greedy is exact at any finite scale (math.dist does not overflow)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3)) * scale
    X_lab, X_pool = (X[:5], X[5:]) if labelled else (None, X)
    y_lab = None if X_lab is None else np.zeros(len(X_lab))
    strategy = CoreSetQuery(random_state=0)
    idx = strategy.select(
        LinearRegression(), X_pool, 6, X_labelled=X_lab, y_labelled=y_lab
    )
    first = None if labelled else int(idx[0])
    ref_idx, ref_radius = brute_force_k_center(
        X_pool, [] if X_lab is None else X_lab, 6, first=first
    )
    np.testing.assert_array_equal(idx, ref_idx)
    # diagnostics in the original units
    np.testing.assert_allclose(strategy.covering_radius_, ref_radius, rtol=1e-12)
    if labelled:
        expected_scores = [min(math.dist(p, c) for c in X_lab) for p in X_pool]
        np.testing.assert_allclose(strategy.scores_, expected_scores, rtol=1e-12)
        np.testing.assert_allclose(strategy.pick_distances_[0], max(expected_scores),
                                   rtol=1e-12)
    assert np.all(np.isfinite(strategy.pick_distances_[1:]))
    assert np.all(strategy.pick_distances_[1:] > 0)


def test_distances_beyond_float64_raise():
    X = np.array([[1.7e308, 0.0], [0.0, 1.0], [-1.7e308, 0.0]])
    with pytest.raises(ValueError, match="exceed the float64 range"):
        CoreSetQuery().select(LinearRegression(), X[:2], 1,
                              X_labelled=X[2:], y_labelled=[0.0])


def test_never_repeats_a_sample_when_all_embeddings_coincide(
    fitted_query_hourglass, occluded_pose, strict_numerics
):
    X, y = occluded_pose
    X_pool = np.repeat(X[:1], 6, axis=0)
    strategy = CoreSetQuery(random_state=0)
    with strict_numerics():
        idx = strategy.select(fitted_query_hourglass, X_pool, 6, X_labelled=X[:1],
                              y_labelled=y[:1])
    np.testing.assert_array_equal(idx, np.arange(6))  # ties: lowest index first
    # zero up to float32 convolutions, whose rounding depends on the batch size
    np.testing.assert_allclose(strategy.pick_distances_, 0.0, atol=1e-5)
    assert strategy.covering_radius_ <= 1e-5


@pytest.mark.parametrize("scale", (1e-12, 1e12))
def test_selection_is_scale_invariant(tabular, strict_numerics, scale):
    X, y = tabular
    model = LinearRegression().fit(X[:10], y[:10])
    strategy = CoreSetQuery(random_state=0)
    expected = strategy.select(model, X[10:], 8, X_labelled=X[:10],
                               y_labelled=y[:10])
    radius = strategy.covering_radius_
    with strict_numerics():
        got = strategy.select(model, X[10:] * scale, 8, X_labelled=X[:10] * scale,
                              y_labelled=y[:10])
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(strategy.covering_radius_, radius * scale, rtol=1e-9)
