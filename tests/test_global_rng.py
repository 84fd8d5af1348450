"""No public callable touches or reads the global random generators.

Every public function or class of the package that takes ``random_state`` is
run here with ``random_state=0`` twice: once after seeding Python's
``random``, numpy's and torch's global generators one way, once after seeding
them another way. Each run must leave all three generators exactly where it
found them (a library that seeds or draws globally changes them), and the two
runs must give the same result (a library that reads the global state does
not). A public callable with ``random_state`` that has no case here fails the
first test, so a new one cannot slip past.
"""

import importlib
import inspect
import random

import matplotlib
import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

import sk_eglpp

matplotlib.use("Agg")


def _public_callables_with_random_state():
    found = {}
    for module in sk_eglpp._SUBMODULES:
        mod = importlib.import_module(f"sk_eglpp.{module}")
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if not callable(obj):
                continue
            try:
                params = inspect.signature(obj).parameters
            except (TypeError, ValueError):
                continue
            if "random_state" in params:
                found[name] = obj
    return found


def _pose():
    from sk_eglpp import make_pose_dataset

    return make_pose_dataset(
        24, image_size=16, occlusion=0.0, truncation=0.0, random_state=0
    )


def _tabular():
    rng = np.random.default_rng(0)  # a local generator: the globals are under test
    X = rng.normal(size=(40, 3))
    return X, X @ [1.0, -2.0, 0.5] + rng.normal(size=40)


def _strategy_picks(cls, net=False, **params):
    def run(tmp_path, small_hourglass):
        strategy = cls(random_state=0, **params)
        if net:
            X, y = _pose()
            model = small_hourglass(module__dropout=0.2).fit(X[:8], y[:8])
        else:
            X, y = _tabular()
            model = LinearRegression().fit(X[:10], y[:10])
        return strategy.select(model, X[10:], 3, X_labelled=X[:10], y_labelled=y[:10])

    return run


def _hourglass(tmp_path, small_hourglass):
    X, y = _pose()
    net = small_hourglass(module__dropout=0.2).fit(X[:12], y[:12])
    return net.predict(X[12:]), net.embed(X[12:])


def _bootstrap(tmp_path, small_hourglass):
    from sk_eglpp import BootstrapLinearRegressor

    X, y = _tabular()
    model = BootstrapLinearRegressor(n_estimators=5, random_state=0).fit(X, y)
    return model.predict(X), model.coefs_


def _synthetic_coco(tmp_path, small_hourglass):
    from sk_eglpp import make_synthetic_coco

    out = tmp_path / "coco"
    make_synthetic_coco(out, n_images=6, n_annotated=3, image_size=16, random_state=0)
    return {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _select_for_annotation(tmp_path, small_hourglass):
    from sk_eglpp import make_synthetic_coco, select_for_annotation

    files = make_synthetic_coco(
        tmp_path / "coco", n_images=20, n_annotated=10, image_size=16,
        random_state=0,
    )
    selection = select_for_annotation(
        files["images"], files["annotations"], budget=3, image_size=16,
        as_gray=True, max_epochs=1, strategy="random_query",
        output_dir=tmp_path / "selection", overwrite=True, verbose=0,
        random_state=0,
    )
    return list(selection.file_name)


def _utility_fidelity(tmp_path, small_hourglass):
    from sklearn.linear_model import Ridge

    from sk_eglpp.diagnostics import utility_fidelity

    X, y = _tabular()
    model = Ridge().fit(X[:10], y[:10])
    fid = utility_fidelity(model, X[10:], y[10:], ["egl_linear", "random_query"],
                           X_labelled=X[:10], y_labelled=y[:10], random_state=0)
    return {name: sorted(m.items()) for name, m in fid.items()}


def _select_batch(tmp_path, small_hourglass):
    from sk_eglpp.query import select_batch

    X, _ = _tabular()
    return select_batch(np.ones(len(X)), X, 5, mode="diverse", random_state=0)


def _simulate(tmp_path, small_hourglass):
    from sk_eglpp.simulation import simulate, toy_problem

    problem = toy_problem("quick", n_pool=60, n_test=30, n_cycles=2, n_runs=2,
                          random_state=0)
    results = simulate(**problem, random_state=0)
    records = results.to_records()
    # the timings vary from run to run
    return [records[k] for k in records.dtype.names if not k.endswith("_time")]


def _problem(builder, **kwargs):
    def run(tmp_path, small_hourglass):
        problem = builder(random_state=0, **kwargs)
        if isinstance(problem, tuple):  # pose_problem: (problem, sequences)
            problem = problem[0]
        return [problem[k] for k in ("X", "y", "X_test", "y_test")]

    return run


def _plot_selection_map(tmp_path, small_hourglass):
    import matplotlib.pyplot as plt

    from sk_eglpp.simulation import plot_selection_map

    X, _ = _tabular()
    ax = plot_selection_map(X, [0, 3], method="tsne", random_state=0)
    offsets = [c.get_offsets().data.copy() for c in ax.collections]
    plt.close(ax.figure)
    return offsets


def _pose_dataset(tmp_path, small_hourglass):
    return _pose()


def _cases():
    """Public name -> ``run(tmp_path, small_hourglass)``: a call with
    ``random_state=0`` and its result; ``small_hourglass`` is the conftest
    factory of tiny networks."""
    from sk_eglpp.query import (
        CoreSetQuery,
        EGLPlusPlusQuery,
        EMCMQuery,
        LinearEGLQuery,
        MCDropoutQuery,
        RandomQuery,
    )
    from sk_eglpp.simulation import pose_problem, toy_problem

    return {
        "make_pose_dataset": _pose_dataset,
        "make_synthetic_coco": _synthetic_coco,
        "HourglassRegressor": _hourglass,
        "BootstrapLinearRegressor": _bootstrap,
        "EGLPlusPlusQuery": _strategy_picks(
            EGLPlusPlusQuery, net=True, n_neighbors=3, perplexity=2.0
        ),
        "LinearEGLQuery": _strategy_picks(LinearEGLQuery, n_estimators=5),
        "EMCMQuery": _strategy_picks(EMCMQuery, n_estimators=5),
        "RandomQuery": _strategy_picks(RandomQuery),
        "CoreSetQuery": _strategy_picks(CoreSetQuery),
        "MCDropoutQuery": _strategy_picks(MCDropoutQuery, net=True, n_samples=3),
        "select_batch": _select_batch,
        "select_for_annotation": _select_for_annotation,
        "utility_fidelity": _utility_fidelity,
        "simulate": _simulate,
        "toy_problem": _problem(toy_problem, n_pool=30, n_test=10),
        "pose_problem": _problem(pose_problem, preset="quick"),
        "plot_selection_map": _plot_selection_map,
    }


CASES = _cases()


def test_every_public_callable_with_random_state_has_a_case():
    assert sorted(_public_callables_with_random_state()) == sorted(CASES)


def _seed_globals(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _global_states():
    states = [random.getstate(), np.random.get_state(), torch.get_rng_state()]
    if torch.cuda.is_available():
        states.append(torch.cuda.get_rng_state_all())
    return states


def _assert_same_states(before, after):
    assert before[0] == after[0], "Python's random module"
    for a, b in zip(before[1], after[1], strict=True):
        np.testing.assert_array_equal(a, b, err_msg="numpy's global RandomState")
    assert torch.equal(before[2], after[2]), "torch's global generator"
    for a, b in zip(before[3:], after[3:], strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True)), "CUDA"


def _assert_same_result(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same_result(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same_result(x, y)
    elif isinstance(a, np.ndarray | torch.Tensor):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    else:
        assert a == b or (a != a and b != b)  # NaN equals NaN here


@pytest.mark.parametrize("name", sorted(CASES))
def test_global_generators_untouched_and_unread(name, tmp_path, small_hourglass):
    results = []
    for seed in (1, 2):
        _seed_globals(seed)
        before = _global_states()
        results.append(CASES[name](tmp_path / f"run-{seed}", small_hourglass))
        _assert_same_states(before, _global_states())
    _assert_same_result(*results)
