"""The simulation itself: :func:`simulate` and the runs it executes."""

import contextlib
import copy
import sys
import threading
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state

from .._fingerprints import describe, fingerprint
from .._interrupts import Interrupts
from .._param_validation import (
    N_JOBS,
    POSITIVE_INT,
    VERBOSE,
    InstanceOf,
    validate_params,
)
from .._progress import progress_bar
from .._seeding import torch_seed
from .._threads import thread_limits
from .._validation import check_pool
from ..diagnostics import FIDELITY_COLUMNS
from ..query._resolve import resolve_strategies
from ._config import (
    check_targets,
    derive_seed,
    entropy_from,
    label_key,
    seedable_params,
    stored_config,
)
from ._environment import by_run, current_environment, environment_id
from ._results import COLUMNS, SimulationResults, split_stored
from ._store import StoreWriter, is_net, net_device

__all__ = ["simulate"]


@validate_params(
    {
        "estimator": ["no_validation"],
        "strategies": ["no_validation"],
        "X": ["array-like"],
        "y": ["array-like"],
        "X_test": ["array-like"],
        "y_test": ["array-like"],
        "n_initial": [POSITIVE_INT],
        "budget": [POSITIVE_INT],
        "n_cycles": [POSITIVE_INT],
        "n_runs": [POSITIVE_INT],
        "scoring": [None, InstanceOf(str), callable],
        "warm_start": ["boolean"],
        "fidelity": ["boolean"],
        "output_dir": [None, "path"],
        "random_state": ["random_state", None],
        "n_jobs": N_JOBS,
        "n_threads": [None, POSITIVE_INT],
        "verbose": VERBOSE,
    }
)
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
        Folder that makes the simulation resumable (see Notes): every
        finished cycle is appended to ``runs/run-XXX.jsonl`` at once, skorch
        nets are checkpointed after each cycle, ``config.json`` holds a
        fingerprint of the estimator, strategies, data and parameters, and
        ``environment.json`` the environment of every call that wrote rows.
        Calling :func:`simulate` again with the same folder resumes: nothing
        already written is recomputed, and the result is the one an
        uninterrupted call would have given; more runs, more cycles or
        additional strategies extend what is there. :func:`open_store` reads
        the folder back (also while it is written).
    random_state : int, RandomState instance or None, default=None
        Seeds everything: the initial sets, the models' ``random_state``
        parameters that are ``None``, the strategies' ``random_state``
        parameters that are ``None``, and torch's RNG while a skorch net is
        initialised or trained (inside :func:`torch.random.fork_rng`, so the
        caller's global torch RNG is untouched). Each run, strategy and cycle
        gets its own seed derived from it, so results do not depend on
        ``n_jobs`` or on interruptions. With ``None`` the seed material is
        drawn once and stored in ``output_dir`` so that a resumed call
        continues with it. Results are reproducible for a seed and
        ``n_threads`` on the same kind of processor (same torch and numpy
        versions and CPU instruction set): other CPUs round differently and
        training amplifies it (the results' ``environments`` say where they
        were computed).
    n_jobs : int, default=None
        Runs executed in parallel with joblib (``None``: one at a time, ``-1``:
        as many as there are CPUs). The results do not depend on it. This,
        not ``n_threads``, is the way to use more cores: runs are independent.
    n_threads : int or None, default=1
        Threads of torch's intra-op pool and of the BLAS / OpenMP libraries
        (through threadpoolctl) while a run executes, in the calling process
        or in each worker; the previous settings are restored afterwards.
        ``None`` leaves them as they are (torch's default is one thread per
        core). One thread slows a run down only in proportion to the CPU it
        gets when other processes share the cores (see
        :ref:`simulation-threads`).
    verbose : int, default=0
        ``0``: silent; ``1``: a tqdm progress bar (on stderr); ``2``: also one
        line per finished cycle (``True`` / ``False`` count as 1 / 0).
        Warnings of the strategies and models (``UserWarning``) are shown once
        per run: through the progress bar when there is one, as warnings
        otherwise.

    Returns
    -------
    results : SimulationResults
        One row per run x strategy x cycle (cycle 0 is the base model), sorted
        by run, strategy (in the order given) and cycle, with the columns
        ``run, strategy, cycle, n_labelled, score, query_time, fit_time, seed``
        (times in seconds; ``seed`` is the seed of that cycle), followed with
        ``fidelity=True`` by the fidelity columns. Convert with
        ``to_dataframe()``, ``to_records()`` or ``to_csv()``. Its
        ``environments`` say where the rows were computed (with
        ``output_dir``, also the earlier calls that wrote them).

    See Also
    --------
    compare : the paper's Table 1 from the results.
    plot_learning_curves : mean +- std of the score per strategy.
    open_store : reads back what ``output_dir`` holds.
    pose_problem, toy_problem : ready-made problems (``simulate(**problem)``).

    Notes
    -----
    The store: an interrupted call (Ctrl-C, crash, ``kill -9``) loses at most
    the cycle in progress. A cycle's checkpoint is written atomically, then
    its row is appended and fsynced (the commit point), and only then is the
    previous checkpoint deleted. A checkpoint holds what skorch's
    ``save_params`` writes (modules, criteria, optimizers, history; read back
    with weights-only loading) and the simple fitted attributes as JSON.
    Resuming with a different estimator, data, ``n_initial``, ``budget``,
    ``scoring``, ``warm_start`` or integer ``random_state``, or with a
    strategy name bound to different parameters, raises
    :class:`ResumeMismatchError`; the fingerprint is canonical (independent
    of the process, its hash seed and object addresses) and leaves out what
    does not change results (``verbose``). The folder is locked for the call
    (an OS lock on ``lock``): a second process gets
    :class:`OutputDirInUseError` naming the holder's pid. A folder of another
    store format raises :class:`StoreFormatError`, a damaged file
    :class:`CorruptStoreError`, and a ``config.json`` that is not a store's
    :class:`StoreError`, before anything is written there.

    scikit-learn estimators are not checkpointed: on resume, the model of
    the last finished cycle is refitted from the stored labelled indices with
    that cycle's seed, which reproduces it exactly (one extra fit per run and
    strategy; no query, no score and no written row is recomputed). skorch
    callbacks whose state matters across cycles (e.g. learning-rate
    schedulers) are re-created on resume; the training history is restored.

    Interrupts: run in the main thread without workers (``n_jobs=None``), the
    first Ctrl-C stops the call at a safe point and raises
    :class:`KeyboardInterrupt`; every finished cycle is kept and a cycle cut
    short is never recorded. With workers, joblib aborts them and the
    crash-safe write order keeps what was committed.

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
    X, y, X_test, y_test = _checked_data(X, y, X_test, y_test)
    _check_protocol(estimator, scoring, X.shape[0], n_initial, budget, n_cycles)
    labels, objects = resolve_strategies(strategies)
    sim, recorded = _build_simulation(
        estimator,
        labels,
        objects,
        (X, y, X_test, y_test),
        n_initial=int(n_initial),
        budget=int(budget),
        n_cycles=int(n_cycles),
        scoring=scoring,
        warm_start=bool(warm_start),
        fidelity=bool(fidelity),
        output_dir=output_dir,
        random_state=random_state,
        n_jobs=None if n_jobs is None else int(n_jobs),
        n_threads=None if n_threads is None else int(n_threads),
        verbose=int(verbose),
    )
    try:
        outputs = _execute(sim, int(n_runs), n_jobs)
    finally:
        sim.bar = None
        if sim.store is not None:
            sim.store.release()
    return _collect(outputs, labels, recorded)


# -- the steps of simulate ----------------------------------------------------


def _checked_data(X, y, X_test, y_test):
    """The pool, its labels and the test set as C-ordered arrays, checked."""
    X = check_pool(X, name="X")
    y = check_targets(y, X, "y", "X")
    X_test = check_pool(X_test, name="X_test")
    y_test = check_targets(y_test, X_test, "y_test", "X_test")
    if X_test.shape[1:] != X.shape[1:]:
        raise ValueError(
            f"X and X_test must have samples of the same shape, got {X.shape[1:]} "
            f"and {X_test.shape[1:]}."
        )
    # C order: a DataFrame (often F-ordered) gives the very same results
    return tuple(map(np.ascontiguousarray, (X, y, X_test, y_test)))


def _check_protocol(estimator, scoring, n_samples, n_initial, budget, n_cycles):
    """What the checked arguments must satisfy together."""
    needed = n_initial + n_cycles * budget
    if needed > n_samples:
        raise ValueError(
            f"n_initial + n_cycles * budget must not exceed the {n_samples} samples "
            f"of X, got {n_initial} + {n_cycles} * {budget} = {needed}: the pool "
            "runs out before the last query. Lower budget or n_cycles."
        )
    if not hasattr(estimator, "fit"):
        raise TypeError(
            f"estimator must have a fit method, got {type(estimator).__name__}."
        )
    try:
        check_scoring(estimator, scoring=scoring)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"Invalid scoring for this estimator: {exc}") from exc


def _build_simulation(estimator, labels, objects, data, *, n_initial, budget,
                      n_cycles, scoring, warm_start, fidelity, output_dir,
                      random_state, n_jobs, n_threads, verbose):
    """The :class:`_Simulation` of the checked arguments, with its store opened
    (and locked) when there is an ``output_dir``; and the environments recorded
    so far (``id -> environment``)."""
    X, y, X_test, y_test = data
    config = stored_config(
        {
            "estimator": estimator,
            "X": X,
            "y": y,
            "X_test": X_test,
            "y_test": y_test,
            "n_initial": n_initial,
            "budget": budget,
            "scoring": scoring,
            "warm_start": warm_start,
            "random_state": random_state,
            "fidelity": fidelity,
        }
    )
    strategy_fps = {
        label: fingerprint(describe(obj))
        for label, obj in zip(labels, objects, strict=True)
    }
    environment = current_environment(
        n_threads=n_threads, n_jobs=n_jobs, device=net_device(estimator)
    )
    store = None
    if output_dir is not None:
        store = StoreWriter(output_dir)
        entropy = store.open(config, strategy_fps, random_state, environment)
        env_id, recorded = store.environment_id, store.environments
    else:
        entropy = entropy_from(random_state)
        env_id = environment_id(environment)
        recorded = {env_id: environment}
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
        warm_start=warm_start,
        fidelity=fidelity,
        entropy=entropy,
        environment=env_id,
        store=store,
        n_threads=n_threads,
        verbose=verbose,
    )
    return sim, recorded


def _execute(sim, n_runs, n_jobs):
    """Run the ``n_runs`` runs of ``sim``, in this process or with joblib
    workers; the outputs of the runs, in the order they finished."""
    # work units of the progress bar: a base fit and every strategy's cycles
    total = n_runs * (1 + len(sim.labels) * sim.n_cycles)
    outputs = []
    if n_jobs is None or n_jobs == 1:
        with _progress(total, sim.verbose) as bar:
            sim.bar = bar
            for run in range(n_runs):
                outputs.append(sim.run(run))
            sim.bar = None
    elif sim.store is not None:
        # the workers' progress is read from the store's rows as they land
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        initial = sim.store.units_done(n_runs)
        with _progress(total, sim.verbose, initial=initial) as bar, \
                _watching(sim.store, n_runs, bar):
            for out in parallel(delayed(sim.run)(run) for run in range(n_runs)):
                outputs.append(out)
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        with _progress(n_runs, sim.verbose, unit="run") as bar:
            for out in parallel(delayed(sim.run)(run) for run in range(n_runs)):
                outputs.append(out)
                bar.update(1)
    return outputs


def _collect(outputs, labels, recorded):
    """The results of the runs, sorted by run, strategy (as given) and cycle."""
    rows, selected, computed_on = [], {}, {}
    order = {label: i for i, label in enumerate(labels)}
    for run_rows, run_selected, run_computed_on in outputs:
        rows.extend(run_rows)
        selected.update(run_selected)
        computed_on.update(run_computed_on)
    rows.sort(key=lambda r: (r["run"], order[r["strategy"]], r["cycle"]))
    return SimulationResults(rows, selected, by_run(recorded, computed_on))


# -- the simulation itself --------------------------------------------------


class _progress:
    def __init__(self, total, verbose, unit="cycle", initial=0):
        self.total, self.verbose, self.unit = total, verbose, unit
        self.initial = initial

    def __enter__(self):
        self.bar = progress_bar(self.verbose, total=self.total, desc="simulate",
                                unit=self.unit, initial=self.initial)
        return self

    def set_done(self, n):
        """Move the bar forward to ``n`` units done (never backwards)."""
        if self.bar is not None and n > self.bar.n:
            self.bar.update(n - self.bar.n)

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


@contextlib.contextmanager
def _watching(store, n_runs, bar, every=2.0):
    """While the block runs, a thread moves ``bar`` to the units the store
    holds every ``every`` seconds (runs in other processes report nothing
    else), and once more at the end."""
    if bar.bar is None:
        yield
        return
    stop = threading.Event()

    def watch():
        while not stop.wait(every):
            bar.set_done(store.units_done(n_runs))

    thread = threading.Thread(target=watch, name="simulate-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.set_done(store.units_done(n_runs))


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


class _Simulation:
    """Everything one run needs; picklable so that joblib can ship it.

    Parameters
    ----------
    estimator : estimator
        The unfitted estimator every model is cloned from.
    labels : list of str
        The strategies' names, in the order given.
    strategies : list
        The strategy objects, one per label (cloned when they are seeded).
    X, y : ndarray
        The pool and the oracle's labels.
    X_test, y_test : ndarray
        The test set.
    n_initial, budget, n_cycles : int
        The protocol (see :func:`simulate`).
    scoring : str, callable or None
        As for :func:`sklearn.metrics.check_scoring`.
    warm_start, fidelity : bool
        See :func:`simulate`.
    entropy : int
        The seed material every run, strategy and cycle derives its seed from.
    environment : str
        The id of this call's environment, written into every row.
    store : StoreWriter or None
        Where rows and checkpoints are written (``None``: nowhere).
    n_threads : int or None
        Torch and BLAS threads while a run executes.
    verbose : int
        0 silent, 1 a progress bar, 2 also a line per cycle.

    Attributes
    ----------
    is_net : bool
        Whether the estimator is a skorch net (checkpointed, seeded torch).
    device : str or None
        The net's device.
    estimator_seedable : list of str
        The estimator's ``random_state`` parameters that are ``None``.
    strategy_seedable : list of list of str
        The same for each strategy.
    columns : tuple of str
        The result columns (with the fidelity columns when measured).
    bar : _progress or None
        The progress bar while runs execute in this process.
    """

    def __init__(self, *, estimator, labels, strategies, X, y, X_test, y_test,
                 n_initial, budget, n_cycles, scoring, warm_start, fidelity,
                 entropy, environment, store, n_threads, verbose):
        self.estimator = estimator
        self.labels = labels
        self.strategies = strategies
        self.X, self.y = X, y
        self.X_test, self.y_test = X_test, y_test
        self.n_initial = n_initial
        self.budget = budget
        self.n_cycles = n_cycles
        self.scoring = scoring
        self.warm_start = warm_start
        self.fidelity = fidelity
        self.entropy = entropy
        self.environment = environment
        self.store = store
        self.n_threads = n_threads
        self.verbose = verbose
        self.is_net = is_net(estimator)
        self.device = net_device(estimator)
        self.estimator_seedable = seedable_params(estimator)
        self.strategy_seedable = [seedable_params(s) for s in strategies]
        self.columns = COLUMNS + (FIDELITY_COLUMNS if fidelity else ())
        self.bar = None
        # set by run() in the process that executes it
        self._warnings = self._interrupts = None

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
            with torch_seed(seed, self.device):
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
        if self.is_net:
            return torch_seed(seed, self.device)
        return contextlib.nullcontext()

    def _restore_net(self, run, label, cycle, seed):
        """A net with the state saved after ``cycle`` (None if not saved)."""
        if self.store is None:
            return None
        model = self._new_model(seed)
        with torch_seed(seed, self.device):
            model.initialize()
        if self.store.load_net(model, run, label, cycle):
            return model
        return None

    # one run -------------------------------------------------------------------

    def run(self, run):
        shown = self.bar if self.bar is not None and self.bar.bar is not None else None
        self._warnings = _warning_relay(shown)
        with thread_limits(self.n_threads), Interrupts() as self._interrupts:
            return self._run(run)

    def _run(self, run):
        entropy = self.entropy
        n = self.X.shape[0]
        base_seed = derive_seed(entropy, run)
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
                        "environment": self.environment,
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
        stored = [
            row for label in self.labels for row in history[label][: self.n_cycles + 1]
        ]
        return split_stored(stored, self.columns)

    def _run_strategy(self, run, label, position, rows, base):
        entropy = self.entropy
        key = label_key(label)
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
            seed = derive_seed(entropy, run, key, last)
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
            seed = derive_seed(entropy, run, key, cycle)
            pool = np.flatnonzero(mask)
            strategy = strategy_template
            if seedable:
                strategy = clone(strategy_template).set_params(
                    **dict.fromkeys(seedable, seed)
                )
            where = f"run {run} {label} cycle {cycle}"
            start = time.perf_counter()
            with self._torch_rng(seed), self._warnings(where):
                idx, utilities = self._query(strategy, label, model, pool, labelled)
            query_time = time.perf_counter() - start
            measures = {}
            if self.fidelity:
                with self._torch_rng(seed), self._warnings(where):
                    measures = self._fidelity(utilities, model, pool, idx)
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
                "environment": self.environment,
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

    def _fidelity(self, utilities, model, pool, idx):
        """Fidelity measures of the query just made (see ``simulate``)."""
        from ..diagnostics import (
            fidelity_measures,
            per_sample_error,
            true_gradient_lengths,
        )

        X_pool, y_pool = self.X[pool], self.y[pool]
        gradient = true_gradient_lengths(model, X_pool, y_pool)
        error = per_sample_error(model, X_pool, y_pool)
        return fidelity_measures(utilities, idx, gradient, error)

    def _query(self, strategy, label, model, pool, labelled):
        """The strategy's selection in the pool, and its utilities (or None)."""
        from ..query import select_with_utilities

        idx, utilities = select_with_utilities(
            strategy, model, self.X[pool], self.budget,
            X_labelled=self.X[labelled], y_labelled=self.y[labelled],
        )
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
        return idx.astype(np.int64), utilities
