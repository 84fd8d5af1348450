"""Parameters that the data set readers share follow one rule everywhere.

A parameter of the same name (``image_size``, ``as_gray``, ``occluded``,
``margin``, ``max_samples``, ``n_jobs``, ``verbose``, ``random_state``) is
checked by the same constraint in every reader that takes it: the same bad
value raises the same exception type (``TypeError`` for a wrong type,
``ValueError`` for a wrong value of the right type), with a message that
names the function and the parameter, before any file is read or written.
"""

import numpy as np
import pytest

from sk_eglpp.datasets import (
    leeds_to_coco,
    load_coco_keypoints,
    load_lsp,
    load_lspet,
    load_mpii,
    make_pose_dataset,
    make_synthetic_coco,
)

#: function name -> (function, its positional arguments in a folder)
FUNCTIONS = {
    "load_lsp": (load_lsp, lambda tmp: (tmp / "lsp",)),
    "load_lspet": (load_lspet, lambda tmp: (tmp / "lspet",)),
    "load_mpii": (load_mpii, lambda tmp: (tmp / "mpii",)),
    "load_coco_keypoints": (
        load_coco_keypoints, lambda tmp: (tmp / "a.json", tmp / "images")
    ),
    "leeds_to_coco": (leeds_to_coco, lambda tmp: (tmp / "lspet", tmp / "a.json")),
    "make_pose_dataset": (make_pose_dataset, lambda tmp: (5,)),
    "make_synthetic_coco": (make_synthetic_coco, lambda tmp: (tmp / "demo",)),
}

LOADERS = ["load_lsp", "load_lspet", "load_mpii"]
READERS = [*LOADERS, "load_coco_keypoints"]

#: parameter -> (the functions that take it, [(bad value, exception type)])
SHARED = {
    "image_size": (
        [*READERS, "make_pose_dataset", "make_synthetic_coco"],
        [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError),
         ("64", TypeError)],
    ),
    "as_gray": (READERS, [(1, TypeError), ("yes", TypeError), (None, TypeError)]),
    "occluded": (READERS, [("drop", ValueError), (3, TypeError), (None, TypeError)]),
    "margin": (
        ["load_lsp", "load_lspet", "load_coco_keypoints", "leeds_to_coco"],
        [(-0.1, ValueError), (np.nan, ValueError), ("wide", TypeError),
         (False, TypeError)],
    ),
    "max_samples": (LOADERS, [(0, ValueError), (1.5, TypeError), (True, TypeError)]),
    "n_jobs": (LOADERS, [(0, ValueError), (2.0, TypeError), ("all", TypeError)]),
    "verbose": (READERS, [(-1, ValueError), ("yes", TypeError), (0.5, TypeError)]),
    "random_state": (
        ["make_pose_dataset", "make_synthetic_coco"],
        [(-1, ValueError), ("seed", TypeError), (1.5, TypeError),
         (np.random.default_rng(0), TypeError)],
    ),
}

def _label(value):
    """A stable test id for ``value`` (a generator's repr holds its address)."""
    plain = isinstance(value, int | float | str | None)
    return repr(value) if plain else type(value).__name__


CASES = [
    pytest.param(name, param, value, error, id=f"{name}-{param}-{_label(value)}")
    for param, (names, bad) in SHARED.items()
    for value, error in bad
    for name in names
]


@pytest.mark.parametrize("name, param, value, error", CASES)
def test_a_bad_shared_parameter_raises_the_same_error_in_every_reader(
    tmp_path, name, param, value, error
):
    """The same bad value raises the same exception type in every function
    that takes the parameter, naming the function and the parameter, and
    nothing is read or written."""
    function, args = FUNCTIONS[name]
    with pytest.raises(error, match=rf"^{name}: {param} must be .*, got "):
        function(*args(tmp_path), **{param: value})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("param", sorted(SHARED))
def test_every_function_that_shares_a_parameter_has_one_message(tmp_path, param):
    """Apart from the function's name, the message of a bad value is the same
    in every function that takes the parameter (one constraint, one text),
    except for the lower bound of ``image_size`` in the synthetic data."""
    names, bad = SHARED[param]
    value, error = bad[-1]  # a wrong type: the same text for every bound
    messages = set()
    for name in names:
        function, args = FUNCTIONS[name]
        with pytest.raises(error) as info:
            function(*args(tmp_path), **{param: value})
        messages.add(str(info.value).removeprefix(f"{name}: "))
    if param == "image_size":  # [1, inf) for the readers, [16, inf) synthetic
        assert len(messages) == 2
    else:
        assert len(messages) == 1, messages
