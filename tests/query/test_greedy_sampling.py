"""Greedy sampling (GSx, GSy, iGS) against a brute-force reference."""

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_eglpp import ActiveLearner, GreedySamplingQuery, greedy_sampling
from sk_eglpp.query import STRATEGIES, get_strategy


def _ref_output_distance(f, y):
    pairs = [(a, b) for a, b in zip(f, y, strict=True) if not math.isnan(b)]
    if not pairs:
        return math.inf
    sq = sum((a - b) ** 2 for a, b in pairs)
    return math.sqrt(sq * len(f) / len(pairs))


def _ref_greedy(mode, Z, F, Z_lab, Y_lab, B):
    """Sequential greedy sampling, one candidate and one reference at a time."""
    refs = [(Z_lab[m], Y_lab[m]) for m in range(len(Y_lab))]
    chosen, gains = [], []
    for _ in range(B):
        best, best_d = None, -1.0
        for n in range(len(F)):
            if n in chosen:
                continue
            d = math.inf
            for z_m, y_m in refs:
                dx = math.dist(Z[n], z_m)
                dy = _ref_output_distance(F[n], y_m)
                d = min(d, {"x": dx, "y": dy, "xy": dx * dy}[mode])
            if d > best_d:
                best, best_d = n, d
        chosen.append(best)
        gains.append(best_d)
        refs.append((Z[best], F[best]))  # joins with its predicted output
    return chosen, gains


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X @ [1.0, 2.0, -1.0], X @ [0.5, 0.0, 1.0]])
    Y = Y + rng.normal(scale=0.3, size=Y.shape)
    return X[12:], X[:12], Y[:12]


@pytest.mark.parametrize("mode", ["x", "y", "xy"])
def test_equals_brute_force(mode, problem):
    X_pool, X_lab, Y_lab = problem
    model = LinearRegression().fit(X_lab, Y_lab)
    strategy = GreedySamplingQuery(mode=mode, chunk_size=5)
    idx = strategy.select(model, X_pool, 10, X_labelled=X_lab, y_labelled=Y_lab)
    ref, gains = _ref_greedy(mode, X_pool, model.predict(X_pool), X_lab, Y_lab, 10)
    assert idx.tolist() == ref
    np.testing.assert_allclose(strategy.pick_distances_, gains, rtol=1e-10)
    assert len(set(idx.tolist())) == 10


@pytest.mark.parametrize("mode", ["y", "xy"])
def test_nan_labels_compare_observed_outputs(mode, problem):
    X_pool, X_lab, Y_lab = problem
    model = LinearRegression().fit(X_lab, Y_lab)
    Y_nan = Y_lab.copy()
    Y_nan[[1, 4], 0] = np.nan
    Y_nan[7, :] = np.nan  # nothing observed: constrains nothing
    strategy = GreedySamplingQuery(mode=mode)
    idx = strategy.select(model, X_pool, 6, X_labelled=X_lab, y_labelled=Y_nan)
    ref, gains = _ref_greedy(mode, X_pool, model.predict(X_pool), X_lab, Y_nan, 6)
    assert idx.tolist() == ref
    np.testing.assert_allclose(strategy.pick_distances_, gains, rtol=1e-10)


def test_scores_are_distances_to_the_labelled_set(problem):
    X_pool, X_lab, Y_lab = problem
    model = LinearRegression().fit(X_lab, Y_lab)
    F = model.predict(X_pool)
    scores = GreedySamplingQuery(mode="xy").score(
        model, X_pool, X_labelled=X_lab, y_labelled=Y_lab
    )
    ref = [
        min(math.dist(X_pool[n], X_lab[m]) * math.dist(F[n], Y_lab[m])
            for m in range(len(X_lab)))
        for n in range(len(X_pool))
    ]
    np.testing.assert_allclose(scores, ref, rtol=1e-10)


def test_pipeline_uses_the_final_step_space(problem):
    X_pool, X_lab, Y_lab = problem
    X_pool, X_lab = X_pool * [1.0, 100.0, 0.01], X_lab * [1.0, 100.0, 0.01]
    y = Y_lab[:, 0]
    model = make_pipeline(StandardScaler(), Ridge()).fit(X_lab, y)
    idx = GreedySamplingQuery(mode="xy").select(
        model, X_pool, 5, X_labelled=X_lab, y_labelled=y
    )
    scaler = model[0]
    ref, _ = _ref_greedy("xy", scaler.transform(X_pool), model.predict(X_pool)[:, None],
                         scaler.transform(X_lab), y[:, None], 5)
    assert idx.tolist() == ref


def test_x_mode_without_labelled_set_starts_at_the_centre(problem):
    X_pool, _, _ = problem
    strategy = GreedySamplingQuery(mode="x")
    idx = strategy.select(LinearRegression(), X_pool, 4)
    centre = int(np.argmin(np.linalg.norm(X_pool - X_pool.mean(axis=0), axis=1)))
    assert idx[0] == centre
    # then k-center greedy from that sample
    ref, _ = _ref_greedy("x", X_pool, np.zeros((len(X_pool), 1)),
                         X_pool[[centre]], np.zeros((1, 1)), 3)
    assert idx[1:].tolist() == ref
    assert np.isinf(strategy.pick_distances_[0])


@pytest.mark.parametrize("mode", ["y", "xy"])
def test_output_modes_need_the_labelled_set(mode, problem):
    X_pool, X_lab, Y_lab = problem
    model = LinearRegression().fit(X_lab, Y_lab)
    with pytest.raises(ValueError, match="needs the labelled set"):
        GreedySamplingQuery(mode=mode).select(model, X_pool, 2)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"mode": "z"}, ValueError, "mode must be one of"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
        ({"embedding": "pca"}, TypeError, "embedding must be a callable or None"),
    ],
)
def test_bad_parameters(params, error, match, problem):
    X_pool, X_lab, Y_lab = problem
    model = LinearRegression().fit(X_lab, Y_lab)
    with pytest.raises(error, match=match):
        GreedySamplingQuery(**params).select(
            model, X_pool, 2, X_labelled=X_lab, y_labelled=Y_lab
        )


def test_output_count_mismatch(problem):
    X_pool, X_lab, Y_lab = problem
    model = LinearRegression().fit(X_lab, Y_lab)
    with pytest.raises(ValueError, match="predicts 2 output.*y_labelled has 1"):
        GreedySamplingQuery(mode="y").select(
            model, X_pool, 2, X_labelled=X_lab, y_labelled=Y_lab[:, 0]
        )


def test_registered_modes_and_clone():
    assert STRATEGIES["greedy_sampling"] is greedy_sampling
    assert greedy_sampling.mode == "xy"
    assert get_strategy("greedy_sampling_x").mode == "x"
    assert get_strategy("greedy_sampling_y").mode == "y"
    q = clone(GreedySamplingQuery(mode="y", chunk_size=3))
    assert q.get_params() == {"mode": "y", "embedding": None, "chunk_size": 3}


def test_modal_learner_loop(problem):
    X_pool, X_lab, Y_lab = problem
    y = Y_lab[:, 0]
    learner = ActiveLearner(
        estimator=LinearRegression(),
        query_strategy=greedy_sampling,
        X_training=X_lab,
        y_training=y,
    )
    pool = X_pool.copy()
    for _ in range(3):
        result = learner.query(pool, n_instances=3)
        idx = np.asarray(result[0])
        assert len(set(idx.tolist())) == 3
        learner.teach(pool[idx], pool[idx] @ [1.0, 2.0, -1.0])
        pool = np.delete(pool, idx, axis=0)
    assert learner.X_training.shape[0] == 12 + 9
