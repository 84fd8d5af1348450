"""Active-learning simulation: the paper's protocol as a library function.

:func:`simulate` runs the experimental design of the paper (section 4,
Table 1): per run, a base model is trained on a random initial labelled set
shared by every strategy; each strategy then repeats *query ``budget``
samples -> label them -> continue training -> score on the test set* for
``n_cycles`` cycles. :func:`compare` lays the results out as the paper's
Table 1 (mean, standard deviation and one-tailed paired t-test against the
reference strategy per labelled-set size), :func:`plot_learning_curves` and
:func:`plot_selection_map` draw them.
"""

import contextlib
import copy
import csv
import hashlib
import io
import json
import math
import numbers
import os
import re
import signal
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ._files import atomic_write_bytes as _atomic_write_bytes
from ._validation import check_bool, check_n_jobs, check_pool, check_positive_int
from .diagnostics import FIDELITY_COLUMNS

__all__ = [
    "COLUMNS",
    "OutputDirInUseError",
    "ResumeMismatchError",
    "SimulationResults",
    "ComparisonTable",
    "simulate",
    "compare",
    "plot_learning_curves",
    "plot_selection_map",
    "POSE_PRESETS",
    "pose_estimator",
    "pose_problem",
]

#: the columns of :class:`SimulationResults`, in order
COLUMNS = (
    "run",
    "strategy",
    "cycle",
    "n_labelled",
    "score",
    "query_time",
    "fit_time",
    "seed",
)
_INT_COLUMNS = {"run", "cycle", "n_labelled", "seed"}
_FLOAT_COLUMNS = {"score", "query_time", "fit_time", *FIDELITY_COLUMNS}
_STATE_FORMAT = 1


# ---------------------------------------------------------------------------
# Tidy results
# ---------------------------------------------------------------------------


class SimulationResults:
    """Tidy results of :func:`simulate`: one row per run x strategy x cycle.

    A light table that needs no pandas: rows are dicts, a column is a NumPy
    array (``results["score"]``), and :meth:`to_dataframe`,
    :meth:`to_records` and :meth:`to_csv` convert it.

    Parameters
    ----------
    rows : iterable of dict
        One dict per row with at least the keys of :data:`COLUMNS`
        (``run``, ``strategy``, ``cycle``, ``n_labelled``, ``score``,
        ``query_time``, ``fit_time``, ``seed``); extra keys become extra
        columns.
    selected : dict, default=None
        ``(run, strategy, cycle) -> indices into X`` of the samples labelled
        at that cycle (cycle 0: the initial labelled set).

    Attributes
    ----------
    rows : list of dict
        The rows, in the order given.
    columns : list of str
        Column names: :data:`COLUMNS` followed by any extra keys.
    selected : dict
        See the parameter.

    See Also
    --------
    simulate : produces these results.
    compare : the paper's Table 1 from them.

    Examples
    --------
    >>> res = SimulationResults([
    ...     {"run": 0, "strategy": "a", "cycle": 0, "n_labelled": 5, "score": 0.5,
    ...      "query_time": 0.0, "fit_time": 0.1, "seed": 1}])
    >>> len(res), res["score"]
    (1, array([0.5]))
    >>> print(res.to_csv(), end="")
    run,strategy,cycle,n_labelled,score,query_time,fit_time,seed
    0,a,0,5,0.5,0.0,0.1,1
    """

    def __init__(self, rows, selected=None):
        rows = [dict(row) for row in rows]
        for i, row in enumerate(rows):
            missing = [c for c in COLUMNS if c not in row]
            if missing:
                raise ValueError(
                    f"Every row of the results needs the columns {list(COLUMNS)}; "
                    f"row {i} lacks {missing}."
                )
        self.rows = rows
        extra = []
        for row in rows:
            extra.extend(k for k in row if k not in COLUMNS and k not in extra)
        self.columns = list(COLUMNS) + extra
        self.selected = dict(selected or {})

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, column):
        if column not in self.columns:
            raise KeyError(
                f"Unknown column {column!r}; expected one of {self.columns}."
            )
        values = [row.get(column) for row in self.rows]
        if column in _INT_COLUMNS:
            return np.asarray(values, dtype=np.int64)
        if column in _FLOAT_COLUMNS:
            return np.asarray(values, dtype=np.float64)
        return np.asarray(values, dtype=object)

    def __repr__(self):
        return (
            f"SimulationResults({len(self)} rows, strategies={self.strategies}, "
            f"runs={len(self.runs)})"
        )

    @property
    def strategies(self):
        """Strategy names, in order of first appearance."""
        return list(dict.fromkeys(row["strategy"] for row in self.rows))

    @property
    def runs(self):
        """Run numbers, sorted."""
        return sorted({int(row["run"]) for row in self.rows})

    def labelled_indices(self, run, strategy, cycle=None):
        """Indices into ``X`` labelled by ``strategy`` up to ``cycle`` in ``run``.

        Parameters
        ----------
        run : int
        strategy : str
        cycle : int, default=None
            Last cycle to include; ``None`` means the last one recorded.

        Returns
        -------
        indices : ndarray of int
            The initial labelled set followed by each cycle's selection.
        """
        cycles = sorted(c for (r, s, c) in self.selected if r == run and s == strategy)
        if not cycles:
            raise ValueError(
                f"No selections recorded for run {run} and strategy {strategy!r}."
            )
        if cycle is not None:
            cycles = [c for c in cycles if c <= cycle]
        parts = [np.asarray(self.selected[(run, strategy, c)]) for c in cycles]
        return np.concatenate(parts).astype(np.int64)

    def phase_times(self):
        """Seconds spent in each phase, summed over the runs.

        Read from the ``fit_time`` and ``query_time`` columns. The base model
        of a run is fitted once and shared by its strategies, so it counts
        once per run (the largest ``fit_time`` of the run's cycle-0 rows: a
        strategy added to a saved run reuses the stored base model and
        records 0). Scoring, the fidelity measures and the writing of
        checkpoints are not included.

        Returns
        -------
        times : dict
            ``{"base_fit": float, "query": {strategy: float}, "fit":
            {strategy: float}}``, the last two over the cycles after the
            base model (cycle >= 1).

        Examples
        --------
        >>> res = SimulationResults([
        ...     {"run": 0, "strategy": "a", "cycle": 0, "n_labelled": 5,
        ...      "score": 0.5, "query_time": 0.0, "fit_time": 2.0, "seed": 1},
        ...     {"run": 0, "strategy": "a", "cycle": 1, "n_labelled": 10,
        ...      "score": 0.6, "query_time": 0.25, "fit_time": 3.0, "seed": 2},
        ...     {"run": 0, "strategy": "b", "cycle": 0, "n_labelled": 5,
        ...      "score": 0.5, "query_time": 0.0, "fit_time": 2.0, "seed": 1},
        ...     {"run": 0, "strategy": "b", "cycle": 1, "n_labelled": 10,
        ...      "score": 0.7, "query_time": 0.5, "fit_time": 3.5, "seed": 3}])
        >>> res.phase_times()
        {'base_fit': 2.0, 'query': {'a': 0.25, 'b': 0.5}, 'fit': {'a': 3.0, 'b': 3.5}}
        """
        base = {}
        query = dict.fromkeys(self.strategies, 0.0)
        fit = dict.fromkeys(self.strategies, 0.0)
        for row in self.rows:
            run, strategy = int(row["run"]), row["strategy"]
            if int(row["cycle"]) == 0:
                base[run] = max(base.get(run, 0.0), float(row["fit_time"]))
            else:
                query[strategy] += float(row["query_time"])
                fit[strategy] += float(row["fit_time"])
        return {"base_fit": float(sum(base.values())), "query": query, "fit": fit}

    def to_records(self):
        """The table as a NumPy structured array."""
        dtypes = []
        for column in self.columns:
            if column in _INT_COLUMNS:
                dtypes.append((column, np.int64))
            elif column in _FLOAT_COLUMNS:
                dtypes.append((column, np.float64))
            else:
                values = [str(row.get(column, "")) for row in self.rows]
                width = max([len(v) for v in values] + [1])
                dtypes.append((column, f"U{width}"))
        records = np.zeros(len(self.rows), dtype=dtypes)
        for column, _ in dtypes:
            if column in _INT_COLUMNS or column in _FLOAT_COLUMNS:
                records[column] = [row[column] for row in self.rows]
            else:
                records[column] = [str(row.get(column, "")) for row in self.rows]
        return records

    def to_dataframe(self):
        """The table as a :class:`pandas.DataFrame` (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test extra
            raise ImportError(
                "to_dataframe needs pandas; install it or use to_records()."
            ) from exc
        return pd.DataFrame(self.rows, columns=self.columns)

    def to_csv(self, path=None):
        """Write the table as CSV to ``path``, or return it as a string."""
        return _write_csv(self.columns, self.rows, path)

    @classmethod
    def read_csv(cls, path):
        """Read a table written by :meth:`to_csv` (selections are not in it)."""
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            for column in list(row):
                if column in _INT_COLUMNS:
                    row[column] = int(row[column])
                elif column in _FLOAT_COLUMNS:
                    row[column] = float(row[column])
        return cls(rows)


def _write_csv(columns, rows, path):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _csv_value(row.get(c, "")) for c in columns})
    text = buffer.getvalue()
    if path is None:
        return text
    Path(path).write_text(text, encoding="utf-8")
    return None


def _csv_value(value):
    if isinstance(value, float):
        return repr(value)  # shortest round-tripping form
    return value


def _rows_of(results):
    """Rows (list of dict) from results in any of the accepted forms."""
    if isinstance(results, SimulationResults):
        return results.rows
    if hasattr(results, "to_dict") and hasattr(results, "columns"):  # DataFrame
        return results.to_dict("records")
    if isinstance(results, np.ndarray) and results.dtype.names:
        names = results.dtype.names
        return [dict(zip(names, rec.tolist(), strict=True)) for rec in results]
    if isinstance(results, list | tuple) and all(isinstance(r, dict) for r in results):
        return list(results)
    raise TypeError(
        "results must be SimulationResults, a pandas DataFrame, a structured array "
        f"or a list of dicts, got {type(results).__name__}."
    )


def _check_rows(rows, needed=("run", "strategy", "n_labelled", "score")):
    if not rows:
        raise ValueError("results must contain at least one row, got none.")
    missing = [c for c in needed if c not in rows[0]]
    if missing:
        raise ValueError(
            f"results must have the columns {list(needed)}; lacks {missing}."
        )
    return rows


# ---------------------------------------------------------------------------
# simulate
# ---------------------------------------------------------------------------


def simulate(
    estimator,
    strategies,
    X,
    y,
    X_test,
    y_test,
    *,
    n_initial,
    budget,
    n_cycles,
    n_runs=5,
    scoring=None,
    warm_start=True,
    fidelity=False,
    output_dir=None,
    random_state=None,
    n_jobs=None,
    n_threads=1,
    verbose=0,
):
    """Simulate pool-based active learning with several strategies and runs.

    The paper's protocol (section 4, Table 1). For each run:

    1. ``n_initial`` samples of ``X`` are drawn at random (per run) and a base
       model, a clone of ``estimator``, is fitted on them. Every strategy
       starts from (a copy of) this base model, so all strategies of a run
       share it. Its test score is recorded as cycle 0.
    2. Each strategy then runs ``n_cycles`` cycles: select ``budget`` samples
       of the unlabelled pool with
       ``strategy.select(model, X_pool, n_instances=budget, X_labelled=...,
       y_labelled=...)``, label them (their targets are read from ``y``),
       train the model on the whole labelled set and score it on
       ``(X_test, y_test)``.

    Parameters
    ----------
    estimator : estimator
        An unfitted scikit-learn estimator, pipeline or skorch net. It is
        cloned, never modified.
    strategies : str, strategy, list or dict
        Names of built-in strategies (see :data:`sk_eglpp.query.STRATEGIES`),
        strategy objects (anything with ``select(learner, X_pool,
        n_instances, X_labelled=, y_labelled=)``, or a callable with the same
        arguments returning indices or ``(indices, utilities)``), a list of
        those, or a dict ``{name: strategy}`` to choose the names used in the
        results. Strategy objects are cloned, never modified.
    X : array-like of shape (n_samples, ...)
        The pool the initial set and the queries are drawn from.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        The oracle's labels of ``X`` (NaN allowed, e.g. unannotated joints).
    X_test, y_test : array-like
        The test set every model is scored on.
    n_initial : int
        Size of the initial labelled set (>= 1).
    budget : int
        Samples queried per cycle (>= 1).
    n_cycles : int
        Active-learning cycles per strategy and run (>= 1).
        ``n_initial + n_cycles * budget`` must not exceed ``n_samples``.
    n_runs : int, default=5
        Independent runs (the paper uses 5).
    scoring : str, callable or None, default=None
        ``None`` uses ``estimator.score``; otherwise a scikit-learn scorer name
        or callable ``scorer(estimator, X, y)``. Higher must mean better (use
        ``"neg_root_mean_squared_error"`` for RMSE).
    warm_start : bool, default=True
        How a strategy's model is trained after each query. For skorch nets,
        ``True`` continues training the previous cycle's network with
        ``partial_fit`` on the whole labelled set (``max_epochs`` more epochs;
        weights and optimizer state are kept), as in the paper; ``False``
        trains a fresh clone with ``fit``. Other (scikit-learn) estimators are
        always refitted on the whole labelled set, which is what warm starting
        means for a closed-form or convex model.
    fidelity : bool, default=False
        Also measure, at every query, how well the strategy's utilities track
        the truth on the pool (the oracle's labels are known here): the
        columns of :data:`sk_eglpp.diagnostics.FIDELITY_COLUMNS`, computed by
        :func:`sk_eglpp.diagnostics.fidelity_measures` with the querying model
        (Spearman's rho with the true squared gradient lengths and with the
        true per-sample errors, and the precision of the B selected samples
        against the true top-B gradient lengths). NaN for cycle 0 and for
        strategies without pool-wide utilities. Costs one forward and one
        backward pass per pool sample and query.
    output_dir : str or path-like, default=None
        Folder that makes the simulation resumable. Every finished cycle is
        appended at once (``runs/run-XXX.jsonl``, one JSON row per cycle with
        the selected indices, flushed and fsynced), skorch nets are
        checkpointed after each cycle (``torch.save`` of the state dicts of
        modules, criteria and optimizers, loaded with ``weights_only=True``),
        and ``config.json`` stores a fingerprint of the estimator, strategies,
        data and parameters. Calling :func:`simulate` again with the same
        folder resumes: nothing already written is recomputed, and the result
        is the one an uninterrupted call would have given. An interrupted call
        (Ctrl-C, crash, ``kill -9``) loses at most the cycle in progress:
        a cycle's checkpoint is written atomically, then its row is appended
        (the commit point), and only then is the previous checkpoint deleted.
        Resuming with a different estimator, data, ``n_initial``, ``budget``,
        ``scoring``, ``warm_start`` or integer ``random_state``, or with a
        strategy name bound to different parameters, raises
        :class:`ResumeMismatchError` (a ``ValueError``); more runs, more
        cycles or additional strategies extend what is there. The fingerprint
        is canonical (sorted JSON of the parameters, independent of the
        process, its hash seed and object addresses) and leaves out what does
        not change results (``verbose``). The folder is locked for the call
        (an OS file lock, ``lock``): a second process on the same folder gets
        :class:`OutputDirInUseError` naming the holder's pid.
    random_state : int, RandomState instance or None, default=None
        Seeds everything: the initial sets, the models' ``random_state``
        parameters that are ``None``, the strategies' ``random_state``
        parameters that are ``None``, and torch's RNG while a skorch net is
        initialised or trained (inside :func:`torch.random.fork_rng`, so the
        caller's global torch RNG is untouched). Each run, strategy and cycle
        gets its own seed derived from it, so results do not depend on
        ``n_jobs`` or on interruptions. With ``None`` the seed material is
        drawn once and stored in ``output_dir`` so that a resumed call
        continues with it.
    n_jobs : int, default=None
        Runs executed in parallel with joblib (``None``: one at a time). The
        results do not depend on it. This, not ``n_threads``, is the way to
        use more cores: runs are independent.
    n_threads : int or None, default=1
        Threads of torch's intra-op pool and of the BLAS / OpenMP libraries
        (through threadpoolctl) while a run executes, in the calling process
        or in each worker; the previous settings are restored afterwards.
        ``None`` leaves them as they are (torch's default is one thread per
        core). One thread is the default because it degrades in proportion
        to the CPU the run gets: with a thread per core, every parallel
        operation waits for all its threads, and when other processes hold
        some of the cores those waits take a scheduler time slice each. On
        2 cores shared with two CPU-bound processes, ``sk-eglpp simulate
        --quick`` took 13.7x as long as on a quiet machine with torch's 2
        threads (1980 s against 145 s), and 1.29x as long with one thread
        (99 s against 77 s); one fit of the quick preset's network took 5-15x
        as long with 2 threads but about 1.1x with 1. On a quiet machine the
        small networks of the presets also train faster with one thread.
        Larger networks on a machine of their own may gain from more (see
        the performance notes).
    verbose : int or bool, default=0
        ``0``: silent; ``1``: a tqdm progress bar (on stderr); ``2``: also one
        line per finished cycle. Warnings of the strategies and models
        (``UserWarning``) are shown once per run: through the progress bar
        when there is one, as warnings otherwise.

    Returns
    -------
    results : SimulationResults
        One row per run x strategy x cycle (cycle 0 is the base model), sorted
        by run, strategy (in the order given) and cycle, with the columns
        ``run, strategy, cycle, n_labelled, score, query_time, fit_time, seed``
        (times in seconds; ``seed`` is the seed of that cycle), followed with
        ``fidelity=True`` by the fidelity columns. Convert with
        ``to_dataframe()``, ``to_records()`` or ``to_csv()``.

    See Also
    --------
    compare : the paper's Table 1 from the results.
    plot_learning_curves : mean +- std of the score per strategy.

    Notes
    -----
    Interrupts: run in the main thread without workers (``n_jobs=None``), the
    first Ctrl-C stops the call at a safe point and raises
    :class:`KeyboardInterrupt`; every finished cycle is kept and a cycle cut
    short is never recorded (skorch's ``fit`` returns early on Ctrl-C: the
    harness notices and discards that cycle). With workers, joblib aborts
    them and the crash-safe write order keeps what was committed.

    scikit-learn estimators are not checkpointed: on resume, the model of
    the last finished cycle is refitted from the stored labelled indices with
    that cycle's seed, which reproduces it exactly (one extra fit per run and
    strategy; no query, no score and no written row is recomputed). skorch
    callbacks whose state matters across cycles (e.g. learning-rate
    schedulers) are re-created on resume; the training history is restored.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sk_eglpp.simulation import simulate
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> def first(learner, X_pool, n_instances=1, **kw):
    ...     return np.arange(n_instances)
    >>> res = simulate(Ridge(), {"first": first}, X[:40], y[:40], X[40:], y[40:],
    ...                n_initial=5, budget=5, n_cycles=2, n_runs=2, random_state=0)
    >>> res["n_labelled"]
    array([ 5, 10, 15,  5, 10, 15])
    """
    X = check_pool(X, name="X")
    y = _check_targets(y, X, "y", "X")
    X_test = check_pool(X_test, name="X_test")
    y_test = _check_targets(y_test, X_test, "y_test", "X_test")
    if X_test.shape[1:] != X.shape[1:]:
        raise ValueError(
            f"X and X_test must have samples of the same shape, got {X.shape[1:]} "
            f"and {X_test.shape[1:]}."
        )
    # C order: a DataFrame (often F-ordered) gives the very same results
    X, y, X_test, y_test = map(np.ascontiguousarray, (X, y, X_test, y_test))
    n_initial = check_positive_int(n_initial, "n_initial")
    budget = check_positive_int(budget, "budget")
    n_cycles = check_positive_int(n_cycles, "n_cycles")
    n_runs = check_positive_int(n_runs, "n_runs")
    verbose = check_positive_int(
        int(verbose) if isinstance(verbose, bool | np.bool_) else verbose,
        "verbose",
        minimum=0,
    )
    n_jobs = check_n_jobs(n_jobs)
    if n_threads is not None:
        n_threads = check_positive_int(n_threads, "n_threads")
    n_samples = X.shape[0]
    needed = n_initial + n_cycles * budget
    if needed > n_samples:
        raise ValueError(
            f"n_initial + n_cycles * budget must not exceed the {n_samples} samples "
            f"of X, got {n_initial} + {n_cycles} * {budget} = {needed}: the pool "
            "runs out before the last query. Lower budget or n_cycles."
        )
    if not isinstance(warm_start, bool | np.bool_):
        raise TypeError(f"warm_start must be a bool, got {warm_start!r}.")
    fidelity = check_bool(fidelity, "fidelity")
    if not hasattr(estimator, "fit"):
        raise TypeError(
            f"estimator must have a fit method, got {type(estimator).__name__}."
        )
    labels, objects = _resolve_strategies(strategies)
    try:
        check_scoring(estimator, scoring=scoring)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"Invalid scoring for this estimator: {exc}") from exc

    config = _config(
        estimator,
        X,
        y,
        X_test,
        y_test,
        n_initial,
        budget,
        scoring,
        warm_start,
        random_state,
    )
    if fidelity:  # older folders (without the key) resume as fidelity=False
        config["fidelity"] = True
    strategy_fps = {
        label: _fingerprint(_describe(obj))
        for label, obj in zip(labels, objects, strict=True)
    }
    store = None
    if output_dir is not None:
        store = _Store(output_dir)
        entropy = store.open(config, strategy_fps, random_state)
    else:
        entropy = _entropy(random_state)

    sim = _Simulation(
        estimator=estimator,
        labels=labels,
        strategies=objects,
        X=X,
        y=y,
        X_test=X_test,
        y_test=y_test,
        n_initial=n_initial,
        budget=budget,
        n_cycles=n_cycles,
        scoring=scoring,
        warm_start=bool(warm_start),
        fidelity=fidelity,
        entropy=entropy,
        store=store,
        n_threads=n_threads,
        verbose=verbose,
    )
    # work units of the progress bar: a base fit and every strategy's cycles
    total = n_runs * (1 + len(labels) * n_cycles)
    outputs = []
    try:
        if n_jobs is None or n_jobs == 1:
            with _progress(total, verbose) as bar:
                sim.bar = bar
                for run in range(n_runs):
                    outputs.append(sim.run(run))
                sim.bar = None
        else:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            with _progress(n_runs, verbose, unit="run") as bar:
                for out in parallel(delayed(sim.run)(run) for run in range(n_runs)):
                    outputs.append(out)
                    bar.update(1)
    finally:
        sim.bar = None
        if store is not None:
            store.release()
    rows, selected = [], {}
    order = {label: i for i, label in enumerate(labels)}
    for run_rows, run_selected in outputs:
        rows.extend(run_rows)
        selected.update(run_selected)
    rows.sort(key=lambda r: (r["run"], order[r["strategy"]], r["cycle"]))
    return SimulationResults(rows, selected)


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
    from .query import STRATEGIES

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
    from .query import STRATEGIES, get_strategy

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


def _config(
    estimator,
    X,
    y,
    X_test,
    y_test,
    n_initial,
    budget,
    scoring,
    warm_start,
    random_state,
):
    seeded = isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    )
    return {
        "estimator": _fingerprint(_describe(estimator)),
        "X": _array_hash(X),
        "y": _array_hash(y),
        "X_test": _array_hash(X_test),
        "y_test": _array_hash(y_test),
        "n_initial": n_initial,
        "budget": budget,
        "scoring": _describe(scoring),
        "warm_start": bool(warm_start),
        "random_state": int(random_state) if seeded else None,
    }


# -- the output folder ------------------------------------------------------


def _safe_name(label):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label)[:40]
    return f"{safe}-{_label_key(label):08x}"


class OutputDirInUseError(RuntimeError):
    """Another process is writing the same simulation ``output_dir``.

    Raised by :func:`simulate` when the folder's lock is held; the message
    names the folder and the pid of the process that holds it.

    Examples
    --------
    >>> issubclass(OutputDirInUseError, RuntimeError)
    True
    """


class ResumeMismatchError(ValueError):
    """``output_dir`` holds a simulation run with other parameters.

    Raised by :func:`simulate` instead of resuming; the message lists what
    differs. A ``ValueError``, so ``except ValueError`` catches it too.

    Examples
    --------
    >>> issubclass(ResumeMismatchError, ValueError)
    True
    """


def _lock_file(f):
    """Try to take an exclusive OS lock on the open file ``f``; True on success."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class _Store:
    """The files of a resumable simulation (see :func:`simulate`).

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
        path = self.root / "lock"
        f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        if not _lock_file(f):
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise OutputDirInUseError(
                f"output_dir {str(self.root)!r} is in use by another simulation "
                f"(pid {holder}); wait for it to finish or use another output_dir."
            )
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._lock = f

    def release(self):
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.seek(0)
                self._lock.truncate()
            self._lock.close()  # closing the file releases the OS lock
            self._lock = None

    def open(self, config, strategy_fps, random_state):
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
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                old_config = stored["config"]
                entropy = int(stored["entropy"])
                old_fps = dict(stored["strategies"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{path} is not a simulation configuration written by "
                    f"sk_eglpp ({exc}); use another output_dir."
                ) from exc
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
            new = {k: v for k, v in strategy_fps.items() if k not in old_fps}
            if new:
                stored["strategies"] = {**old_fps, **new}
                _atomic_write_bytes(path, json.dumps(stored, indent=1).encode())
                self._written("config")
        else:
            entropy = _entropy(random_state)
            stored = {
                "format": _STATE_FORMAT,
                "fingerprint": _fingerprint(config),
                "entropy": entropy,
                "config": config,
                "strategies": strategy_fps,
            }
            _atomic_write_bytes(path, json.dumps(stored, indent=1).encode())
            self._written("config")
        (self.root / "runs").mkdir(exist_ok=True)
        (self.root / "checkpoints").mkdir(exist_ok=True)
        return entropy

    def run_path(self, run):
        return self.root / "runs" / f"run-{run:03d}.jsonl"

    def read_run(self, run):
        """Rows already written for ``run``, by strategy, contiguous from cycle 0.

        A trailing partial line (a crash while appending) is dropped from the
        file; duplicated rows keep their first occurrence.
        """
        path = self.run_path(run)
        by_label = {}
        if not path.exists():
            return by_label
        data = path.read_bytes()
        lines = data.split(b"\n")
        good_end = 0
        offset = 0
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
                raise ValueError(
                    f"{path} is corrupt at line {i + 1} ({exc}); delete it to "
                    "recompute that run."
                ) from exc
            good_end = end
            offset = end
            by_label.setdefault(row["strategy"], {}).setdefault(row["cycle"], row)
        if good_end < len(data):
            with open(path, "r+b") as f:
                f.truncate(good_end)
        contiguous = {}
        for label, cycles in by_label.items():
            rows, c = [], 0
            while c in cycles:
                rows.append(cycles[c])
                c += 1
            contiguous[label] = rows
        return contiguous

    def append(self, run, rows):
        text = "".join(json.dumps(row) + "\n" for row in rows)
        with open(self.run_path(run), "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self._written("row")

    def checkpoint_path(self, run, label, cycle):
        folder = self.root / "checkpoints" / f"run-{run:03d}"
        if label is None:
            return folder / "base.pt"
        return folder / _safe_name(label) / f"cycle-{cycle:04d}.pt"

    def save_net(self, net, run, label, cycle):
        import torch

        path = self.checkpoint_path(run, label, cycle)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(_net_state(net), buffer)
        _atomic_write_bytes(path, buffer.getvalue())
        self._written("checkpoint")

    def prune(self, run, label, cycle):
        """Delete the strategy's checkpoints other than ``cycle``'s.

        Called once the row of ``cycle`` is written: until then the previous
        checkpoint is what a resume starts from.
        """
        keep = self.checkpoint_path(run, label, cycle)
        removed = False
        for old in keep.parent.glob("cycle-*.pt"):
            if old != keep:
                old.unlink()
                removed = True
        if removed:
            self._written("prune")

    def load_net(self, net, run, label, cycle):
        import torch

        path = self.checkpoint_path(run, label, cycle)
        if not path.exists():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            _load_net_state(net, state)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds
            raise ValueError(
                f"cannot read the checkpoint {path} ({type(exc).__name__}: {exc}); "
                "the file is damaged. Delete it together with "
                f"{self.run_path(run)} to recompute run {run}."
            ) from exc
        return True


# -- skorch nets --------------------------------------------------------------


def _is_net(estimator):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(estimator, NeuralNet)


# skorch's own bookkeeping, re-created by ``initialize()``
_NET_INTERNALS = {
    "initialized_",
    "virtual_params_",
    "init_context_",
    "callbacks_",
    "prefixes_",
    "cuda_dependent_attributes_",
    "history_",
}


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


def _net_state(net):
    """What a fitted skorch net needs to continue training, torch-loadable safely.

    The state dicts of its modules, criteria and optimizers, its history and
    its simple fitted attributes (``heatmap_size_``, ``n_features_in_``, ...)
    as JSON text, so that ``torch.load(..., weights_only=True)`` reads it.
    """
    components = list(net._modules) + list(net._criteria) + list(net._optimizers)
    state = {}
    for name in components:
        component = getattr(net, name + "_", None)
        if component is not None and hasattr(component, "state_dict"):
            state[name] = component.state_dict()
    history = getattr(net, "history_", None)
    state["__history__"] = json.dumps(history.to_list() if history is not None else [])
    skip = _NET_INTERNALS | {name + "_" for name in components}
    attributes = {}
    for key, value in vars(net).items():
        if key.endswith("_") and not key.startswith("_") and key not in skip:
            encoded = _encode_attribute(value)
            if encoded is not None:
                attributes[key] = encoded
    state["__attributes__"] = json.dumps(attributes)
    return state


def _load_net_state(net, state):
    from skorch.history import History

    for name, component_state in state.items():
        if name.startswith("__"):
            continue
        getattr(net, name + "_").load_state_dict(component_state)
    net.history_ = History(json.loads(state.get("__history__", "[]")))
    for key, encoded in json.loads(state.get("__attributes__", "{}")).items():
        setattr(net, key, _decode_attribute(encoded))


class _torch_seed:
    """Seed torch's CPU RNG inside ``fork_rng``: the caller's state is restored."""

    def __init__(self, seed):
        self.seed = seed

    def __enter__(self):
        import torch

        self._fork = torch.random.fork_rng(devices=[])
        self._fork.__enter__()
        torch.manual_seed(self.seed)
        return self

    def __exit__(self, *exc):
        return self._fork.__exit__(*exc)


class _thread_limits:
    """Torch, BLAS and OpenMP thread counts set for a block (``None``: as is)."""

    def __init__(self, n_threads):
        self.n_threads = n_threads

    def __enter__(self):
        self._torch = self._blas = None
        if self.n_threads is None:
            return self
        from threadpoolctl import threadpool_limits

        self._blas = threadpool_limits(limits=self.n_threads)
        torch = sys.modules.get("torch")  # a net's run has imported it
        if torch is not None:
            self._torch = torch.get_num_threads()
            torch.set_num_threads(self.n_threads)
        return self

    def __exit__(self, *exc):
        if self._torch is not None:
            sys.modules["torch"].set_num_threads(self._torch)
        if self._blas is not None:
            self._blas.restore_original_limits()
        return False


# -- the simulation itself --------------------------------------------------


class _progress:
    def __init__(self, total, verbose, unit="cycle"):
        self.total, self.verbose, self.unit = total, verbose, unit

    def __enter__(self):
        if self.verbose:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, unit=self.unit, desc="simulate")
        else:
            self.bar = None
        return self

    def update(self, n=1, desc=None):
        if self.bar is not None:
            if desc is not None:
                self.bar.set_description(desc, refresh=False)
            self.bar.update(n)

    def write(self, text):
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


class _interrupts:
    """Ctrl-C stops a run at a safe point.

    While installed (in the main thread only), SIGINT sets a flag and raises
    :class:`KeyboardInterrupt` at once, except inside :meth:`critical`
    (the writes of a finished cycle), where it waits for the block's end.
    skorch's ``fit`` swallows a KeyboardInterrupt and returns a network trained
    for fewer epochs; :meth:`check`, called after every fit, raises it again so
    that a cycle cut short is never recorded.
    """

    def __init__(self):
        self.requested = False
        self._deferring = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
            except ValueError:  # pragma: no cover - not the main interpreter
                self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False

    def _handler(self, signum, frame):
        self.requested = True
        if not self._deferring:
            raise KeyboardInterrupt

    def check(self):
        if self.requested:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def critical(self):
        self.check()
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        self.check()


class _warning_relay:
    """Warnings of the strategies and models, each shown once per run.

    With a progress bar they are written through the bar (one line, no
    source line); without one they are issued again as warnings.
    """

    def __init__(self, bar):
        self.bar = bar
        self.seen = set()

    @contextlib.contextmanager
    def __call__(self, where):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            yield
        for w in caught:
            key = (w.category, str(w.message))
            if issubclass(w.category, UserWarning):
                if key in self.seen:
                    continue
                self.seen.add(key)
                if self.bar is not None:
                    self.bar.write(f"warning ({where}): {w.message}")
                    continue
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _seedable(obj):
    """Names of ``random_state`` parameters left to ``None`` (deep)."""
    if not hasattr(obj, "get_params") or isinstance(obj, type):
        return []
    return [
        key
        for key, value in obj.get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    ]


class _Simulation:
    """Everything one run needs; picklable so that joblib can ship it."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)
        self.is_net = _is_net(self.estimator)
        self.estimator_seedable = _seedable(self.estimator)
        self.strategy_seedable = [_seedable(s) for s in self.strategies]
        self.columns = COLUMNS + (FIDELITY_COLUMNS if self.fidelity else ())
        self.bar = None

    # models ------------------------------------------------------------------

    def _new_model(self, seed):
        model = clone(self.estimator)
        if self.estimator_seedable:
            model.set_params(**dict.fromkeys(self.estimator_seedable, seed))
        return model

    def _fit(self, model, idx, seed, partial):
        X, y = self.X[idx], self.y[idx]
        if self.estimator_seedable:
            model.set_params(**dict.fromkeys(self.estimator_seedable, seed))
        start = time.perf_counter()
        if self.is_net:
            with _torch_seed(seed):
                if partial:
                    model.partial_fit(X, y)
                else:
                    model.fit(X, y)
        else:
            model.fit(X, y)
        return model, time.perf_counter() - start

    def _score(self, model, seed):
        scorer = check_scoring(model, scoring=self.scoring)
        with self._torch_rng(seed):
            return float(scorer(model, self.X_test, self.y_test))

    def _torch_rng(self, seed):
        """Seeded torch RNG for nets (DataLoaders draw from it even to predict)."""
        return _torch_seed(seed) if self.is_net else contextlib.nullcontext()

    def _restore_net(self, run, label, cycle, seed):
        """A net with the state saved after ``cycle`` (None if not saved)."""
        if self.store is None:
            return None
        model = self._new_model(seed)
        with _torch_seed(seed):
            model.initialize()
        if self.store.load_net(model, run, label, cycle):
            return model
        return None

    # one run -------------------------------------------------------------------

    def run(self, run):
        shown = self.bar if self.bar is not None and self.bar.bar is not None else None
        self._warnings = _warning_relay(shown)
        with _thread_limits(self.n_threads), _interrupts() as self._interrupts:
            return self._run(run)

    def _run(self, run):
        entropy = self.entropy
        n = self.X.shape[0]
        base_seed = _seed(entropy, run)
        initial = np.sort(
            check_random_state(base_seed).choice(n, self.n_initial, replace=False)
        )
        done = self.store.read_run(run) if self.store is not None else {}
        history = {label: list(done.get(label, [])) for label in self.labels}
        for label in self.labels:
            if history[label] and history[label][0]["selected"] != initial.tolist():
                raise ValueError(
                    f"The stored initial set of run {run} does not match the one "
                    "derived from the configuration; the output_dir is inconsistent."
                )
        todo = [lab for lab in self.labels if len(history[lab]) < self.n_cycles + 1]
        if self.is_net and self.store is not None:
            # what a crash left: the previous checkpoint after its successor's
            # row, or a checkpoint whose row was never written
            for label in self.labels:
                if len(history[label]) > 1:
                    with self._interrupts.critical():
                        self.store.prune(run, label, history[label][-1]["cycle"])
        base = None
        missing0 = [lab for lab in self.labels if not history[lab]]
        needs_base = bool(missing0) or any(len(history[lab]) == 1 for lab in todo)
        if needs_base:
            if self.bar is not None:
                self.bar.update(0, desc=f"run {run} base model")
            base, base_fit_time = None, 0.0
            if self.is_net:
                base = self._restore_net(run, None, 0, base_seed)
            if base is None:
                with self._warnings(f"run {run} base model"):
                    base, base_fit_time = self._fit(
                        self._new_model(base_seed), initial, base_seed, partial=False
                    )
                self._interrupts.check()
                if self.is_net and self.store is not None:
                    with self._interrupts.critical():
                        self.store.save_net(base, run, None, 0)
            if missing0:
                score = self._score(base, base_seed)
                self._interrupts.check()
                rows = [
                    {
                        "run": run,
                        "strategy": label,
                        "cycle": 0,
                        "n_labelled": int(initial.size),
                        "score": score,
                        "query_time": 0.0,
                        "fit_time": base_fit_time,
                        "seed": base_seed,
                        "selected": initial.tolist(),
                    }
                    for label in missing0
                ]
                if self.store is not None:
                    with self._interrupts.critical():
                        self.store.append(run, rows)
                for row in rows:
                    history[row["strategy"]].append(row)
        if self.bar is not None:
            done_labels = [lab for lab in self.labels if lab not in todo]
            self.bar.update(1 + self.n_cycles * len(done_labels))
        for label in todo:
            position = self.labels.index(label)
            self._run_strategy(run, label, position, history[label], base)
        rows, selected = [], {}
        for label in self.labels:
            for row in history[label][: self.n_cycles + 1]:
                selected[(run, label, row["cycle"])] = np.asarray(
                    row["selected"], dtype=np.int64
                )
                rows.append({k: row.get(k, np.nan) for k in self.columns})
        return rows, selected

    def _run_strategy(self, run, label, position, rows, base):
        entropy = self.entropy
        key = _label_key(label)
        labelled = np.concatenate(
            [np.asarray(r["selected"], dtype=np.int64) for r in rows]
        )
        last = rows[-1]["cycle"]
        if self.bar is not None:
            self.bar.update(last, desc=f"run {run} {label}")
        # the model after cycle `last`
        if last == 0:
            model = copy.deepcopy(base)
        else:
            seed = _seed(entropy, run, key, last)
            model = self._restore_net(run, label, last, seed) if self.is_net else None
            if model is None:
                # scikit-learn estimators (or a net whose checkpoint is gone):
                # refit deterministically from the stored labelled set.
                if self.is_net and self.warm_start:
                    raise ValueError(
                        f"The checkpoint of run {run}, strategy {label!r}, cycle "
                        f"{last} is missing from {self.store.root}; cannot resume "
                        "a warm-started network without it."
                    )
                model, _ = self._fit(self._new_model(seed), labelled, seed, False)
                self._interrupts.check()
        strategy_template = self.strategies[position]
        seedable = self.strategy_seedable[position]
        mask = np.ones(self.X.shape[0], dtype=bool)
        mask[labelled] = False
        for cycle in range(last + 1, self.n_cycles + 1):
            seed = _seed(entropy, run, key, cycle)
            pool = np.flatnonzero(mask)
            strategy = strategy_template
            if seedable:
                strategy = clone(strategy_template).set_params(
                    **dict.fromkeys(seedable, seed)
                )
            where = f"run {run} {label} cycle {cycle}"
            start = time.perf_counter()
            with self._torch_rng(seed), self._warnings(where):
                idx = self._query(strategy, label, model, pool, labelled)
            query_time = time.perf_counter() - start
            measures = {}
            if self.fidelity:
                with self._torch_rng(seed), self._warnings(where):
                    measures = self._fidelity(strategy, model, pool, idx)
            chosen = pool[idx]
            labelled = np.concatenate([labelled, chosen])
            mask[chosen] = False
            with self._warnings(where):
                if self.is_net and self.warm_start:
                    model, fit_time = self._fit(model, labelled, seed, partial=True)
                else:
                    model, fit_time = self._fit(
                        self._new_model(seed), labelled, seed, partial=False
                    )
            self._interrupts.check()  # skorch returns early on Ctrl-C
            row = {
                "run": run,
                "strategy": label,
                "cycle": cycle,
                "n_labelled": int(labelled.size),
                "score": self._score(model, seed),
                "query_time": query_time,
                "fit_time": fit_time,
                "seed": seed,
                **measures,
                "selected": chosen.tolist(),
            }
            if self.store is not None:
                # checkpoint, then the row (the commit point), then the old
                # checkpoint goes: a crash anywhere leaves a resumable state
                with self._interrupts.critical():
                    if self.is_net:
                        self.store.save_net(model, run, label, cycle)
                    self.store.append(run, [row])
                    if self.is_net:
                        self.store.prune(run, label, cycle)
            rows.append(row)
            if self.bar is not None:
                self.bar.update(1, desc=f"run {run} {label}")
                if self.verbose >= 2:
                    self.bar.write(
                        f"run {run} {label} cycle {cycle}: n_labelled="
                        f"{row['n_labelled']} score={row['score']:.4f}"
                    )

    def _fidelity(self, strategy, model, pool, idx):
        """Fidelity measures of the query just made (see ``simulate``)."""
        from .diagnostics import (
            _per_sample_error,
            _pool_utilities,
            fidelity_measures,
            true_gradient_lengths,
        )

        X_pool, y_pool = self.X[pool], self.y[pool]
        gradient = true_gradient_lengths(model, X_pool, y_pool)
        error = _per_sample_error(model, X_pool, y_pool)
        utilities = _pool_utilities(strategy, pool.size)
        return fidelity_measures(utilities, idx, gradient, error)

    def _query(self, strategy, label, model, pool, labelled):
        X_pool = self.X[pool]
        kwargs = {"X_labelled": self.X[labelled], "y_labelled": self.y[labelled]}
        if hasattr(strategy, "select"):
            idx = strategy.select(model, X_pool, n_instances=self.budget, **kwargs)
        else:
            idx = strategy(model, X_pool, n_instances=self.budget, **kwargs)
            if isinstance(idx, tuple) and len(idx) == 2:
                idx = idx[0]
        idx = np.asarray(idx)
        if (
            idx.shape != (self.budget,)
            or not np.issubdtype(idx.dtype, np.integer)
            or np.unique(idx).size != idx.size
            or idx.min() < 0
            or idx.max() >= pool.size
        ):
            raise ValueError(
                f"Strategy {label!r} must return {self.budget} unique integer "
                f"indices in [0, {pool.size}), got {idx!r}."
            )
        return idx.astype(np.int64)


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------


class ComparisonTable:
    """The paper's Table 1: per labelled-set size, mean, std and paired t-test.

    Built by :func:`compare`; not meant to be constructed directly.

    Attributes
    ----------
    rows : list of dict
        One row per labelled-set size and strategy with the keys
        ``n_labelled, strategy, n_runs, mean, std, p_value, significant``.
        ``p_value`` is NaN for the reference itself, when fewer than two paired
        runs exist, and when every paired difference is zero (the strategy
        behaved exactly like the reference); ``significant`` is then False.
    reference, alternative : str
    confidence : float
    sizes : list of int
        The labelled-set sizes (the table's column groups).
    strategies : list of str
        Strategies in display order (the reference last, as in the paper).

    Examples
    --------
    >>> rows = [{"run": r, "strategy": s, "n_labelled": 10, "score": v}
    ...         for r, (a, b) in enumerate([(0.9, 0.5), (0.8, 0.6), (0.85, 0.4)])
    ...         for s, v in (("egl_pp", a), ("random_query", b))]
    >>> table = compare(rows)
    >>> [round(r["p_value"], 4) for r in table.rows if r["strategy"] != "egl_pp"]
    [0.0222]
    """

    def __init__(self, rows, reference, alternative, confidence, sizes, strategies):
        self.rows = rows
        self.reference = reference
        self.alternative = alternative
        self.confidence = confidence
        self.sizes = sizes
        self.strategies = strategies

    def _cell(self, strategy, size):
        for row in self.rows:
            if row["strategy"] == strategy and row["n_labelled"] == size:
                return row
        return None

    def to_string(self, precision=4, score_name="score"):
        """The table as text, in the paper's layout.

        Parameters
        ----------
        precision : int, default=4
            Decimals of the means, standard deviations and p-values.
        score_name : str, default="score"
            Name of the score shown in the title line.
        """
        alpha = 1.0 - self.confidence
        n_runs = max((row["n_runs"] for row in self.rows), default=0)
        direction = {
            "greater": f"{self.reference} greater",
            "less": f"{self.reference} less",
            "two-sided": "two-sided",
        }[self.alternative]
        title = (
            f"{score_name}: mean +- sigma over {n_runs} runs\n"
            f"paired t-test vs {self.reference} ({direction}), "
            f"* marks p < {alpha:.3g}"
        )
        width = precision + 4
        name_width = max([len("#labelled ->")] + [len(s) for s in self.strategies])
        group = 3 * width + 2
        head1 = "#labelled ->".ljust(name_width) + "".join(
            f"  {size:^{group}}" for size in self.sizes
        )
        head2 = "strategy".ljust(name_width) + "".join(
            f"  {'mu':>{width}} {'sigma':>{width}} {'p':>{width}}" for _ in self.sizes
        )
        lines = [title, head1.rstrip(), head2]
        for strategy in self.strategies:
            line = strategy.ljust(name_width)
            for size in self.sizes:
                row = self._cell(strategy, size)
                if row is None:
                    line += "  " + " ".join(["".rjust(width)] * 3)
                    continue
                mean = _fmt(row["mean"], precision)
                std = _fmt(row["std"], precision)
                if strategy == self.reference:
                    p = "-"
                elif math.isnan(row["p_value"]):
                    p = "n/a"
                else:
                    p = _fmt(row["p_value"], precision)
                    p += "*" if row["significant"] else " "
                line += f"  {mean:>{width}} {std:>{width}} {p:>{width}}"
            lines.append(line.rstrip())
        return "\n".join(lines)

    def __str__(self):
        return self.to_string()

    def __repr__(self):
        return (
            f"ComparisonTable(reference={self.reference!r}, sizes={self.sizes}, "
            f"strategies={self.strategies})"
        )

    def to_csv(self, path=None):
        """Write the rows as CSV to ``path``, or return them as a string."""
        columns = [
            "n_labelled",
            "strategy",
            "n_runs",
            "mean",
            "std",
            "p_value",
            "significant",
        ]
        return _write_csv(columns, self.rows, path)

    def to_dataframe(self):
        """The rows as a :class:`pandas.DataFrame` (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test extra
            raise ImportError("to_dataframe needs pandas; use .rows instead.") from exc
        return pd.DataFrame(self.rows)


def _fmt(value, precision):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.{precision}f}"


def compare(
    results, reference="egl_pp", alternative="greater", confidence=0.9, *,
    column="score",
):
    """The paper's Table 1: mean, std and paired t-test per labelled-set size.

    For every labelled-set size and strategy: the mean and the standard
    deviation (``ddof=1``, over runs) of the score, and the p-value of a
    paired t-test (:func:`scipy.stats.ttest_rel`) of the reference's scores
    against the strategy's, paired by run. The paper uses the one-tailed test
    ``alternative="greater"`` ("the reference scores higher") at 90 %
    confidence.

    Parameters
    ----------
    results : SimulationResults, DataFrame, structured array or list of dict
        Needs the columns ``run``, ``strategy``, ``n_labelled`` and ``score``.
    reference : str, default="egl_pp"
        The strategy the others are tested against.
    alternative : {"greater", "less", "two-sided"}, default="greater"
        The alternative hypothesis about ``reference - strategy``: "greater"
        means the reference scores higher. Use "less" for a loss such as RMSE.
    confidence : float, default=0.9
        A difference is significant when ``p < 1 - confidence``.
    column : str, default="score"
        The column compared, e.g. a fidelity measure of ``simulate(...,
        fidelity=True)`` such as ``"spearman_gradient"`` (rows where it is NaN,
        like cycle 0's, are left out).

    Returns
    -------
    table : ComparisonTable
        ``str(table)`` is the text layout, ``table.rows`` the data,
        ``table.to_csv()`` / ``table.to_dataframe()`` convert it.

    Notes
    -----
    When all paired differences are zero (a strategy that behaves exactly
    like the reference, or the shared base model at cycle 0),
    ``ttest_rel`` is undefined (0 / 0): the p-value is reported as NaN and the
    difference as not significant. Runs missing for one of the two strategies
    are left out of the pairing.

    Examples
    --------
    >>> rows = [{"run": r, "strategy": s, "n_labelled": 10, "score": v}
    ...         for r in range(3) for s, v in (("egl_pp", 0.8 + r / 100),
    ...                                        ("random_query", 0.7))]
    >>> print(compare(rows).to_string(precision=3))
    score: mean +- sigma over 3 runs
    paired t-test vs egl_pp (egl_pp greater), * marks p < 0.1
    #labelled ->            10
    strategy           mu   sigma       p
    random_query    0.700   0.000  0.001*
    egl_pp          0.810   0.010       -
    """
    if not isinstance(column, str):
        raise TypeError(f"column must be a str, got {column!r}.")
    rows = _check_rows(
        list(_rows_of(results)), needed=("run", "strategy", "n_labelled", column)
    )
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(
            "alternative must be 'greater', 'less' or 'two-sided', got "
            f"{alternative!r}."
        )
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0 < confidence < 1
    ):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    strategies = list(dict.fromkeys(str(row["strategy"]) for row in rows))
    if reference not in strategies:
        raise ValueError(
            f"reference {reference!r} is not among the strategies of the results: "
            f"{strategies}."
        )
    scores = {}
    for row in rows:
        value = float(row[column])
        if math.isnan(value):
            continue
        key = (str(row["strategy"]), int(row["n_labelled"]))
        scores.setdefault(key, {})[int(row["run"])] = value
    sizes = sorted({size for (_, size) in scores})
    display = [s for s in strategies if s != reference] + [reference]
    alpha = 1.0 - confidence
    out = []
    for size in sizes:
        ref = scores.get((reference, size), {})
        for strategy in display:
            values = scores.get((strategy, size))
            if values is None:
                continue
            v = np.array(list(values.values()))
            std = float(np.std(v, ddof=1)) if v.size > 1 else math.nan
            p = math.nan
            if strategy != reference:
                runs = sorted(set(values) & set(ref))
                a = np.array([ref[r] for r in runs])
                b = np.array([values[r] for r in runs])
                if len(runs) >= 2 and np.any(a != b):
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        warnings.simplefilter("ignore", RuntimeWarning)
                        p = float(stats.ttest_rel(a, b, alternative=alternative).pvalue)
            out.append(
                {
                    "n_labelled": size,
                    "strategy": strategy,
                    "n_runs": int(v.size),
                    "mean": float(np.mean(v)),
                    "std": std,
                    "p_value": p,
                    "significant": bool(not math.isnan(p) and p < alpha),
                }
            )
    return ComparisonTable(out, reference, alternative, confidence, sizes, display)


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------


def plot_learning_curves(results, ax=None, *, ylabel="score", title=None):
    """Mean +- standard deviation of the score per strategy vs labelled-set size.

    Parameters
    ----------
    results : SimulationResults, DataFrame, structured array or list of dict
        Needs the columns ``run``, ``strategy``, ``n_labelled`` and ``score``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is made when ``None``.
    ylabel : str, default="score"
        Label of the y axis.
    title : str, default=None
        Title of the axes.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rows = [{"run": r, "strategy": "a", "n_labelled": n, "score": n / 10 + r}
    ...         for r in range(2) for n in (5, 10)]
    >>> ax = plot_learning_curves(rows)
    >>> [line.get_label() for line in ax.get_lines()]
    ['a']
    """
    rows = _check_rows(list(_rows_of(results)))
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    strategies = list(dict.fromkeys(str(row["strategy"]) for row in rows))
    for strategy in strategies:
        by_size = {}
        for row in rows:
            if str(row["strategy"]) == strategy:
                by_size.setdefault(int(row["n_labelled"]), []).append(
                    float(row["score"])
                )
        sizes = np.array(sorted(by_size))
        means = np.array([np.mean(by_size[s]) for s in sizes])
        stds = np.array(
            [np.std(by_size[s], ddof=1) if len(by_size[s]) > 1 else 0.0 for s in sizes]
        )
        (line,) = ax.plot(sizes, means, marker="o", label=strategy)
        ax.fill_between(
            sizes, means - stds, means + stds, color=line.get_color(), alpha=0.2
        )
    ax.set_xlabel("labelled samples")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return ax


def plot_selection_map(
    embeddings,
    selected,
    *,
    labels=None,
    method="pca",
    ax=None,
    random_state=None,
):
    """What each strategy selected, on a 2-D map of the pool embeddings.

    The paper's Fig. 2 idea: the embeddings of the pool (e.g.
    ``HourglassRegressor.embed(X)``) are projected to 2-D with PCA or t-SNE;
    every sample is drawn as a small dot (coloured by ``labels``, e.g. the
    video sequence it comes from, when given) and each strategy's selection
    is overlaid with its own marker.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_features)
        One embedding per pool sample.
    selected : dict of str to array-like of int, or array-like of int
        Indices into ``embeddings`` selected by each strategy (e.g.
        ``results.labelled_indices(run, strategy)``); a single array is
        drawn as "selected".
    labels : array-like of shape (n_samples,), default=None
        Groups to colour the background dots by.
    method : {"pca", "tsne"}, default="pca"
        The 2-D projection (scikit-learn's PCA or TSNE).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is made when ``None``.
    random_state : int, RandomState instance or None, default=None
        Seed of the t-SNE projection.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> emb = np.random.default_rng(0).normal(size=(30, 5))
    >>> ax = plot_selection_map(emb, {"a": [0, 1, 2], "b": [3, 4]})
    >>> ax.get_legend_handles_labels()[1]
    ['pool', 'a', 'b']
    """
    embeddings = check_pool(embeddings, name="embeddings")
    if embeddings.ndim != 2:
        raise ValueError(
            "embeddings must be 2-D (n_samples, n_features), got shape "
            f"{embeddings.shape}."
        )
    n = embeddings.shape[0]
    if not isinstance(selected, dict):
        selected = {"selected": selected}
    checked = {}
    for name, idx in selected.items():
        idx = np.asarray(idx)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise ValueError(
                f"selected[{name!r}] must be a 1-D array of integer indices, got "
                f"{idx.dtype} array of shape {idx.shape}."
            )
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(
                f"selected[{name!r}] must index the {n} embeddings, got indices in "
                f"[{idx.min()}, {idx.max()}]."
            )
        checked[str(name)] = idx
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {labels.shape}.")
    if method == "pca":
        from sklearn.decomposition import PCA

        n_components = min(2, embeddings.shape[1], n)
        points = PCA(n_components=n_components).fit_transform(embeddings)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        if n < 3:
            raise ValueError(f"t-SNE needs at least 3 samples, got {n}.")
        points = TSNE(
            n_components=2,
            perplexity=min(30.0, (n - 1) / 3),
            init="pca",
            random_state=random_state,
        ).fit_transform(embeddings)
    else:
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")
    if points.shape[1] == 1:
        points = np.column_stack([points[:, 0], np.zeros(n)])
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=6, c="0.75", label="pool")
    else:
        _, codes = np.unique(labels, return_inverse=True)
        ax.scatter(
            points[:, 0],
            points[:, 1],
            s=6,
            c=codes,
            cmap="tab20",
            alpha=0.5,
            label="pool",
        )
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    for i, (name, idx) in enumerate(checked.items()):
        ax.scatter(
            points[idx, 0],
            points[idx, 1],
            s=40,
            marker=markers[i % len(markers)],
            facecolors="none",
            edgecolors=f"C{i}",
            linewidths=1.2,
            label=name,
        )
    ax.set_xlabel(f"{method.upper()} 1")
    ax.set_ylabel(f"{method.upper()} 2")
    ax.legend(loc="best", fontsize="small")
    return ax


# ---------------------------------------------------------------------------
# The synthetic pose experiments of ``sk-eglpp simulate``
# ---------------------------------------------------------------------------

_PAPER_STRATEGIES = ("egl_pp", "random_query", "coreset", "multipeak_entropy",
                     "learning_loss")

#: the pose presets of ``sk-eglpp simulate --preset``: data, network and protocol
POSE_PRESETS = {
    # the main job: about 5 minutes on a 2-core CPU
    "default": dict(
        n_pool=300, n_test=100, n_initial=40, budget=20, n_cycles=3, n_runs=3,
        image_size=64, depth=3, n_features=16, max_epochs=8, dropout=0.0,
        strategies=_PAPER_STRATEGIES, fidelity=False,
    ),
    # a smoke test: under 2 minutes
    "quick": dict(
        n_pool=160, n_test=60, n_initial=32, budget=16, n_cycles=2, n_runs=2,
        image_size=32, depth=2, n_features=8, max_epochs=8, dropout=0.0,
        strategies=_PAPER_STRATEGIES, fidelity=False,
    ),
    # the selection benchmark (regime chosen from ``python -m benchmarks.regime``:
    # sized for a base model near PCK@0.2 0.5 -- its five base models reached
    # 0.47 -- and curves still rising over the cycles); 43 minutes on 2 cores
    "benchmark": dict(
        n_pool=1200, n_test=300, n_initial=400, budget=200, n_cycles=3, n_runs=5,
        image_size=32, depth=1, n_features=16, max_epochs=20, dropout=0.1,
        strategies=_PAPER_STRATEGIES + ("mc_dropout",), fidelity=True,
    ),
}


def pose_estimator(
    n_joints=14,
    *,
    in_channels=1,
    depth=3,
    n_features=16,
    max_epochs=8,
    dropout=0.0,
    loss_prediction=False,
    device="cpu",
):
    """The stacked-hourglass regressor of the pose simulations.

    Two stacks, Adam with learning rate 3e-3, batches of 8.

    Parameters
    ----------
    n_joints : int, default=14
    in_channels : int, default=1
    depth, n_features, dropout
        ``module__depth``, ``module__n_features``, ``module__dropout``.
    max_epochs : int, default=8
        Epochs of the base model's fit and of every cycle's continued training.
    loss_prediction : bool, default=False
        With the loss-prediction head (needed by ``learning_loss``).
    device : str, default="cpu"

    Returns
    -------
    estimator : HourglassRegressor
        Unfitted.

    Examples
    --------
    >>> pose_estimator(depth=1, n_features=8).get_params()["module__depth"]
    1
    """
    from .models import HourglassRegressor

    # dropout only when asked: the fingerprints of older output folders hold
    # no module__dropout
    extra = {"module__dropout": dropout} if dropout else {}
    return HourglassRegressor(
        module__n_joints=n_joints,
        module__n_stacks=2,
        module__n_features=n_features,
        module__depth=depth,
        module__in_channels=in_channels,
        max_epochs=max_epochs,
        lr=3e-3,
        batch_size=8,
        device=device,
        loss_prediction=loss_prediction,
        **extra,
    )


def pose_problem(preset="default", *, strategies=None, device="cpu",
                 random_state=0, **overrides):
    """The synthetic pose simulation of ``sk-eglpp simulate --preset PRESET``.

    Parameters
    ----------
    preset : {"default", "quick", "benchmark"}, default="default"
        A key of :data:`POSE_PRESETS`. ``"benchmark"`` is the selection
        benchmark: 400 initial images, 3 cycles of 200, 5 runs, the paper's
        five strategies and ``mc_dropout``, with fidelity measures.
    strategies : list of str or dict, default=None
        Instead of the preset's strategies.
    device : str, default="cpu"
        Torch device of the network.
    random_state : int, default=0
        Seed of the synthetic data.
    **overrides
        Any key of the preset (e.g. ``n_runs=2``, ``max_epochs=5``).

    Returns
    -------
    problem : dict
        Keyword arguments of :func:`simulate` (``estimator``, ``strategies``,
        ``X``, ``y``, ``X_test``, ``y_test``, ``n_initial``, ``budget``,
        ``n_cycles``, ``n_runs``, ``fidelity``): ``simulate(**problem,
        output_dir=..., random_state=...)`` runs it.
    sequences : ndarray of shape (n_pool,)
        The synthetic video sequence of every pool image (for
        :func:`plot_selection_map`).

    Examples
    --------
    >>> problem, sequences = pose_problem("quick", n_pool=40, n_test=10)
    >>> problem["X"].shape, problem["n_initial"], problem["strategies"][0]
    ((40, 1, 32, 32), 32, 'egl_pp')
    """
    from .datasets import make_pose_dataset

    if not isinstance(preset, str) or preset not in POSE_PRESETS:
        raise ValueError(
            f"preset must be one of {sorted(POSE_PRESETS)}, got {preset!r}."
        )
    settings = dict(POSE_PRESETS[preset])
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise TypeError(
            f"Unknown settings {unknown}; the presets have {sorted(settings)}."
        )
    settings.update(overrides)
    if strategies is not None:
        settings["strategies"] = strategies
    names = settings["strategies"]
    names = dict(names) if isinstance(names, dict) else list(names)
    # the loss-prediction head, when Learning Loss is among the strategies (by
    # registry name, as a list entry or a dict value)
    chosen = list(names.values()) if isinstance(names, dict) else names
    from .query import LearningLossQuery

    needs_head = any(
        s == "learning_loss" or isinstance(s, LearningLossQuery) for s in chosen
    )
    X, y, sequences = make_pose_dataset(
        settings["n_pool"] + settings["n_test"],
        image_size=settings["image_size"],
        return_sequences=True,
        random_state=random_state,
    )
    n_pool = settings["n_pool"]
    estimator = pose_estimator(
        y.shape[1] // 2,
        in_channels=X.shape[1],
        depth=settings["depth"],
        n_features=settings["n_features"],
        max_epochs=settings["max_epochs"],
        dropout=settings["dropout"],
        loss_prediction=needs_head,
        device=device,
    )
    problem = dict(
        estimator=estimator,
        strategies=names,
        X=X[:n_pool],
        y=y[:n_pool],
        X_test=X[n_pool:],
        y_test=y[n_pool:],
        n_initial=settings["n_initial"],
        budget=settings["budget"],
        n_cycles=settings["n_cycles"],
        n_runs=settings["n_runs"],
        fidelity=settings["fidelity"],
    )
    return problem, sequences[:n_pool]
