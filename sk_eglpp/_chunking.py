"""Row-chunked pairwise work: one helper for every "min over a reference set".

Scoring a pool is chunked so that memory is bounded by ``chunk_size x
n_reference``, never by ``n_pool x n_reference``. Row slices come from
scikit-learn's :func:`~sklearn.utils.gen_batches`; :func:`chunked_row_min`
is the loop the distance-based strategies (core-set, greedy sampling) share.
Where scikit-learn's own chunked reductions give the same numbers
(:func:`~sklearn.metrics.pairwise_distances_chunked`,
:func:`~sklearn.metrics.pairwise_distances_argmin_min`, used by the batch modes)
they are used instead; the strategies whose selections compare distances with
``cdist``'s exact rounding (k-center greedy ties) keep ``cdist`` blocks here.
"""

import numpy as np
from sklearn.utils import gen_batches

__all__ = ["chunked_row_min"]


def chunked_row_min(n_rows, block, chunk_size):
    """``min`` over the columns of ``block(rows)``, row chunk by row chunk.

    Parameters
    ----------
    n_rows : int
        Number of rows (pool samples).
    block : callable
        ``block(rows) -> ndarray (n_rows_in_chunk, n_reference)`` for a slice
        ``rows``: e.g. the distances of those pool rows to every reference row.
    chunk_size : int
        Rows per chunk (>= 1).

    Returns
    -------
    minima : ndarray of shape (n_rows,)

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.spatial.distance import cdist
    >>> Z, C = np.array([[0.0], [2.0], [5.0]]), np.array([[1.0], [4.0]])
    >>> chunked_row_min(3, lambda rows: cdist(Z[rows], C), chunk_size=2)
    array([1., 1., 1.])
    """
    out = np.empty(n_rows)
    for rows in gen_batches(n_rows, chunk_size):
        out[rows] = block(rows).min(axis=1)
    return out
