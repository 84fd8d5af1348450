"""Core-set selection by k-center greedy (Sener & Savarese, 2018)."""

import numpy as np
from scipy.spatial.distance import cdist

from .._chunking import chunked_row_min
from .._param_validation import POSITIVE_INT
from .._validation import check_n_instances
from ..neighbors import common_scale
from ._base import BaseQueryStrategy, count_samples, embed_context, shared_default

__all__ = ["CoreSetQuery", "coreset"]


class CoreSetQuery(BaseQueryStrategy):
    """Core-set query strategy: k-center greedy in an embedding space.

    Sener & Savarese (2018) choose the batch that minimises the covering radius
    of the pool: the largest distance from a pool sample to its nearest centre.
    The greedy 2-approximation starts with the labelled samples as centres and
    repeatedly adds the pool sample farthest from all current centres. The
    selection is exact (no approximate neighbour search).

    Parameters
    ----------
    embedding : callable, default=None
        ``embedding(X) -> ndarray (n_samples, n_dims)``, the space distances are
        measured in. ``None`` uses the model's ``embed(X)`` (e.g.
        :meth:`HourglassRegressor.embed <sk_eglpp.HourglassRegressor.embed>`)
        and, for a model without ``embed``, the raw samples when they are 2-D
        ``(n_samples, n_features)``. With a pipeline, ``X`` is the output of the
        steps before the final one.
    chunk_size : int, default=1024
        Number of pool samples whose distances to the labelled set are computed
        at once; memory for distances is ``chunk_size x n_labelled`` floats.
    random_state : int, RandomState instance or None, default=None
        Used only without a labelled set, to draw the first centre uniformly
        from the pool.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Distance of every pool sample to its nearest labelled sample, from the
        last :meth:`score` or :meth:`select` call.
    pick_distances_ : ndarray of shape (n_instances,)
        After :meth:`select` (or a call): the distance of each chosen sample to
        the nearest centre at the moment it was chosen (``inf`` for a random
        first pick). These are the utilities returned to modAL >= 0.4.2.
    covering_radius_ : float
        After :meth:`select`: the largest distance from a pool sample to its
        nearest centre (labelled and selected samples).

    The shared default instance ``coreset`` keeps none of these (see
    :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    EGLPlusPlusQuery : also works on the model's embeddings.
    RandomQuery : the baseline.

    Notes
    -----
    With the pool embeddings ``z_i`` and centres ``C`` (the labelled set), every
    step picks ``argmax_i min_{c in C} ||z_i - c||`` (lowest index on ties) and
    adds it to ``C``. Only the vector of minimum distances is kept and it is
    updated with the distances to the new centre, so ``B`` picks cost
    ``O(B * n_pool * d)`` after the initial ``O(n_pool * n_labelled * d)``.
    Without a labelled set the first centre is drawn uniformly at random with
    ``random_state``. The pool's embeddings (``n_pool x d``) are held in
    memory; distances never exceed a ``chunk_size x n_labelled`` block. A
    sample already chosen is never chosen again, even when duplicates make all
    remaining distances zero.

    Embeddings of extreme magnitude (largest absolute value outside
    ``[2**-250, 2**250]``, e.g. ``1e155`` whose squared distances overflow)
    are divided by a common power of two before distances are taken; the
    greedy choices are invariant to it, and the reported distances are in
    the original units. A ``ValueError`` is raised if distances are still not
    finite (in the original units they may exceed the float64 range).

    A modAL ``Committee`` / ``CommitteeRegressor`` is accepted as the learner:
    its labelled set is the union of its members' labelled sets; without
    ``embedding`` the distances are taken between the raw samples (the
    committee has no single ``embed``).

    :meth:`score` returns the distance to the nearest labelled sample (``inf``
    for every sample when there is no labelled set: the minimum over an empty
    set); :meth:`select` does *not* take the top of these scores, since the
    greedy choice accounts for the samples picked before.

    References
    ----------
    .. [1] O. Sener and S. Savarese, "Active Learning for Convolutional Neural
       Networks: A Core-Set Approach", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp import CoreSetQuery
    >>> X_lab, y_lab = np.array([[0.0, 0.0]]), np.array([0.0])
    >>> X_pool = np.array([[1.0, 0.0], [5.0, 0.0], [0.0, 3.0]])
    >>> model = LinearRegression().fit(X_lab, y_lab)
    >>> strategy = CoreSetQuery()
    >>> strategy.select(model, X_pool, n_instances=2,
    ...                 X_labelled=X_lab, y_labelled=y_lab)
    array([1, 2])
    >>> float(strategy.covering_radius_)
    1.0
    """

    #: y is never read, so unannotated (NaN) joints are fine
    _allow_nan_y = True
    _accept_committee = True
    _parameter_constraints = {
        "embedding": [None, callable],
        "chunk_size": [POSITIVE_INT],
        "random_state": ["random_state", None],
    }

    def __init__(self, embedding=None, chunk_size=1024, random_state=None):
        self.embedding = embedding
        self.chunk_size = chunk_size
        self.random_state = random_state

    def _initial_distances(self, context):
        """Scaled pool embeddings, their scaled distances to the labelled set
        and the scale (distances in original units are ``scale`` times them)."""
        chunk_size = int(self.chunk_size)
        Z, Z_lab = embed_context(context, self.embedding)
        scale = common_scale(Z, Z_lab)
        if scale != 1.0:
            Z = Z / scale
            Z_lab = None if Z_lab is None else Z_lab / scale
        if Z_lab is None:
            return Z, np.full(Z.shape[0], np.inf), scale
        # at most a chunk_size x n_labelled block of distances at a time
        min_dist = chunked_row_min(
            Z.shape[0], lambda rows: cdist(Z[rows], Z_lab), chunk_size
        )
        _check_finite(min_dist)
        return Z, min_dist, scale

    def _score(self, context):
        _, min_dist, scale = self._initial_distances(context)
        return _in_units(min_dist, scale)

    def select(self, learner, X_pool, n_instances=1, *, return_utilities=False,
               X_labelled=None, y_labelled=None):
        """Choose ``n_instances`` pool samples by k-center greedy.

        Parameters
        ----------
        learner : modAL learner or fitted estimator
            Where the model (and, for a modAL learner, the labelled data) come
            from.
        X_pool : array-like of shape (n_pool, ...)
            Unlabelled samples.
        n_instances : int, default=1
            Number of samples to select, in ``[1, n_pool]``.
        return_utilities : bool, default=False
            Whether to return every pool sample's utility too: its distance to
            the nearest labelled sample (:meth:`score`), before any pick.
        X_labelled, y_labelled : array-like, default=None
            Labelled data (the initial centres) when ``learner`` is an
            estimator; they take precedence over a modAL learner's.

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Indices into ``X_pool`` in the order they were chosen.
        utilities : ndarray of shape (n_pool,)
            Only with ``return_utilities=True``.
        """
        return super().select(
            learner,
            X_pool,
            n_instances=n_instances,
            return_utilities=return_utilities,
            X_labelled=X_labelled,
            y_labelled=y_labelled,
        )

    def _query(self, learner, X_pool, n_instances=1, *, X_labelled=None,
               y_labelled=None):
        n_instances = check_n_instances(n_instances, count_samples(X_pool))
        context = self._context(learner, X_pool, X_labelled, y_labelled)
        Z, min_dist, scale = self._initial_distances(context)
        # a copy: min_dist shrinks as centres are picked, the scores do not
        scores = _in_units(min_dist.copy(), scale)
        available = np.ones(Z.shape[0], dtype=bool)
        indices = np.empty(n_instances, dtype=np.intp)
        gains = np.empty(n_instances)
        for b in range(n_instances):
            if b == 0 and context.X_labelled is None:
                idx = int(self._rng().randint(Z.shape[0]))
            else:
                idx = int(np.argmax(np.where(available, min_dist, -1.0)))
            indices[b], gains[b] = idx, min_dist[idx]
            available[idx] = False
            new = cdist(Z, Z[idx : idx + 1])[:, 0]
            _check_finite(new)
            np.minimum(min_dist, new, out=min_dist)
        pick_distances = _in_units(gains, scale)
        diagnostics = {
            "scores_": scores,
            "pick_distances_": pick_distances,
            "covering_radius_": float(_in_units(min_dist.max(), scale)),
        }
        return indices, pick_distances, diagnostics


def _check_finite(distances):
    if not np.all(np.isfinite(distances)):
        raise ValueError(
            "CoreSetQuery: distances between the embeddings are not finite even "
            "after rescaling them; check the embeddings."
        )


def _in_units(distances, scale):
    """Distances (computed on embeddings divided by ``scale``) in original units.

    ``inf`` (no centre yet) stays ``inf``; a finite distance that exceeds the
    float64 range in the original units raises a ``ValueError``.
    """
    if scale == 1.0:
        return distances
    with np.errstate(over="ignore"):  # checked just below
        out = np.multiply(distances, scale)
    if np.any(np.isinf(out) & np.isfinite(distances)):
        raise ValueError(
            "CoreSetQuery: distances between the embeddings exceed the float64 "
            "range in their original units; divide the embeddings by a constant."
        )
    return out


#: default :class:`CoreSetQuery` instance
coreset = shared_default(CoreSetQuery())
