"""Conditional neighbour probabilities of EGL++ (paper Eq. 8) and top-K neighbours.

For every query (unlabelled) embedding ``h_i`` and every reference (labelled)
embedding ``h_j``, EGL++ uses the Stochastic Neighbour Embedding conditional
distribution

.. math::

    q(h_j | h_i) = \\frac{\\exp(-\\|h_i - h_j\\|^2 \\beta_i)}
                        {\\sum_k \\exp(-\\|h_i - h_k\\|^2 \\beta_i)},

with a precision :math:`\\beta_i = 1 / (2 \\sigma_i^2)` per query row chosen so
that the row's Shannon perplexity :math:`2^{H_i}` (entropy in bits) equals a
target, the quantity scikit-learn's :class:`~sklearn.manifold.TSNE` uses.

The computation runs in row chunks, so memory is bounded by
``chunk_size x n_ref`` whatever the number of query rows; the precision search
is vectorised over a whole chunk.
"""

from numbers import Real

import numpy as np

from ._param_validation import POSITIVE_INT, Interval, validate_params
from ._validation import check_pool, top_k_rows
from ._warnings import warn

__all__ = ["conditional_probabilities", "top_k_neighbors"]

# Largest |log-precision| tried (in units of the row's mean distance): beta**2
# stays a finite float64 (exp(600) < 1e261), and larger precisions only
# sharpen rows further than the smallest representable distance gap needs.
_MAX_LOG_BETA = 300.0
# Rows per matrix product in the distance computation (see _Reference.sqdist).
_BLOCK = 64
# Embeddings whose largest magnitude lies outside [2**-_SAFE_EXP, 2**_SAFE_EXP]
# are rescaled before distances are taken (see common_scale).
_SAFE_EXP = 250


def common_scale(*arrays):
    """A power of two ``c`` that brings ``arrays / c`` to a safe magnitude.

    Squared distances of embeddings around ``1e155`` overflow float64 and those
    of embeddings around ``1e-170`` underflow to zero. When the largest
    magnitude over all ``arrays`` is outside ``[2**-250, 2**250]``, ``c`` is
    the power of two that brings it into ``[1, 2)``; otherwise ``c = 1.0``
    and nothing changes. Dividing by a power of two is exact (short of
    underflow in components far below the largest one), so every comparison
    of distances, and every quantity invariant to a common scaling of all
    distances, is unchanged.

    Parameters
    ----------
    *arrays : ndarray
        Finite float arrays (``None`` entries are skipped).

    Returns
    -------
    c : float

    Examples
    --------
    >>> import numpy as np
    >>> common_scale(np.array([[3.0, -4.0]]))
    1.0
    >>> common_scale(np.array([[1e200]])) == 2.0 ** 664
    True
    """
    largest = max(
        (float(np.max(np.abs(a))) for a in arrays if a is not None and a.size),
        default=0.0,
    )
    if largest == 0.0 or 2.0**-_SAFE_EXP <= largest <= 2.0**_SAFE_EXP:
        return 1.0
    # largest = m * 2**e with m in [0.5, 1): dividing by 2**(e - 1) brings it
    # into [1, 2) (2**e itself overflows for the largest floats)
    return float(np.ldexp(1.0, int(np.frexp(largest)[1]) - 1))


def _check_embeddings(H_query, H_ref):
    H_query = check_pool(H_query, name="H_query", dtype=np.float64, allow_nd=False)
    H_ref = check_pool(H_ref, name="H_ref", dtype=np.float64, allow_nd=False)
    if H_query.shape[1] != H_ref.shape[1]:
        raise ValueError(
            "H_query and H_ref must have the same number of features, got "
            f"H_query with {H_query.shape[1]} and H_ref with {H_ref.shape[1]}."
        )
    return H_query, H_ref


_POSITIVE_REAL = Interval(Real, 0, None, closed="neither")


def _settings(perplexity, chunk_size, tol, max_iter, n_ref):
    """The checked settings as ``(float, int, float, int)``.

    Warns when ``perplexity`` exceeds ``n_ref``, the largest perplexity a row
    can have (the warning points at the caller of the public function).
    """
    perplexity = float(perplexity)
    chunk_size, tol, max_iter = int(chunk_size), float(tol), int(max_iter)
    if perplexity > n_ref:
        warn(
            f"perplexity={perplexity} is larger than the number of reference "
            f"samples ({n_ref}), the largest perplexity a row can have; every "
            "row gets the uniform distribution over the reference samples "
            "(the limit of an infinite bandwidth)."
        )
    return perplexity, chunk_size, tol, max_iter


class _Reference:
    """Reference embeddings prepared once for all chunks."""

    def __init__(self, H_ref):
        # Centring both sets on the reference mean keeps the expansion
        # ||a||^2 + ||b||^2 - 2ab accurate for data far from the origin.
        self.center = H_ref.mean(axis=0)
        self.H = H_ref - self.center
        self.sqnorm = np.einsum("ij,ij->i", self.H, self.H)

    def sqdist(self, H_chunk, start):
        """Squared distances of query rows ``start, start + 1, ...`` to the refs."""
        A = H_chunk - self.center
        n_rows = A.shape[0]
        # BLAS rounds a row's products differently depending on the row's slot
        # in the call, so the products are taken in blocks of _BLOCK rows
        # aligned on the global row index (query row i always sits in slot
        # i % _BLOCK, the other slots zero): a row's distances then do not
        # depend on the chunk size.
        offset = start % _BLOCK
        n_blocks = -(-(offset + n_rows) // _BLOCK)
        padded = np.zeros((n_blocks * _BLOCK, A.shape[1]))
        padded[offset : offset + n_rows] = A
        D = np.empty((n_blocks * _BLOCK, self.H.shape[0]))
        for b in range(n_blocks):
            rows = slice(b * _BLOCK, (b + 1) * _BLOCK)
            np.matmul(padded[rows], self.H.T, out=D[rows])
        D = D[offset : offset + n_rows]
        D *= -2.0
        D += np.square(A).sum(axis=1)[:, None]
        D += self.sqnorm[None, :]
        np.maximum(D, 0.0, out=D)
        return D


def _entropy_terms(D, log_beta):
    """Entropy (nats) and d entropy / d log beta of every row.

    ``D`` holds the row-shifted, row-scaled distances (minimum 0), so the
    exponent is never positive and every row sum is at least 1.
    """
    beta = np.exp(log_beta)
    E = np.multiply(D, -beta[:, None])
    np.exp(E, out=E)
    Z = E.sum(axis=1)
    E *= D
    mean = E.sum(axis=1) / Z
    second = np.einsum("ij,ij->i", E, D) / Z
    var = np.maximum(second - mean * mean, 0.0)
    entropy = np.log(Z) + beta * mean
    slope = -(beta**2) * var
    return entropy, slope


def _probabilities(D, log_beta):
    P = np.multiply(D, -np.exp(log_beta)[:, None])
    np.exp(P, out=P)
    P /= P.sum(axis=1, keepdims=True)
    return P


def _chunk_probabilities(D, perplexity, tol, max_iter):
    """Solve for the per-row precision of one chunk of squared distances."""
    n_rows, n_ref = D.shape
    D = D - D.min(axis=1, keepdims=True)
    scale = D.mean(axis=1)
    P = np.full((n_rows, n_ref), 1.0 / n_ref)
    # Rows whose target cannot be met by a finite, positive precision:
    # all distances equal (uniform is exact), or target >= n_ref (uniform is the
    # closest), or target <= number of reference points tied at the minimum
    # distance (the limit beta -> inf, uniform over the tied points).
    n_tied = np.count_nonzero(D == 0.0, axis=1)
    uniform = (scale == 0.0) | (perplexity >= n_ref)
    to_ties = ~uniform & (perplexity <= n_tied)
    if np.any(to_ties):
        tied = D[to_ties] == 0.0
        P[to_ties] = tied / tied.sum(axis=1, keepdims=True)
    solve = np.flatnonzero(~uniform & ~to_ties)
    if solve.size == 0:
        return P

    Ds = D[solve]
    Ds /= scale[solve, None]
    target = np.log(perplexity)
    u = np.zeros(solve.size)  # log of the precision in units of 1 / scale
    lo = np.full(solve.size, -np.inf)
    hi = np.full(solve.size, np.inf)
    step = np.ones(solve.size)  # bracket expansion step while a side is open
    active = np.arange(solve.size)
    for _ in range(max_iter):
        Da = Ds if active.size == solve.size else Ds[active]
        entropy, slope = _entropy_terms(Da, u[active])
        f = entropy - target
        done = np.abs(f) <= tol
        ua = u[active]
        # Entropy decreases with the precision: too high -> raise the precision.
        too_high = f > 0
        lo_a = np.where(too_high, ua, lo[active])
        hi_a = np.where(too_high, hi[active], ua)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = ua - f / slope
        bounded = np.isfinite(lo_a) & np.isfinite(hi_a)
        ok = np.isfinite(newton) & (newton > lo_a) & (newton < hi_a)
        midpoint = 0.5 * (lo_a + hi_a)
        step_a = step[active]
        expand = np.where(too_high, ua + step_a, ua - step_a)
        # Open bracket: Newton if it moves no further than the expansion step.
        open_ok = ok & (np.abs(newton - ua) <= step_a)
        u_new = np.where(
            bounded,
            np.where(ok, newton, midpoint),
            np.where(open_ok, newton, expand),
        )
        u_new = np.clip(u_new, -_MAX_LOG_BETA, _MAX_LOG_BETA)
        step[active] = np.where(bounded, step_a, 2.0 * step_a)
        lo[active] = lo_a
        hi[active] = hi_a
        u[active] = np.where(done, ua, u_new)
        active = active[~done]
        if active.size == 0:
            break
    P[solve] = _probabilities(Ds, u)
    return P


def _iter_chunks(H_query, H_ref, perplexity, chunk_size, tol, max_iter):
    # Eq. 8 is invariant to a common scaling of all distances (each row's
    # precision absorbs it), so embeddings of extreme magnitude are rescaled.
    scale = common_scale(H_query, H_ref)
    ref = _Reference(H_ref / scale if scale != 1.0 else H_ref)
    n_query = H_query.shape[0]
    for start in range(0, n_query, chunk_size):
        stop = min(start + chunk_size, n_query)
        rows = slice(start, stop)
        H_chunk = H_query[rows]
        D = ref.sqdist(H_chunk / scale if scale != 1.0 else H_chunk, start)
        if not np.all(np.isfinite(D)):
            raise ValueError(
                "Squared distances between the embeddings are not finite even "
                "after rescaling; check H_query and H_ref."
            )
        yield start, stop, _chunk_probabilities(D, perplexity, tol, max_iter)


@validate_params(
    {
        "H_query": ["array-like"],
        "H_ref": ["array-like"],
        "perplexity": [_POSITIVE_REAL],
        "chunk_size": [POSITIVE_INT],
        "tol": [_POSITIVE_REAL],
        "max_iter": [POSITIVE_INT],
    }
)
def conditional_probabilities(
    H_query, H_ref, *, perplexity=20.0, chunk_size=1024, tol=1e-5, max_iter=100
):
    """Conditional neighbour probabilities q(h_j | h_i) of paper Eq. 8.

    Row ``i`` is the Gaussian neighbourhood distribution of query embedding
    ``H_query[i]`` over the reference embeddings ``H_ref`` (in EGL++: pool rows,
    labelled columns), with its precision chosen so that the row's Shannon
    perplexity ``2 ** H`` (entropy ``H`` in bits) equals ``perplexity``, as in
    scikit-learn's :class:`~sklearn.manifold.TSNE`.

    Parameters
    ----------
    H_query : array-like of shape (n_query, n_features)
        Query embeddings (rows of the result).
    H_ref : array-like of shape (n_ref, n_features)
        Reference embeddings (columns of the result).
    perplexity : float, default=20.0
        Target perplexity of every row, > 0. A row cannot have a perplexity
        above ``n_ref``: when ``perplexity > n_ref`` a ``UserWarning`` is
        raised and every row is uniform (the limit of an infinite bandwidth,
        the closest achievable distribution).
    chunk_size : int, default=1024
        Number of query rows processed at once; memory is bounded by a few
        ``chunk_size x n_ref`` float64 arrays.
    tol : float, default=1e-5
        Absolute tolerance on each row's entropy in nats (that is on the log of
        its perplexity), as in scikit-learn's binary search.
    max_iter : int, default=100
        Maximum number of iterations of the precision search.

    Returns
    -------
    P : ndarray of shape (n_query, n_ref), dtype float64
        Conditional probabilities; every row sums to 1.

    See Also
    --------
    top_k_neighbors : The K most probable reference points of every row,
        without the dense matrix.

    Notes
    -----
    Squared distances are computed by matrix products
    (``||a||^2 + ||b||^2 - 2 a.b``, clipped at 0) after centring both sets on
    the reference mean. Embeddings of extreme magnitude (largest absolute value
    outside ``[2**-250, 2**250]``, where squared distances would overflow or
    underflow) are first divided by a common power of two: Eq. 8 with the
    per-row precision is invariant to a common scaling of all distances. In
    each row the smallest distance is subtracted before exponentiating (which
    leaves Eq. 8 unchanged), so rows never underflow to zero or overflow
    whatever the scale of the embeddings.

    The precision is found by a safeguarded Newton iteration on its logarithm,
    for all rows of a chunk at once: Newton steps while they stay inside the
    bracket known so far, bisection otherwise, and a doubling expansion while
    the bracket is open. The entropy is decreasing in the precision, from
    ``log(n_ref)`` (uniform) to ``log(m)`` where ``m`` is the number of
    reference points tied at the row's minimum distance. Targets outside this
    range cannot be met and get the corresponding limit: uniform over all
    reference points (``perplexity >= n_ref``, or all distances equal), or
    uniform over the ``m`` tied nearest points (``perplexity <= m``, e.g.
    identical or duplicated embeddings).

    Unlike t-SNE, queries and references are different sets, so no column is
    excluded (Eq. 8's ``k != i`` has nothing to exclude).

    References
    ----------
    .. [1] Shukla, "EGL++: Extending Expected Gradient Length to Active
       Learning for Human Pose Estimation", Eq. 8.
    .. [2] van der Maaten and Hinton, "Visualizing Data using t-SNE", JMLR 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.neighbors import conditional_probabilities
    >>> rng = np.random.default_rng(0)
    >>> P = conditional_probabilities(
    ...     rng.normal(size=(4, 3)), rng.normal(size=(10, 3)), perplexity=5.0
    ... )
    >>> P.shape
    (4, 10)
    >>> np.allclose(P.sum(axis=1), 1.0)
    True
    >>> entropy_bits = -np.sum(P * np.log2(P), axis=1)
    >>> np.allclose(2 ** entropy_bits, 5.0, rtol=1e-4)
    True
    """
    H_query, H_ref = _check_embeddings(H_query, H_ref)
    perplexity, chunk_size, tol, max_iter = _settings(
        perplexity, chunk_size, tol, max_iter, H_ref.shape[0]
    )
    P = np.empty((H_query.shape[0], H_ref.shape[0]))
    for start, stop, P_chunk in _iter_chunks(
        H_query, H_ref, perplexity, chunk_size, tol, max_iter
    ):
        P[start:stop] = P_chunk
    return P


@validate_params(
    {
        "H_query": ["array-like"],
        "H_ref": ["array-like"],
        "n_neighbors": [POSITIVE_INT],  # at most n_ref: checked below
        "perplexity": [_POSITIVE_REAL],
        "chunk_size": [POSITIVE_INT],
        "renormalize": ["boolean"],
        "tol": [_POSITIVE_REAL],
        "max_iter": [POSITIVE_INT],
    }
)
def top_k_neighbors(
    H_query,
    H_ref,
    n_neighbors,
    *,
    perplexity=20.0,
    chunk_size=1024,
    renormalize=False,
    tol=1e-5,
    max_iter=100,
):
    """The K most probable reference neighbours of every query row (Eq. 8).

    Computed chunk by chunk: the dense ``(n_query, n_ref)`` matrix of
    :func:`conditional_probabilities` is never held in memory.

    Parameters
    ----------
    H_query : array-like of shape (n_query, n_features)
        Query embeddings (the pool in EGL++).
    H_ref : array-like of shape (n_ref, n_features)
        Reference embeddings (the labelled set in EGL++).
    n_neighbors : int
        Number of neighbours K per row, in ``[1, n_ref]``.
    perplexity : float, default=20.0
        Target Shannon perplexity of every row's distribution over all
        reference points; see :func:`conditional_probabilities`.
    chunk_size : int, default=1024
        Number of query rows processed at once.
    renormalize : bool, default=False
        If False, the returned probabilities are the Eq. 8 values over all
        reference points (each row sums to at most 1: Eq. 7 truncated to the
        top K). If True, they are divided by their row sum, so that each row is
        a distribution over its K neighbours.
    tol : float, default=1e-5
        Absolute tolerance on each row's entropy in nats.
    max_iter : int, default=100
        Maximum number of iterations of the precision search.

    Returns
    -------
    indices : ndarray of shape (n_query, n_neighbors), dtype int64
        Column indices into ``H_ref``, by decreasing probability (ties: lower
        index first).
    probabilities : ndarray of shape (n_query, n_neighbors), dtype float64
        The matching probabilities.

    See Also
    --------
    conditional_probabilities : The dense matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.neighbors import top_k_neighbors
    >>> H_ref = np.array([[0.0], [1.0], [3.0], [10.0]])
    >>> idx, prob = top_k_neighbors([[0.9]], H_ref, 2, perplexity=2.0)
    >>> idx
    array([[1, 0]])
    >>> bool(prob[0, 0] > prob[0, 1])
    True
    >>> idx, prob = top_k_neighbors([[0.9]], H_ref, 2, perplexity=2.0,
    ...                             renormalize=True)
    >>> float(prob.sum())
    1.0
    """
    H_query, H_ref = _check_embeddings(H_query, H_ref)
    n_ref = H_ref.shape[0]
    perplexity, chunk_size, tol, max_iter = _settings(
        perplexity, chunk_size, tol, max_iter, n_ref
    )
    n_neighbors = int(n_neighbors)
    if n_neighbors > n_ref:
        raise ValueError(
            f"top_k_neighbors: n_neighbors must be in [1, {n_ref}], got "
            f"{n_neighbors} (H_ref has {n_ref} samples)."
        )
    n_query = H_query.shape[0]
    indices = np.empty((n_query, n_neighbors), dtype=np.int64)
    probabilities = np.empty((n_query, n_neighbors))
    for start, stop, P in _iter_chunks(
        H_query, H_ref, perplexity, chunk_size, tol, max_iter
    ):
        idx = top_k_rows(P, n_neighbors)
        indices[start:stop] = idx
        probabilities[start:stop] = np.take_along_axis(P, idx, axis=1)
    if renormalize:
        probabilities /= probabilities.sum(axis=1, keepdims=True)
    return indices, probabilities
