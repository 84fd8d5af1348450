"""What a simulation is given: checks, seeds and the fingerprinted arguments.

A simulation's results are fixed by its arguments and its seed material
(the *entropy*); every run, strategy and cycle derives its own seed from it
(:func:`derive_seed`), so results depend neither on ``n_jobs`` nor on
interruptions. A stored simulation is identified by canonical fingerprints
of what changes its results (:data:`FINGERPRINTED`).

The names here are shared by the modules of the simulation package (public
within the package, not exported).
"""

import numbers
import zlib

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from .._fingerprints import array_hash, describe, fingerprint


def check_targets(y, X, name, x_name):
    """``y`` as an array with one target (row) per sample of ``X``."""
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


# -- seeds ------------------------------------------------------------------


def entropy_from(random_state):
    """The seed material of a simulation from its (checked) ``random_state``:
    drawn for ``None``, the seed itself for an int, a draw of a RandomState."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        return int(random_state)
    rng = check_random_state(random_state)
    return int(rng.randint(np.iinfo(np.int32).max))


def derive_seed(entropy, *key):
    """A 31-bit seed derived from the entropy and a key of small integers."""
    seq = np.random.SeedSequence(entropy, spawn_key=tuple(int(k) for k in key))
    return int(seq.generate_state(1, dtype=np.uint32)[0] >> 1)


def label_key(label):
    """A strategy name as a small integer (a key of its seeds and folders)."""
    return zlib.crc32(label.encode("utf-8"))


def _seeded(random_state):
    """The integer seed, or None for a ``random_state`` that is not one."""
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        return int(random_state)
    return None


#: the arguments of :func:`simulate` that fix its results, each with the
#: canonical form stored in (and compared with) a store's ``config.json``
FINGERPRINTED = {
    "estimator": lambda estimator: fingerprint(describe(estimator)),
    "X": array_hash,
    "y": array_hash,
    "X_test": array_hash,
    "y_test": array_hash,
    "n_initial": int,
    "budget": int,
    "scoring": describe,
    "warm_start": bool,
    "random_state": _seeded,
}


def stored_config(arguments):
    """The stored configuration of a simulation from its (checked) arguments.

    ``arguments`` maps at least the names of :data:`FINGERPRINTED` to their
    values; ``fidelity`` is added only when true, so that folders written
    before it existed resume as ``fidelity=False``.
    """
    config = {name: form(arguments[name]) for name, form in FINGERPRINTED.items()}
    if arguments.get("fidelity"):
        config["fidelity"] = True
    return config


def seedable_params(obj):
    """Names of ``random_state`` parameters left to ``None`` (deep)."""
    if not hasattr(obj, "get_params") or isinstance(obj, type):
        return []
    return [
        key
        for key, value in obj.get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    ]
