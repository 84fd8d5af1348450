"""The folder of a resumable simulation, and how to read it back.

Layout of a store (``simulate(..., output_dir=...)``)::

    config.json                 marker, format, seed material, fingerprints
    environment.json            the environments the simulation ran in
    lock                        held (an OS lock) by the process writing
    runs/run-XXX.jsonl          one JSON row per finished cycle
    checkpoints/run-XXX/base/   the run's base model (skorch nets only)
    checkpoints/run-XXX/<strategy>/cycle-XXXX/
                                the strategy's last finished cycle

Every row carries the id of the environment that computed it
(``"environment"``), recorded in ``environment.json`` when a call opens the
store (see ``_environment``); stores written before it have neither, and
read and resume as before.

A checkpoint folder is the net checkpoint of
:mod:`sk_eglpp.models._checkpoint`: what skorch's ``save_params`` writes (one
``<component>.pt`` per module, criterion and optimizer, and
``history.json``) plus ``attributes.json``, the simple fitted attributes the
net sets in ``fit`` (``heatmap_size_``, ...). It is loaded with
``load_params`` and weights-only ``torch.load``.

:class:`StoreWriter` writes (for :func:`simulate`); :func:`open_store`
returns a :class:`SimulationStore`, the public read API, which never writes
and may read a store that another process is still writing.
"""

import contextlib
import functools
import json
import os
import re
import shutil
from pathlib import Path

from sklearn.base import clone

from .._files import FolderLock, remove_leftovers
from .._files import atomic_write_bytes as _atomic_write_bytes
from .._fingerprints import describe, fingerprint
from .._param_validation import validate_params
from .._seeding import torch_seed
from ..diagnostics import FIDELITY_COLUMNS
from ..models._checkpoint import CheckpointAttributeError, load_net, save_net
from ._config import entropy_from, label_key, seedable_params
from ._environment import by_run, environment_id
from ._errors import (
    CorruptStoreError,
    ResumeMismatchError,
    StoreError,
    StoreFormatError,
)
from ._results import COLUMNS, SimulationResults, split_stored

__all__ = ["SimulationStore", "open_store", "delete_store"]

#: the format of the stores written by this version. 1: a checkpoint was one
#: ``torch.save`` file of state dicts; 2: a folder written by skorch's
#: ``save_params`` (and ``attributes.json``)
_FORMAT = 2

#: the marker of a store's ``config.json`` (stores written before it carry
#: the keys of _CONFIG_KEYS only)
_WRITTEN_BY = "sk_eglpp.simulation"

#: the keys of the ``config.json`` of every store format
_CONFIG_KEYS = ("format", "fingerprint", "entropy", "config", "strategies")

#: the file of the environments the rows were computed in
_ENVIRONMENT = "environment.json"

#: attempts of :meth:`SimulationStore.load_model` at the latest cycle of a run
#: that a running simulation keeps replacing
_LOAD_ATTEMPTS = 5


def _safe_name(label):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label)[:40]
    return f"{safe}-{label_key(label):08x}"


def _run_path(root, run):
    return root / "runs" / f"run-{run:03d}.jsonl"


def _checkpoint_path(root, run, label, cycle):
    folder = root / "checkpoints" / f"run-{run:03d}"
    if label is None:
        return folder / "base"
    return folder / _safe_name(label) / f"cycle-{cycle:04d}"


def _not_a_store(stored):
    """Why a parsed ``config.json`` is not one a store wrote; None when it is."""
    if not isinstance(stored, dict):
        return f"a JSON {type(stored).__name__}, not an object"
    if stored.get("written_by", _WRITTEN_BY) != _WRITTEN_BY:
        return f"written by {stored['written_by']!r}"
    missing = [key for key in _CONFIG_KEYS if key not in stored]
    if missing:
        return f"no {', '.join(repr(key) for key in missing)}"
    found = stored["format"]
    if isinstance(found, bool) or not isinstance(found, int):
        return f"a 'format' of {found!r}, not a store format number"
    return None


def _parse_config(root, refusal):
    """The parsed ``config.json`` of a store of any format.

    A ``StoreError`` ending with ``refusal`` when ``root`` holds none, or a
    ``config.json`` that is not a store's (``CorruptStoreError`` when it is
    not JSON).
    """
    path = root / "config.json"
    if not path.is_file():
        raise StoreError(
            f"{str(root)!r} holds no simulation (no {path.name}); {refusal}."
        )
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptStoreError(
            f"{path} is not a simulation configuration written by sk_eglpp "
            f"({exc}); {refusal}."
        ) from exc
    why = _not_a_store(stored)
    if why is not None:
        raise StoreError(
            f"{str(root)!r} is not the folder of a simulation: its {path.name} is "
            f"not a store's ({why}); {refusal}."
        )
    return stored


def _read_config(root, refusal="use another output_dir"):
    """The parsed ``config.json`` of a store of this version's format, checked."""
    path = root / "config.json"
    stored = _parse_config(root, refusal)
    found = stored["format"]
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
            f"(bad {exc}); use another output_dir."
        ) from exc
    return stored


def _read_environments(root):
    """``id -> environment`` recorded in the store, in order ({} when none).

    A ``CorruptStoreError`` when ``environment.json`` is damaged.
    """
    path = root / _ENVIRONMENT
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return {
            str(entry["id"]): dict(entry["environment"])
            for entry in stored["environments"]
        }
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise CorruptStoreError(
            f"{path} is not an environment record written by sk_eglpp ({exc!r}); "
            "delete it (the runs written so far are then reported as computed "
            "in an environment not recorded)."
        ) from exc


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


def is_net(estimator):
    """Whether ``estimator`` is a skorch net (checkpointed by the store)."""
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(estimator, NeuralNet)


def _read_checkpoint(net, root, run, folder, went=None):
    """Load the checkpoint ``folder`` of ``run`` into the initialised ``net``.

    True when loaded. When the load fails and ``went()`` says the checkpoint
    was deleted or replaced meanwhile (a reader's race with the writer's
    pruning), False; otherwise a ``CorruptStoreError``.
    """
    advice = (
        f"the files are damaged. Delete it together with {_run_path(root, run)} "
        f"to recompute run {run}."
    )
    try:
        load_net(net, folder)
    except CheckpointAttributeError as exc:
        raise CorruptStoreError(
            f"cannot read the checkpoint {folder} ({exc}); {advice}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds
        if went is not None and went():
            return False
        raise CorruptStoreError(
            f"cannot read the checkpoint {folder} ({type(exc).__name__}: {exc}); "
            f"{advice}"
        ) from exc
    return True


def net_device(estimator):
    """The ``device`` parameter of a skorch net; None for other estimators."""
    return estimator.get_params().get("device") if is_net(estimator) else None


# -- writing ----------------------------------------------------------------------


class StoreWriter:
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

    def open(self, config, strategy_fps, random_state, environment):
        """Lock the folder, check or write its configuration and record the
        ``environment`` of this call; the entropy.

        Afterwards ``environment_id`` is the id that the rows of this call
        carry and ``environments`` maps every recorded id to its environment.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        if (self.root / "config.json").exists():
            _read_config(self.root)  # no lock file in a folder that is no store
        self.acquire()
        try:
            entropy = self._open(config, strategy_fps, random_state)
            self._record(environment)
            return entropy
        except BaseException:
            self.release()
            raise

    def _record(self, environment):
        """Add ``environment`` to ``environment.json`` unless it is there."""
        recorded = _read_environments(self.root)
        self.environment_id = environment_id(environment)
        if self.environment_id not in recorded:
            recorded[self.environment_id] = environment
            entries = [{"id": k, "environment": v} for k, v in recorded.items()]
            _atomic_write_bytes(
                self.root / _ENVIRONMENT,
                json.dumps({"environments": entries}, indent=1).encode(),
            )
            self._written("environment")
        self.environments = recorded

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
            entropy = entropy_from(random_state)
            stored = {
                "written_by": _WRITTEN_BY,
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
        # what a killed write left (a strategy's cycles: prune() removes them)
        remove_leftovers(self.root, ["config.json", _ENVIRONMENT])
        for run in (self.root / "checkpoints").glob("run-*"):
            remove_leftovers(run, ["base"])
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

    def units_done(self, n_runs):
        """Work units written so far, read-only (safe beside the writers): a
        base fit per run that has one, and every strategy's stored cycles."""
        done = 0
        for run in range(n_runs):
            by_label, _ = _read_rows(_run_path(self.root, run))
            rows = _contiguous(by_label)
            done += any(rows.values()) + sum(max(len(r) - 1, 0) for r in rows.values())
        return done

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
        save_net(net, folder)
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
        return _read_checkpoint(net, self.root, run, folder)


# -- reading ----------------------------------------------------------------------


@validate_params({"path": ["path"]})
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
        When ``path`` holds no simulation, or a ``config.json`` that is not
        a store's (another tool's).
    StoreFormatError
        When it was written in another store format.
    CorruptStoreError
        When its configuration is damaged (not JSON, or bad values).

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


@validate_params({"path": ["path"]})
def delete_store(path):
    """Delete the files of a simulation's store (of any store format).

    Only a folder whose ``config.json`` is a store's (a JSON object with the
    store's keys, of any store format) is touched. Its lock is taken first,
    so a simulation still writing it is never pulled from under; then the
    store's own entries are deleted (``runs/``, ``checkpoints/``,
    ``environment.json`` when it is an environment record, what a killed
    write of ``config.json`` or ``environment.json`` left, ``config.json``
    last and the ``lock``) and the folder itself only when nothing else is
    left in it.
    Symbolic links are never followed.

    Parameters
    ----------
    path : str or path-like
        The ``output_dir`` of :func:`simulate`.

    Raises
    ------
    StoreError
        When ``path`` holds no simulation, or a ``config.json`` that is not
        a store's (nothing is deleted). A ``CorruptStoreError`` when that
        file is not JSON.
    OutputDirInUseError
        When another process is writing it.

    See Also
    --------
    open_store : reads a store.

    Examples
    --------
    >>> import json, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "config.json"), "w") as f:
    ...     json.dump({"latex": "pdflatex"}, f)
    >>> delete_store(folder)
    Traceback (most recent call last):
    ...
    sk_eglpp.simulation.StoreError: '...' is not the folder of a simulation: ...
    >>> os.listdir(folder)
    ['config.json']
    """
    root = Path(path)
    refusal = "not deleting it"
    if (root / "config.json").is_symlink():
        raise StoreError(
            f"{str(root / 'config.json')!r} is a symbolic link, not the "
            f"configuration of a simulation store; {refusal}."
        )
    _parse_config(root, refusal)
    store = StoreWriter(root)
    store.acquire()
    try:
        _parse_config(root, refusal)  # still a store, now that it is locked
        for name in ("runs", "checkpoints"):  # the rows first: the commit points
            _remove_own(root / name)
        with contextlib.suppress(CorruptStoreError):  # not a record: not ours
            _read_environments(root)
            _remove_own(root / _ENVIRONMENT)
        remove_leftovers(root, ["config.json", _ENVIRONMENT])
        _remove_own(root / "config.json")  # last: until then, still a store
        _remove_own(root / "lock")
    finally:
        store.release()
    with contextlib.suppress(OSError):  # only when nothing else is left
        root.rmdir()


def _remove_own(path):
    """Delete the store's file or folder ``path``; a symbolic link is left."""
    if path.is_symlink() or not path.exists():
        return
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


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
        stored = _read_config(self.path, "expected the output_dir of simulate()")
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
            strategy and cycle), with their selections and the environments
            they were computed in (``environment.json``).

        Raises
        ------
        CorruptStoreError
            When ``environment.json`` is damaged (delete it: the rows then
            read as computed in an environment not recorded).
        """
        columns = COLUMNS + (FIDELITY_COLUMNS if self.fidelity else ())
        order = {label: i for i, label in enumerate(self.strategies)}
        stored = []
        for by_label in self._all_rows().values():
            for rows in by_label.values():
                stored.extend(rows)
        stored.sort(key=lambda r: (r["run"], order.get(r["strategy"]), r["cycle"]))
        rows, selected, computed_on = split_stored(stored, columns)
        environments = by_run(_read_environments(self.path), computed_on)
        return SimulationResults(rows, selected, environments)

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
            an earlier cycle, whose network was deleted), or, for an
            explicit ``cycle``, when the simulation writing the store
            finished a later cycle and deleted its network while it was
            being read (``cycle=None`` then loads the new last cycle).
        CorruptStoreError
            When the checkpoint is there but cannot be read, or its
            ``attributes.json`` holds a value no fit sets (such as a
            ``heatmap_size_`` side outside ``[1, 4096]``); the message
            names the file.

        Notes
        -----
        Safe while another process runs :func:`simulate` on the store: a
        checkpoint deleted during the load (the writer keeps a strategy's
        last finished cycle only) is told from a damaged one by the rows,
        which record the later cycle before the deletion.
        """
        if not is_net(estimator):
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
        label = strategy if strategy is not None and cycle != 0 else None
        for _ in range(_LOAD_ATTEMPTS):
            found, seed = self._stored_cycle(run, label, cycle)
            model = clone(estimator)
            seedable = seedable_params(model)
            if seedable:
                model.set_params(**dict.fromkeys(seedable, seed))
            with torch_seed(seed, net_device(model)):
                model.initialize()
            folder = _checkpoint_path(self.path, run, label, found)
            went = functools.partial(self._went, run, label, found)
            if _read_checkpoint(model, self.path, run, folder, went=went):
                return model
            # pruned (or deleted) while it was read: cycle=None takes the new
            # last one; an explicit cycle that was replaced is gone for good
            if cycle is not None and self._moved_on(run, label, found):
                raise ValueError(
                    f"run {run} of {label!r} moved on while its cycle {found} was "
                    f"read: the simulation writing {str(self.path)!r} replaced "
                    "that network by a later cycle's (a run keeps its last "
                    "finished cycle only). Load cycle=None for the latest."
                )
        raise ValueError(
            f"run {run} of {label!r} finished {_LOAD_ATTEMPTS} cycles while they "
            f"were being read from {str(self.path)!r}; try again."
        )

    def _stored_cycle(self, run, label, cycle):
        """The cycle (``cycle=None``: the last finished) of ``label`` in
        ``run`` whose network is stored, and its seed; ValueError if none."""
        rows = self._rows(run)
        if label is None:
            chosen = [row for lab in rows for row in rows[lab][:1]]
            cycle = 0
        else:
            finished = rows.get(label, [])[1:]
            if cycle is None and finished:
                cycle = int(finished[-1]["cycle"])
            chosen = [row for row in finished if row["cycle"] == cycle]
        if not chosen or not _checkpoint_path(self.path, run, label, cycle).is_dir():
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
        return cycle, int(chosen[0]["seed"])

    def _moved_on(self, run, label, cycle):
        """Whether ``label`` finished a cycle after ``cycle`` in ``run`` (the
        writer then deletes ``cycle``'s network; a base model is kept)."""
        if label is None:
            return False
        return any(int(row["cycle"]) > cycle for row in self._rows(run).get(label, []))

    def _went(self, run, label, cycle):
        """Whether the checkpoint was deleted or replaced (a failed load's cause)."""
        folder = _checkpoint_path(self.path, run, label, cycle)
        return not folder.is_dir() or self._moved_on(run, label, cycle)

    def _check_strategy(self, strategy):
        if strategy not in self.strategies:
            raise ValueError(
                f"Unknown strategy {strategy!r}; the store holds {self.strategies}."
            )
