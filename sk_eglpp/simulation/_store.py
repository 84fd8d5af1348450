"""The folder of a resumable simulation, and how to read it back.

Layout of a store (``simulate(..., output_dir=...)``)::

    config.json                 format, seed material, fingerprints
    lock                        held (an OS lock) by the process writing
    runs/run-XXX.jsonl          one JSON row per finished cycle
    checkpoints/run-XXX/base/   the run's base model (skorch nets only)
    checkpoints/run-XXX/<strategy>/cycle-XXXX/
                                the strategy's last finished cycle

A checkpoint folder holds what skorch's ``save_params`` writes (one
``<component>.pt`` per module, criterion and optimizer, and
``history.json``) plus ``attributes.json``, the simple fitted attributes the
net sets in ``fit`` (``heatmap_size_``, ...). It is loaded with
``load_params`` and weights-only ``torch.load``.

:class:`_Store` writes (for :func:`simulate`); :func:`open_store` returns a
:class:`SimulationStore`, the public read API, which never writes and may
read a store that another process is still writing.
"""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
from sklearn.base import clone

from .._files import FolderLock, atomic_folder
from .._files import atomic_write_bytes as _atomic_write_bytes
from .._fingerprints import describe, fingerprint
from .._seeding import torch_seed
from ..diagnostics import FIDELITY_COLUMNS
from ._config import _entropy, _label_key, _seedable
from ._errors import (
    CorruptStoreError,
    ResumeMismatchError,
    StoreError,
    StoreFormatError,
)
from ._results import COLUMNS, SimulationResults, _split_stored

__all__ = ["SimulationStore", "open_store", "delete_store"]

#: the format of the stores written by this version. 1: a checkpoint was one
#: ``torch.save`` file of state dicts; 2: a folder written by skorch's
#: ``save_params`` (and ``attributes.json``)
_FORMAT = 2

_HISTORY = "history.json"
_ATTRIBUTES = "attributes.json"


def _safe_name(label):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label)[:40]
    return f"{safe}-{_label_key(label):08x}"


def _run_path(root, run):
    return root / "runs" / f"run-{run:03d}.jsonl"


def _checkpoint_path(root, run, label, cycle):
    folder = root / "checkpoints" / f"run-{run:03d}"
    if label is None:
        return folder / "base"
    return folder / _safe_name(label) / f"cycle-{cycle:04d}"


def _read_config(root):
    """The parsed ``config.json`` of a store, checked."""
    path = root / "config.json"
    if not path.is_file():
        raise StoreError(
            f"{str(root)!r} holds no simulation (no {path.name}); expected the "
            "output_dir of simulate()."
        )
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        found = stored.get("format")
    except (ValueError, AttributeError) as exc:
        raise CorruptStoreError(
            f"{path} is not a simulation configuration written by sk_eglpp "
            f"({exc}); use another output_dir."
        ) from exc
    if found != _FORMAT:
        raise StoreFormatError(
            f"{str(root)!r} holds a simulation stored in format {found!r}; this "
            f"version of sk_eglpp reads format {_FORMAT} (it changed how "
            "networks are checkpointed). It cannot be resumed: use another "
            "output_dir, or delete this one."
        )
    try:
        stored["config"] = dict(stored["config"])
        stored["entropy"] = int(stored["entropy"])
        stored["strategies"] = dict(stored["strategies"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptStoreError(
            f"{path} is not a simulation configuration written by sk_eglpp "
            f"(bad or missing {exc}); use another output_dir."
        ) from exc
    return stored


def _read_rows(path):
    """The rows of a run file by strategy and cycle, and the end of the last
    complete line (a trailing line without its newline was cut short).

    Duplicated rows keep their first occurrence.
    """
    by_label = {}
    if not path.exists():
        return by_label, 0
    data = path.read_bytes()
    lines = data.split(b"\n")
    good_end = offset = 0
    for i, line in enumerate(lines):
        end = offset + len(line) + 1
        is_last = i == len(lines) - 1
        if not line.strip():
            offset = end
            continue
        try:
            row = json.loads(line)
            if is_last:  # no newline: the write was cut short
                raise ValueError("incomplete row")
        except ValueError as exc:
            if is_last:
                break
            raise CorruptStoreError(
                f"{path} is corrupt at line {i + 1} ({exc}); delete it to "
                "recompute that run."
            ) from exc
        good_end = offset = end
        by_label.setdefault(row["strategy"], {}).setdefault(row["cycle"], row)
    return by_label, good_end


def _contiguous(by_label):
    """Each strategy's rows from cycle 0 up to the first missing cycle."""
    contiguous = {}
    for label, cycles in by_label.items():
        rows, c = [], 0
        while c in cycles:
            rows.append(cycles[c])
            c += 1
        contiguous[label] = rows
    return contiguous


# -- skorch nets ----------------------------------------------------------------


def _is_net(estimator):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(estimator, NeuralNet)


def _components(net):
    """Names of the net's torch modules, criteria and optimizers (``module``, ...)."""
    import torch

    return sorted(
        key[:-1]
        for key, value in vars(net).items()
        if key.endswith("_")
        and not key.startswith("_")
        and isinstance(value, torch.nn.Module | torch.optim.Optimizer)
    )


def _encode_attribute(value):
    """JSON form of a simple fitted attribute, or None when it is not simple."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return {"value": value}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"ndarray": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, list | tuple):
        items = [_encode_attribute(v) for v in value]
        if all(item is not None for item in items):
            return {type(value).__name__: items}
    return None


def _decode_attribute(encoded):
    if "value" in encoded:
        return encoded["value"]
    if "ndarray" in encoded:
        return np.asarray(encoded["ndarray"], dtype=encoded["dtype"])
    kind = "tuple" if "tuple" in encoded else "list"
    items = [_decode_attribute(item) for item in encoded[kind]]
    return tuple(items) if kind == "tuple" else items


def _fsync_files(folder):
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _owns_checkpoint_file(name):
    """Whether ``name`` is a file that :func:`_save_net` writes."""
    return name in (_HISTORY, _ATTRIBUTES) or name.endswith(".pt")


def _save_net(net, folder):
    """Write a fitted net into ``folder`` (created whole, or not at all)."""
    components = _components(net)
    attributes = {}
    for key, value in vars(net).items():
        if key.endswith("_") and not key.startswith("_") and key != "history_":
            encoded = _encode_attribute(value)
            if encoded is not None:
                attributes[key] = encoded
    with atomic_folder(folder, owns=_owns_checkpoint_file) as work:
        net.save_params(
            f_history=work / _HISTORY,
            **{f"f_{name}": work / f"{name}.pt" for name in components},
        )
        (work / _ATTRIBUTES).write_text(json.dumps(attributes), encoding="utf-8")
        _fsync_files(work)


def _load_net(net, folder):
    """Load what :func:`_save_net` wrote into the initialised ``net``.

    The fitted attributes that ``initialize()`` does not create come from
    ``attributes.json``; skorch's own are the initialised net's.
    """
    net.set_params(torch_load_kwargs={"weights_only": True})
    files = {f"f_{path.stem}": path for path in sorted(folder.glob("*.pt"))}
    net.load_params(f_history=folder / _HISTORY, **files)
    attributes = json.loads((folder / _ATTRIBUTES).read_text(encoding="utf-8"))
    for key, encoded in attributes.items():
        if not hasattr(net, key):
            setattr(net, key, _decode_attribute(encoded))


def _net_device(estimator):
    return estimator.get_params().get("device") if _is_net(estimator) else None


# -- writing ----------------------------------------------------------------------


class _Store:
    """The files of a resumable simulation, as :func:`simulate` writes them.

    Write order, so that a crash at any point leaves a state that resumes to
    the uninterrupted result: a cycle's network checkpoint is written
    (atomically) first, then the cycle's row is appended and fsynced, and only
    then is the previous checkpoint deleted. A row is the commit point: a
    checkpoint without its row is ignored and overwritten on resume.
    """

    def __init__(self, output_dir):
        self.root = Path(output_dir)
        self._lock = None

    def __getstate__(self):  # joblib workers write rows, the parent holds the lock
        return {**self.__dict__, "_lock": None}

    def _written(self, event):
        """Called after every write that makes up the state (a test hook)."""

    def acquire(self):
        """Hold the folder's lock: one writing process per ``output_dir``."""
        self._lock = FolderLock(self.root, "simulation").acquire()

    def release(self):
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def open(self, config, strategy_fps, random_state):
        """Lock the folder and check or write its configuration; the entropy."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.acquire()
        try:
            return self._open(config, strategy_fps, random_state)
        except BaseException:
            self.release()
            raise

    def _open(self, config, strategy_fps, random_state):
        path = self.root / "config.json"
        if path.exists():
            stored = _read_config(self.root)
            old_config, old_fps = stored["config"], stored["strategies"]
            differ = sorted(
                k
                for k in set(config) | set(old_config)
                if config.get(k) != old_config.get(k)
            )
            differ += sorted(
                f"strategy {lab!r}"
                for lab, fp in strategy_fps.items()
                if lab in old_fps and old_fps[lab] != fp
            )
            if differ:
                raise ResumeMismatchError(
                    f"output_dir {str(self.root)!r} holds a simulation run with "
                    f"different parameters (they differ in: {', '.join(differ)}); "
                    "resume with the same ones, or use another output_dir."
                )
            entropy = stored["entropy"]
            new = {k: v for k, v in strategy_fps.items() if k not in old_fps}
            if new:
                stored["strategies"] = {**old_fps, **new}
                _atomic_write_bytes(path, json.dumps(stored, indent=1).encode())
                self._written("config")
        else:
            entropy = _entropy(random_state)
            stored = {
                "format": _FORMAT,
                "fingerprint": fingerprint(config),
                "entropy": entropy,
                "config": config,
                "strategies": strategy_fps,
            }
            _atomic_write_bytes(path, json.dumps(stored, indent=1).encode())
            self._written("config")
        (self.root / "runs").mkdir(exist_ok=True)
        (self.root / "checkpoints").mkdir(exist_ok=True)
        return entropy

    def read_run(self, run):
        """Rows already written for ``run``, by strategy, contiguous from cycle 0.

        A trailing partial line (a crash while appending) is cut from the file.
        """
        path = _run_path(self.root, run)
        by_label, good_end = _read_rows(path)
        if path.exists() and good_end < path.stat().st_size:
            with open(path, "r+b") as f:
                f.truncate(good_end)
        return _contiguous(by_label)

    def append(self, run, rows):
        text = "".join(json.dumps(row) + "\n" for row in rows)
        with open(_run_path(self.root, run), "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self._written("row")

    def save_net(self, net, run, label, cycle):
        folder = _checkpoint_path(self.root, run, label, cycle)
        folder.parent.mkdir(parents=True, exist_ok=True)
        _save_net(net, folder)
        self._written("checkpoint")

    def prune(self, run, label, cycle):
        """Delete the strategy's checkpoints other than ``cycle``'s.

        Called once the row of ``cycle`` is written: until then the previous
        checkpoint is what a resume starts from. Also removes what a crash
        inside a checkpoint's write left (its temporary folder).
        """
        keep = _checkpoint_path(self.root, run, label, cycle)
        removed = False
        for old in [*keep.parent.glob("cycle-*"), *keep.parent.glob(".cycle-*")]:
            if old != keep:
                shutil.rmtree(old)
                removed = True
        if removed:
            self._written("prune")

    def load_net(self, net, run, label, cycle):
        """Load the checkpoint into the initialised ``net``; False if there is none."""
        folder = _checkpoint_path(self.root, run, label, cycle)
        if not folder.is_dir():
            return False
        try:
            _load_net(net, folder)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds
            raise CorruptStoreError(
                f"cannot read the checkpoint {folder} ({type(exc).__name__}: "
                f"{exc}); the files are damaged. Delete it together with "
                f"{_run_path(self.root, run)} to recompute run {run}."
            ) from exc
        return True


# -- reading ----------------------------------------------------------------------


def open_store(path):
    """Open the folder of a simulation, finished or not, to read it.

    Parameters
    ----------
    path : str or path-like
        The ``output_dir`` of :func:`simulate` (``state/`` in the output
        folder of ``sk-eglpp simulate``).

    Returns
    -------
    store : SimulationStore

    Raises
    ------
    StoreError
        When ``path`` holds no simulation.
    StoreFormatError
        When it was written in another store format.
    CorruptStoreError
        When its configuration is damaged.

    See Also
    --------
    simulate : writes the store.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sk_eglpp.simulation import open_store, simulate
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); y = X @ [1.0, -1.0]
    >>> folder = tempfile.mkdtemp()
    >>> _ = simulate(Ridge(), ["random_query"], X[:40], y[:40], X[40:], y[40:],
    ...              n_initial=5, budget=5, n_cycles=2, n_runs=1, random_state=0,
    ...              output_dir=folder)
    >>> store = open_store(folder)
    >>> store.strategies, store.runs, store.cycles(0, "random_query")
    (['random_query'], [0], [0, 1, 2])
    >>> store.results()["n_labelled"]
    array([ 5, 10, 15])
    """
    return SimulationStore(path)


def delete_store(path):
    """Delete the folder of a simulation (of any store format).

    The folder's lock is taken first, so a simulation still writing it is
    never pulled from under.

    Parameters
    ----------
    path : str or path-like
        The ``output_dir`` of :func:`simulate`.

    Raises
    ------
    StoreError
        When ``path`` holds no simulation (it is left alone).
    OutputDirInUseError
        When another process is writing it.

    Examples
    --------
    >>> import tempfile
    >>> delete_store(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    sk_eglpp.simulation.StoreError: '...' holds no simulation (no config.json); ...
    """
    root = Path(path)
    if not (root / "config.json").is_file():
        raise StoreError(
            f"{str(root)!r} holds no simulation (no config.json); not deleting it."
        )
    store = _Store(root)
    store.acquire()
    try:
        shutil.rmtree(root)
    finally:
        store.release()


class SimulationStore:
    """Read access to the folder of a simulation (see :func:`open_store`).

    Nothing is written; a store that another process is still writing can be
    read, and shows the cycles finished so far.

    Parameters
    ----------
    path : str or path-like
        The ``output_dir`` of :func:`simulate`.

    Attributes
    ----------
    path : pathlib.Path
        The folder.
    config : dict
        The stored configuration: fingerprints of the estimator and the
        data, ``n_initial``, ``budget``, ``scoring``, ``warm_start``,
        ``random_state`` (``None`` when the seed material was drawn).
    strategies : list of str
        The strategy names, in the order they were first simulated.
    fidelity : bool
        Whether the fidelity measures were recorded.

    See Also
    --------
    open_store : opens a store.
    simulate : writes it.

    Examples
    --------
    >>> import tempfile
    >>> from sk_eglpp.simulation import open_store, simulate, toy_problem
    >>> folder = tempfile.mkdtemp()
    >>> problem = toy_problem("quick", n_runs=1, n_cycles=1)
    >>> _ = simulate(**problem, output_dir=folder, random_state=0)
    >>> store = open_store(folder)
    >>> store.cycles(0, "emcm"), len(store.results()), store.checkpoints()
    ([0, 1], 6, [])
    """

    def __init__(self, path):
        self.path = Path(path)
        stored = _read_config(self.path)
        self.config = stored["config"]
        self.strategies = list(stored["strategies"])
        self.fidelity = bool(self.config.get("fidelity", False))

    def __repr__(self):
        return (
            f"SimulationStore({str(self.path)!r}, strategies={self.strategies}, "
            f"runs={self.runs})"
        )

    def _rows(self, run):
        return _contiguous(_read_rows(_run_path(self.path, run))[0])

    def _all_rows(self):
        """``{run: {strategy: rows}}`` of the runs with a finished cycle."""
        found = {}
        for path in sorted((self.path / "runs").glob("run-*.jsonl")):
            run = int(path.stem.split("-")[1])
            rows = self._rows(run)
            if any(rows.values()):
                found[run] = rows
        return found

    @property
    def runs(self):
        """The runs with at least one finished cycle, sorted."""
        return list(self._all_rows())

    def cycles(self, run, strategy):
        """The finished cycles of ``strategy`` in ``run`` (0: the base model).

        Parameters
        ----------
        run : int
        strategy : str

        Returns
        -------
        cycles : list of int
            ``[0, 1, ..., last]``; empty when nothing is finished.
        """
        self._check_strategy(strategy)
        return [int(row["cycle"]) for row in self._rows(run).get(strategy, [])]

    def results(self):
        """The results written so far, as :func:`simulate` returns them.

        Returns
        -------
        results : SimulationResults
            The finished cycles of every run and strategy (sorted by run,
            strategy and cycle), with their selections.
        """
        columns = COLUMNS + (FIDELITY_COLUMNS if self.fidelity else ())
        order = {label: i for i, label in enumerate(self.strategies)}
        stored = []
        for by_label in self._all_rows().values():
            for rows in by_label.values():
                stored.extend(rows)
        stored.sort(key=lambda r: (r["run"], order.get(r["strategy"]), r["cycle"]))
        rows, selected = _split_stored(stored, columns)
        return SimulationResults(rows, selected)

    def checkpoints(self):
        """The stored network checkpoints that belong to a finished cycle.

        A run keeps its base model and, for each strategy, its last finished
        cycle (earlier ones are deleted as the simulation goes).

        Returns
        -------
        checkpoints : list of tuple
            ``(run, strategy, cycle)``, with ``strategy=None, cycle=0`` for a
            run's base model.
        """
        found = []
        for run, rows in self._all_rows().items():
            if _checkpoint_path(self.path, run, None, 0).is_dir():
                found.append((run, None, 0))
            for label in self.strategies:
                for row in rows.get(label, [])[1:]:
                    cycle = int(row["cycle"])
                    if _checkpoint_path(self.path, run, label, cycle).is_dir():
                        found.append((run, label, cycle))
        return found

    def load_model(self, estimator, run=0, strategy=None, cycle=None):
        """The network of a finished cycle, as the simulation trained it.

        Parameters
        ----------
        estimator : skorch net
            The (unfitted) estimator given to :func:`simulate`; it is cloned,
            never modified. Its fingerprint must be the stored one.
        run : int, default=0
        strategy : str, default=None
            ``None``: the run's base model (cycle 0).
        cycle : int, default=None
            The strategy's cycle; ``None``: its last finished one. Only the
            base model and the last finished cycle are kept (see
            :meth:`checkpoints`).

        Returns
        -------
        model : skorch net
            Fitted: weights, optimizer state, history and fitted attributes
            as after that cycle; its ``random_state`` parameters that were
            ``None`` are that cycle's seed, as during the simulation.

        Raises
        ------
        TypeError
            When ``estimator`` is not a skorch net: scikit-learn models are
            not stored (refit one on ``results().labelled_indices(run,
            strategy, cycle)``).
        ResumeMismatchError
            When ``estimator`` is not the one of the stored simulation.
        ValueError
            When that cycle has no stored network (not finished yet, or
            an earlier cycle, whose network was deleted).
        """
        if not _is_net(estimator):
            raise TypeError(
                "Only skorch nets are checkpointed, got "
                f"{type(estimator).__name__}; refit a scikit-learn estimator on "
                "results().labelled_indices(run, strategy, cycle)."
            )
        if fingerprint(describe(estimator)) != self.config["estimator"]:
            raise ResumeMismatchError(
                f"the estimator differs from the one of the simulation in "
                f"{str(self.path)!r} (its fingerprint is not the stored one)."
            )
        if strategy is not None:
            self._check_strategy(strategy)
        rows = self._rows(run)
        label = strategy if strategy is not None and cycle != 0 else None
        if label is None:
            chosen = [row for lab in rows for row in rows[lab][:1]]
            cycle = 0
        else:
            finished = rows.get(label, [])[1:]
            if cycle is None and finished:
                cycle = int(finished[-1]["cycle"])
            chosen = [row for row in finished if row["cycle"] == cycle]
        folder = _checkpoint_path(self.path, run, label, cycle)
        if not chosen or not folder.is_dir():
            kept = ", ".join(
                "base" if s is None else f"{s!r} cycle {c}"
                for r, s, c in self.checkpoints()
                if r == run
            )
            raise ValueError(
                f"No stored network for run {run}, "
                f"{'the base model' if label is None else repr(label)}"
                f"{'' if cycle is None or label is None else f' cycle {cycle}'}; "
                f"run {run} keeps: {kept or 'none'}."
            )
        seed = int(chosen[0]["seed"])
        model = clone(estimator)
        seedable = _seedable(model)
        if seedable:
            model.set_params(**dict.fromkeys(seedable, seed))
        with torch_seed(seed, _net_device(model)):
            model.initialize()
        _Store(self.path).load_net(model, run, label, cycle)
        return model

    def _check_strategy(self, strategy):
        if strategy not in self.strategies:
            raise ValueError(
                f"Unknown strategy {strategy!r}; the store holds {self.strategies}."
            )
