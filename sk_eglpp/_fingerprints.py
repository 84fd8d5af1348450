"""Canonical fingerprints of configurations, for runs that resume.

A long run (``simulate``, an annotation round) stores what fixes its results;
when it resumes, it compares the fingerprint of its new arguments with the
stored one. :func:`describe` turns estimators, strategies, arrays and plain
values into canonical JSON (no memory addresses, sets sorted, parameters that
only change what is printed left out); :func:`fingerprint` hashes it.
"""

import hashlib
import json
import math
import numbers
import re

import numpy as np

__all__ = ["array_hash", "describe", "fingerprint"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# parameters that change what is printed, not what is computed; private
# parameters (skorch's ``_params_to_validate``, a set of the ``module__``
# names) only restate public ones and are left out as well
_NOT_RESULTS = {"verbose"}


def _same(value, default):
    """Whether a parameter's value is its (JSON-like) default."""
    return describe(value) == describe(default)


def describe(obj):
    """A JSON-able description of an object's configuration (for fingerprints).

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> describe(Ridge(alpha=2.0))["params"]["alpha"]
    2.0
    >>> describe({"b", "a"})
    {'set': ['a', 'b']}
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else repr(value)
    if isinstance(obj, np.ndarray):
        return {"array": array_hash(obj)}
    if isinstance(obj, dict):
        return {str(k): describe(v) for k, v in sorted(obj.items(), key=str)}
    if isinstance(obj, list | tuple):
        return [describe(v) for v in obj]
    if isinstance(obj, set | frozenset):
        # a set's iteration order follows string hashing, which is randomised
        # per process: sort the described items by their canonical JSON
        items = [describe(v) for v in obj]
        return {"set": sorted(items, key=lambda v: json.dumps(v, sort_keys=True))}
    if hasattr(obj, "get_params") and not isinstance(obj, type):
        params = obj.get_params(deep=False)
        # parameters added to a class after results were stored are described
        # only away from the default they were added with (the class lists
        # them in ``_added_parameters``), so older stores keep their identity
        added = getattr(type(obj), "_added_parameters", {})
        return {
            "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "params": {
                k: describe(v)
                for k, v in sorted(params.items())
                if k not in _NOT_RESULTS
                and not k.startswith("_")
                and not (k in added and _same(v, added[k]))
            },
        }
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}"
    if callable(obj):
        # functions by name only: the same function resumed from another
        # script (or __main__) keeps its fingerprint
        return getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return _ADDRESS.sub("", repr(obj))


def array_hash(a):
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(str((a.shape, a.dtype.str)).encode())
    h.update(a.tobytes())
    return h.hexdigest()[:32]


def fingerprint(description):
    """A short hash of the canonical JSON of ``description``.

    Examples
    --------
    >>> fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    True
    """
    text = json.dumps(description, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
