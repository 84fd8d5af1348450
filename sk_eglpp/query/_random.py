"""Random sampling: the baseline every strategy is compared with."""


from .._validation import check_pool
from ._base import BaseQueryStrategy, QueryContext, resolve_learner, shared_default

__all__ = ["RandomQuery", "random_query"]


class RandomQuery(BaseQueryStrategy):
    """Select pool samples uniformly at random, without replacement.

    The score of every pool sample is a uniform random number in ``[0, 1)``;
    the selection is the samples with the largest numbers, i.e. a uniformly
    random subset in random order. The model is not used, so any learner
    (modAL learner, fitted or unfitted estimator, pipeline) is accepted and
    the pool may have any shape (images included) or be sparse.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Source of the random numbers. An int gives the same numbers on every
        call (so the same selection for the same pool); pass a
        :class:`numpy.random.RandomState` to draw fresh numbers on every call
        while staying reproducible.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Random numbers of the last call (not kept by the shared default
        instance ``random_query``; see
        :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    LinearEGLQuery, EMCMQuery : model-based strategies for linear models.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp import RandomQuery
    >>> X_pool = np.arange(20.0).reshape(10, 2)
    >>> query = RandomQuery(random_state=0)
    >>> idx = query(LinearRegression(), X_pool, n_instances=3)
    >>> idx.shape, len(set(idx.tolist()))
    ((3,), 3)
    >>> np.array_equal(idx, RandomQuery(random_state=0)(None, X_pool, 3))
    True
    """

    _accept_sparse = True
    _accept_committee = True
    _parameter_constraints = {"random_state": ["random_state", None]}

    def __init__(self, random_state=None):
        self.random_state = random_state

    def score(self, learner, X_pool, *, X_labelled=None, y_labelled=None):
        """Random utilities, one per pool sample.

        Parameters
        ----------
        learner : modAL learner, estimator or None
            Not used (random sampling needs no model); accepted for the common
            strategy signature.
        X_pool : array-like or sparse matrix of shape (n_pool, ...)
            Unlabelled samples; only their number matters, but they must be
            finite.
        X_labelled, y_labelled : array-like, default=None
            Not used; checked for consistency only when ``learner`` is given.

        Returns
        -------
        scores : ndarray of shape (n_pool,)
            Uniform random numbers in ``[0, 1)``.
        """
        return super().score(
            learner, X_pool, X_labelled=X_labelled, y_labelled=y_labelled
        )

    def _context(self, learner, X_pool, X_labelled, y_labelled):
        # The model is never used: only the pool's size matters.
        if learner is not None:
            resolve_learner(learner, X_labelled, y_labelled)
        X_pool = check_pool(X_pool, accept_sparse=True)
        return QueryContext(None, X_pool, None, None)

    def _score(self, context):
        rng = self._rng()
        return rng.random_sample(context.n_pool)


#: default :class:`RandomQuery` instance
random_query = shared_default(RandomQuery())
