"""The public read API of a simulation's store, its typed errors, and the
library's problem builders (``pose_problem``, ``toy_problem``)."""

import json
import pickle
import re
import shutil

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression
from skorch import NeuralNetRegressor
from skorch.toy import MLPModule

from sk_eglpp.models._checkpoint import load_net
from sk_eglpp.simulation import (
    POSE_PRESETS,
    TOY_PRESETS,
    CorruptStoreError,
    OutputDirInUseError,
    ResumeMismatchError,
    SimulationStore,
    StoreError,
    StoreFormatError,
    delete_store,
    open_store,
    pose_problem,
    simulate,
    toy_problem,
)
from sk_eglpp.simulation._store import StoreWriter


def _net(**kwargs):
    params = dict(
        module__input_units=3,
        module__output_units=1,
        module__hidden_units=6,
        max_epochs=2,
        lr=0.05,
        optimizer=torch.optim.Adam,
        train_split=None,
        batch_size=8,
        verbose=0,
    )
    params.update(kwargs)
    return NeuralNetRegressor(MLPModule, **params)


#: calls of StopAt.select, and the call that raises KeyboardInterrupt
STOP = {"calls": 0, "at": None}


class StopAt(BaseEstimator):
    """The first samples of the pool; Ctrl-C at the call ``STOP["at"]``."""

    def select(self, learner, X_pool, n_instances=1, **kwargs):
        STOP["calls"] += 1
        if STOP["calls"] == STOP["at"]:
            raise KeyboardInterrupt
        return np.arange(n_instances)


@pytest.fixture(autouse=True)
def no_stop():
    STOP.update(calls=0, at=None)


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    y = (X @ np.float32([1.0, -2.0, 0.5]))[:, None]
    return X[:40], y[:40], X[40:], y[40:]


def _simulate(data, out=None, estimator=None, strategies=None, **kwargs):
    params = dict(n_initial=6, budget=4, n_cycles=2, n_runs=2, random_state=0)
    params.update(kwargs)
    return simulate(
        _net() if estimator is None else estimator,
        strategies or {"first": StopAt(), "random_query": "random_query"},
        *data,
        output_dir=out,
        **params,
    )


# ---------------------------------------------------------------------------
# reading a store
# ---------------------------------------------------------------------------


def test_finished_store_reads_back_the_results(data, tmp_path):
    results = _simulate(data, tmp_path)
    store = open_store(tmp_path)
    assert isinstance(store, SimulationStore)
    assert store.strategies == ["first", "random_query"]
    assert store.runs == [0, 1]
    assert store.cycles(1, "first") == [0, 1, 2]
    assert not store.fidelity
    assert store.config["n_initial"] == 6 and store.config["random_state"] == 0
    read = store.results()
    assert read.rows == results.rows
    assert read.selected.keys() == results.selected.keys()
    for key, indices in results.selected.items():
        np.testing.assert_array_equal(read.selected[key], indices)
    assert store.checkpoints() == [
        (0, None, 0),
        (0, "first", 2),
        (0, "random_query", 2),
        (1, None, 0),
        (1, "first", 2),
        (1, "random_query", 2),
    ]
    assert "strategies=['first', 'random_query']" in repr(store)


def test_load_model_predicts_as_the_simulated_model(data, tmp_path):
    X, y, X_test, y_test = data
    estimator = _net()
    results = _simulate(data, tmp_path, estimator=estimator)
    store = open_store(tmp_path)
    scores = {(r["run"], r["strategy"], r["cycle"]): r["score"] for r in results}
    for run, strategy, cycle in [(0, None, 0), (1, "random_query", 2)]:
        model = store.load_model(estimator, run, strategy)
        key = (run, strategy or "first", cycle)
        assert model.score(X_test, y_test) == pytest.approx(scores[key], abs=1e-6)
        assert model.predict(X).shape == (len(X), 1)
        assert len(model.history_) == 2 * (cycle + 1)  # epochs of every fit
    assert not hasattr(estimator, "module_")  # cloned, never modified
    # the base model is also every strategy's cycle 0
    base = store.load_model(estimator, 0, "first", cycle=0)
    np.testing.assert_array_equal(
        base.predict(X), store.load_model(estimator, 0).predict(X)
    )


def test_partial_store_shows_the_finished_cycles(data, tmp_path):
    strategies = {"first": StopAt()}
    STOP["at"] = 2
    with pytest.raises(KeyboardInterrupt):
        _simulate(data, tmp_path, strategies=strategies, n_runs=1, n_cycles=3)
    store = open_store(tmp_path)
    assert store.runs == [0]
    assert store.cycles(0, "first") == [0, 1]
    partial = store.results()
    assert partial["cycle"].tolist() == [0, 1]
    assert partial["n_labelled"].tolist() == [6, 10]
    np.testing.assert_array_equal(
        partial.labelled_indices(0, "first"), np.r_[partial.selected[(0, "first", 0)],
                                                    np.arange(4)]
    )
    model = store.load_model(_net(), 0, "first")  # its last finished cycle
    assert len(model.history_) == 4
    # a torn last row (a crash while appending) is not read, and not cut
    run_file = tmp_path / "runs" / "run-000.jsonl"
    run_file.write_bytes(run_file.read_bytes() + b'{"run": 0, "strat')
    size = run_file.stat().st_size
    assert store.cycles(0, "first") == [0, 1]
    assert run_file.stat().st_size == size
    full = _simulate(data, tmp_path, strategies={"first": StopAt()}, n_runs=1,
                     n_cycles=3)
    assert open_store(tmp_path).results().rows == full.rows


def test_store_of_a_scikit_learn_estimator(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 2.0, -1.0]
    results = simulate(LinearRegression(), ["random_query"], X[:30], y[:30],
                       X[30:], y[30:], n_initial=5, budget=3, n_cycles=2, n_runs=1,
                       random_state=0, fidelity=True, output_dir=tmp_path)
    store = open_store(tmp_path)
    assert store.fidelity
    assert store.results().rows == [dict(r) for r in results.rows]
    assert store.checkpoints() == []
    with pytest.raises(TypeError, match="Only skorch nets are checkpointed"):
        store.load_model(LinearRegression(), 0)


def test_load_model_bad_requests(data, tmp_path):
    _simulate(data, tmp_path, n_runs=1)
    store = open_store(tmp_path)
    with pytest.raises(ResumeMismatchError, match="estimator differs"):
        store.load_model(_net(max_epochs=3), 0)
    with pytest.raises(ValueError, match="Unknown strategy 'nope'"):
        store.load_model(_net(), 0, "nope")
    with pytest.raises(ValueError, match="Unknown strategy 'nope'"):
        store.cycles(0, "nope")
    # cycle 1 was pruned once cycle 2 was written
    with pytest.raises(ValueError, match="No stored network for run 0, 'first' cycle 1"
                       ".*keeps: base, 'first' cycle 2"):
        store.load_model(_net(), 0, "first", cycle=1)
    with pytest.raises(ValueError, match="No stored network for run 3"):
        store.load_model(_net(), 3)


# ---------------------------------------------------------------------------
# typed errors
# ---------------------------------------------------------------------------


def test_errors_keep_their_builtin_types_and_pickle():
    assert issubclass(OutputDirInUseError, RuntimeError)
    for error in (StoreError, ResumeMismatchError, StoreFormatError,
                  CorruptStoreError):
        assert issubclass(error, ValueError) and issubclass(error, StoreError)
        assert error.__module__ == "sk_eglpp.simulation"
        again = pickle.loads(pickle.dumps(error("why")))
        assert type(again) is error and str(again) == "why"


def test_a_folder_without_a_simulation(tmp_path):
    with pytest.raises(StoreError, match="holds no simulation"):
        open_store(tmp_path)
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(StoreError, match="not deleting it"):
        delete_store(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep"


def test_an_older_store_format_is_a_typed_error(data, tmp_path):
    _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    config = tmp_path / "config.json"
    stored = json.loads(config.read_text())
    stored["format"] = 1
    config.write_text(json.dumps(stored))
    with pytest.raises(StoreFormatError, match="format 1; this version .* format 2"):
        open_store(tmp_path)
    with pytest.raises(StoreFormatError, match="cannot be resumed"):
        _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    delete_store(tmp_path)  # any format can be deleted
    assert not tmp_path.exists()


def test_damaged_files_are_corrupt_store_errors(data, tmp_path):
    _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    run_file = tmp_path / "runs" / "run-000.jsonl"
    lines = run_file.read_bytes().split(b"\n")
    run_file.write_bytes(b"\n".join([lines[0], b"{oops", *lines[1:]]))
    with pytest.raises(CorruptStoreError, match="run-000.jsonl is corrupt at line 2"):
        open_store(tmp_path).results()
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CorruptStoreError, match="not a simulation configuration"):
        open_store(tmp_path)


def test_delete_store_waits_for_no_writer(data, tmp_path):
    _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    holder = StoreWriter(tmp_path)
    holder.acquire()
    try:
        with pytest.raises(OutputDirInUseError, match="in use by another simulation"):
            delete_store(tmp_path)
    finally:
        holder.release()
    assert (tmp_path / "config.json").is_file()
    delete_store(tmp_path)
    assert not tmp_path.exists()


# ---------------------------------------------------------------------------
# deleting only a store, and only its own files
# ---------------------------------------------------------------------------

NOT_A_STORE = {
    "another tool's": {"compiler": "pdflatex", "main": "paper.tex"},
    "not an object": ["format", 2],
    "some keys only": {"format": 2, "config": {}},
    "another writer": {
        "written_by": "latexmk", "format": 2, "fingerprint": "f", "entropy": 1,
        "config": {}, "strategies": {},
    },
}


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("config", NOT_A_STORE.values(), ids=NOT_A_STORE.keys())
def test_a_folder_with_a_foreign_config_is_left_alone(data, tmp_path, config):
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "paper.tex").write_text("\\documentclass{article}")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "notes.txt").write_text("mine")
    before = _tree(tmp_path)
    with pytest.raises(StoreError, match="is not the folder of a simulation: its "
                       "config.json is not a store's .*; not deleting it") as info:
        delete_store(tmp_path)
    assert type(info.value) is StoreError and "or delete" not in str(info.value)
    with pytest.raises(StoreError, match="not a store's .*; expected the output_dir"):
        open_store(tmp_path)
    with pytest.raises(StoreError, match="not a store's .*; use another output_dir"):
        _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    assert _tree(tmp_path) == before  # not even a lock file


def test_delete_store_removes_only_the_store_files(data, tmp_path):
    _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    assert (tmp_path / "environment.json").is_file()
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / ".config.json.k2x9.tmp").write_text("{")  # a killed write's
    (tmp_path / ".environment.json.x7q1.tmp").write_text("{")
    delete_store(tmp_path)
    assert _tree(tmp_path) == ["notes.txt"]
    with pytest.raises(StoreError, match="holds no simulation"):
        delete_store(tmp_path)


def test_delete_store_leaves_an_environment_json_that_is_no_record(data, tmp_path):
    _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    (tmp_path / "environment.json").write_text("conda env export, mine")
    delete_store(tmp_path)
    assert _tree(tmp_path) == ["environment.json"]


def test_stores_without_the_marker_are_still_stores(data, tmp_path):
    _simulate(data, tmp_path, n_runs=1, n_cycles=1)
    config = tmp_path / "config.json"
    stored = json.loads(config.read_text())
    assert stored.pop("written_by") == "sk_eglpp.simulation"
    config.write_text(json.dumps(stored))  # as written before the marker
    assert open_store(tmp_path).runs == [0]
    _simulate(data, tmp_path, n_runs=1, n_cycles=1)  # resumes
    delete_store(tmp_path)
    assert not tmp_path.exists()


# ---------------------------------------------------------------------------
# the environment the rows were computed in
# ---------------------------------------------------------------------------


def _toy(n_runs=1, n_cycles=2):
    return toy_problem(n_pool=50, n_test=20, n_features=2, n_runs=n_runs,
                       n_cycles=n_cycles, strategies=["random_query", "emcm"])


def test_the_environment_is_recorded_with_the_results(tmp_path):
    import platform

    import sklearn

    results = simulate(**_toy(n_runs=2), output_dir=tmp_path, random_state=0,
                       n_threads=1)
    [env] = results.environments
    assert env["runs"] == [0, 1]
    assert env["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert env["torch"] == torch.__version__
    assert env["scikit-learn"] == sklearn.__version__
    assert env["numpy"] == np.__version__
    assert env["python"] == platform.python_version()
    assert env["platform"] == platform.platform()
    assert env["n_threads"] == 1 and env["n_jobs"] is None
    assert env["device"] is None  # a scikit-learn pipeline
    stored = json.loads((tmp_path / "environment.json").read_text())
    [entry] = stored["environments"]
    assert {**entry["environment"], "runs": [0, 1]} == env
    # every row names it; the store reads the same back
    for path in (tmp_path / "runs").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            assert json.loads(line)["environment"] == entry["id"]
    assert open_store(tmp_path).results().environments == results.environments
    text = results.environment_report()
    assert text.splitlines()[0].startswith("environment: python ")
    assert f"torch CPU capability {env['cpu_capability']}" in text
    assert "n_threads 1, n_jobs None" in text
    # without output_dir: the same environment
    plain = simulate(**_toy(n_runs=2), random_state=0, n_threads=1)
    assert plain.environments == results.environments
    np.testing.assert_array_equal(plain["score"], results["score"])


def test_a_resume_on_another_processor_records_both(tmp_path, monkeypatch):
    first = simulate(**_toy(n_cycles=1), output_dir=tmp_path, random_state=0)
    [before] = first.environments
    other = "AVX2" if before["cpu_capability"] != "AVX2" else "DEFAULT"
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: other)
    # one more cycle of run 0 and a new run 1, computed on the "other" CPU
    results = simulate(**_toy(n_runs=2, n_cycles=2), output_dir=tmp_path,
                       random_state=0)
    assert [env["cpu_capability"] for env in results.environments] == [
        before["cpu_capability"],
        other,
    ]
    assert [env["runs"] for env in results.environments] == [[0], [0, 1]]
    assert open_store(tmp_path).results().environments == results.environments
    text = results.environment_report()
    assert text.startswith("computed on 2 environments")
    assert "environment of run 0: python" in text
    assert "environment of runs 0-1: python" in text
    # a third call in a recorded environment adds none
    simulate(**_toy(n_runs=2, n_cycles=3), output_dir=tmp_path, random_state=0)
    stored = json.loads((tmp_path / "environment.json").read_text())
    assert len(stored["environments"]) == 2


def _as_written_before_environments(folder):
    """The store as a version that recorded no environment left it."""
    (folder / "environment.json").unlink()
    for path in (folder / "runs").glob("*.jsonl"):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            del row["environment"]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_a_store_without_environments_reads_and_resumes(tmp_path):
    reference = simulate(**_toy(n_runs=2), random_state=0)
    simulate(**_toy(n_runs=1), output_dir=tmp_path, random_state=0)
    _as_written_before_environments(tmp_path)
    old = open_store(tmp_path).results()
    assert old.environments == [{"runs": [0]}]
    assert old.environment_report().startswith(
        "environment of run 0: not recorded (written by an earlier version"
    )
    results = simulate(**_toy(n_runs=2), output_dir=tmp_path, random_state=0)
    np.testing.assert_array_equal(results["score"], reference["score"])
    [new, unknown] = results.environments
    assert new["runs"] == [1] and unknown == {"runs": [0]}
    assert "cpu_capability" in new
    assert open_store(tmp_path).results().environments == results.environments


def test_a_damaged_environment_record_is_a_corrupt_store_error(tmp_path):
    simulate(**_toy(), output_dir=tmp_path, random_state=0)
    (tmp_path / "environment.json").write_text("{oops")
    with pytest.raises(CorruptStoreError, match="environment.json is not an "
                       "environment record .*; delete it"):
        open_store(tmp_path).results()
    with pytest.raises(CorruptStoreError, match="delete it"):
        simulate(**_toy(n_runs=2), output_dir=tmp_path, random_state=0)
    (tmp_path / "environment.json").unlink()  # as the message says
    results = simulate(**_toy(n_runs=2), output_dir=tmp_path, random_state=0)
    # the rows of run 0 name the environment by its hash: this one, again
    assert [env["runs"] for env in results.environments] == [[0, 1]]


# ---------------------------------------------------------------------------
# reading while simulate writes
# ---------------------------------------------------------------------------


def _before_last_cycle(data, folder):
    """Run 0 of "first" as just before its cycle 2 was committed (cycle 1's
    checkpoint kept); returns the writer's next step and cycle 2's predictions.

    The writer's step appends cycle 2's row, writes its checkpoint and prunes
    cycle 1's, wholly (``"folder"``) or only one file of it so far
    (``"file"``).
    """
    _simulate(data, folder, strategies={"first": StopAt()}, n_runs=1, n_cycles=2)
    expected = open_store(folder).load_model(_net(), 0, "first").predict(data[0])
    run_file = folder / "runs" / "run-000.jsonl"
    lines = run_file.read_text().splitlines(keepends=True)
    last = [line for line in lines if json.loads(line)["cycle"] == 2]
    run_file.write_text("".join(line for line in lines if line not in last))
    cycle_2 = next((folder / "checkpoints" / "run-000").glob("first-*/cycle-0002"))
    cycle_1 = cycle_2.with_name("cycle-0001")
    saved = folder.parent / "saved-cycle"
    cycle_2.rename(saved)
    shutil.copytree(saved, cycle_1)  # a stand-in for cycle 1's network

    def write_cycle_2(how):
        with open(run_file, "a") as f:
            f.write("".join(last))
        shutil.copytree(saved, cycle_2)
        if how == "folder":
            shutil.rmtree(cycle_1)
        else:
            (cycle_1 / "module.pt").unlink()

    return write_cycle_2, expected


def _prune_on_first_load(monkeypatch, write_cycle_2, how):
    """Run the writer's next step between load_model's listing and its load;
    returns the names of the checkpoint folders loaded."""
    loaded = []

    def load(net, folder):
        if not loaded:
            write_cycle_2(how)
        loaded.append(folder.name)
        return load_net(net, folder)

    monkeypatch.setattr("sk_eglpp.simulation._store.load_net", load)
    return loaded


@pytest.mark.parametrize("how", ["folder", "file"])
def test_load_model_of_the_last_cycle_survives_its_pruning(
    data, tmp_path, monkeypatch, how
):
    write_cycle_2, expected = _before_last_cycle(data, tmp_path / "store")
    store = open_store(tmp_path / "store")
    assert store.cycles(0, "first") == [0, 1]
    loaded = _prune_on_first_load(monkeypatch, write_cycle_2, how)
    model = store.load_model(_net(), 0, "first")  # the last cycle: now 2
    assert loaded == ["cycle-0001", "cycle-0002"]
    np.testing.assert_array_equal(model.predict(data[0]), expected)


@pytest.mark.parametrize("how", ["folder", "file"])
def test_load_model_of_a_cycle_pruned_meanwhile_says_the_run_moved_on(
    data, tmp_path, monkeypatch, how
):
    write_cycle_2, _ = _before_last_cycle(data, tmp_path / "store")
    store = open_store(tmp_path / "store")
    _prune_on_first_load(monkeypatch, write_cycle_2, how)
    with pytest.raises(ValueError, match="run 0 of 'first' moved on while its "
                       "cycle 1 was read.*cycle=None") as info:
        store.load_model(_net(), 0, "first", cycle=1)
    assert type(info.value) is ValueError  # not a CorruptStoreError
    assert "damaged" not in str(info.value)


def test_a_checkpoint_file_missing_for_good_is_damage(data, tmp_path):
    _simulate(data, tmp_path, strategies={"first": StopAt()}, n_runs=1, n_cycles=1)
    folder = next((tmp_path / "checkpoints" / "run-000").glob("first-*/cycle-0001"))
    (folder / "module.pt").unlink()  # no later cycle: not a pruning
    with pytest.raises(CorruptStoreError, match="cycle-0001 .*module.pt.*damaged"):
        open_store(tmp_path).load_model(_net(), 0, "first")


def test_fitted_attributes_out_of_bounds_are_damage(
    small_pose, small_hourglass, tmp_path
):
    X, y = small_pose
    simulate(small_hourglass(), ["random_query"], X[:24], y[:24], X[24:], y[24:],
             n_initial=8, budget=4, n_cycles=1, n_runs=1, random_state=0,
             output_dir=tmp_path)
    store = open_store(tmp_path)
    path = tmp_path / "checkpoints" / "run-000" / "base" / "attributes.json"
    good = json.loads(path.read_text())
    assert store.load_model(small_hourglass(), 0).heatmap_size_ == (8, 8)

    def side(value):
        return {"value": value}

    bad = [
        ("heatmap_size_", {"tuple": [side(1e5), side(1e5)]}),
        ("heatmap_size_", {"tuple": [side(100_000), side(8)]}),
        ("heatmap_size_", {"list": [side(8)] * 100_000}),
        ("n_joints_", side(0)),
    ]
    for key, value in bad:
        path.write_text(json.dumps({**good, key: value}))
        with pytest.raises(CorruptStoreError, match=f"{re.escape(str(path))} holds "
                           f"a value no fit sets: {key}.*damaged"):
            store.load_model(small_hourglass(), 0)


# ---------------------------------------------------------------------------
# problem builders
# ---------------------------------------------------------------------------


def test_toy_problem():
    problem = toy_problem("quick", random_state=3)
    preset = TOY_PRESETS["quick"]
    assert problem["X"].shape == (preset["n_pool"], preset["n_features"])
    assert problem["X_test"].shape == (preset["n_test"], preset["n_features"])
    assert problem["strategies"] == list(preset["strategies"])
    assert problem["scoring"] == "neg_root_mean_squared_error"
    again = toy_problem("quick", random_state=3)
    np.testing.assert_array_equal(problem["X"], again["X"])
    np.testing.assert_array_equal(problem["y"], again["y"])
    assert not np.array_equal(toy_problem("quick", random_state=4)["X"], problem["X"])
    small = toy_problem(n_pool=50, n_test=20, n_features=2, n_runs=1, n_cycles=2,
                        strategies="random_query")
    assert small["X"].shape == (50, 2) and small["strategies"] == ["random_query"]
    results = simulate(**small, random_state=0)
    assert results["n_labelled"].tolist() == [12, 16, 20]
    with pytest.raises(ValueError, match="preset must be one of"):
        toy_problem("benchmark")
    with pytest.raises(TypeError, match="Unknown settings \\['image_size'\\]"):
        toy_problem(image_size=32)
    with pytest.raises(ValueError, match=r"toy_problem: n_runs must be an int in "
                       r"\[1, inf\), got 0"):
        toy_problem(n_runs=0)
    with pytest.raises(TypeError, match="n_pool must be an int in"):
        toy_problem(n_pool=2.5)
    with pytest.raises(TypeError, match="toy_problem: fidelity must be a bool"):
        toy_problem(fidelity=1)
    with pytest.raises(TypeError, match="toy_problem: strategies must be a "
                       "strategy name, a list or a dict of strategies or None"):
        toy_problem(strategies=3)
    with pytest.raises(ValueError, match=r"toy_problem: random_state must be an "
                       r"int in \[0, 4294967295\], got -1"):
        toy_problem(random_state=-1)
    with pytest.raises(TypeError, match="preset must be one of"):
        toy_problem(None)


def test_pose_problem_fits_the_depth_to_the_image_size():
    assert POSE_PRESETS["default"]["depth"] == 3
    problem, sequences = pose_problem(n_pool=8, n_test=4, image_size=16)
    assert problem["X"].shape == (8, 1, 16, 16) and sequences.shape == (8,)
    assert problem["estimator"].get_params()["module__depth"] == 2
    problem, _ = pose_problem(n_pool=8, n_test=4, image_size=16, depth=1)
    assert problem["estimator"].get_params()["module__depth"] == 1
    with pytest.raises(ValueError, match="data must be one of"):
        pose_problem(data="coco")
    with pytest.raises(ValueError, match="pose_problem: device must be .*not a "
                       "torch device"):
        pose_problem(device="tpu")
    with pytest.raises(ValueError, match=r"test_size must be a finite real number "
                       r"in \(0, 1\)"):
        pose_problem(data="lsp", data_dir=".", test_size=1.0)
    with pytest.raises(TypeError, match="data_dir must be a path"):
        pose_problem(data="lsp", data_dir=3)
    with pytest.raises(ValueError, match="data='lsp' needs data_dir"):
        pose_problem(data="lsp")
    with pytest.raises(ValueError, match="pose_problem: image_size must be an int in"):
        pose_problem(image_size=0)
