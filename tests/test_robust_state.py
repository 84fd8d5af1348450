"""Robustness, items 3 and 5 of issue 9: nothing mutated, faults surface.

A query leaves the inputs (read-only arrays: any write raises), the model's
parameters, gradients, train/eval modes, BatchNorm running statistics and
``requires_grad`` flags, and the global random states exactly as they were;
``teach`` after a query trains exactly as without the query. Errors inside
joblib workers surface as the original error; loaders never write; files are
only loaded with safe loaders.
"""

import ast
import os
import pathlib
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import scipy.io
import torch
from matplotlib.image import imsave
from sklearn.linear_model import LinearRegression

import sk_eglpp
from sk_eglpp import (
    ActiveLearner,
    HourglassRegressor,
    StackedHourglass,
    load_lsp,
    load_lspet,
    load_mpii,
    make_pose_dataset,
)
from sk_eglpp.query import get_strategy

NEURAL = (
    "egl_pp",
    "coreset",
    "multipeak_entropy",
    "learning_loss",
    "mc_dropout",
    "random_query",
)


def tiny_net(**kwargs):
    params = dict(
        module__n_features=8,
        module__n_stacks=1,
        module__depth=2,
        module__dropout=0.2,
        loss_prediction=True,
        max_epochs=1,
        random_state=0,
    )
    params.update(kwargs)
    return HourglassRegressor(**params)


def make_strategy(name, **params):
    strategy = get_strategy(name)
    if name == "egl_pp":
        strategy.set_params(n_neighbors=4, perplexity=2.0)
    if name == "mc_dropout":
        strategy.set_params(n_samples=3)
    if "random_state" in strategy.get_params():
        strategy.set_params(random_state=0)
    return strategy.set_params(**params)


def read_only(*arrays):
    out = []
    for a in arrays:
        a = np.array(a)
        a.flags.writeable = False
        out.append(a)
    return out


@pytest.fixture(scope="module")
def images():
    return make_pose_dataset(24, image_size=32, random_state=0)


@pytest.fixture(scope="module")
def net(images):
    X, y = images
    return tiny_net().fit(X[:12], y[:12])


def snapshot(net):
    """Everything a query could change in a skorch net."""
    modules = [net.module_, net.loss_module_]
    return {
        "state": [
            {k: v.detach().clone() for k, v in m.state_dict().items()}
            for m in modules
        ],
        "grads": [
            [None if p.grad is None else p.grad.clone() for p in m.parameters()]
            for m in modules
        ],
        "training": [[s.training for s in m.modules()] for m in modules],
        "requires_grad": [[p.requires_grad for p in m.parameters()] for m in modules],
        "dropout": [m.p for m in net.module_.modules() if hasattr(m, "p")],
        "hooks": [
            (len(s._forward_hooks), len(s._forward_pre_hooks),
             len(s._backward_hooks))
            for m in modules
            for s in m.modules()
        ],
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state()[1].copy(),
        "grad_enabled": torch.is_grad_enabled(),
        "threads": torch.get_num_threads(),
    }


def assert_same(before, after):
    for a, b in zip(before["state"], after["state"], strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key  # incl. BatchNorm statistics
    for ga, gb in zip(before["grads"], after["grads"], strict=True):
        for a, b in zip(ga, gb, strict=True):
            assert (a is None and b is None) or torch.equal(a, b)
    for key in ("training", "requires_grad", "dropout", "hooks", "grad_enabled",
                "threads"):
        assert before[key] == after[key], key
    assert torch.equal(before["torch_rng"], after["torch_rng"])
    np.testing.assert_array_equal(before["numpy_rng"], after["numpy_rng"])


@pytest.mark.parametrize("mode", ("eval", "train", "mixed"))
@pytest.mark.parametrize("name", NEURAL)
def test_query_leaves_the_network_and_inputs_alone(net, images, name, mode):
    X, y = images
    X_lab, y_lab, X_pool = read_only(X[:12], y[:12], X[12:20])
    copies = [a.copy() for a in (X_lab, y_lab, X_pool)]
    net.module_.train(mode != "eval")
    net.loss_module_.train(mode == "train")
    if mode == "mixed":
        net.module_.stem[1].eval()  # one BatchNorm in eval inside a training net
    frozen = list(net.module_.parameters())[0]
    frozen.requires_grad_(False)
    try:
        before = snapshot(net)
        strategy = make_strategy(name)
        strategy.select(net, X_pool, 3, X_labelled=X_lab, y_labelled=y_lab)
        strategy.score(net, X_pool, X_labelled=X_lab, y_labelled=y_lab)
        assert_same(before, snapshot(net))
    finally:
        frozen.requires_grad_(True)
        net.module_.eval()
        net.loss_module_.eval()
    for a, b in zip((X_lab, y_lab, X_pool), copies, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not a.flags.writeable


@pytest.mark.parametrize("name", ("egl_pp", "mc_dropout", "coreset"))
def test_query_restores_the_network_when_it_fails(net, images, name):
    """A failing query (here: a broken embedding/prediction) changes nothing."""
    X, y = images
    net.module_.train()
    before = snapshot(net)

    def broken(X):
        raise RuntimeError("broken on purpose")

    try:
        strategy = make_strategy(name)
        if name == "mc_dropout":
            strategy.set_params(dropout=0.5)
            original = net.predict
            net.predict = broken
        else:
            strategy.set_params(embedding=broken)
        with pytest.raises(RuntimeError, match="broken on purpose"):
            strategy.select(net, X[12:20], 2, X_labelled=X[:12], y_labelled=y[:12])
        if name == "mc_dropout":
            del net.predict
            assert net.predict == original
        assert_same(before, snapshot(net))
    finally:
        net.module_.eval()


@pytest.mark.parametrize("name", ("egl_linear", "emcm", "coreset", "random_query"))
def test_query_leaves_a_linear_model_and_inputs_alone(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=30)
    model = LinearRegression().fit(X[:10], y[:10])
    pickled = pickle.dumps(model)
    X_lab, y_lab, X_pool = read_only(X[:10], y[:10], X[10:])
    numpy_state = np.random.get_state()[1].copy()
    make_strategy(name).select(model, X_pool, 4, X_labelled=X_lab, y_labelled=y_lab)
    assert pickle.dumps(model) == pickled
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    np.testing.assert_array_equal(X_pool, X[10:])


@pytest.mark.parametrize("name", NEURAL)
def test_teach_after_query_trains_as_without_the_query(images, name):
    """Query then teach gives bit-identical weights to teach alone."""
    X, y = images
    X_pool, y_pool = X[12:20], y[12:20]
    strategy = make_strategy(name)
    queried = ActiveLearner(tiny_net(), strategy, X_training=X[:12],
                            y_training=y[:12], force_all_finite=False)
    idx, X_chosen = queried.query(X_pool, n_instances=2)
    assert len(set(idx.tolist())) == 2
    np.testing.assert_array_equal(X_chosen, X_pool[idx])
    queried.teach(X_pool[idx], y_pool[idx])

    reference = ActiveLearner(tiny_net(), strategy, X_training=X[:12],
                              y_training=y[:12], force_all_finite=False)
    reference.teach(X_pool[idx], y_pool[idx])
    assert queried.X_training.shape[0] == 14
    a = queried.estimator.module_.state_dict()
    b = reference.estimator.module_.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert len(queried.estimator.history) == 1  # a fresh fit of one epoch


def test_query_is_deterministic_across_n_jobs_and_repeats(net, images):
    X, y = images
    kwargs = dict(X_labelled=X[:12], y_labelled=y[:12])
    scores = make_strategy("egl_pp", batch_size=2).score(net, X[12:20], **kwargs)
    again = make_strategy("egl_pp", batch_size=2).score(net, X[12:20], **kwargs)
    np.testing.assert_array_equal(scores, again)
    with joblib.parallel_config(backend="threading"):
        threaded = make_strategy("egl_pp", batch_size=2, n_jobs=2).score(
            net, X[12:20], **kwargs
        )
    np.testing.assert_array_equal(threaded, scores)
    for name in ("mc_dropout", "coreset", "random_query", "multipeak_entropy"):
        first = make_strategy(name).score(net, X[12:20], **kwargs)
        second = make_strategy(name).score(net, X[12:20], **kwargs)
        np.testing.assert_array_equal(first, second)


class FailingHourglass(StackedHourglass):
    """Raises inside the gradient pass (the joblib task) when ``fail`` is set."""

    fail = False

    def forward(self, x, return_features=False):
        if self.fail and torch.is_grad_enabled():
            raise ArithmeticError(f"failing on a batch of {x.shape[0]}")
        return super().forward(x, return_features=return_features)


@pytest.mark.parametrize("n_jobs", (1, 2))
def test_error_in_a_worker_surfaces_as_the_original_error(images, n_jobs):
    X, y = images
    failing = tiny_net(module=FailingHourglass, loss_prediction=False)
    failing.fit(X[:12], y[:12])
    failing.module_.fail = True
    strategy = make_strategy("egl_pp", batch_size=2, n_jobs=n_jobs)
    kwargs = dict(X_labelled=X[:12], y_labelled=y[:12])
    with joblib.parallel_config(backend="threading"):  # no process start-up
        with pytest.raises(ArithmeticError, match="failing on a batch of"):
            strategy.select(failing, X[12:20], 2, **kwargs)
        failing.module_.fail = False  # and the next query works normally
        assert np.isfinite(strategy.score(failing, X[12:20], **kwargs)).all()


# -- item 5: loaders never write, safe loading ------------------------------------


def _tree(folder):
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(pathlib.Path(folder).rglob("*"))
    }


@pytest.fixture
def datasets_folder(tmp_path):
    """One tiny LSP, LSPET and MPII folder each."""
    rng = np.random.default_rng(0)
    lsp, lspet, mpii = (tmp_path / n for n in ("lsp", "lspet", "mpii"))
    for folder, name in ((lsp, "im0001.jpg"), (lspet, "im00001.jpg"),
                         (mpii, "a.jpg")):
        (folder / "images").mkdir(parents=True)
        imsave(folder / "images" / name,
               (rng.random((40, 30, 3)) * 255).astype(np.uint8))
    joints = np.ones((3, 14, 1))
    joints[0, :, 0] = np.linspace(6, 25, 14)
    joints[1, :, 0] = np.linspace(5, 36, 14)
    joints[2] = 0
    scipy.io.savemat(lsp / "joints.mat", {"joints": joints})
    lspet_joints = joints.transpose(1, 0, 2).copy()  # (14, 3, 1)
    lspet_joints[:, 2] = 1  # LSPET: 1 = visible
    scipy.io.savemat(lspet / "joints.mat", {"joints": lspet_joints})
    point = np.array([(0, 11.0, 21.0, 1), (9, 15.0, 8.0, 0)],
                     dtype=[("id", "O"), ("x", "O"), ("y", "O"), ("is_visible", "O")])
    rect = {"x1": 10.0, "y1": 4.0, "x2": 20.0, "y2": 12.0, "scale": 0.15,
            "objpos": {"x": 15.0, "y": 20.0}, "annopoints": {"point": point}}
    annolist = np.array([({"name": "a.jpg"}, rect)],
                        dtype=[("image", "O"), ("annorect", "O")])
    scipy.io.savemat(mpii / "mpii_human_pose_v1_u12_1.mat",
                     {"RELEASE": {"annolist": annolist, "img_train": np.array([1]),
                                  "single_person": np.array([1.0])}})
    return lsp, lspet, mpii


def test_loaders_never_write(datasets_folder, tmp_path, monkeypatch):
    lsp, lspet, mpii = datasets_folder
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = _tree(tmp_path)
    outputs = [
        load_lsp(lsp, image_size=16),
        load_lspet(lspet, image_size=16),
        load_mpii(mpii, image_size=16, return_head_boxes=True),
    ]
    with pytest.raises(ValueError):
        load_mpii(mpii, indices=[5])
    assert _tree(tmp_path) == before
    assert list(cwd.iterdir()) == []
    for arrays in outputs:
        assert arrays[0].shape == (1, 3, 16, 16)
        assert arrays[1].shape == (1, 28) and np.isfinite(arrays[1]).any()


def _load_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner = owner.id if isinstance(owner, ast.Name) else None
            yield owner, node.func.attr, node


def test_files_are_only_loaded_with_safe_loaders():
    """torch.load always with weights_only=True; no pickle / unsafe numpy."""
    package = pathlib.Path(sk_eglpp.__file__).parent
    checked = 0
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for owner, attr, node in _load_calls(tree):
            where = f"{path.relative_to(package.parent)}:{node.lineno}"
            keywords = {k.arg: k.value for k in node.keywords}
            if owner == "torch" and attr == "load":
                checked += 1
                value = keywords.get("weights_only")
                assert isinstance(value, ast.Constant) and value.value is True, where
            if attr == "load_params":  # skorch: safe when its torch.load is
                checked += 1
                assert 'torch_load_kwargs={"weights_only": True}' in path.read_text(), (
                    where
                )
            if owner in ("pickle", "cloudpickle", "dill") and attr in ("load", "loads"):
                pytest.fail(f"unsafe {owner}.{attr} at {where}")
            if owner == "joblib" and attr == "load":
                pytest.fail(f"joblib.load unpickles: {where}")
            if owner == "np" and attr == "load":
                value = keywords.get("allow_pickle")
                assert value is None or (
                    isinstance(value, ast.Constant) and value.value is False
                ), where
    assert checked >= 2  # the simulation's checkpoints, the annotation rounds


def test_loader_module_has_no_write_calls():
    """The loaders' source opens nothing for writing and calls no writer.

    (Tests run as root here, which ignores read-only permissions, so the
    behaviour test above is backed by this check of the source.)
    """
    source = pathlib.Path(sk_eglpp.datasets._loaders.__file__).read_text()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            assert all("w" not in m and "a" not in m and "+" not in m for m in modes)
        if isinstance(node, ast.Attribute) and node.attr in (
            "write_bytes", "write_text", "mkdir", "savemat", "imsave", "unlink",
            "rename", "replace", "touch",
        ):
            pytest.fail(f"_loaders.py line {node.lineno} writes: {node.attr}")


_READ_ONLY_SCRIPT = """
import warnings
import numpy as np
import torch
from sk_eglpp import HourglassRegressor, make_pose_dataset

X, y = make_pose_dataset(8, image_size=16, random_state=0)
y = y.astype(np.float32)
X.flags.writeable = False
y.flags.writeable = False
warnings.simplefilter("error")  # torch's "not writable" warning included
net = HourglassRegressor(module__n_features=4, module__n_stacks=1,
                         module__depth=1, max_epochs=1, random_state=0)
net.fit(X, y)
state = torch.get_rng_state()
net.predict(X)
net.embed(X)
assert torch.equal(torch.get_rng_state(), state), "prediction drew from torch's RNG"
print("ok")
"""


def test_fit_and_predict_take_read_only_inputs_without_warnings():
    """In a fresh process: torch warns about read-only arrays only once."""
    result = subprocess.run(
        [sys.executable, "-c", _READ_ONLY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
