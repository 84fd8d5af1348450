"""The import plan: no module reaches into another module's private names.

What two modules share has a name without a leading underscore (in a module
of its own when two rooms share it). A module may use its own private names;
the ``ALLOWED`` list holds the few exceptions, each with its reason.
"""

import ast
import pathlib

import sk_eglpp

PACKAGE = pathlib.Path(sk_eglpp.__file__).parent

#: (importing module, "module.name" or "expression.attribute") -> why allowed
ALLOWED = {
    # torch has no public name for these: the in-place version counter that
    # detects a modified saved tensor, the base class of every batch-norm layer
    # and the padding a padded convolution applies
    ("sk_eglpp.gradients._layerwise", "a._version"): "torch internals",
    ("sk_eglpp.gradients._driver", "nn.modules.batchnorm._BatchNorm"): "torch",
    ("sk_eglpp.gradients._layerwise",
     "module._reversed_padding_repeated_twice"): "torch internals",
}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _crossings():
    """Every private name a module takes from another, as (module, what)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _module_name(path)
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = parts[: len(parts) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source.split(".")[0] != "sk_eglpp" or source == me:
                    continue
                found += [(me, f"{source}.{a.name}") for a in node.names
                          if _private(a.name)]
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                found.append((me, f"{ast.unparse(owner)}.{node.attr}"))
    return found


def _defined_privates():
    """The private names each module defines: functions, classes, assignments."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                own.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        own.add(target.id)
                    elif isinstance(target, ast.Attribute):  # obj._x = ...
                        own.add(target.attr)
        names[_module_name(path)] = own
    return names


def test_no_module_takes_another_modules_private_names():
    defined = _defined_privates()
    crossings = []
    for me, what in _crossings():
        if (me, what) in ALLOWED:
            continue
        attribute = what.rpartition(".")[2]
        if "." in what and what.rpartition(".")[0] in defined:  # an import
            crossings.append((me, what))
        elif attribute not in defined[me]:  # obj._x where _x is not its own
            crossings.append((me, what))
    assert crossings == []


def test_the_allow_list_is_short_and_still_needed():
    assert len(ALLOWED) <= 5
    assert set(ALLOWED) <= set(_crossings())
