"""The top-level namespace: lazy loading, and the names it publishes."""

import importlib
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
