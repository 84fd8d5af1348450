"""Shared machinery of the query strategies.

A strategy is a scikit-learn style object (parameters stored in ``__init__``,
``get_params`` / ``set_params`` / ``clone`` work) whose instances are callables
in modAL's convention. Subclasses implement :meth:`BaseQueryStrategy._score`
(and may override :meth:`BaseQueryStrategy.select` when the selection is not a
top-B of independent scores, as for k-center greedy).
"""

import inspect

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from .._validation import check_labelled, check_n_instances, check_pool, top_indices

__all__ = ["BaseQueryStrategy", "QueryContext", "resolve_learner", "embed_context"]


class QueryContext:
    """What a strategy needs from a learner, resolved once per call.

    Parameters
    ----------
    estimator : object
        The model the strategy scores with: the final step when the learner's
        estimator is a :class:`~sklearn.pipeline.Pipeline`.
    X_pool : ndarray
        The pool, transformed by the pipeline's preceding steps.
    X_labelled, y_labelled : ndarray or None
        The labelled set (``X_labelled`` transformed like the pool), or
        ``None`` when neither the learner nor the caller provides it.
    pipeline : Pipeline or None
        The full pipeline when there is one.
    """

    def __init__(self, estimator, X_pool, X_labelled, y_labelled, pipeline=None):
        self.estimator = estimator
        self.X_pool = X_pool
        self.X_labelled = X_labelled
        self.y_labelled = y_labelled
        self.pipeline = pipeline

    @property
    def n_pool(self):
        return self.X_pool.shape[0]

    def require_labelled(self, strategy_name):
        """Raise a clear error when there is no labelled set."""
        if self.X_labelled is None:
            raise ValueError(
                f"{strategy_name} needs the labelled set: pass a modAL learner with "
                "X_training / y_training, or X_labelled= and y_labelled=, got none."
            )


def _is_modal_learner(obj):
    return hasattr(obj, "estimator") and hasattr(obj, "X_training")


def resolve_learner(learner, X_labelled=None, y_labelled=None):
    """Split ``learner`` into its estimator and its labelled data.

    Parameters
    ----------
    learner : modAL learner or estimator
        A modAL learner (labelled data read from ``X_training`` /
        ``y_training``) or a fitted estimator.
    X_labelled, y_labelled : array-like, default=None
        Labelled data; they take precedence over the learner's.

    Returns
    -------
    estimator, X_labelled, y_labelled

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> est, X, y = resolve_learner(LinearRegression(), [[0.0], [1.0]], [0.0, 1.0])
    >>> type(est).__name__, len(X)
    ('LinearRegression', 2)
    """
    if learner is None:
        raise TypeError("learner must be a modAL learner or an estimator, got None.")
    if _is_modal_learner(learner):
        estimator = learner.estimator
        if X_labelled is None and y_labelled is None:
            X_labelled, y_labelled = learner.X_training, learner.y_training
    else:
        estimator = learner
    if (X_labelled is None) != (y_labelled is None):
        raise ValueError(
            "X_labelled and y_labelled must be given together, got only "
            f"{'X_labelled' if y_labelled is None else 'y_labelled'}."
        )
    return estimator, X_labelled, y_labelled


def _embed(estimator, X, embedding, name, flatten):
    """Embeddings ``(n, d)`` of ``X`` as float64.

    From ``embedding(X)`` when given, else ``estimator.embed(X)``, else the
    samples themselves: flattened with ``flatten=True``, required to be 2-D
    otherwise.
    """
    if embedding is not None:
        if not callable(embedding):
            raise TypeError(
                "embedding must be None or a callable X -> (n_samples, n_dims), "
                f"got {type(embedding).__name__}."
            )
        Z = embedding(X)
        source = "embedding(X)"
    elif hasattr(estimator, "embed"):
        Z = estimator.embed(X)
        source = f"{type(estimator).__name__}.embed(X)"
    else:
        if X.ndim != 2 and not flatten:
            raise ValueError(
                f"Embeddings are needed: {type(estimator).__name__} has no embed "
                f"method and {name} is not 2-D (got shape {X.shape}); pass "
                "embedding=callable or a model with embed(X) -> (n, d)."
            )
        Z = X.reshape(X.shape[0], -1)
        source = name
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[0] != X.shape[0]:
        raise ValueError(
            f"{source} must return an array of shape ({X.shape[0]}, n_dims), got "
            f"shape {Z.shape}."
        )
    if not np.all(np.isfinite(Z)):
        raise ValueError(f"{source} returned non-finite values (NaN or inf).")
    return Z


def embed_context(context, embedding=None, *, flatten=False):
    """Embeddings of the pool and of the labelled set (``None`` without one).

    Parameters
    ----------
    context : QueryContext
        The resolved query.
    embedding : callable, default=None
        ``embedding(X) -> (n, d)``; by default the estimator's ``embed``, or the
        (pipeline-transformed) samples themselves when it has none.
    flatten : bool, default=False
        Whether samples with more than 2 dimensions are flattened when they are
        used as their own embedding (otherwise they raise a ValueError).

    Returns
    -------
    Z_pool : ndarray of shape (n_pool, d)
    Z_labelled : ndarray of shape (n_labelled, d) or None
    """
    Z_pool = _embed(context.estimator, context.X_pool, embedding, "X_pool", flatten)
    if context.X_labelled is None:
        return Z_pool, None
    Z_lab = _embed(
        context.estimator, context.X_labelled, embedding, "X_labelled", flatten
    )
    if Z_lab.shape[1] != Z_pool.shape[1]:
        raise ValueError(
            "Pool and labelled embeddings must have the same dimension, got "
            f"{Z_pool.shape[1]} and {Z_lab.shape[1]}."
        )
    return Z_pool, Z_lab


def _expects_metrics(learner):
    """Whether ``learner.query`` unpacks ``(indices, utilities)`` (modAL >= 0.4.2)."""
    query = getattr(type(learner), "query", None)
    if query is None or not _is_modal_learner(learner):
        return False
    try:
        return "return_metrics" in inspect.signature(query).parameters
    except (TypeError, ValueError):  # pragma: no cover - exotic callables
        return False


class BaseQueryStrategy(BaseEstimator):
    """Base class of the query strategies (not for direct use).

    Subclasses implement ``_score(context)`` returning one utility per pool
    sample. Parameters are validated at call time, never in ``__init__``.

    Examples
    --------
    A strategy scoring pool samples by their distance to the labelled mean:

    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp.query import BaseQueryStrategy
    >>> class FarFromLabelled(BaseQueryStrategy):
    ...     _needs_labelled = True
    ...     def _score(self, context):
    ...         centre = context.X_labelled.mean(axis=0)
    ...         return np.linalg.norm(context.X_pool - centre, axis=1)
    >>> X = np.array([[0.0], [1.0], [5.0], [2.0]])
    >>> model = LinearRegression().fit(X[:2], [0.0, 1.0])
    >>> FarFromLabelled().select(model, X[2:], n_instances=1,
    ...                          X_labelled=X[:2], y_labelled=[0.0, 1.0])
    array([0])
    """

    #: whether scipy sparse pools are accepted (linear strategies)
    _accept_sparse = False
    #: whether the strategy reads the labelled set
    _needs_labelled = False
    #: whether NaN is allowed in y (missing joints)
    _allow_nan_y = False

    # -- public API -----------------------------------------------------------

    def score(self, learner, X_pool, *, X_labelled=None, y_labelled=None):
        """Utility of every pool sample; higher means more informative.

        Parameters
        ----------
        learner : modAL learner or fitted estimator
            Where the model (and, for a modAL learner, the labelled data) come
            from. A :class:`~sklearn.pipeline.Pipeline` is scored in the space
            of its final step.
        X_pool : array-like of shape (n_pool, ...)
            Unlabelled samples.
        X_labelled, y_labelled : array-like, default=None
            Labelled data, for strategies that need it, when ``learner`` is an
            estimator rather than a modAL learner.

        Returns
        -------
        scores : ndarray of shape (n_pool,)
        """
        context = self._context(learner, X_pool, X_labelled, y_labelled)
        scores = np.asarray(self._score(context), dtype=np.float64)
        self.scores_ = scores
        return scores

    def select(self, learner, X_pool, n_instances=1, **kwargs):
        """Indices of the ``n_instances`` most informative pool samples.

        Parameters
        ----------
        learner : modAL learner or fitted estimator
            See :meth:`score`.
        X_pool : array-like of shape (n_pool, ...)
            Unlabelled samples.
        n_instances : int, default=1
            Number of samples to select, in ``[1, n_pool]``.
        **kwargs
            ``X_labelled`` / ``y_labelled``, see :meth:`score`.

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Integer indices into ``X_pool``, most informative first, unique.
        """
        n_pool = _n_samples(X_pool)
        n_instances = check_n_instances(n_instances, n_pool)
        scores = self.score(learner, X_pool, **kwargs)
        return top_indices(scores, n_instances)

    def __call__(self, learner, X_pool, n_instances=1, **kwargs):
        """Select samples in modAL's query-strategy convention.

        Returns the indices for modAL-python 0.4.1 (and for a plain
        estimator), ``(indices, utilities)`` for learners whose ``query``
        unpacks query metrics (modAL-python >= 0.4.2).
        """
        indices = self.select(learner, X_pool, n_instances=n_instances, **kwargs)
        if _expects_metrics(learner):
            return indices, self.scores_[indices]
        return indices

    # -- for subclasses -------------------------------------------------------

    def _score(self, context):  # pragma: no cover - abstract
        raise NotImplementedError

    def _context(self, learner, X_pool, X_labelled, y_labelled):
        estimator, X_labelled, y_labelled = resolve_learner(
            learner, X_labelled, y_labelled
        )
        raw_pool, raw_labelled = X_pool, X_labelled
        X_pool = check_pool(X_pool, accept_sparse=self._accept_sparse)
        if X_labelled is not None:
            X_labelled, y_labelled = check_labelled(
                X_labelled,
                y_labelled,
                accept_sparse=self._accept_sparse,
                allow_nan_y=self._allow_nan_y,
            )
            if X_labelled.shape[1:] != X_pool.shape[1:]:
                raise ValueError(
                    "X_labelled and X_pool must have samples of the same shape, got "
                    f"{X_labelled.shape[1:]} and {X_pool.shape[1:]}."
                )
        pipeline = None
        if isinstance(estimator, Pipeline):
            pipeline = estimator
            head = estimator[:-1]
            X_pool = self._transform(head, raw_pool, X_pool, "X_pool")
            if X_labelled is not None:
                X_labelled = self._transform(
                    head, raw_labelled, X_labelled, "X_labelled"
                )
            estimator = estimator[-1]
        context = QueryContext(estimator, X_pool, X_labelled, y_labelled, pipeline)
        if self._needs_labelled:
            context.require_labelled(type(self).__name__)
        return context

    def _transform(self, head, raw, checked, name):
        """``checked`` through the pipeline's preceding steps, validated again.

        A pandas DataFrame is passed on as it is, so that steps fitted on
        frames see their feature names (and do not warn).
        """
        X = head.transform(raw if hasattr(raw, "columns") else checked)
        return check_pool(
            X,
            name=f"{name} after the pipeline's preceding steps",
            accept_sparse=self._accept_sparse,
        )


def _n_samples(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    try:
        return len(X)
    except TypeError as exc:
        raise TypeError(
            f"X_pool must be an array of samples, got {type(X).__name__}."
        ) from exc
