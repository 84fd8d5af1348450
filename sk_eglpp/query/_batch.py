"""Batch selection from per-sample utilities: top-B and batch-aware modes.

A strategy that scores every pool sample on its own (EGL++, the linear
expected gradient length, EMCM) picks its batch here. ``"top"`` takes the B
largest utilities, as the paper does; the other modes spend the batch on
images that are informative *and* unlike the ones already chosen in this
batch, measured in the space the strategy works in (EGL++: the model's
embeddings; the linear strategies: the features of the final pipeline step).

Every pick costs one pass over the pool's distances to the newly chosen
sample, computed ``chunk_size`` rows at a time, so memory stays bounded by a
chunk (plus a vector per pool sample).

:func:`information_density` is the representativeness weight the linear
strategies can multiply their utilities with (``density=``), in the same space
and with the same length scale.
"""

import numpy as np
from scipy import sparse
from sklearn.metrics import pairwise_distances_argmin_min, pairwise_distances_chunked
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state, gen_batches

from .._param_validation import POSITIVE_INT, StrOptions, validate_params
from .._validation import check_n_instances, top_indices

__all__ = ["BATCH_MODES", "select_batch", "diversity_scale", "information_density"]

#: the values of a strategy's ``batch`` parameter
BATCH_MODES = ("top", "diverse", "kmeans++")


def _sq_distances_to(Z, z, chunk_size):
    """Squared Euclidean distance of every row of ``Z`` to the row ``z``."""
    out = np.empty(Z.shape[0])
    if sparse.issparse(z):
        z = z.toarray().ravel()
    for rows in gen_batches(Z.shape[0], chunk_size):
        block = Z[rows]
        if sparse.issparse(block):  # densified one chunk at a time
            block = block.toarray()
        block = block - z
        out[rows] = np.einsum("ij,ij->i", block, block)
    return out


def diversity_scale(Z, Z_labelled=None):
    """The length scale of ``batch="diverse"``.

    The median distance from a pool sample to its nearest labelled sample, or,
    without a labelled set, to its nearest other pool sample: how far apart
    samples of this pool typically are from the data the model already has.

    Parameters
    ----------
    Z : ndarray or sparse matrix of shape (n_pool, d)
        The pool in the strategy's space.
    Z_labelled : ndarray or sparse matrix of shape (n_labelled, d), default=None
        The labelled set in the same space.

    Returns
    -------
    scale : float

    Examples
    --------
    >>> import numpy as np
    >>> diversity_scale(np.array([[0.0], [1.0], [3.0]]), np.array([[0.0]]))
    1.0
    """
    if Z_labelled is not None and Z_labelled.shape[0] > 0:
        _, distances = pairwise_distances_argmin_min(Z, Z_labelled)
    elif Z.shape[0] > 1:
        distances, _ = NearestNeighbors(n_neighbors=2).fit(Z).kneighbors(Z)
        distances = distances[:, 1]
    else:
        return 0.0
    return float(np.median(distances))


def information_density(Z, Z_labelled=None):
    """How typical each pool sample is of the pool: its mean similarity to it.

    ``rho_i = mean_{j != i} exp(-||z_i - z_j||^2 / (2 s^2))`` over the other
    pool samples ``j``, ``s`` the :func:`diversity_scale` (``rho = 1`` for a
    pool of one). Samples in dense regions of the pool score near the largest
    values, isolated outliers near 0: the sample itself is left out, so that
    its own similarity (1) gives an outlier no floor of ``1 / n_pool``, which
    utilities that grow with ``||x||^4`` (Eq. 6) would outweigh. This is the
    information density of Settles and Craven (2008) with a Gaussian
    similarity. The pool-by-pool distances are computed in blocks bounded by
    scikit-learn's ``working_memory``.

    Parameters
    ----------
    Z : ndarray or sparse matrix of shape (n_pool, d)
        The pool in the strategy's space.
    Z_labelled : ndarray or sparse matrix of shape (n_labelled, d), default=None
        The labelled set, for the scale.

    Returns
    -------
    density : ndarray of shape (n_pool,)
        Values in ``[0, 1]``.

    References
    ----------
    .. [1] B. Settles and M. Craven, "An analysis of active learning
       strategies for sequence labeling tasks", EMNLP 2008.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[0.0], [0.1], [0.2], [9.0]])
    >>> rho = information_density(Z, np.array([[0.05]]))
    >>> bool(rho[3] < rho[1])
    True
    """
    n_pool = Z.shape[0]
    if n_pool == 1:
        return np.ones(1)
    scale = diversity_scale(Z, Z_labelled)

    def others_similarity(D, start):
        # the sum over all j, less the sample's own similarity of 1
        if scale > 0:
            return np.exp(-(D**2) / (2.0 * scale**2)).sum(axis=1) - 1.0
        return (D == 0).sum(axis=1) - 1.0

    total = np.concatenate(
        list(pairwise_distances_chunked(Z, reduce_func=others_similarity))
    )
    return np.clip(total / (n_pool - 1), 0.0, 1.0)


@validate_params({
    "scores": ["array-like"],
    "Z": ["array-like", None],
    "n_instances": ["no_validation"],  # against the pool: check_n_instances
    "mode": [StrOptions(BATCH_MODES)],
    "Z_labelled": ["array-like", None],
    "random_state": ["random_state", None],
    "chunk_size": [POSITIVE_INT],
})
def select_batch(scores, Z, n_instances, *, mode="top", Z_labelled=None,
                 random_state=None, chunk_size=1024):
    """Choose ``n_instances`` pool samples from their utilities.

    Parameters
    ----------
    scores : ndarray of shape (n_pool,)
        Non-negative utilities, higher is more informative.
    Z : ndarray or sparse matrix of shape (n_pool, d)
        The pool in the strategy's space (not used by ``"top"``).
    n_instances : int
        Batch size B, in ``[1, n_pool]``.
    mode : {"top", "diverse", "kmeans++"}, default="top"
        - ``"top"``: the B largest utilities (ties: lower index first).
        - ``"diverse"``: greedy. Each pick takes the largest *discounted*
          utility ``u_i * w_i`` among the samples not yet chosen, then sets
          ``w_i = min(w_i, 1 - exp(-||z_i - z_j||^2 / (2 s^2)))`` for the
          chosen ``j``, with ``w_i = 1`` before the first pick and ``s`` the
          :func:`diversity_scale` (the median distance from a pool sample to
          its nearest labelled one). A near-duplicate of a chosen sample keeps
          almost none of its utility; a sample ``s`` away keeps 39 %, ``2 s``
          away 86 %. Deterministic (ties: lower index first).
        - ``"kmeans++"``: k-means++ seeding weighted by the utilities. The
          first pick is drawn with probability proportional to ``u_i``, every
          further one with probability proportional to ``u_i * D_i^2``, ``D_i``
          the distance from ``z_i`` to the nearest sample chosen so far
          (uniformly among the samples not chosen when all these weights are
          zero). Random, reproducible with ``random_state``.
    Z_labelled : ndarray or sparse matrix of shape (n_labelled, d), default=None
        The labelled set, for the scale of ``"diverse"``.
    random_state : int, RandomState instance or None, default=None
        The draws of ``"kmeans++"``.
    chunk_size : int, default=1024
        Pool rows per block of distances.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Unique indices into the pool, in the order they were chosen.
    utilities : ndarray of shape (n_instances,)
        The utility each pick was made on: ``u_i`` for ``"top"`` and
        ``"kmeans++"``, the discounted ``u_i * w_i`` for ``"diverse"``.

    Examples
    --------
    Two near-identical samples with the largest utilities: ``"top"`` takes
    both, ``"diverse"`` takes one of them and the distinct third sample.

    >>> import numpy as np
    >>> u = np.array([1.0, 0.99, 0.8])
    >>> Z = np.array([[0.0], [0.01], [5.0]])
    >>> select_batch(u, Z, 2, mode="top")[0]
    array([0, 1])
    >>> select_batch(u, Z, 2, mode="diverse", Z_labelled=np.array([[2.0]]))[0]
    array([0, 2])
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {scores.shape}.")
    n_instances = check_n_instances(n_instances, scores.shape[0])
    if mode == "top":
        indices = top_indices(scores, n_instances)
        return indices, scores[indices]
    if Z is None or Z.shape[0] != scores.shape[0]:
        raise ValueError(
            f"batch={mode!r} needs the pool in the strategy's space, one row per "
            f"score ({scores.shape[0]}), got "
            f"{'None' if Z is None else f'shape {Z.shape}'}."
        )
    if np.any(scores < 0) or not np.all(np.isfinite(scores)):
        raise ValueError(
            f"batch={mode!r} needs finite non-negative utilities, got values in "
            f"[{np.min(scores):g}, {np.max(scores):g}]."
        )
    if mode == "diverse":
        return _diverse(scores, Z, Z_labelled, n_instances, chunk_size)
    return _kmeanspp(scores, Z, n_instances, random_state, chunk_size)


def _diverse(scores, Z, Z_labelled, n_instances, chunk_size):
    """``batch="diverse"``: greedy on similarity-discounted utilities."""
    n_pool = scores.shape[0]
    available = np.ones(n_pool, dtype=bool)
    indices = np.empty(n_instances, dtype=np.intp)
    utilities = np.empty(n_instances)
    scale = diversity_scale(Z, Z_labelled)
    weight = np.ones(n_pool)
    for b in range(n_instances):
        gain = np.where(available, scores * weight, -np.inf)
        j = int(np.argmax(gain))
        indices[b], utilities[b] = j, gain[j]
        available[j] = False
        d2 = _sq_distances_to(Z, Z[j], chunk_size)
        if scale > 0:
            kept = -np.expm1(-d2 / (2.0 * scale**2))
        else:  # every pool sample sits on a labelled one: only exact copies
            kept = (d2 > 0).astype(np.float64)
        np.minimum(weight, kept, out=weight)
    return indices, utilities


def _kmeanspp(scores, Z, n_instances, random_state, chunk_size):
    """``batch="kmeans++"``: k-means++ seeding weighted by the utilities."""
    n_pool = scores.shape[0]
    available = np.ones(n_pool, dtype=bool)
    indices = np.empty(n_instances, dtype=np.intp)
    rng = check_random_state(random_state)
    d2 = np.full(n_pool, np.inf)
    for b in range(n_instances):
        weight = scores if b == 0 else scores * d2
        cumulative = np.cumsum(np.where(available, weight, 0.0))
        if not (cumulative[-1] > 0 and np.isfinite(cumulative[-1])):
            cumulative = np.cumsum(available)  # uniform over the rest
        r = rng.random_sample() * cumulative[-1]
        # the first sample whose cumulative weight exceeds r: its own weight
        # is positive, so it has not been chosen yet
        j = min(int(np.searchsorted(cumulative, r, side="right")), n_pool - 1)
        while not available[j]:  # only after rounding at the very end
            j -= 1
        indices[b] = j
        available[j] = False
        np.minimum(d2, _sq_distances_to(Z, Z[j], chunk_size), out=d2)
    return indices, scores[indices]
