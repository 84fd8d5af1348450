"""Plots of simulation results; matplotlib is imported when one is drawn."""

import numpy as np

from .._param_validation import InstanceOf, StrOptions, validate_params
from .._validation import check_pool
from ._results import check_rows, rows_of

__all__ = ["plot_learning_curves", "plot_selection_map"]


@validate_params(
    {
        "results": ["no_validation"],
        "ax": ["no_validation"],
        "ylabel": [InstanceOf(str)],
        "title": [None, InstanceOf(str)],
    }
)
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
    rows = check_rows(list(rows_of(results)))
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


@validate_params(
    {
        "embeddings": ["array-like"],
        "selected": ["no_validation"],
        "labels": ["array-like"],
        "method": [StrOptions(["pca", "tsne"])],
        "ax": ["no_validation"],
        "random_state": ["random_state", None],
    }
)
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
    else:  # "tsne"
        from sklearn.manifold import TSNE

        if n < 3:
            raise ValueError(f"t-SNE needs at least 3 samples, got {n}.")
        points = TSNE(
            n_components=2,
            perplexity=min(30.0, (n - 1) / 3),
            init="pca",
            random_state=random_state,
        ).fit_transform(embeddings)
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


