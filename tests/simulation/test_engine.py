"""Tests of the active-learning simulation, the Table-1 report and the plots."""

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter

import matplotlib
import numpy as np
import pytest
import torch
from joblib import parallel_config
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from skorch import NeuralNetRegressor

from sk_eglpp.query import STRATEGIES
from sk_eglpp.simulation import (
    COLUMNS,
    ComparisonTable,
    SimulationResults,
    compare,
    plot_learning_curves,
    plot_selection_map,
    simulate,
)

matplotlib.use("Agg")

CALLS = Counter()


def max_norm(estimator, X_pool, n_instances=1, **kwargs):
    """Deterministic strategy: the largest inputs first (counts its calls)."""
    CALLS["max_norm"] += 1
    norms = np.linalg.norm(X_pool.reshape(len(X_pool), -1), axis=1)
    return np.argsort(-norms, kind="stable")[:n_instances]


def max_prediction(estimator, X_pool, n_instances=1, **kwargs):
    """Model-dependent strategy returning modAL 0.4.2's (indices, utilities)."""
    CALLS["max_prediction"] += 1
    pred = np.abs(np.asarray(estimator.predict(X_pool)).reshape(len(X_pool), -1))
    utility = pred.sum(axis=1)
    idx = np.argsort(-utility, kind="stable")[:n_instances]
    return idx, utility[idx]


class RandomPick(BaseEstimator):
    """A seeded random strategy object (random_state left to the harness)."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def select(self, learner, X_pool, n_instances=1, X_labelled=None, y_labelled=None):
        CALLS["random_pick"] += 1
        if X_labelled is None or y_labelled is None:
            raise ValueError("the harness must pass the labelled set")
        rng = check_random_state(self.random_state)
        return rng.permutation(len(X_pool))[:n_instances]


class Interrupt(BaseEstimator):
    """Wraps max_norm and raises KeyboardInterrupt at the ``at``-th call."""

    def __init__(self, at=2):
        self.at = at

    def select(self, learner, X_pool, n_instances=1, **kwargs):
        CALLS["interrupt"] += 1
        if CALLS["interrupt"] == self.at:
            raise KeyboardInterrupt
        return max_norm(learner, X_pool, n_instances)


@pytest.fixture(autouse=True)
def reset_calls():
    CALLS.clear()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    w = np.array([1.0, -2.0, 0.5, 0.0])
    X = rng.standard_t(3, size=(80, 4))
    y = X @ w + 0.3 * rng.normal(size=80)
    return X[:60], y[:60], X[60:], y[60:]


def _strip_times(results):
    return [
        {k: v for k, v in row.items() if k not in ("query_time", "fit_time")}
        for row in results.rows
    ]


def _run(data, strategies, **kwargs):
    X, y, X_test, y_test = data
    params = dict(n_initial=5, budget=4, n_cycles=3, n_runs=2, random_state=0)
    params.update(kwargs)
    return simulate(
        kwargs.pop("estimator", LinearRegression()),
        strategies,
        X,
        y,
        X_test,
        y_test,
        **{k: v for k, v in params.items() if k != "estimator"},
    )


# ---------------------------------------------------------------------------
# the protocol against an obvious re-implementation
# ---------------------------------------------------------------------------


def test_protocol_matches_a_plain_loop(data):
    X, y, X_test, y_test = data
    res = _run(data, {"norm": max_norm, "pred": max_prediction}, n_runs=3)
    assert res.columns == list(COLUMNS)
    assert len(res) == 3 * 2 * 4
    for run in range(3):
        initial = res.selected[(run, "norm", 0)]
        # one base model per run, shared by the strategies
        assert np.array_equal(initial, res.selected[(run, "pred", 0)])
        for name, strategy in (("norm", max_norm), ("pred", max_prediction)):
            labelled = list(initial)
            model = LinearRegression().fit(X[labelled], y[labelled])
            expected = [model.score(X_test, y_test)]
            for _ in range(3):
                pool = np.array(sorted(set(range(len(X))) - set(labelled)))
                idx = strategy(model, X[pool], n_instances=4)
                idx = idx[0] if isinstance(idx, tuple) else idx
                labelled += list(pool[idx])
                model = LinearRegression().fit(X[labelled], y[labelled])
                expected.append(model.score(X_test, y_test))
            rows = [r for r in res.rows if r["run"] == run and r["strategy"] == name]
            assert [r["cycle"] for r in rows] == [0, 1, 2, 3]
            assert [r["n_labelled"] for r in rows] == [5, 9, 13, 17]
            np.testing.assert_allclose([r["score"] for r in rows], expected)
            np.testing.assert_array_equal(
                res.labelled_indices(run, name), np.array(labelled)
            )
    # the initial sets differ between runs
    initial = [res.selected[(run, "norm", 0)] for run in range(2)]
    assert not np.array_equal(*initial)
    assert np.all(res["query_time"] >= 0) and np.all(res["fit_time"] >= 0)


def test_scoring_and_pipeline(data):
    X, y, X_test, y_test = data
    est = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    res = _run(data, [max_norm], estimator=est, scoring="neg_root_mean_squared_error")
    row = res.rows[-1]
    labelled = res.labelled_indices(row["run"], "max_norm")
    model = clone(est).fit(X[labelled], y[labelled])
    rmse = np.sqrt(mean_squared_error(y_test, model.predict(X_test)))
    assert row["score"] == pytest.approx(-rmse)
    assert res.strategies == ["max_norm"]  # a function is named after itself


def test_deterministic_and_independent_of_n_jobs(data):
    strategies = {"rand": RandomPick(), "norm": max_norm}
    a = _run(data, strategies, random_state=3)
    b = _run(data, strategies, random_state=3)
    # joblib's threads keep the test fast; processes (loky) use the same path
    with parallel_config(backend="threading"):
        c = _run(data, strategies, random_state=3, n_jobs=2)
    d = _run(data, strategies, random_state=4)
    assert _strip_times(a) == _strip_times(b) == _strip_times(c)
    assert _strip_times(a) != _strip_times(d)
    # the random strategy gets a different seed per cycle and run
    seeds = [r["seed"] for r in a.rows if r["strategy"] == "rand"]
    assert len(set(seeds)) == len(seeds)


def test_strategy_objects_are_not_modified(data):
    strategy = RandomPick()
    _run(data, {"rand": strategy})
    assert strategy.random_state is None
    assert not hasattr(strategy, "scores_")


def test_registered_names(data):
    if not {"random_query", "emcm"} <= set(STRATEGIES):
        pytest.skip("random_query / emcm not registered yet")
    by_name = _run(data, ["random_query", "emcm"], n_runs=2)
    assert by_name.strategies == ["random_query", "emcm"]
    # a registry object is named after its entry: same names, same seeds, same rows
    by_object = _run(data, [STRATEGIES["random_query"], STRATEGIES["emcm"]], n_runs=2)
    assert _strip_times(by_object) == _strip_times(by_name)
    with pytest.raises(ValueError, match="unique"):
        _run(data, ["random_query", STRATEGIES["random_query"]], n_runs=1)


# ---------------------------------------------------------------------------
# output_dir: resume, extension, faults
# ---------------------------------------------------------------------------


def test_resume_after_interrupt_equals_uninterrupted(data, tmp_path):
    strategies = {"norm": Interrupt(at=4), "rand": RandomPick()}
    # run 0: "norm" cycles 1-2 (calls 1, 2), then "rand"; run 1: "norm" cycle 1
    # is call 3, cycle 2 call 4: interrupted there.
    with pytest.raises(KeyboardInterrupt):
        _run(data, strategies, n_cycles=2, output_dir=tmp_path)
    written = [
        json.loads(line)
        for f in sorted((tmp_path / "runs").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    # run 0 complete (2 strategies x 3 rows), run 1: cycle 0 of both + cycle 1
    assert len(written) == 6 + 3
    CALLS.clear()
    resumed = _run(data, strategies, n_cycles=2, output_dir=tmp_path)
    # only what was missing was computed: norm cycle 2 and rand cycles 1-2 of run 1
    assert CALLS["interrupt"] == 1
    assert CALLS["random_pick"] == 2
    CALLS.clear()
    full = _run(data, {"norm": Interrupt(at=-1), "rand": RandomPick()}, n_cycles=2)
    assert _strip_times(resumed) == _strip_times(full)
    # a finished simulation is read back without any computation
    CALLS.clear()
    again = _run(data, strategies, n_cycles=2, output_dir=tmp_path)
    assert sum(CALLS.values()) == 0
    assert again.rows == resumed.rows


def test_resume_extends_cycles_runs_and_strategies(data, tmp_path):
    first = _run(data, {"norm": max_norm}, n_cycles=1, n_runs=1, output_dir=tmp_path)
    assert len(first) == 2
    CALLS.clear()
    more = _run(
        data,
        {"norm": max_norm, "rand": RandomPick()},
        n_cycles=2,
        n_runs=2,
        output_dir=tmp_path,
    )
    # run 0 norm: cycle 2 only; run 1 norm: 2 cycles
    assert CALLS["max_norm"] == 3
    assert CALLS["random_pick"] == 4
    full = _run(data, {"norm": max_norm, "rand": RandomPick()}, n_cycles=2, n_runs=2)
    assert _strip_times(more) == _strip_times(full)
    assert more.rows[:2] == first.rows  # rows written before are returned as is
    # asking for fewer cycles returns a subset without computing
    CALLS.clear()
    fewer = _run(data, {"norm": max_norm}, n_cycles=1, n_runs=1, output_dir=tmp_path)
    assert sum(CALLS.values()) == 0 and fewer.rows == first.rows


def test_resume_refuses_other_parameters(data, tmp_path):
    _run(data, {"norm": max_norm}, n_cycles=1, n_runs=1, output_dir=tmp_path)
    with pytest.raises(ValueError, match="differ in: budget"):
        _run(data, {"norm": max_norm}, n_cycles=1, budget=3, output_dir=tmp_path)
    with pytest.raises(ValueError, match="differ in: estimator"):
        _run(
            data,
            {"norm": max_norm},
            n_cycles=1,
            estimator=Ridge(),
            output_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="differ in: random_state"):
        _run(data, {"norm": max_norm}, n_cycles=1, random_state=1, output_dir=tmp_path)
    with pytest.raises(ValueError, match="strategy 'norm'"):
        _run(data, {"norm": RandomPick()}, n_cycles=1, output_dir=tmp_path)
    X, y, X_test, y_test = data
    with pytest.raises(ValueError, match="differ in: X"):
        simulate(
            LinearRegression(),
            {"norm": max_norm},
            X + 1,
            y,
            X_test,
            y_test,
            n_initial=5,
            budget=4,
            n_cycles=1,
            n_runs=1,
            random_state=0,
            output_dir=tmp_path,
        )


def test_random_state_none_is_stored_for_resume(data, tmp_path):
    strategies = {"rand": RandomPick()}
    a = _run(data, strategies, n_cycles=1, random_state=None, output_dir=tmp_path)
    b = _run(data, strategies, n_cycles=2, random_state=None, output_dir=tmp_path)
    assert b.rows[:2] == a.rows[:2]
    c = _run(data, strategies, n_cycles=2, random_state=None, output_dir=tmp_path / "x")
    assert _strip_times(c) != _strip_times(b)  # a fresh folder, fresh seeds


def test_torn_last_row_is_dropped(data, tmp_path):
    full = _run(data, {"norm": max_norm}, n_cycles=2, n_runs=1, output_dir=tmp_path)
    path = tmp_path / "runs" / "run-000.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    # a crash while appending the last row leaves half a line
    path.write_text("".join(lines[:-1]) + lines[-1][:25])
    CALLS.clear()
    resumed = _run(data, {"norm": max_norm}, n_cycles=2, n_runs=1, output_dir=tmp_path)
    assert CALLS["max_norm"] == 1
    assert _strip_times(resumed) == _strip_times(full)
    assert len(path.read_text().splitlines()) == 3  # no duplicated rows
    path.write_text("{not json}\n" + path.read_text())
    with pytest.raises(ValueError, match="corrupt at line 1"):
        _run(data, {"norm": max_norm}, n_cycles=2, n_runs=1, output_dir=tmp_path)


def strategy(est, X_pool, n_instances=1, **kwargs):
    """The strategy of the killed subprocess below (same name, same fingerprint)."""
    CALLS["strategy"] += 1
    return np.argsort(-np.abs(X_pool[:, 0]), kind="stable")[:n_instances]


def _subprocess_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    return X[:40], X[:40].sum(axis=1), X[40:], X[40:].sum(axis=1)


def test_killed_subprocess_resumes(tmp_path):
    """A process that dies mid-cycle (os._exit) loses only that cycle."""
    script = textwrap.dedent(
        """
        import os, sys
        import numpy as np
        from sklearn.linear_model import LinearRegression
        from sk_eglpp.simulation import simulate
        calls = [0]
        def strategy(est, X_pool, n_instances=1, **kw):
            calls[0] += 1
            if calls[0] == 5:
                os._exit(3)  # dies inside the 5th cycle
            return np.argsort(-np.abs(X_pool[:, 0]), kind="stable")[:n_instances]
        rng = np.random.default_rng(1)
        X = rng.normal(size=(50, 3))
        simulate(LinearRegression(), [strategy], X[:40], X[:40].sum(axis=1),
                 X[40:], X[40:].sum(axis=1), n_initial=4, budget=3, n_cycles=3,
                 n_runs=2, random_state=0, output_dir=sys.argv[1])
        """
    )
    path = tmp_path / "script.py"
    path.write_text(script)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = subprocess.run([sys.executable, str(path), str(out)], env=env)
    assert killed.returncode == 3
    params = dict(n_initial=4, budget=3, n_cycles=3, n_runs=2, random_state=0)
    resumed = simulate(
        LinearRegression(), [strategy], *_subprocess_data(), output_dir=out, **params
    )
    # 4 cycles had finished (run 0: 3, run 1: 1); the 5th died: 2 remain
    assert CALLS["strategy"] == 2
    full = simulate(LinearRegression(), [strategy], *_subprocess_data(), **params)
    assert _strip_times(resumed) == _strip_times(full)
    keys = [
        (row["run"], row["cycle"])
        for f in sorted((out / "runs").glob("*.jsonl"))
        for row in map(json.loads, f.read_text().splitlines())
    ]
    assert sorted(keys) == [(r, c) for r in range(2) for c in range(4)]


# ---------------------------------------------------------------------------
# skorch nets: warm start, checkpoints
# ---------------------------------------------------------------------------


class TinyNet(torch.nn.Module):
    def __init__(self, n_in=4, hidden=8):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def forward(self, X):
        return self.layers(X)


def _net():
    return NeuralNetRegressor(
        TinyNet,
        max_epochs=3,
        lr=0.05,
        optimizer=torch.optim.Adam,
        train_split=None,
        batch_size=8,
        iterator_train__shuffle=True,
        verbose=0,
    )


@pytest.fixture
def net_data(data):
    X, y, X_test, y_test = data
    f32 = np.float32
    return (
        X.astype(f32),
        y.astype(f32)[:, None],
        X_test.astype(f32),
        y_test.astype(f32)[:, None],
    )


def test_net_warm_start_resume_is_exact(net_data, tmp_path):
    strategies = {"norm": Interrupt(at=3)}
    state = torch.get_rng_state()
    with pytest.raises(KeyboardInterrupt):
        _run(net_data, strategies, estimator=_net(), n_cycles=2, output_dir=tmp_path)
    assert torch.equal(torch.get_rng_state(), state)  # caller's RNG untouched
    checkpoints = sorted(
        p.name
        for p in (tmp_path / "checkpoints").rglob("*")
        if p.is_dir() and (p / "history.json").is_file()
    )
    # base models of both runs, the last finished cycle of run 0 only
    assert checkpoints == ["base", "base", "cycle-0002"]
    CALLS.clear()
    resumed = _run(
        net_data, strategies, estimator=_net(), n_cycles=2, output_dir=tmp_path
    )
    assert CALLS["interrupt"] == 2
    full = _run(net_data, {"norm": Interrupt(at=-1)}, estimator=_net(), n_cycles=2)
    assert _strip_times(resumed) == _strip_times(full)
    # warm start continues training: differs from retraining from scratch
    cold = _run(
        net_data,
        {"norm": Interrupt(at=-1)},
        estimator=_net(),
        n_cycles=2,
        warm_start=False,
    )
    assert [r["score"] for r in cold.rows if r["cycle"] == 0] == [
        r["score"] for r in full.rows if r["cycle"] == 0
    ]
    assert [r["score"] for r in cold.rows if r["cycle"] == 2] != [
        r["score"] for r in full.rows if r["cycle"] == 2
    ]


def test_warm_started_strategies_each_start_from_the_shared_base_model(net_data):
    """Every strategy of a run continues training its own copy of the base net.

    With a shared object instead of a copy, the second strategy would start
    from the network the first one had trained on: its rows would differ from
    those of a simulation with the second strategy alone.
    """
    strategies = {"norm": Interrupt(at=-1), "pick": RandomPick()}
    both = _run(net_data, strategies, estimator=_net(), n_cycles=2, n_runs=1)
    alone = _run(
        net_data, {"pick": RandomPick()}, estimator=_net(), n_cycles=2, n_runs=1
    )

    def rows(results, name):
        return [r for r in _strip_times(results) if r["strategy"] == name]

    assert rows(both, "pick") == rows(alone, "pick")
    first = _run(
        net_data, {"norm": Interrupt(at=-1)}, estimator=_net(), n_cycles=2, n_runs=1
    )
    assert rows(both, "norm") == rows(first, "norm")


def test_net_resume_from_checkpoint_matches_warm_model(net_data, tmp_path):
    """The checkpoint holds weights, optimizer state, history and attributes."""
    from sk_eglpp.models._checkpoint import load_net, save_net

    X, y, _, _ = net_data
    net = _net()
    torch.manual_seed(0)
    net.fit(X[:10], y[:10])
    net.extra_shape_ = (4, 4)  # a simple fitted attribute (as heatmap_size_)
    save_net(net, tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "attributes.json",
        "criterion.pt",
        "history.json",
        "module.pt",
        "optimizer.pt",
    ]
    other = _net().initialize()
    load_net(other, tmp_path / "c")
    for a, b in zip(net.module_.parameters(), other.module_.parameters(), strict=True):
        assert torch.equal(a, b)
    assert other.optimizer_.state_dict()["state"].keys() == (
        net.optimizer_.state_dict()["state"].keys()
    )
    assert len(other.history_) == 3
    assert other.extra_shape_ == (4, 4)
    assert other.torch_load_kwargs == {"weights_only": True}
    torch.manual_seed(1)
    net.partial_fit(X[:20], y[:20])
    torch.manual_seed(1)
    other.partial_fit(X[:20], y[:20])
    np.testing.assert_array_equal(net.predict(X), other.predict(X))


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"strategies": "no_such_strategy"}, ValueError, "Unknown strategy 'no_such"),
        ({"strategies": [max_norm, max_norm]}, ValueError, "unique"),
        ({"strategies": []}, ValueError, "at least one"),
        ({"strategies": [3]}, TypeError, "name, a strategy object"),
        ({"strategies": {"": max_norm}}, TypeError, "non-empty str"),
        ({"budget": 100}, ValueError, "must not exceed the 60 samples"),
        ({"budget": 0}, ValueError,
         r"simulate: budget must be an int in \[1, inf\), got 0 \(int\)\."),
        ({"n_initial": 0}, ValueError, r"n_initial must be an int in \[1, inf\)"),
        ({"n_initial": 2.5}, TypeError, "n_initial must be an int in .*, got 2.5"),
        ({"n_initial": True}, TypeError, "n_initial must be an int"),
        ({"n_cycles": 0}, ValueError, "n_cycles must be an int in"),
        ({"n_runs": 0}, ValueError, "n_runs must be an int in"),
        ({"warm_start": "yes"}, TypeError, "warm_start must be a bool, got 'yes'"),
        ({"fidelity": 1}, TypeError, "fidelity must be a bool, got 1 \\(int\\)"),
        ({"scoring": "no_such_scorer"}, ValueError, "Invalid scoring"),
        ({"estimator": object()}, TypeError, "must have a fit method"),
        ({"random_state": -1}, ValueError,
         r"random_state must be an int in \[0, 2\*\*32 - 1\]"),
        ({"random_state": 1.5}, TypeError, "random_state must be an int"),
        ({"scoring": 3}, TypeError, "scoring must be a str, a callable or None"),
        ({"output_dir": 3}, TypeError, "output_dir must be a path"),
        ({"verbose": -1}, ValueError, r"verbose must be an int in \[0, inf\) or a"),
        ({"n_jobs": 0}, ValueError,
         r"n_jobs must be a non-zero int \(-1: all CPUs\) or None"),
        ({"n_jobs": "2"}, TypeError, "n_jobs must be a non-zero int"),
        ({"n_threads": 0}, ValueError,
         r"n_threads must be an int in \[1, inf\) or None, got 0"),
        ({"n_threads": "2"}, TypeError, "n_threads must be an int in"),
    ],
)
def test_bad_parameters(data, kwargs, error, match):
    kwargs = dict(kwargs)
    strategies = kwargs.pop("strategies", [max_norm])
    with pytest.raises(error, match=match):
        _run(data, strategies, **kwargs)


def test_bad_data(data):
    X, y, X_test, y_test = data
    params = dict(n_initial=5, budget=4, n_cycles=2, n_runs=1)
    est = LinearRegression()
    with pytest.raises(ValueError, match="X and y must have the same.*60 and 59"):
        simulate(est, [max_norm], X, y[:-1], X_test, y_test, **params)
    with pytest.raises(ValueError, match="X_test and y_test must have the same"):
        simulate(est, [max_norm], X, y, X_test, y_test[:3], **params)
    with pytest.raises(ValueError, match="same shape, got \\(4,\\) and \\(3,\\)"):
        simulate(est, [max_norm], X, y, X_test[:, :3], y_test, **params)
    with pytest.raises(ValueError, match="X must contain at least one sample"):
        simulate(est, [max_norm], X[:0], y[:0], X_test, y_test, **params)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        simulate(est, [max_norm], bad, y, X_test, y_test, **params)
    with pytest.raises(ValueError, match="y must be an array of targets, got None"):
        simulate(est, [max_norm], X, None, X_test, y_test, **params)


def test_strategy_returning_bad_indices(data):
    def duplicates(est, X_pool, n_instances=1, **kw):
        return np.zeros(n_instances, dtype=int)

    def floats(est, X_pool, n_instances=1, **kw):
        return np.arange(n_instances) + 0.5

    for strategy in (duplicates, floats):
        with pytest.raises(ValueError, match="must return 4 unique integer indices"):
            _run(data, [strategy])


def test_inputs_not_modified(data):
    X, y, X_test, y_test = data
    arrays = [a.copy() for a in data]
    for a in data:
        a.flags.writeable = False
    est = Ridge()
    _run(data, [max_norm], estimator=est)
    for a, b in zip(data, arrays, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not hasattr(est, "coef_")


# ---------------------------------------------------------------------------
# results table
# ---------------------------------------------------------------------------


def test_results_conversions(data, tmp_path):
    res = _run(data, [max_norm], n_runs=2)
    rec = res.to_records()
    assert rec.dtype.names == COLUMNS
    np.testing.assert_array_equal(rec["score"], res["score"])
    path = tmp_path / "r.csv"
    res.to_csv(path)
    back = SimulationResults.read_csv(path)
    assert back.rows == res.rows  # floats round-trip exactly
    pd = pytest.importorskip("pandas")
    df = res.to_dataframe()
    assert list(df.columns) == list(COLUMNS) and len(df) == len(res)
    assert compare(df, reference="max_norm").rows == compare(res, "max_norm").rows
    assert compare(rec, reference="max_norm").rows == compare(res, "max_norm").rows
    assert isinstance(pd.DataFrame(compare(res, "max_norm").rows), pd.DataFrame)
    with pytest.raises(KeyError, match="Unknown column 'nope'"):
        res["nope"]
    with pytest.raises(ValueError, match="lacks \\['seed'\\]"):
        SimulationResults([{k: 0 for k in COLUMNS if k != "seed"}])
    assert back.environments == [] and res.environments[0]["runs"] == [0, 1]
    with pytest.raises(TypeError, match="environments must be a list of dicts "
                       "with the key 'runs', got \\[\\{'torch': '2'\\}\\]"):
        SimulationResults(res.rows, environments=[{"torch": "2"}])


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------


def _hand_table():
    # 4 runs, 2 labelled-set sizes, reference "ref" and two others
    scores = {
        ("ref", 10): [0.60, 0.62, 0.58, 0.65],
        ("a", 10): [0.55, 0.60, 0.57, 0.61],
        ("b", 10): [0.61, 0.66, 0.50, 0.62],
        ("ref", 20): [0.70, 0.72, 0.71, 0.74],
        ("a", 20): [0.70, 0.72, 0.71, 0.74],  # identical to the reference
        ("b", 20): [0.69, 0.70, 0.72, 0.70],
    }
    rows = [
        {"run": run, "strategy": s, "n_labelled": n, "score": v}
        for (s, n), values in scores.items()
        for run, v in enumerate(values)
    ]
    return scores, rows


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_compare_p_values_equal_scipy(alternative):
    scores, rows = _hand_table()
    table = compare(rows, reference="ref", alternative=alternative, confidence=0.9)
    assert isinstance(table, ComparisonTable)
    assert table.sizes == [10, 20]
    assert table.strategies == ["a", "b", "ref"]
    for row in table.rows:
        key = (row["strategy"], row["n_labelled"])
        values = np.array(scores[key])
        assert row["mean"] == pytest.approx(values.mean())
        assert row["std"] == pytest.approx(values.std(ddof=1))
        assert row["n_runs"] == 4
        if row["strategy"] == "ref" or key == ("a", 20):
            assert np.isnan(row["p_value"]) and not row["significant"]
            continue
        ref = np.array(scores[("ref", row["n_labelled"])])
        expected = stats.ttest_rel(ref, values, alternative=alternative).pvalue
        assert row["p_value"] == pytest.approx(expected, rel=1e-12)
        assert row["significant"] == (expected < 0.1)


@pytest.mark.parametrize("confidence", [0.9, 0.95])
@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_compare_minimal_detectable_difference_is_where_p_reaches_alpha(
    alternative, confidence
):
    """Paired differences with the observed spread, shifted to a mean equal to
    the minimal detectable difference, give p == 1 - confidence in scipy's
    own test (same sidedness); a little less is not significant, a little
    more is."""
    scores, rows = _hand_table()
    table = compare(rows, reference="ref", alternative=alternative,
                    confidence=confidence)
    sign = -1.0 if alternative == "less" else 1.0
    checked = 0
    for row in table.rows:
        key = (row["strategy"], row["n_labelled"])
        if row["strategy"] == "ref" or key == ("a", 20):
            assert np.isnan(row["mdd"])  # no test: no detectable difference
            continue
        ref = np.array(scores[("ref", row["n_labelled"])])
        diff = ref - np.array(scores[key])
        assert row["mdd"] > 0
        centred = diff - diff.mean()
        for factor, significant in ((1.0, None), (0.98, False), (1.02, True)):
            shifted = centred + sign * factor * row["mdd"]
            p = stats.ttest_rel(ref, ref - shifted, alternative=alternative).pvalue
            if significant is None:
                # scipy 1.10 (the oldest supported) inverts t to 4e-9
                assert p == pytest.approx(1 - confidence, rel=1e-6)
            else:
                assert (p < 1 - confidence) == significant
        checked += 1
    assert checked == 3


def test_compare_minimal_detectable_difference_by_hand():
    # differences 0.4, 0.2, 0.45 over 3 runs: sd 0.1323, t_0.9(2) = 1.8856
    rows = [{"run": r, "strategy": s, "n_labelled": 10, "score": v}
            for r, (a, b) in enumerate([(0.9, 0.5), (0.8, 0.6), (0.85, 0.4)])
            for s, v in (("ref", a), ("x", b))]
    x = next(r for r in compare(rows, reference="ref").rows if r["strategy"] == "x")
    sd = np.std([0.4, 0.2, 0.45], ddof=1)
    assert x["mdd"] == pytest.approx(1.885618 * sd / np.sqrt(3), rel=1e-6)


def test_compare_identical_strategy_is_not_significant():
    _, rows = _hand_table()
    table = compare(rows, reference="ref")
    cell = next(r for r in table.rows if r["strategy"] == "a" and r["n_labelled"] == 20)
    assert np.isnan(cell["p_value"]) and cell["significant"] is False
    text = str(table)
    assert "n/a" in text
    # a at 10 labelled: reference clearly greater -> marked
    cell = next(r for r in table.rows if r["strategy"] == "a" and r["n_labelled"] == 10)
    assert cell["significant"] and f"{cell['p_value']:.4f}*" in text


def test_compare_text_layout_and_csv(tmp_path):
    _, rows = _hand_table()
    table = compare(rows, reference="ref", confidence=0.95)
    lines = table.to_string(precision=3, score_name="PCK").splitlines()
    assert lines[0] == "PCK: mean +- sigma over 4 runs"
    assert "* marks p < 0.05" in lines[1]
    assert lines[2].split() == ["#labelled", "->", "10", "20"]
    assert lines[3].split() == ["strategy"] + ["mu", "sigma", "p"] * 2
    assert [line.split()[0] for line in lines[4:7]] == ["a", "b", "ref"]
    assert lines[6].split()[3] == "-"
    assert lines[7] == ""
    assert lines[8] == (
        "minimal detectable difference (mean of ref - strategy) at p < 0.05, "
        "one-tailed:"
    )
    assert lines[9].startswith("t_0.95(n - 1) * sd / sqrt(n)")
    assert lines[10].split() == ["#labelled", "->", "10", "20"]
    mdd = {(r["strategy"], r["n_labelled"]): r["mdd"] for r in table.rows}
    assert lines[11].split() == ["a", f"{mdd['a', 10]:.3f}", "n/a"]
    assert lines[12].split() == ["b"] + [f"{mdd['b', n]:.3f}" for n in (10, 20)]
    assert len(lines) == 13  # the reference has no line
    path = tmp_path / "t.csv"
    table.to_csv(path)
    text = path.read_text().splitlines()
    assert text[0] == "n_labelled,strategy,n_runs,mean,std,p_value,significant,mdd"
    assert len(text) == 1 + 6


def test_compare_unpaired_and_single_run():
    rows = [
        {"run": 0, "strategy": "ref", "n_labelled": 5, "score": 1.0},
        {"run": 0, "strategy": "x", "n_labelled": 5, "score": 0.5},
        {"run": 1, "strategy": "x", "n_labelled": 5, "score": 0.4},
    ]
    table = compare(rows, reference="ref")
    x = next(r for r in table.rows if r["strategy"] == "x")
    assert np.isnan(x["p_value"]) and x["n_runs"] == 2  # one paired run only
    ref = next(r for r in table.rows if r["strategy"] == "ref")
    assert np.isnan(ref["std"])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"reference": "zzz"}, ValueError, "reference 'zzz' is not among"),
        ({"reference": 3}, TypeError, "compare: reference must be a str"),
        ({"alternative": "bigger"}, ValueError, "alternative must be one of"),
        ({"alternative": None}, TypeError, "alternative must be one of"),
        ({"confidence": 1.5}, ValueError,
         r"compare: confidence must be a finite real number in \(0, 1\), got 1.5"),
        ({"confidence": 0}, ValueError, "confidence must be a finite real number"),
        ({"confidence": True}, TypeError, "confidence must be a finite real number"),
    ],
)
def test_compare_bad_input(kwargs, error, match):
    _, rows = _hand_table()
    kwargs = {"reference": "ref", **kwargs}
    with pytest.raises(error, match=match):
        compare(rows, **kwargs)


def test_compare_bad_results():
    with pytest.raises(ValueError, match="at least one row"):
        compare([])
    with pytest.raises(TypeError, match="results must be SimulationResults"):
        compare("results.csv")
    with pytest.raises(ValueError, match="lacks \\['score'\\]"):
        compare([{"run": 0, "strategy": "a", "n_labelled": 1}], reference="a")


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------


def test_plot_learning_curves():
    import matplotlib.pyplot as plt

    scores, rows = _hand_table()
    fig, ax = plt.subplots()
    out = plot_learning_curves(rows, ax=ax, ylabel="PCK", title="t")
    assert out is ax
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["ref", "a", "b"]
    np.testing.assert_allclose(lines[1].get_xdata(), [10, 20])
    np.testing.assert_allclose(
        lines[1].get_ydata(), [np.mean(scores[("a", 10)]), np.mean(scores[("a", 20)])]
    )
    band = ax.collections[1].get_paths()[0].vertices[:, 1]  # the band of "a"
    lower = [
        np.mean(scores[("a", n)]) - np.std(scores[("a", n)], ddof=1) for n in (10, 20)
    ]
    upper = [
        np.mean(scores[("a", n)]) + np.std(scores[("a", n)], ddof=1) for n in (10, 20)
    ]
    assert band.min() == pytest.approx(min(lower))
    assert band.max() == pytest.approx(max(upper))
    assert ax.get_ylabel() == "PCK"
    plt.close(fig)


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_plot_selection_map(method):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(40, 6))
    groups = np.repeat(np.arange(4), 10)
    ax = plot_selection_map(
        emb,
        {"a": [0, 1, 2], "b": np.array([5, 6])},
        labels=groups,
        method=method,
        random_state=0,
    )
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ["pool", "a", "b"]
    offsets = ax.collections[1].get_offsets()
    assert offsets.shape == (3, 2)
    if method == "pca":
        from sklearn.decomposition import PCA

        expected = PCA(n_components=2).fit_transform(emb)[[0, 1, 2]]
        np.testing.assert_allclose(offsets, expected)
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.zeros((5, 2)), {"a": [7]}), {}, "must index the 5 embeddings"),
        ((np.zeros((5, 2)), {"a": [0.5]}), {}, "integer indices"),
        ((np.zeros((5, 2)), [0]), {"method": "umap"},
         r"plot_selection_map: method must be one of \['pca', 'tsne'\]"),
        ((np.zeros((5, 2, 2)), [0]), {}, "embeddings must be 2-D"),
        ((np.zeros((5, 2)), [0]), {"labels": [1, 2]}, "labels must have shape"),
    ],
)
def test_plot_selection_map_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_selection_map(*args, **kwargs)


# ---------------------------------------------------------------------------
# robustness: frames, worker errors, registry objects, progress
# ---------------------------------------------------------------------------


def test_dataframe_input_gives_the_same_results(data):
    pd = pytest.importorskip("pandas")
    X, y, X_test, y_test = data
    params = dict(n_initial=5, budget=4, n_cycles=2, n_runs=2, random_state=0)
    a = simulate(LinearRegression(), [max_norm], X, y, X_test, y_test, **params)
    b = simulate(
        LinearRegression(),
        [max_norm],
        pd.DataFrame(X),
        pd.Series(y),
        pd.DataFrame(X_test),
        pd.Series(y_test),
        **params,
    )
    assert _strip_times(a) == _strip_times(b)


def test_error_in_a_worker_surfaces_unchanged(data):
    def broken(est, X_pool, n_instances=1, **kw):
        raise ZeroDivisionError("strategy bug")

    with parallel_config(backend="threading"):
        with pytest.raises(ZeroDivisionError, match="strategy bug"):
            _run(data, [broken], n_jobs=2)


def test_verbose_progress(data, capsys):
    _run(data, [max_norm], n_runs=1, verbose=2)
    err = capsys.readouterr().err
    assert "run 0 max_norm cycle 3: n_labelled=17 score=" in err
    # the tqdm bar, complete: the base fit and 3 cycles are its work units
    assert "4/4" in err


class ThreadProbe(BaseEstimator):
    """max_norm, recording the torch and BLAS thread counts it runs under."""

    seen = []

    def select(self, learner, X_pool, n_instances=1, **kwargs):
        from threadpoolctl import threadpool_info

        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        ThreadProbe.seen.append((torch.get_num_threads(), blas))
        return max_norm(learner, X_pool, n_instances)


@pytest.mark.parametrize("n_threads", [1, 2, None])
def test_thread_limits_during_runs_and_restored(data, n_threads):
    from threadpoolctl import threadpool_info, threadpool_limits

    before = torch.get_num_threads()
    ThreadProbe.seen = []
    try:
        torch.set_num_threads(3)
        with threadpool_limits(limits=3, user_api="blas"):
            blas_outside = [
                i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
            ]
            _run(data, [ThreadProbe()], n_threads=n_threads, n_runs=1)
            assert torch.get_num_threads() == 3  # restored
            after = [
                i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
            ]
            assert after == blas_outside
    finally:
        torch.set_num_threads(before)
    expected = 3 if n_threads is None else n_threads
    assert len(ThreadProbe.seen) == 3
    for torch_threads, blas in ThreadProbe.seen:
        assert torch_threads == expected
        assert all(b == (blas_outside[0] if n_threads is None else n_threads)
                   for b in blas)


def test_phase_times_add_up_the_recorded_columns(data):
    res = _run(data, [max_norm, max_prediction], n_runs=2)
    times = res.phase_times()
    rows = res.rows
    base = sum(
        max(r["fit_time"] for r in rows if r["run"] == run and r["cycle"] == 0)
        for run in (0, 1)
    )
    assert times["base_fit"] == pytest.approx(base)
    for name in ("max_norm", "max_prediction"):
        mine = [r for r in rows if r["strategy"] == name and r["cycle"] > 0]
        assert times["query"][name] == pytest.approx(sum(r["query_time"] for r in mine))
        assert times["fit"][name] == pytest.approx(sum(r["fit_time"] for r in mine))
        assert times["query"][name] > 0 and times["fit"][name] > 0


def test_hourglass_resume_is_exact(tmp_path):
    """Checkpoints of the package's own net (BatchNorm, loss-prediction head)."""
    import sk_eglpp

    if not hasattr(sk_eglpp, "HourglassRegressor") or not hasattr(
        sk_eglpp, "make_pose_dataset"
    ):
        pytest.skip("pose pieces not available yet")
    names = [s for s in ("learning_loss", "egl_pp") if s in STRATEGIES]
    if not names:
        pytest.skip("pose strategies not registered yet")
    X, y = sk_eglpp.make_pose_dataset(60, image_size=16, random_state=0)
    net = sk_eglpp.HourglassRegressor(
        module__n_features=4,
        module__depth=1,
        module__n_stacks=1,
        max_epochs=1,
        batch_size=8,
        loss_prediction=True,
    )
    params = dict(n_initial=32, budget=4, n_runs=1, random_state=0)
    args = (net, names, X[:44], y[:44], X[44:], y[44:])
    simulate(*args, n_cycles=1, output_dir=tmp_path, **params)
    resumed = simulate(*args, n_cycles=2, output_dir=tmp_path, **params)
    full = simulate(*args, n_cycles=2, **params)
    assert _strip_times(resumed) == _strip_times(full)


def test_parallel_runs_report_every_cycle_through_the_store(data, tmp_path, capsys):
    # with n_jobs and a store, the bar counts base fits and cycles (the rows
    # the workers write), not whole runs, and a resumed run starts from them
    strategies = {"rand": RandomPick(), "norm": max_norm}
    with parallel_config(backend="threading"):
        _run(data, strategies, n_jobs=2, output_dir=tmp_path / "s", verbose=1)
    err = capsys.readouterr().err
    assert "14/14 [" in err  # 2 runs x (1 base fit + 2 strategies x 3 cycles)
    with parallel_config(backend="threading"):
        _run(data, strategies, n_jobs=2, output_dir=tmp_path / "s", verbose=1)
    assert "14/14 [" in capsys.readouterr().err
