"""Tests of the ``sk-eglpp`` console command."""

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sk_eglpp import __version__
from sk_eglpp.cli import build_parser, main
from sk_eglpp.query import STRATEGIES

TOY = ["simulate", "--task", "toy-regression", "--quick", "--no-progress"]
POSE_STRATEGIES = [
    "egl_pp",
    "random_query",
    "coreset",
    "multipeak_entropy",
    "learning_loss",
]


def _command():
    """The installed console script (or the module when it is not installed)."""
    script = Path(sys.executable).parent / "sk-eglpp"
    if script.exists():
        return [str(script)]
    found = shutil.which("sk-eglpp")
    return [found] if found else [sys.executable, "-m", "sk_eglpp.cli"]


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check_outputs(out, strategies, n_runs, n_cycles):
    for name in (
        "results.csv",
        "table.txt",
        "learning_curves.png",
        "selection_map.png",
    ):
        assert (out / name).is_file(), name
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = _read_csv(out / "results.csv")
    assert len(rows) == n_runs * len(strategies) * (n_cycles + 1)
    assert {r["strategy"] for r in rows} == set(strategies)
    assert {int(r["cycle"]) for r in rows} == set(range(n_cycles + 1))
    table = (out / "table.txt").read_text().splitlines()
    sizes = sorted({int(r["n_labelled"]) for r in rows})
    assert table[2].split()[2:] == [str(s) for s in sizes]  # every cycle
    body = table[4 : table.index("")]  # then the detectable differences
    assert sorted(line.split()[0] for line in body) == sorted(strategies)
    assert any(line.startswith("minimal detectable difference") for line in table)
    assert any(line.startswith("environment: python ") for line in table)
    return rows, table


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sk-eglpp {__version__}"
    assert main([]) == 2  # no command: the help
    assert "simulate" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = capsys.readouterr().out
    options = [
        a
        for action in build_parser().parse_args(["simulate"]).command_parser._actions
        for a in action.option_strings
    ]
    for option in options:
        assert option in text
    for option in (
        "--task",
        "--data",
        "--data-dir",
        "--strategies",
        "--cycles",
        "--budget",
        "--initial",
        "--runs",
        "--image-size",
        "--epochs",
        "--device",
        "--seed",
        "--n-jobs",
        "--output-dir",
        "--quick",
        "--no-progress",
    ):
        assert option in options


@pytest.mark.parametrize(
    "args, match",
    [
        (["--strategies", "egl_linear,nope"], "unknown strategy 'nope'"),
        (["--strategies", "emcm,emcm"], "names a strategy twice"),
        (["--strategies", " , "], "at least one strategy"),
        (["--reference", "emcm", "--strategies", "egl_linear"], "--reference 'emcm'"),
        (["--cycles", "0"], "expected a positive integer, got 0"),
        (["--budget", "x"], "expected a positive integer, got 'x'"),
        (["--task", "pose", "--image-size", "40"], "multiple of 16, got 40"),
        (["--task", "pose", "--data", "lsp"], "--data lsp needs --data-dir"),
        (["--data", "mpii", "--data-dir", "."], "--task pose only"),
        (["--test-size", "1.5"], "--test-size must be in \\(0, 1\\)"),
        (["--n-jobs", "0"], "--n-jobs: expected a positive number of workers"),
        (["--n-jobs", "x"], "--n-jobs: expected a non-zero integer, got 'x'"),
        (["--task", "pose", "--data-dir", "."], "--data-dir needs --data lsp"),
        (["--task", "pose", "--device", "bogus"], "--device 'bogus' is not a torch"),
        (["--task", "pose", "--device", "meta"], "only cpu, cuda and mps"),
        (["--task", "pose", "--strategies", "egl_pp,emcm"],
         "strategy 'emcm' scores with a linear model and --task pose trains a "
         "network; choose among egl_pp, random_query"),
        (["--strategies", "egl_linear,mc_dropout"],
         "strategy 'mc_dropout' scores with a network model and --task "
         "toy-regression trains a linear model; choose among egl_linear, emcm"),
    ],
)
def test_usage_errors(args, match, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(TOY + ["--output-dir", str(tmp_path)] + args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert re.search(match, err)
    assert "Traceback" not in err


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="this machine has CUDA"
)
def test_cuda_without_cuda_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(
            TOY
            + ["--output-dir", str(tmp_path), "--task", "pose"]
            + ["--device", "cuda"]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--device 'cuda': CUDA is not available on this machine" in err


def test_output_dir_that_is_a_file(capsys, tmp_path):
    path = tmp_path / "results"
    path.write_text("mine")
    with pytest.raises(SystemExit) as exc:
        main(TOY + ["--output-dir", str(path)])
    assert exc.value.code == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert path.read_text() == "mine"


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("sk-eglpp simulate: error: ")
    return err[0]


def test_unwritable_output_dir_is_one_line(monkeypatch, capsys, tmp_path):
    from sk_eglpp.simulation._store import StoreWriter

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self.root / "lock"))

    monkeypatch.setattr(StoreWriter, "acquire", denied)  # root ignores chmod
    assert main(TOY + ["--output-dir", str(tmp_path)]) == 1
    line = _one_line_error(capsys)
    assert f"cannot read or write ({tmp_path / 'state' / 'lock'})" in line
    assert "Permission denied" in line
    with pytest.raises(PermissionError):  # --debug: the traceback
        main(TOY + ["--output-dir", str(tmp_path), "--debug"])


def test_full_disk_is_one_line_and_leaves_no_temporary_file(
    monkeypatch, capsys, tmp_path
):
    import errno

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    assert main(TOY + ["--output-dir", str(tmp_path)]) == 1
    assert "No space left on device" in _one_line_error(capsys)
    assert not list(tmp_path.rglob("*.tmp"))


def test_ctrl_c_exits_130_with_how_to_resume(monkeypatch, capsys, tmp_path):
    import sk_eglpp.simulation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sk_eglpp.simulation, "simulate", interrupted)
    assert main(TOY + ["--output-dir", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Run the same command again to resume" in err
    assert "Traceback" not in err


def test_unregistered_strategy_is_a_clear_error(monkeypatch, capsys, tmp_path):
    """A preset's strategy missing from the registry is named as unavailable;
    one the user names is an unknown strategy; both list the registered ones."""
    monkeypatch.delitem(STRATEGIES, "emcm")
    with pytest.raises(SystemExit) as exc:
        main(TOY + ["--output-dir", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "strategy 'emcm' is not available in this installation" in err
    assert "egl_linear" in err
    with pytest.raises(SystemExit):
        main(TOY + ["--output-dir", str(tmp_path), "--strategies", "emcm"])
    err = capsys.readouterr().err
    assert "unknown strategy 'emcm'; expected one of coreset, egl_linear" in err


def test_the_strategy_lists_of_the_help_follow_the_registry_and_tags(capsys):
    """--strategies lists every registered strategy; select's --strategy those
    whose tags do not ask for a linear model."""
    from sk_eglpp.query import get_query_tags

    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"available: {', '.join(STRATEGIES)}" in text
    with pytest.raises(SystemExit):
        main(["select", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    network = [n for n in STRATEGIES if get_query_tags(n).model != "linear"]
    assert f"one of {', '.join(network)}" in text
    assert "emcm" not in text.split("one of ")[1].split(")")[0]


def test_pool_too_small(capsys, tmp_path):
    status = main(TOY + ["--output-dir", str(tmp_path), "--budget", "200"])
    assert status == 1
    assert "exceeds the 300 samples of the pool" in capsys.readouterr().err


def test_toy_regression_resume_and_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(TOY + ["--output-dir", str(out), "--runs", "3"]) == 0
    printed = capsys.readouterr().out
    rows, table = _check_outputs(out, ["egl_linear", "emcm", "random_query"], 3, 3)
    assert table[0] == "RMSE: mean +- sigma over 3 runs"
    assert "\n".join(table) in printed
    # RMSE is reported (positive), with the test direction of a loss
    assert all(float(r["score"]) > 0 for r in rows)
    assert {r["metric"] for r in rows} == {"RMSE"}
    assert "(egl_linear less)" in table[1]
    # the time line: base fits once per run, queries and cycle fits per
    # strategy, from the recorded columns
    base = {}
    for r in rows:
        if int(r["cycle"]) == 0:
            base[r["run"]] = max(base.get(r["run"], 0.0), float(r["fit_time"]))
    later = [r for r in rows if int(r["cycle"]) > 0]
    query = {s: sum(float(r["query_time"]) for r in later if r["strategy"] == s)
             for s in ("egl_linear", "emcm", "random_query")}
    fit = sum(float(r["fit_time"]) for r in later)
    line = [ln for ln in printed.splitlines() if ln.startswith("time: ")]
    assert len(line) == 1
    assert line[0].startswith(
        f"time: base fits {sum(base.values()):.0f} s, queries "
        f"{sum(query.values()):.0f} s ("
    )
    for s, t in query.items():
        assert f"{s} {t:.0f}" in line[0]
    assert f"cycle fits {fit:.0f} s" in line[0]
    assert re.search(r"this call took \d+ s$", line[0])
    # rerunning resumes: everything is read back, nothing changes
    before = (out / "results.csv").read_text()
    assert main(TOY + ["--output-dir", str(out), "--runs", "3"]) == 0
    scores = [
        (r["run"], r["strategy"], r["cycle"], r["score"])
        for r in _read_csv(out / "results.csv")
    ]
    assert scores == [(r["run"], r["strategy"], r["cycle"], r["score"]) for r in rows]
    assert (out / "results.csv").read_text().count("\n") == before.count("\n")
    # other parameters: refused with a hint, accepted with --overwrite
    capsys.readouterr()
    assert main(TOY + ["--output-dir", str(out), "--initial", "13"]) == 1
    err = _one_line_error(capsys)
    assert "different parameters" in err and "--overwrite" in err
    assert "deletes the saved results" in err
    args = TOY + ["--output-dir", str(out), "--initial", "13", "--overwrite"]
    assert main(args) == 0
    assert min(int(r["n_labelled"]) for r in _read_csv(out / "results.csv")) == 13


def test_store_errors_are_one_line_with_the_way_out(tmp_path, capsys):
    """An older store format, a damaged state and a state folder that is no
    store: typed errors, reported in one line."""
    import json

    out = tmp_path / "out"
    args = TOY + ["--output-dir", str(out), "--runs", "2", "--cycles", "1"]
    assert main(args) == 0
    config = out / "state" / "config.json"
    stored = json.loads(config.read_text())
    config.write_text(json.dumps({**stored, "format": 1}))
    capsys.readouterr()
    assert main(args) == 1
    err = _one_line_error(capsys)
    assert "format 1" in err and "pass --overwrite" in err
    assert main(args + ["--overwrite"]) == 0  # deletes any format
    capsys.readouterr()
    (out / "state" / "runs" / "run-000.jsonl").write_text("{oops\n{}\n")
    assert main(args) == 1
    err = _one_line_error(capsys)
    assert "run-000.jsonl is corrupt at line 1" in err
    assert "choose another --output-dir" in err and "--overwrite" not in err
    # --overwrite never deletes a folder that holds no simulation
    other = tmp_path / "other"
    (other / "state").mkdir(parents=True)
    (other / "state" / "mine.txt").write_text("keep")
    assert main(TOY + ["--output-dir", str(other), "--overwrite"]) == 1
    assert "holds no simulation" in _one_line_error(capsys)
    assert (other / "state" / "mine.txt").read_text() == "keep"


def test_a_state_folder_that_is_no_store_is_never_deleted(tmp_path, capsys):
    """A folder with a config.json of its own (a LaTeX project, say) is
    refused with or without --overwrite, and --overwrite is not suggested."""
    state = tmp_path / "out" / "state"
    state.mkdir(parents=True)
    (state / "config.json").write_text('{"compiler": "pdflatex"}')
    (state / "paper.tex").write_text("\\documentclass{article}")
    args = TOY + ["--output-dir", str(tmp_path / "out")]
    for extra in ([], ["--overwrite"]):
        assert main(args + extra) == 1
        err = _one_line_error(capsys)
        assert "is not the folder of a simulation" in err
        assert err.endswith("To start afresh, choose another --output-dir.")
        assert "--overwrite" not in err
    assert sorted(p.name for p in state.iterdir()) == ["config.json", "paper.tex"]


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--no-progress"],
        ["select", "imgs", "ann.json", "--budget", "2", "--output-dir", "o"],
        ["make-synthetic", "demo"],
        ["merge-coco", "out.json", "a.json"],
    ],
    ids=lambda argv: argv[0],
)
def test_warnings_are_one_line_naming_the_command(argv, monkeypatch, capsys):
    import warnings

    from sk_eglpp import cli

    def handler(args, parser):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("perplexity 30 is too large\nfor 8 samples", UserWarning,
                          stacklevel=1)
        return 0

    handlers = {"simulate": "_simulate", "select": "_select",
                "make-synthetic": "_make_synthetic", "merge-coco": "_merge_coco"}
    monkeypatch.setattr(cli, handlers[argv[0]], handler)
    before = warnings.showwarning
    assert main(argv) == 0
    assert capsys.readouterr().err == (
        f"sk-eglpp {argv[0]}: warning: perplexity 30 is too large for 8 samples\n"
    )
    assert warnings.showwarning is before


def test_selection_map_in_the_thread_limit_and_the_call_time(
    tmp_path, monkeypatch, capsys
):
    """The re-embedding runs with --threads, and its time is the call's; the
    figure has one legend for the colours and the markers."""
    import types

    import torch

    from sk_eglpp import cli

    clock = [0.0]
    seen = {}
    original = cli._selection_map

    def timed_selection_map(*args, **kwargs):
        seen["threads"] = torch.get_num_threads()
        clock[0] += 500.0
        seen["figure"] = original(*args, **kwargs)
        return seen["figure"]

    fake_time = types.SimpleNamespace(perf_counter=lambda: clock[0])
    monkeypatch.setattr(cli, "time", fake_time)
    monkeypatch.setattr(cli, "_selection_map", timed_selection_map)
    out = tmp_path / "out"
    argv = TOY + ["--output-dir", str(out), "--runs", "1", "--cycles", "1",
                  "--threads", "2"]
    assert main(argv) == 0
    assert capsys.readouterr().out.rstrip().endswith("this call took 500 s")
    assert seen["threads"] == 2
    figure = seen["figure"]
    assert all(ax.get_legend() is None for ax in figure.axes)
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "pool sample", "selected by the panel's strategy (cycle 1)"
    ]


def test_console_script_quick_toy_regression(tmp_path):
    """``sk-eglpp simulate --quick --task toy-regression`` as a subprocess."""
    out = tmp_path / "toy"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        _command()
        + ["simulate", "--quick", "--task", "toy-regression", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    _check_outputs(out, ["egl_linear", "emcm", "random_query"], 5, 3)
    assert "simulate" in proc.stderr  # the tqdm progress bar
    assert "RMSE: mean +- sigma over 5 runs" in proc.stdout


def _missing_pose_pieces():
    missing = [s for s in POSE_STRATEGIES if s not in STRATEGIES]
    import sk_eglpp

    for name in ("HourglassRegressor", "make_pose_dataset"):
        if not hasattr(sk_eglpp, name):
            missing.append(name)
    return missing


def test_pose_tiny_in_process(tmp_path, capsys, monkeypatch):
    """The pose task end to end, shrunk to seconds."""
    from sk_eglpp import cli

    figures = []
    original = cli._selection_map

    def kept_selection_map(*args, **kwargs):
        figures.append(original(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(cli, "_selection_map", kept_selection_map)
    strategies = [s for s in POSE_STRATEGIES if s in STRATEGIES]
    missing = [m for m in _missing_pose_pieces() if m not in POSE_STRATEGIES]
    if missing or not strategies:
        pytest.skip(f"pose pieces not available yet: {missing or POSE_STRATEGIES}")
    out = tmp_path / "pose"
    args = [
        "simulate",
        "--quick",
        "--no-progress",
        "--output-dir",
        str(out),
        "--strategies",
        ",".join(strategies),
        "--pool-size",
        "48",
        "--test-samples",
        "16",
        "--initial",
        "32",
        "--budget",
        "8",
        "--cycles",
        "1",
        "--runs",
        "2",
        "--epochs",
        "1",
        "--image-size",
        "32",
    ]
    assert main(args) == 0
    _, table = _check_outputs(out, strategies, 2, 1)
    assert table[0] == "PCK@0.2: mean +- sigma over 2 runs"
    (legend,) = figures[0].legends  # the colours are the video sequences
    assert legend.get_texts()[0].get_text() == (
        "pool sample, coloured by its synthetic video sequence"
    )


def test_console_script_tiny_pose(tmp_path):
    """``sk-eglpp simulate`` on the pose task as a subprocess, in seconds."""
    missing = _missing_pose_pieces()
    if missing:
        pytest.skip(f"pose pieces not available yet: {missing}")
    strategies = ["egl_pp", "random_query", "learning_loss"]
    out = tmp_path / "pose"
    tiny = ["--pool-size", "24", "--test-samples", "8", "--initial", "8",
            "--budget", "4", "--cycles", "1", "--runs", "1", "--epochs", "1",
            "--image-size", "16"]
    proc = subprocess.run(
        _command()
        + ["simulate", "--quick", "--no-progress", "--output-dir", str(out),
           "--strategies", ",".join(strategies), *tiny],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    _, table = _check_outputs(out, strategies, 1, 1)
    assert table[0] == "PCK@0.2: mean +- sigma over 1 runs"
    assert "pool=24 test=8 initial=8 budget=4 cycles=1 runs=1" in proc.stdout


@pytest.mark.slow
def test_console_script_quick_pose(tmp_path):
    """``sk-eglpp simulate --quick`` (the paper's strategy set) as a subprocess."""
    missing = _missing_pose_pieces()
    if missing:
        pytest.skip(f"pose pieces not available yet: {missing}")
    out = tmp_path / "pose"
    proc = subprocess.run(
        _command() + ["simulate", "--quick", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    _check_outputs(out, POSE_STRATEGIES, 2, 2)


# -- presets and the fidelity report -----------------------------------------


def test_fidelity_report(tmp_path, capsys):
    out = tmp_path / "toy"
    assert main(TOY + ["--fidelity", "--runs", "2", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    report = (out / "fidelity.txt").read_text()
    assert report.strip() in printed
    for column in ("spearman_gradient", "spearman_error", "precision"):
        assert f"{column}: mean +- sigma over 2 runs" in report
    rows = _read_csv(out / "results.csv")
    assert {"spearman_gradient", "precision"} <= set(rows[0])
    # without --fidelity no report is written
    plain = tmp_path / "plain"
    assert main(TOY + ["--runs", "2", "--output-dir", str(plain)]) == 0
    assert not (plain / "fidelity.txt").exists()


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--task", "toy-regression", "--preset", "benchmark"], "pose only"),
        (["--quick", "--preset", "benchmark"], "--quick contradicts"),
        (["--preset", "huge"], "invalid choice"),
    ],
)
def test_preset_usage_errors(argv, match, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *argv, "--output-dir", str(tmp_path)])
    assert exc.value.code == 2
    assert match in capsys.readouterr().err


def test_benchmark_preset_settings(tmp_path, monkeypatch):
    """--preset benchmark runs simulate with the preset's protocol."""
    from sk_eglpp import simulation

    seen = {}

    def fake_simulate(estimator, strategies, X, y, X_test, y_test, **kw):
        seen.update(kw, strategies=strategies, X=X, estimator=estimator)
        raise KeyboardInterrupt  # stop before anything runs

    monkeypatch.setattr(simulation, "simulate", fake_simulate)
    status = main(["simulate", "--preset", "benchmark", "--no-progress",
                   "--output-dir", str(tmp_path)])
    assert status == 130
    preset = simulation.POSE_PRESETS["benchmark"]
    assert seen["strategies"] == list(preset["strategies"])
    assert seen["fidelity"] is True
    assert (seen["n_initial"], seen["budget"], seen["n_cycles"], seen["n_runs"]) == (
        preset["n_initial"], preset["budget"], preset["n_cycles"], preset["n_runs"]
    )
    assert seen["X"].shape == (preset["n_pool"], 1, 32, 32)
    params = seen["estimator"].get_params()
    assert params["module__depth"] == preset["depth"]
    assert params["max_epochs"] == preset["max_epochs"]
    assert params["module__dropout"] == preset["dropout"]
