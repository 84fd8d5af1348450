"""The top-level namespace: lazy loading, the names it publishes, and what
holds for every module: files are only loaded with safe loaders."""

import ast
import importlib
import pathlib
import subprocess
import sys

import pytest

import sk_eglpp


@pytest.mark.parametrize("module", sorted(set(sk_eglpp._EXPORTS) - {"learner"}))
def test_exports_match_submodule_all(module):
    """The lazy map lists exactly each submodule's public names."""
    sub = importlib.import_module(f"sk_eglpp.{module}")
    published = set(sk_eglpp._EXPORTS[module])
    if module in ("query", "models", "datasets", "metrics"):
        assert published == set(sub.__all__)
    else:
        assert published <= set(sub.__all__)
    for name in published:
        assert getattr(sk_eglpp, name) is getattr(sub, name)


def test_every_published_name_resolves():
    assert sk_eglpp.ActiveLearner.__module__ == "sk_eglpp.learner"
    for name in sk_eglpp.__all__:
        getattr(sk_eglpp, name)
    assert set(sk_eglpp.__all__) <= set(dir(sk_eglpp))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sk_eglpp.nope  # noqa: B018


@pytest.mark.parametrize(
    "statement, unloaded",
    [
        ("import sk_eglpp", ("torch", "skorch", "modAL", "matplotlib", "sklearn")),
        ("import sk_eglpp.neighbors",
         ("torch", "skorch", "modAL", "matplotlib", "sklearn", "scipy")),
        ("import sk_eglpp.query", ("matplotlib",)),
    ],
)
def test_imports_are_cheap(statement, unloaded):
    """A module loads only what it needs (checked in a fresh interpreter)."""
    names = set(unloaded)
    code = f"import sys; {statement}; print(sorted({names!r} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_min_versions_file_pins_the_declared_floors():
    """`make test-min` installs exactly the floors setup.py declares (but torch's)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    block = (root / "setup.py").read_text().split("INSTALL_REQUIRES = [")[1]
    floors = dict(
        line.strip().strip('",').split(">=")
        for line in block.split("]")[0].splitlines()
        if ">=" in line
    )
    pins = dict(
        line.split("==")
        for line in (root / ".ci" / "min-versions.txt").read_text().split()
    )
    assert set(floors) - {"torch"} == set(pins)
    for name, floor in floors.items():
        if name != "torch":
            assert pins[name].startswith(floor), (name, floor, pins[name])


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
