"""Reliability of resumable simulations: canonical fingerprints, crash-safe
writes, one writer per folder, Ctrl-C, warnings, damaged and unwritable state.

The subprocess tests import one small script (a tiny skorch net on a linear
problem) under the same module name in every process, so that every process
fingerprints the same estimator.
"""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from sk_eglpp._fingerprints import describe, fingerprint
from sk_eglpp.simulation import (
    CorruptStoreError,
    OutputDirInUseError,
    ResumeMismatchError,
    simulate,
)
from sk_eglpp.simulation._store import StoreWriter

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import torch
    from skorch import NeuralNetRegressor
    from sk_eglpp.simulation import simulate
    from sk_eglpp.simulation._store import StoreWriter

    torch.set_num_threads(1)


    class TinyNet(torch.nn.Module):
        def __init__(self, n_in=3, hidden=6):
            super().__init__()
            self.layers = torch.nn.Sequential(
                torch.nn.Linear(n_in, hidden), torch.nn.ReLU(),
                torch.nn.Linear(hidden, 1))

        def forward(self, X):
            return self.layers(X)


    def main(out, epochs=2, n_cycles=2, n_runs=1):
        if os.environ.get("CRASH_AFTER_WRITE"):
            writes = [0]
            def crash(self, event):
                writes[0] += 1
                if writes[0] == int(os.environ["CRASH_AFTER_WRITE"]):
                    os._exit(7)  # dies right after this write, before the next
            StoreWriter._written = crash
        rng = np.random.default_rng(1)
        X = rng.normal(size=(60, 3)).astype(np.float32)
        y = (X @ np.float32([1.0, -2.0, 0.5]))[:, None]
        net = NeuralNetRegressor(TinyNet, max_epochs=epochs, lr=0.05,
                                 optimizer=torch.optim.Adam, train_split=None,
                                 batch_size=8, iterator_train__shuffle=True,
                                 verbose=0)
        try:
            res = simulate(net, ["random_query"], X[:45], y[:45], X[45:], y[45:],
                           n_initial=6, budget=4, n_cycles=n_cycles, n_runs=n_runs,
                           random_state=0, output_dir=out)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
        rows = [{k: r[k] for k in ("run", "strategy", "cycle", "score")}
                for r in res.rows]
        return {"rows": rows,
                "selected": {str(k): v.tolist() for k, v in res.selected.items()}}

    """
)


# imported, not run as __main__: TinyNet is simscript.TinyNet in every process
_MAIN = (
    "import json, sys, simscript; "
    "print(json.dumps(simscript.main(sys.argv[1], *map(int, sys.argv[2:]))))"
)


@pytest.fixture
def script(tmp_path):
    folder = tmp_path / "script"
    folder.mkdir()
    (folder / "simscript.py").write_text(SCRIPT)
    return folder


def _run_script(script, out, *args, env=None, **kwargs):
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(script),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-c", _MAIN, str(out), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        **kwargs,
    )


def _checkpoints(out):
    """Names of the checkpoint folders under ``out`` (sorted)."""
    return sorted(
        p.name for p in out.rglob("*") if p.is_dir() and (p / "history.json").is_file()
    )


def _state_files(out):
    """Every file of the state folder with its bytes and mtime."""
    return {
        str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "lock"
    }


# ---------------------------------------------------------------------------
# canonical fingerprints
# ---------------------------------------------------------------------------


def test_describe_is_canonical():
    assert describe({"b", "a", "c"}) == describe({"c", "a", "b"})
    assert describe(frozenset({2, 1})) == {"set": [1, 2]}
    from sk_eglpp import HourglassRegressor

    net = HourglassRegressor(module__n_joints=3, module__depth=2, verbose=0)
    description = describe(net)
    # skorch's private set of the module__ names restates public parameters
    assert "_params_to_validate" not in description["params"]
    assert "verbose" not in description["params"]
    assert description["params"]["module__depth"] == 2
    # what changes results changes the fingerprint
    other = HourglassRegressor(module__n_joints=3, module__depth=3, verbose=0)
    assert fingerprint(describe(other)) != fingerprint(description)
    quiet = HourglassRegressor(module__n_joints=3, module__depth=2, verbose=1)
    assert fingerprint(describe(quiet)) == fingerprint(description)


def test_pose_cli_resumes_in_a_new_process(tmp_path):
    """The same pose command under two hash seeds: the second recomputes nothing."""
    out = tmp_path / "pose"
    args = [
        sys.executable,
        "-m",
        "sk_eglpp.cli",
        "simulate",
        "--no-progress",
        "--output-dir",
        str(out),
        "--strategies",
        "egl_pp,random_query",
        "--pool-size",
        "24",
        "--test-samples",
        "8",
        "--initial",
        "8",
        "--budget",
        "4",
        "--cycles",
        "1",
        "--runs",
        "1",
        "--epochs",
        "1",
        "--image-size",
        "32",
    ]
    outputs = []
    for seed in ("11", "12"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "OMP_NUM_THREADS": "1"}
        proc = subprocess.run(
            args, capture_output=True, text=True, env=env, timeout=600
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append((_state_files(out / "state"), (out / "results.csv").read_text()))
    (state_1, csv_1), (state_2, csv_2) = outputs
    assert state_1 == state_2  # not one byte rewritten: nothing was recomputed
    assert csv_1 == csv_2


# ---------------------------------------------------------------------------
# crash-safe write order
# ---------------------------------------------------------------------------


class _Crash(BaseException):
    """Stands for the process dying: nothing in the library catches it."""


@pytest.fixture
def simscript(script, monkeypatch):
    monkeypatch.syspath_prepend(str(script))
    import simscript

    return simscript


def test_a_crash_after_every_write_resumes_to_the_same_result(
    simscript, tmp_path, monkeypatch
):
    """Crash right after each write in turn; every state resumes exactly.

    Every write is complete and fsynced before the store's write hook runs,
    so raising from the hook leaves on disk what dying there would (the
    subprocess test below does die, with ``os._exit``). The writes: config,
    environment, base checkpoint, base row; per cycle the checkpoint and the
    row, and from cycle 2 on the deletion of the previous checkpoint.
    """
    reference = simscript.main(None)
    events = []
    monkeypatch.setattr(
        StoreWriter, "_written", lambda self, event: events.append(event)
    )
    assert simscript.main(tmp_path / "all") == reference
    assert events == (
        ["config", "environment", "checkpoint", "row"]
        + ["checkpoint", "row"]
        + ["checkpoint", "row", "prune"]
    )
    for k in range(1, len(events) + 1):
        out = tmp_path / f"crash-{k}"
        count = [0]

        def crash(self, event, k=k, count=count):
            count[0] += 1
            if count[0] == k:
                raise _Crash(event)

        monkeypatch.setattr(StoreWriter, "_written", crash)
        with pytest.raises(_Crash):
            simscript.main(out)
        monkeypatch.setattr(StoreWriter, "_written", lambda self, event: None)
        assert simscript.main(out) == reference, f"crash after write {k}"
        assert _checkpoints(out) == ["base", "cycle-0002"]
        assert not list(out.rglob("*.tmp"))
        assert not list(out.rglob(".cycle-*"))  # no temporary folder left


def test_killed_between_checkpoint_and_row_resumes(simscript, script, tmp_path):
    """``os._exit`` after cycle 2's checkpoint, before its row: it resumes.

    Before the fix the previous checkpoint was already deleted at that point
    and the resume failed with "the checkpoint ... is missing".
    """
    out = tmp_path / "out"
    # write 7: config, environment, base checkpoint and row, cycle 1's
    # checkpoint and row, cycle 2's checkpoint
    proc = _run_script(script, out, env={"CRASH_AFTER_WRITE": "7"})
    assert proc.returncode == 7, proc.stderr
    names = [n for n in _checkpoints(out) if n.startswith("cycle-")]
    assert names == ["cycle-0001", "cycle-0002"]  # the old one is kept
    assert simscript.main(out) == simscript.main(None)


# ---------------------------------------------------------------------------
# one writer per folder
# ---------------------------------------------------------------------------


def _toy(tmp_path, **kwargs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 2.0, -1.0]
    params = dict(n_initial=5, budget=3, n_cycles=2, n_runs=2, random_state=0)
    params.update(kwargs)
    return simulate(
        LinearRegression(), ["random_query"], X[:30], y[:30], X[30:], y[30:], **params
    )


def test_second_writer_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = StoreWriter(out)
    holder.acquire()
    try:
        with pytest.raises(OutputDirInUseError, match=f"pid {os.getpid()}"):
            _toy(tmp_path, output_dir=out)
        assert not (out / "config.json").exists()  # refused before any write
    finally:
        holder.release()
    # another process is refused too, with a one-line message
    state = tmp_path / "cli" / "state"
    state.mkdir(parents=True)
    holder = StoreWriter(state)
    holder.acquire()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "sk_eglpp.cli",
                "simulate",
                "--task",
                "toy-regression",
                "--quick",
                "--no-progress",
                "--output-dir",
                str(tmp_path / "cli"),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            timeout=300,
        )
    finally:
        holder.release()
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"is in use by another simulation (pid {os.getpid()})" in err[0]
    # released: the folder is usable again, and simulate releases it on return
    first = _toy(tmp_path, output_dir=out)
    again = _toy(tmp_path, output_dir=out)
    assert first.rows == again.rows


def test_lock_released_after_an_error(tmp_path):
    out = tmp_path / "out"
    _toy(tmp_path, output_dir=out)
    with pytest.raises(ResumeMismatchError, match="different parameters"):
        _toy(tmp_path, output_dir=out, budget=4)
    _toy(tmp_path, output_dir=out)  # not left locked


# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------


def test_sigint_stops_at_a_safe_point_and_resumes(simscript, script, tmp_path):
    """SIGINT while skorch trains: exit 130, no cut-short cycle recorded.

    skorch's ``fit`` swallows a KeyboardInterrupt; before the fix the run
    went on to the end with that cycle trained for fewer epochs.
    """
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(script)}
    epochs, cycles = 150, 4
    proc = subprocess.Popen(
        [sys.executable, "-c", _MAIN, str(out), str(epochs), str(cycles)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    run_file = out / "runs" / "run-000.jsonl"
    try:
        deadline = time.monotonic() + 300  # a hang guard, not a timing check
        while time.monotonic() < deadline and proc.poll() is None:
            if run_file.exists() and len(run_file.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    n_rows = len(run_file.read_text().splitlines())
    assert n_rows < cycles + 1  # it stopped; it did not run to the end
    assert simscript.main(out, epochs, cycles) == simscript.main(None, epochs, cycles)


def test_interrupt_guard_defers_inside_writes():
    from sk_eglpp._interrupts import Interrupts

    with Interrupts() as guard:
        with pytest.raises(KeyboardInterrupt):
            with guard.critical():
                os.kill(os.getpid(), signal.SIGINT)  # deferred to the block's end
                written = True
        assert written
        guard.requested = False
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the signal arrives at the next bytecode
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ---------------------------------------------------------------------------
# warnings, damaged and unwritable state
# ---------------------------------------------------------------------------


def noisy(estimator, X_pool, n_instances=1, **kwargs):
    warnings.warn("the labelled set is small", UserWarning, stacklevel=2)
    return np.arange(n_instances)


def test_warnings_once_per_run_through_the_progress_bar(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X.sum(axis=1)
    data = (X[:30], y[:30], X[30:], y[30:])
    kwargs = dict(n_initial=5, budget=3, n_cycles=3, n_runs=2, random_state=0)

    def run(verbose):
        simulate(LinearRegression(), {"noisy": noisy}, *data, verbose=verbose, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes as a warning
        run(verbose=1)
    err = capsys.readouterr().err
    assert err.count("the labelled set is small") == 2  # once per run
    assert "warning (run 0 noisy cycle 1): the labelled set is small" in err
    assert "warnings.warn" not in err  # no source line
    with pytest.warns(UserWarning, match="small") as record:
        run(verbose=0)
    assert len(record) == 2


def test_full_disk_leaves_no_temporary_file(simscript, tmp_path, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space left"):
        simscript.main(tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_damaged_checkpoint_is_named(simscript, tmp_path):
    simscript.main(tmp_path / "out", 2, 1)
    (path,) = (tmp_path / "out" / "checkpoints").rglob("cycle-0001/module.pt")
    path.write_bytes(path.read_bytes()[:100])
    match = "cannot read the checkpoint .*cycle-0001"
    with pytest.raises(CorruptStoreError, match=match):
        simscript.main(tmp_path / "out", 2, 2)  # one more cycle starts from it


def test_leftovers_of_killed_writes_are_removed_on_resume(tmp_path):
    out = tmp_path / "out"
    first = _toy(tmp_path, output_dir=out)
    (out / ".config.json.k1l2.tmp").write_text("{")  # what a kill -9 left
    (out / "checkpoints" / "run-000" / ".base.x9y8.tmp").mkdir(parents=True)
    (out / "notes.txt").write_text("the user's")
    again = _toy(tmp_path, output_dir=out)
    assert again.rows == first.rows
    assert not list(out.rglob("*.tmp"))
    assert (out / "notes.txt").read_text() == "the user's"
