"""The report of a simulation: reported scores, tables, time line, selection map."""

import numpy as np
import pytest
from matplotlib.text import Text

from sk_eglpp.simulation import SimulationResults, compare, simulate, toy_problem
from sk_eglpp.simulation._report import (
    FIDELITY_TITLES,
    fidelity_report,
    is_negated_loss,
    reported_results,
    selection_map_figure,
    table_report,
    time_summary,
)


def _row(run, strategy, cycle, score, query_time=0.0, fit_time=0.0):
    return {"run": run, "strategy": strategy, "cycle": cycle,
            "n_labelled": 5 + 5 * cycle, "score": score,
            "query_time": query_time, "fit_time": fit_time, "seed": 1}


def _results():
    rows = [_row(r, s, c, -(1.0 + r / 10 + c / 5 + (s == "b") / 3))
            for r in range(3) for s in ("a", "b") for c in range(3)]
    return SimulationResults(rows)


@pytest.fixture(scope="module")
def toy():
    """A quick toy simulation (two runs, one cycle) and its problem."""
    problem = toy_problem("quick", n_runs=2, n_cycles=1)
    return simulate(**problem, random_state=0), problem


@pytest.mark.parametrize(
    "scoring, expected",
    [("neg_root_mean_squared_error", True), ("neg_mean_absolute_error", True),
     ("r2", False), (None, False), (len, False)],
)
def test_negated_losses_are_the_neg_scorers(scoring, expected):
    assert is_negated_loss(scoring) is expected


def test_a_negated_loss_is_reported_as_the_loss():
    results = _results()
    shown, alternative = reported_results(
        results, scoring="neg_root_mean_squared_error", metric="RMSE"
    )
    assert alternative == "less"
    np.testing.assert_array_equal(shown["score"], -results["score"])
    assert set(shown["metric"]) == {"RMSE"}
    assert shown.columns[-1] == "metric"
    assert shown.selected == results.selected
    # the results given are not modified
    assert (results["score"] < 0).all() and "metric" not in results.columns


def test_a_score_is_reported_as_it_is():
    results = _results()
    shown, alternative = reported_results(results, metric="PCK@0.2")
    assert alternative == "greater"
    np.testing.assert_array_equal(shown["score"], results["score"])
    assert set(shown["metric"]) == {"PCK@0.2"}


def test_the_table_report_is_the_comparison_then_the_environments():
    results, _ = reported_results(_results(), scoring="neg_x", metric="RMSE")
    text = table_report(results, reference="a", alternative="less", metric="RMSE")
    table = compare(results, reference="a", alternative="less")
    assert text == (table.to_string(score_name="RMSE") + "\n\n"
                    + results.environment_report())
    assert text.startswith("RMSE: mean +- sigma over 3 runs\n")
    assert "(a less)" in text.splitlines()[1]


def test_the_fidelity_report_has_a_table_per_measure():
    problem = toy_problem("quick", n_runs=2, n_cycles=1, fidelity=True)
    results = simulate(**problem, random_state=0)
    text = fidelity_report(results, "egl_linear")
    assert text.startswith("Fidelity of each query")
    for column, title in FIDELITY_TITLES.items():
        assert f"{title}:\n{column}: mean +- sigma over 2 runs" in text


def test_the_time_summary_adds_up_the_recorded_phases():
    rows = [_row(0, "a", 0, 1.0, fit_time=2.0), _row(0, "b", 0, 1.0, fit_time=2.0),
            _row(0, "a", 1, 1.0, query_time=3.0, fit_time=4.0),
            _row(0, "b", 1, 1.0, query_time=5.0, fit_time=6.0)]
    line = time_summary(SimulationResults(rows), elapsed=30.4)
    assert line == (
        "time: base fits 2 s, queries 8 s (a 3, b 5), cycle fits 10 s, as "
        "recorded over all sessions of this folder; this call took 30 s"
    )


def test_the_selection_map_of_the_inputs_has_a_panel_per_strategy(toy):
    results, problem = toy
    figure = selection_map_figure(results, problem["X"])
    assert len(figure.axes) == len(results.strategies)
    assert [ax.get_title() for ax in figure.axes] == results.strategies
    assert all(ax.get_legend() is None for ax in figure.axes)
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "pool sample", "selected by the panel's strategy (cycle 1)"
    ]
    texts = [t.get_text() for t in figure.findobj(Text)]  # get_suptitle: mpl >= 3.8
    assert any("PCA of the pool's inputs" in t for t in texts)


def test_no_selection_map_without_a_stored_base_model(tmp_path):
    problem = toy_problem("quick", n_runs=1, n_cycles=1)
    results = simulate(**problem, random_state=0, output_dir=tmp_path)
    # scikit-learn models are not checkpointed: nothing to embed with
    assert selection_map_figure(results, problem["X"], store_path=tmp_path,
                                estimator=problem["estimator"]) is None
