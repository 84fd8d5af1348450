"""What a simulation is given: checks, strategies, seeds and fingerprints.

A simulation's results are fixed by its arguments and its seed material
(the *entropy*); every run, strategy and cycle derives its own seed from it
(:func:`_seed`), so results depend neither on ``n_jobs`` nor on
interruptions. A stored simulation is identified by canonical fingerprints
of what changes its results (:data:`_FINGERPRINTED`).
"""

import hashlib
import json
import math
import numbers
import re
import zlib

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array


def _check_targets(y, X, name, x_name):
    if y is None:
        raise ValueError(f"{name} must be an array of targets, got None.")
    y = check_array(
        y,
        dtype="numeric",
        ensure_2d=False,
        allow_nd=True,
        ensure_all_finite="allow-nan",
        ensure_min_samples=0,
        input_name=name,
    )
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{x_name} and {name} must have the same number of samples, got "
            f"{X.shape[0]} and {y.shape[0] if y.ndim else 'a scalar'}."
        )
    return y


def _strategy_name(obj):
    """A readable name: the registry name of a built-in default, else the class."""
    from ..query import STRATEGIES

    for name, default in STRATEGIES.items():
        if obj is default:
            return name
        if type(obj) is type(default) and hasattr(obj, "get_params"):
            try:
                if _describe(obj) == _describe(default):
                    return name
            except Exception:  # noqa: BLE001 - naming is best effort
                pass
    if hasattr(obj, "get_params"):
        return type(obj).__name__
    return getattr(obj, "__name__", type(obj).__name__)


def _resolve_strategies(strategies):
    from ..query import STRATEGIES, get_strategy

    if isinstance(strategies, str) or not isinstance(strategies, dict | list | tuple):
        strategies = [strategies]
    if isinstance(strategies, dict):
        items = list(strategies.items())
    else:
        items = [(None, s) for s in strategies]
    if not items:
        raise ValueError("strategies must name at least one strategy, got none.")
    labels, objects = [], []
    for label, strategy in items:
        if isinstance(strategy, str):
            if strategy not in STRATEGIES:
                raise ValueError(
                    f"Unknown strategy {strategy!r}; expected one of "
                    f"{sorted(STRATEGIES)} or a strategy object."
                )
            label = strategy if label is None else label
            strategy = get_strategy(strategy)
        elif hasattr(strategy, "select") or callable(strategy):
            label = _strategy_name(strategy) if label is None else label
            if hasattr(strategy, "get_params"):
                strategy = clone(strategy)
        else:
            raise TypeError(
                "Each strategy must be a name, a strategy object with select() or a "
                f"callable, got {type(strategy).__name__}."
            )
        if not isinstance(label, str) or not label:
            raise TypeError(f"Strategy names must be non-empty str, got {label!r}.")
        labels.append(label)
        objects.append(strategy)
    duplicates = sorted({lab for lab in labels if labels.count(lab) > 1})
    if duplicates:
        raise ValueError(
            f"Strategy names must be unique, got {duplicates} more than once; pass "
            "a dict {name: strategy} to name them."
        )
    return labels, objects


# -- seeds ------------------------------------------------------------------


def _entropy(random_state):
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}.")
        return int(random_state)
    rng = check_random_state(random_state)  # raises for anything else
    return int(rng.randint(np.iinfo(np.int32).max))


def _seed(entropy, *key):
    """A 31-bit seed derived from the entropy and a key of small integers."""
    seq = np.random.SeedSequence(entropy, spawn_key=tuple(int(k) for k in key))
    return int(seq.generate_state(1, dtype=np.uint32)[0] >> 1)


def _label_key(label):
    return zlib.crc32(label.encode("utf-8"))


# -- fingerprints -----------------------------------------------------------

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# parameters that change what is printed, not what is computed; private
# parameters (skorch's ``_params_to_validate``, a set of the ``module__``
# names) only restate public ones and are left out as well
_NOT_RESULTS = {"verbose"}


def _describe(obj):
    """A JSON-able description of an object's configuration (for fingerprints)."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else repr(value)
    if isinstance(obj, np.ndarray):
        return {"array": _array_hash(obj)}
    if isinstance(obj, dict):
        return {str(k): _describe(v) for k, v in sorted(obj.items(), key=str)}
    if isinstance(obj, list | tuple):
        return [_describe(v) for v in obj]
    if isinstance(obj, set | frozenset):
        # a set's iteration order follows string hashing, which is randomised
        # per process: sort the described items by their canonical JSON
        items = [_describe(v) for v in obj]
        return {"set": sorted(items, key=lambda v: json.dumps(v, sort_keys=True))}
    if hasattr(obj, "get_params") and not isinstance(obj, type):
        params = obj.get_params(deep=False)
        return {
            "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "params": {
                k: _describe(v)
                for k, v in sorted(params.items())
                if k not in _NOT_RESULTS and not k.startswith("_")
            },
        }
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}"
    if callable(obj):
        # functions by name only: the same function resumed from another
        # script (or __main__) keeps its fingerprint
        return getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return _ADDRESS.sub("", repr(obj))


def _array_hash(a):
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(str((a.shape, a.dtype.str)).encode())
    h.update(a.tobytes())
    return h.hexdigest()[:32]


def _fingerprint(description):
    text = json.dumps(description, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _seeded(random_state):
    """The integer seed, or None for a ``random_state`` that is not one."""
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        return int(random_state)
    return None


#: the arguments of :func:`simulate` that fix its results, each with the
#: canonical form stored in (and compared with) a store's ``config.json``
_FINGERPRINTED = {
    "estimator": lambda estimator: _fingerprint(_describe(estimator)),
    "X": _array_hash,
    "y": _array_hash,
    "X_test": _array_hash,
    "y_test": _array_hash,
    "n_initial": int,
    "budget": int,
    "scoring": _describe,
    "warm_start": bool,
    "random_state": _seeded,
}


def _config(arguments):
    """The stored configuration of a simulation from its (checked) arguments.

    ``arguments`` maps at least the names of :data:`_FINGERPRINTED` to their
    values; ``fidelity`` is added only when true, so that folders written
    before it existed resume as ``fidelity=False``.
    """
    config = {name: form(arguments[name]) for name, form in _FINGERPRINTED.items()}
    if arguments.get("fidelity"):
        config["fidelity"] = True
    return config


def _seedable(obj):
    """Names of ``random_state`` parameters left to ``None`` (deep)."""
    if not hasattr(obj, "get_params") or isinstance(obj, type):
        return []
    return [
        key
        for key, value in obj.get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    ]
