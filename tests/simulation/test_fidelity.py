"""simulate(fidelity=True), compare(column=) and the pose presets."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from sk_eglpp.diagnostics import (
    FIDELITY_COLUMNS,
    fidelity_measures,
    true_gradient_lengths,
)
from sk_eglpp.simulation import (
    COLUMNS,
    POSE_PRESETS,
    ResumeMismatchError,
    SimulationResults,
    compare,
    pose_problem,
    simulate,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_t(3, size=(150, 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=150)
    return X[:100], y[:100], X[100:], y[100:]


def _simulate(data, **kw):
    X, y, X_test, y_test = data
    params = dict(n_initial=8, budget=4, n_cycles=3, n_runs=2, random_state=0)
    params.update(kw)
    return simulate(Ridge(), ["egl_linear", "random_query"], X, y, X_test, y_test,
                    **params)


def test_fidelity_columns_equal_a_direct_computation(data):
    """Each query's measures, recomputed from the stored labelled sets."""
    X, y, _, _ = data
    res = _simulate(data, fidelity=True)
    assert res.columns == list(COLUMNS) + list(FIDELITY_COLUMNS)
    from sk_eglpp.query import get_strategy

    for row in res.rows:
        run, name, cycle = row["run"], row["strategy"], row["cycle"]
        if cycle == 0:
            assert all(np.isnan(row[c]) for c in FIDELITY_COLUMNS)
            continue
        before = np.concatenate(
            [res.selected[(run, name, c)] for c in range(cycle)]
        )
        pool = np.setdiff1d(np.arange(len(X)), before)
        model = Ridge().fit(X[before], y[before])
        strategy = get_strategy(name).set_params(random_state=row["seed"])
        idx = strategy.select(model, X[pool], n_instances=4,
                              X_labelled=X[before], y_labelled=y[before])
        np.testing.assert_array_equal(pool[idx], res.selected[(run, name, cycle)])
        gradient = true_gradient_lengths(model, X[pool], y[pool])
        error = (model.predict(X[pool]) - y[pool]) ** 2
        expected = fidelity_measures(strategy.scores_, idx, gradient, error)
        for column in FIDELITY_COLUMNS:
            assert row[column] == pytest.approx(expected[column])
    # the scores are those of a run without the measures
    plain = _simulate(data)
    np.testing.assert_allclose(res["score"], plain["score"])


def test_fidelity_resume_and_mismatch(data, tmp_path):
    first = _simulate(data, fidelity=True, n_cycles=2, output_dir=tmp_path)
    again = _simulate(data, fidelity=True, n_cycles=3, output_dir=tmp_path)
    for column in FIDELITY_COLUMNS:
        a = [r[column] for r in first.rows]
        b = [r[column] for r in again.rows if r["cycle"] <= 2]
        np.testing.assert_allclose(a, b)
    csv = tmp_path / "results.csv"
    again.to_csv(csv)
    back = SimulationResults.read_csv(csv)
    np.testing.assert_allclose(back["precision"], again["precision"])
    with pytest.raises(ResumeMismatchError):
        _simulate(data, fidelity=False, output_dir=tmp_path)


def test_compare_a_fidelity_column(data):
    res = _simulate(data, fidelity=True)
    table = compare(res, reference="egl_linear", column="spearman_gradient")
    assert 8 not in table.sizes  # cycle 0 has no measure
    assert table.sizes == [12, 16, 20]
    cell = table._cell("random_query", 12)
    values = [r["spearman_gradient"] for r in res.rows
              if r["strategy"] == "random_query" and r["n_labelled"] == 12]
    assert cell["mean"] == pytest.approx(np.mean(values))
    assert "spearman_gradient: mean +- sigma" in table.to_string(
        score_name="spearman_gradient")
    with pytest.raises(ValueError, match="lacks"):
        compare(_simulate(data), reference="egl_linear", column="precision")
    with pytest.raises(TypeError, match="column must be a str"):
        compare(res, reference="egl_linear", column=1)


def test_bad_fidelity_flag(data):
    with pytest.raises(TypeError, match="fidelity"):
        _simulate(data, fidelity="yes")


def test_pose_problem_presets():
    problem, sequences = pose_problem("quick", n_pool=30, n_test=10, random_state=1)
    assert problem["X"].shape == (30, 1, 32, 32) and problem["X_test"].shape[0] == 10
    assert sequences.shape == (30,)
    preset = POSE_PRESETS["quick"]
    assert problem["n_initial"] == preset["n_initial"]
    assert problem["estimator"].get_params()["module__depth"] == preset["depth"]
    # learning_loss in the strategies turns the loss-prediction head on
    assert problem["estimator"].loss_prediction
    bench = POSE_PRESETS["benchmark"]
    assert "mc_dropout" in bench["strategies"] and bench["fidelity"]
    assert bench["budget"] * 2 >= bench["n_initial"] >= bench["budget"]
    problem, _ = pose_problem("benchmark", n_pool=20, n_test=5,
                              strategies=["egl_pp"])
    params = problem["estimator"].get_params()
    assert params["module__dropout"] == bench["dropout"]
    assert not params["loss_prediction"]
    with pytest.raises(ValueError, match="preset must be one of"):
        pose_problem("huge")
    with pytest.raises(TypeError, match="Unknown settings"):
        pose_problem("quick", n_epochs=3)
    # Learning Loss named as a dict value, or given as an object, adds the head
    from sk_eglpp.query import LearningLossQuery

    for strategies in ({"ll": "learning_loss"}, [LearningLossQuery()]):
        problem, _ = pose_problem("quick", n_pool=20, n_test=5, strategies=strategies)
        assert problem["estimator"].loss_prediction


def test_pose_estimator_bad_input():
    from sk_eglpp.simulation import pose_estimator

    with pytest.raises(ValueError, match="depth must be >= 1"):
        pose_estimator(depth=0).initialize()
