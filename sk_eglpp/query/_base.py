"""Shared machinery of the query strategies.

A strategy is a scikit-learn style object (parameters stored in ``__init__``,
``get_params`` / ``set_params`` / ``clone`` work) whose instances are callables
in modAL's convention. Subclasses implement :meth:`BaseQueryStrategy._score`
(and may override :meth:`BaseQueryStrategy._query` when the selection is not a
top-B of independent scores, as for k-center greedy).

A call never reads anything back from the instance: ``_score`` returns the
scores (and the call's diagnostics), ``_query`` returns indices, utilities and
diagnostics, and only then are the diagnostics published on the instance for
users to read. Concurrent calls on one instance therefore cannot mix up their
results.
"""

import inspect
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from .._param_validation import (
    ParamValidationMixin,
    StrOptions,
    validate_call,
    validate_param,
)
from .._validation import check_labelled, check_n_instances, check_pool
from ._batch import BATCH_MODES, select_batch

__all__ = [
    "BATCH",
    "BaseQueryStrategy",
    "QueryTags",
    "get_query_tags",
    "select_with_utilities",
    "QueryContext",
    "resolve_learner",
    "committee_labelled",
    "check_embedding",
    "embed_context",
]

#: the constraint of a strategy's ``batch`` parameter
BATCH = [StrOptions(BATCH_MODES)]


@dataclass(frozen=True)
class QueryTags:
    """What a query strategy needs and accepts, read by :func:`get_query_tags`.

    The command line, the labelling round and the simulation decide from these
    which strategies fit a model, never from lists of names.

    Parameters
    ----------
    model : {"any", "network", "linear"}
        The model the strategy scores with: ``"network"``, a torch network
        wrapped with skorch (gradients, heatmaps, a loss head or dropout of
        :class:`~sk_eglpp.models.HourglassRegressor`); ``"linear"``, a linear
        regressor or a bootstrap ensemble of them (closed forms); ``"any"``,
        any fitted estimator (embeddings or the samples themselves).
    committee : bool
        Whether a modAL ``Committee`` / ``CommitteeRegressor`` is accepted as
        the learner.
    batch : bool
        Whether the strategy has a ``batch`` parameter (batch-aware selection,
        :data:`~sk_eglpp.query.BATCH_MODES`).
    sparse : bool
        Whether scipy sparse pools are accepted.
    needs_labelled : bool
        Whether the strategy reads the labelled set.

    Examples
    --------
    >>> from sk_eglpp.query import STRATEGIES, QueryTags, get_query_tags
    >>> QueryTags().model
    'any'
    >>> sorted(n for n in STRATEGIES if get_query_tags(n).model == "linear")
    ['egl_linear', 'emcm']
    """

    model: str = "any"
    committee: bool = False
    batch: bool = False
    sparse: bool = False
    needs_labelled: bool = False


def get_query_tags(strategy):
    """The :class:`QueryTags` of a strategy object or of a built-in name.

    Parameters
    ----------
    strategy : BaseQueryStrategy, str or callable
        A strategy, a name of :data:`~sk_eglpp.query.STRATEGIES`, or a bare
        callable in modAL's convention (which gets the default tags: any
        model, nothing else promised).

    Returns
    -------
    tags : QueryTags

    Examples
    --------
    >>> from sk_eglpp.query import get_query_tags
    >>> get_query_tags("egl_pp").model, get_query_tags("emcm").model
    ('network', 'linear')
    >>> get_query_tags("egl_pp")  # doctest: +NORMALIZE_WHITESPACE
    QueryTags(model='network', committee=False, batch=True, sparse=False,
              needs_labelled=True)
    """
    if isinstance(strategy, str):
        from . import STRATEGIES

        if strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown strategy {strategy!r}; expected one of {sorted(STRATEGIES)}."
            )
        strategy = STRATEGIES[strategy]
    tags = getattr(strategy, "__query_tags__", None)
    if tags is None:
        if not callable(strategy):
            raise TypeError(
                "strategy must be a strategy object, a name or a callable, got "
                f"{type(strategy).__name__}."
            )
        return QueryTags()
    return tags()


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


def is_committee(obj):
    """Whether ``obj`` is a modAL committee (``Committee``, ``CommitteeRegressor``).

    modAL's committees hold their members in ``learner_list`` and have no
    ``estimator`` of their own.
    """
    members = getattr(obj, "learner_list", None)
    return (
        not _is_modal_learner(obj)
        and isinstance(members, list | tuple)
        and len(members) > 0
        and all(_is_modal_learner(m) for m in members)
    )


def _row_keys(X, y):
    """A hashable key per (sample, target) row, for the committee's union."""
    if sparse.issparse(X):
        X = X.toarray()
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return [X[i].tobytes() + b"|" + y[i].tobytes() for i in range(len(y))]


def _stack(parts):
    if any(sparse.issparse(p) for p in parts):
        return sparse.vstack([sparse.csr_matrix(p) for p in parts], format="csr")
    return np.concatenate([np.asarray(p) for p in parts])


def committee_labelled(committee):
    """The labelled set of a modAL committee: the union of its members' sets.

    modAL keeps the labelled data in every member (``teach`` adds the same
    samples to all of them; the committee's own ``X_training`` stays ``None``).
    When the members hold the same set, that set is returned. Otherwise the
    result is the multiset union of the members' ``(sample, target)`` rows: a
    row occurs as often as in the member holding it most often, in the order of
    first occurrence (members in order). Members without data are skipped.

    Parameters
    ----------
    committee : modAL Committee or CommitteeRegressor
        The committee.

    Returns
    -------
    X_labelled, y_labelled : arrays or None
        ``None, None`` when no member has labelled data.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace as Member
    >>> a = Member(estimator=None, X_training=np.array([[0.0], [1.0]]),
    ...            y_training=np.array([0.0, 1.0]))
    >>> b = Member(estimator=None, X_training=np.array([[1.0], [2.0]]),
    ...            y_training=np.array([1.0, 2.0]))
    >>> X, y = committee_labelled(Member(learner_list=[a, b]))
    >>> X.ravel().tolist(), y.tolist()
    ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0])
    """
    members = [
        m
        for m in committee.learner_list
        if getattr(m, "X_training", None) is not None
        and getattr(m, "y_training", None) is not None
    ]
    if not members:
        return None, None
    first = members[0]
    if all(
        m.X_training is first.X_training and m.y_training is first.y_training
        for m in members
    ):
        return first.X_training, first.y_training
    X_parts, y_parts, emitted = [], [], {}
    for m in members:
        X_m = m.X_training if sparse.issparse(m.X_training) else np.asarray(
            m.X_training
        )
        y_m = np.asarray(m.y_training)
        if y_m.shape[:1] != X_m.shape[:1]:
            raise ValueError(
                f"A committee member has {X_m.shape[0]} training samples but "
                f"targets of shape {y_m.shape}."
            )
        seen, keep = {}, []
        for i, key in enumerate(_row_keys(X_m, y_m)):
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > emitted.get(key, 0):
                emitted[key] = seen[key]
                keep.append(i)
        if keep:
            X_parts.append(X_m[keep])
            y_parts.append(y_m[keep])
    return _stack(X_parts), np.concatenate(y_parts)


def resolve_learner(learner, X_labelled=None, y_labelled=None):
    """Split ``learner`` into its estimator and its labelled data.

    Parameters
    ----------
    learner : modAL learner, modAL committee or estimator
        A modAL learner (labelled data read from ``X_training`` /
        ``y_training``), a modAL ``Committee`` / ``CommitteeRegressor``
        (returned as the estimator, with the union of its members' labelled
        data, see :func:`committee_labelled`) or a fitted estimator.
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
    elif is_committee(learner):
        estimator = learner
        if X_labelled is None and y_labelled is None:
            X_labelled, y_labelled = committee_labelled(learner)
    else:
        estimator = learner
    if (X_labelled is None) != (y_labelled is None):
        raise ValueError(
            "X_labelled and y_labelled must be given together, got only "
            f"{'X_labelled' if y_labelled is None else 'y_labelled'}."
        )
    return estimator, X_labelled, y_labelled


def check_embedding(embedding):
    """Check a strategy's ``embedding`` parameter: ``None`` or a callable.

    Examples
    --------
    >>> check_embedding(None) is None
    True
    >>> check_embedding("pca")
    Traceback (most recent call last):
    ...
    TypeError: embedding must be None or a callable X -> (n_samples, n_dims), got str.
    """
    if embedding is not None and not callable(embedding):
        raise TypeError(
            "embedding must be None or a callable X -> (n_samples, n_dims), "
            f"got {type(embedding).__name__}."
        )
    return embedding


def _embed(estimator, X, embedding, name, flatten):
    """Embeddings ``(n, d)`` of ``X`` as float64.

    From ``embedding(X)`` when given, else ``estimator.embed(X)``, else the
    samples themselves: flattened with ``flatten=True``, required to be 2-D
    otherwise.
    """
    if check_embedding(embedding) is not None:
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
    if query is None or not (_is_modal_learner(learner) or is_committee(learner)):
        return False
    try:
        return "return_metrics" in inspect.signature(query).parameters
    except (TypeError, ValueError):  # pragma: no cover - exotic callables
        return False


class BaseQueryStrategy(ParamValidationMixin, BaseEstimator):
    """Base class of the query strategies (not for direct use).

    Subclasses implement ``_score(context)`` returning one utility per pool
    sample, or a tuple ``(scores, diagnostics)`` where ``diagnostics`` is a
    dict ``{attribute_name: value}`` of intermediate results to publish on the
    instance (``neighbors_``, ...).

    Parameters are validated at call time (:meth:`score`, :meth:`select`,
    ``__call__``), never in ``__init__``, against the class's
    ``_parameter_constraints`` (see :mod:`sk_eglpp._param_validation`): a value
    of the wrong type raises ``TypeError``, a value of the right type outside
    the allowed ones ``ValueError``, with a message naming the class and the
    parameter. A subclass declares a constraint for every parameter.

    Notes
    -----
    **Threads.** :meth:`score`, :meth:`select` and ``__call__`` are safe to
    call concurrently on one instance (e.g. a module-level default such as
    ``egl_linear`` used by several learners in threads): every call computes
    its indices and utilities from its own arguments and never reads them back
    from the instance. The diagnostics attributes (``scores_`` and the
    strategy's own, such as ``neighbors_`` or ``pick_distances_``) are set
    after each call; on an instance shared by concurrent calls they are those
    of whichever call finished last, so read them only on an instance that one
    thread uses at a time. The model itself is another matter: a strategy that
    temporarily changes the model (:class:`~sk_eglpp.query.MCDropoutQuery`
    switches its dropout layers) serialises its own calls, but other code using
    the same model at the same time sees the change.

    **Default instances keep no diagnostics.** The module-level instances
    (``egl_pp``, ``egl_linear``, ``random_query``, ...) are shared by the whole
    process, so they do not keep the last pool's arrays alive: reading
    ``scores_`` on them raises an ``AttributeError`` that says so. Use an own
    instance (``EGLPlusPlusQuery(...)`` or
    :func:`~sk_eglpp.query.get_strategy`) to read the diagnostics.

    Examples
    --------
    A strategy scoring pool samples by their distance to the labelled mean:

    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp.query import BaseQueryStrategy
    >>> class FarFromLabelled(BaseQueryStrategy):
    ...     _needs_labelled = True
    ...     _parameter_constraints = {}
    ...     def _score(self, context):
    ...         centre = context.X_labelled.mean(axis=0)
    ...         return np.linalg.norm(context.X_pool - centre, axis=1)
    >>> X = np.array([[0.0], [1.0], [5.0], [2.0]])
    >>> model = LinearRegression().fit(X[:2], [0.0, 1.0])
    >>> strategy = FarFromLabelled()
    >>> strategy.select(model, X[2:], n_instances=1,
    ...                 X_labelled=X[:2], y_labelled=[0.0, 1.0])
    array([0])
    >>> strategy.scores_
    array([4.5, 1.5])
    """

    #: whether scipy sparse pools are accepted (linear strategies)
    _accept_sparse = False
    #: whether the strategy reads the labelled set
    _needs_labelled = False
    #: whether NaN is allowed in y (missing joints)
    _allow_nan_y = False
    #: whether a modAL committee is accepted as the learner (the strategy then
    #: gets the committee itself as ``context.estimator``)
    _accept_committee = False
    #: the model the strategy needs: "any", "network" or "linear"
    _model = "any"

    # -- public API -----------------------------------------------------------

    def __query_tags__(self):
        """This strategy's :class:`QueryTags` (see :func:`get_query_tags`)."""
        return QueryTags(
            model=self._model,
            committee=self._accept_committee,
            batch="batch" in self.get_params(deep=False),
            sparse=self._accept_sparse,
            needs_labelled=self._needs_labelled,
        )

    @validate_call
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
        scores, diagnostics, _ = self._scores_and_diagnostics(context)
        self._publish(diagnostics)
        return scores

    @validate_call
    def select(self, learner, X_pool, n_instances=1, *, return_utilities=False,
               **kwargs):
        """Indices of the ``n_instances`` most informative pool samples.

        Parameters
        ----------
        learner : modAL learner or fitted estimator
            See :meth:`score`.
        X_pool : array-like of shape (n_pool, ...)
            Unlabelled samples.
        n_instances : int, default=1
            Number of samples to select, in ``[1, n_pool]``.
        return_utilities : bool, default=False
            Whether to return the utility of every pool sample as well, as
            scikit-activeml's ``query`` does.
        **kwargs
            ``X_labelled`` / ``y_labelled``, see :meth:`score`.

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Integer indices into ``X_pool``, most informative first, unique.
        utilities : ndarray of shape (n_pool,)
            Only with ``return_utilities=True``: the utility of every pool
            sample from the same computation as the selection (what
            :meth:`score` returns; for a batch mode, the scores before the
            batch-aware pick).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from sk_eglpp.query import RandomQuery
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> model = LinearRegression().fit(X, X.sum(axis=1))
        >>> idx, utilities = RandomQuery(random_state=0).select(
        ...     model, X, n_instances=2, return_utilities=True)
        >>> idx.shape, utilities.shape, bool(utilities[idx].min() >= np.delete(
        ...     utilities, idx).max())
        ((2,), (5,), True)
        """
        validate_param(return_utilities, "return_utilities", ["boolean"],
                       type(self).__name__)
        indices, _, diagnostics = self._query(
            learner, X_pool, n_instances=n_instances, **kwargs
        )
        self._publish(diagnostics)
        if return_utilities:
            return indices, diagnostics["scores_"]
        return indices

    @validate_call
    def __call__(self, learner, X_pool, n_instances=1, **kwargs):
        """Select samples in modAL's query-strategy convention.

        Returns the indices for modAL-python 0.4.1 (and for a plain
        estimator), ``(indices, utilities)`` for learners whose ``query``
        unpacks query metrics (modAL-python >= 0.4.2). The utilities are the
        scores of the selected samples (for k-center greedy: the distances at
        which they were picked).
        """
        indices, utilities, diagnostics = self._query(
            learner, X_pool, n_instances=n_instances, **kwargs
        )
        self._publish(diagnostics)
        if _expects_metrics(learner):
            return indices, utilities
        return indices

    def __getattr__(self, name):
        # Only reached when the attribute does not exist: explain the missing
        # diagnostics of a shared default instance.
        if (
            self.__dict__.get("_shared_default", False)
            and name.endswith("_")
            and not name.startswith("_")
        ):
            kind = type(self).__name__
            raise AttributeError(
                f"{name!r}: the module-level default {kind} instance is shared by "
                "the whole process and keeps no diagnostics of its calls; use an "
                f"own instance ({kind}(...) or sk_eglpp.query.get_strategy(name)) "
                "to read them."
            )
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    # -- for subclasses -------------------------------------------------------

    def _score(self, context):  # pragma: no cover - abstract
        raise NotImplementedError

    def _scores_and_diagnostics(self, context):
        """``_score`` as ``(scores, diagnostics, private)``.

        ``diagnostics`` holds ``scores_`` and the strategy's published
        attributes; keys of ``_score``'s dict that start with ``_`` are for the
        selection only (``"_space"``: the pool and labelled set in the space
        the batch modes measure distances in) and are returned apart.
        """
        result = self._score(context)
        diagnostics = {}
        if isinstance(result, tuple):
            result, diagnostics = result
        scores = np.asarray(result, dtype=np.float64)
        if scores.shape != (context.n_pool,):
            raise ValueError(
                f"{type(self).__name__} must give one score per pool sample, shape "
                f"({context.n_pool},), got shape {scores.shape}."
            )
        private = {k: v for k, v in diagnostics.items() if k.startswith("_")}
        public = {k: v for k, v in diagnostics.items() if not k.startswith("_")}
        return scores, {"scores_": scores, **public}, private

    def _rng(self):
        """The strategy's ``random_state`` as a ``RandomState``, drawn from here.

        Every strategy with randomness (or random tie-breaking in a batch
        mode) takes its draws from this, so ``random_state`` means the same
        everywhere: an int gives the same draws on every call, a
        ``RandomState`` advances, ``None`` uses numpy's global generator.
        Strategies without the parameter get the global generator (their
        ``"top"`` selection draws nothing).
        """
        return check_random_state(getattr(self, "random_state", None))

    def _batch_mode(self):
        """The ``batch`` parameter; ``"top"`` for strategies without one."""
        return getattr(self, "batch", "top")

    def _query(self, learner, X_pool, n_instances=1, *, X_labelled=None,
               y_labelled=None):
        """``(indices, utilities, diagnostics)`` of one selection.

        The default is the top ``n_instances`` of :meth:`_score`, or, for a
        strategy with a ``batch`` parameter, the batch mode it names (see
        :func:`~sk_eglpp.query.select_batch`). Strategies whose selection is
        not made from independent scores override this.
        """
        n_instances = check_n_instances(n_instances, count_samples(X_pool))
        mode = self._batch_mode()
        context = self._context(learner, X_pool, X_labelled, y_labelled)
        scores, diagnostics, private = self._scores_and_diagnostics(context)
        Z, Z_labelled = private.get("_space", (context.X_pool, context.X_labelled))
        if mode != "top" and Z.ndim != 2:
            Z = Z.reshape(Z.shape[0], -1)
            Z_labelled = None if Z_labelled is None else Z_labelled.reshape(
                Z_labelled.shape[0], -1
            )
        indices, utilities = select_batch(
            scores,
            Z,
            n_instances,
            mode=mode,
            Z_labelled=Z_labelled,
            random_state=self._rng(),
            chunk_size=getattr(self, "chunk_size", 1024),
        )
        return indices, utilities, diagnostics

    def _publish(self, diagnostics):
        """Set the last call's diagnostics on the instance, all in one update.

        Nothing in the library reads them back. The shared module-level default
        instances keep none (see the class Notes).
        """
        if not self.__dict__.get("_shared_default", False):
            self.__dict__.update(diagnostics)

    def _context(self, learner, X_pool, X_labelled, y_labelled):
        if is_committee(learner) and not self._accept_committee:
            raise TypeError(
                f"{type(self).__name__} needs a single model, got a modAL "
                f"{type(learner).__name__} (a committee of "
                f"{len(learner.learner_list)} learners); query with one of its "
                "learners (committee.learner_list[i]) instead."
            )
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


def _takes_return_utilities(strategy):
    """Whether ``strategy.select`` has ``return_utilities`` (a subclass may not)."""
    try:
        return "return_utilities" in inspect.signature(strategy.select).parameters
    except (TypeError, ValueError):  # pragma: no cover - exotic callables
        return False


def select_with_utilities(strategy, learner, X_pool, n_instances, **kwargs):
    """Indices a strategy selects, and every pool sample's utility when it has one.

    A :class:`BaseQueryStrategy` gives its utilities
    (``select(..., return_utilities=True)``); any other object with ``select``
    (or a subclass whose own ``select`` lacks ``return_utilities``), or a bare
    callable in modAL's convention, gives the indices and ``None``.
    ``kwargs`` are passed on (``X_labelled``, ``y_labelled``).

    Returns
    -------
    indices : ndarray
        As the strategy returned them (not checked here).
    utilities : ndarray of shape (n_pool,) or None

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp.query import RandomQuery, select_with_utilities
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> model = LinearRegression().fit(X, X.sum(axis=1))
    >>> idx, utilities = select_with_utilities(RandomQuery(random_state=0), model, X, 2)
    >>> idx.shape, utilities.shape
    ((2,), (4,))
    >>> select_with_utilities(lambda learner, X, n_instances: [0], model, X, 1)
    ([0], None)
    """
    if isinstance(strategy, BaseQueryStrategy) and _takes_return_utilities(strategy):
        return strategy.select(
            learner, X_pool, n_instances=n_instances, return_utilities=True, **kwargs
        )
    if hasattr(strategy, "select"):
        return strategy.select(learner, X_pool, n_instances=n_instances, **kwargs), None
    if not callable(strategy):
        raise TypeError(
            "strategy must be a strategy object with select() or a callable, got "
            f"{type(strategy).__name__}."
        )
    result = strategy(learner, X_pool, n_instances=n_instances, **kwargs)
    if isinstance(result, tuple) and len(result) == 2:
        result = result[0]
    return result, None


def count_samples(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    try:
        return len(X)
    except TypeError as exc:
        raise TypeError(
            f"X_pool must be an array of samples, got {type(X).__name__}."
        ) from exc


def shared_default(strategy):
    """Mark a module-level default instance: it keeps no diagnostics.

    ``clone``, ``get_params`` and ``repr`` do not see the mark, so a clone
    (e.g. :func:`~sk_eglpp.query.get_strategy`) is an ordinary instance.
    """
    strategy._shared_default = True
    return strategy
