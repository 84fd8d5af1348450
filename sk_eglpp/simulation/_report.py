"""The report of a simulation, as ``sk-eglpp simulate`` prints and writes it.

The scores as reported (a negated loss turned back into the loss), the
paper's Table 1 with the environments under it, the fidelity tables, the time
summary and the selection map. The names are public within the package (the
command line calls them); none is exported.
"""

import numpy as np

from .._seeding import torch_seed
from ._compare import compare
from ._plots import plot_selection_map
from ._results import SimulationResults
from ._store import open_store

__all__ = []

#: the title of each fidelity table, by its column
FIDELITY_TITLES = {
    "spearman_gradient": "Spearman rho of the utilities with the true squared "
    "gradient lengths (Eq. 4 at the real labels)",
    "spearman_error": "Spearman rho of the utilities with the true per-sample "
    "errors",
    "precision": "precision of the B selected against the true top-B gradient "
    "lengths",
}


def is_negated_loss(scoring):
    """Whether ``scoring`` is a negated loss: a scikit-learn scorer name that
    starts with ``"neg_"`` (``"neg_root_mean_squared_error"``, ...)."""
    return isinstance(scoring, str) and scoring.startswith("neg_")


def reported_results(results, *, scoring=None, metric="score"):
    """The results as the report shows them, and the direction of its test.

    Parameters
    ----------
    results : SimulationResults
        What :func:`simulate` returned.
    scoring : str, callable or None, default=None
        The ``scoring`` of the simulation. For a negated loss
        (:func:`is_negated_loss`) the scores are negated back, so that an
        RMSE is reported positive, and lower is better.
    metric : str, default="score"
        The name of the score, written into every row (column ``metric``).

    Returns
    -------
    results : SimulationResults
        The rows with the reported score and the ``metric`` column.
    alternative : {"greater", "less"}
        The alternative of :func:`compare`: ``"less"`` for a loss.

    Examples
    --------
    >>> res = SimulationResults([
    ...     {"run": 0, "strategy": "a", "cycle": 0, "n_labelled": 5,
    ...      "score": -0.5, "query_time": 0.0, "fit_time": 0.1, "seed": 1}])
    >>> shown, alternative = reported_results(
    ...     res, scoring="neg_root_mean_squared_error", metric="RMSE")
    >>> shown["score"], shown["metric"], alternative
    (array([0.5]), array(['RMSE'], dtype=object), 'less')
    """
    alternative = "greater"
    if is_negated_loss(scoring):
        rows = [{**row, "score": -row["score"]} for row in results.rows]
        results = SimulationResults(rows, results.selected, results.environments)
        alternative = "less"
    rows = [{**row, "metric": metric} for row in results.rows]
    shown = SimulationResults(rows, results.selected, results.environments)
    return shown, alternative


def table_report(results, *, reference, alternative="greater", metric="score"):
    """The paper's Table 1 of ``results`` and, under it, where they were computed.

    The table of :func:`compare` (with its minimal detectable differences),
    a blank line, and :meth:`SimulationResults.environment_report`.
    """
    table = compare(results, reference=reference, alternative=alternative)
    text = table.to_string(score_name=metric)
    return text + "\n\n" + results.environment_report()


def fidelity_report(results, reference):
    """The fidelity measures per query (labelled-set size after it), as tables.

    One table of :func:`compare` per column of :data:`FIDELITY_TITLES`, each
    under its title; the results need those columns
    (``simulate(..., fidelity=True)``).
    """
    parts = [
        "Fidelity of each query, by the labelled-set size after it (computed "
        "with the model that queried)"
    ]
    for column, title in FIDELITY_TITLES.items():
        table = compare(results, reference=reference, column=column)
        parts.append(f"{title}:\n" + table.to_string(precision=3, score_name=column))
    return "\n\n".join(parts)


def time_summary(results, elapsed):
    """One line: where the recorded time went, and ``elapsed``, this call's
    wall time in seconds (see :meth:`SimulationResults.phase_times`)."""
    times = results.phase_times()
    queries = ", ".join(f"{k} {v:.0f}" for k, v in times["query"].items())
    return (
        f"time: base fits {times['base_fit']:.0f} s, queries "
        f"{sum(times['query'].values()):.0f} s ({queries}), cycle fits "
        f"{sum(times['fit'].values()):.0f} s, as recorded over all sessions of "
        f"this folder; this call took {elapsed:.0f} s"
    )


def _base_model_embeddings(store_path, estimator, X, run):
    """The embeddings of ``X`` by the stored base model of ``run`` (None when
    the store holds none)."""
    store = open_store(store_path)
    if (run, None, 0) not in store.checkpoints():
        return None
    model = store.load_model(estimator, run)
    with torch_seed(0):
        return model.embed(X)


def selection_map_figure(results, X, *, groups=None, estimator=None,
                         store_path=None, run=0):
    """What each strategy selected in ``run``, one panel each, on a PCA map.

    The paper's Fig. 2 idea. With ``store_path``, the map is of the pool's
    embeddings by the run's base model, read back from the store (``estimator``
    is the simulated net, which has ``embed``); without, of the inputs ``X``.
    One legend says what the colours and the markers mean.

    Parameters
    ----------
    results : SimulationResults
        With the selections (``results.selected``).
    X : ndarray
        The pool.
    groups : array-like of shape (n_pool,), default=None
        The synthetic video sequence of every pool sample, for the colours.
    estimator : skorch net, default=None
        The estimator given to :func:`simulate` (with ``store_path``).
    store_path : path-like, default=None
        The ``output_dir`` of the simulation, to embed with its base model.
    run : int, default=0

    Returns
    -------
    figure : matplotlib.figure.Figure or None
        ``None`` when the store holds no base model of ``run``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if store_path is not None:
        embeddings = _base_model_embeddings(store_path, estimator, X, run)
        if embeddings is None:
            return None
        what = "base-model embeddings"
    else:
        embeddings = X
        what = "inputs"
    strategies = results.strategies
    figure = Figure(figsize=(3.3 * len(strategies), 3.9))
    FigureCanvasAgg(figure)
    for i, strategy in enumerate(strategies):
        cycles = sorted(
            c for (r, s, c) in results.selected if r == run and s == strategy
        )
        picked = [results.selected[(run, strategy, c)] for c in cycles if c > 0]
        ax = figure.add_subplot(1, len(strategies), i + 1)
        plot_selection_map(
            embeddings, {strategy: np.concatenate(picked)}, labels=groups, ax=ax
        )
        ax.set_title(strategy, fontsize="medium")
        handles, _ = ax.get_legend_handles_labels()  # the pool, the selected
        ax.legend().remove()
    pool = "pool sample"
    if groups is not None:
        pool += ", coloured by its synthetic video sequence"
    last = max(cycles)
    during = "cycle 1" if last == 1 else f"cycles 1 to {last}"
    figure.legend(
        handles,
        [pool, f"selected by the panel's strategy ({during})"],
        loc="lower center",
        ncol=2,
        fontsize="small",
        frameon=False,
    )
    figure.suptitle(f"run {run}: samples selected, PCA of the pool's {what}")
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    return figure
