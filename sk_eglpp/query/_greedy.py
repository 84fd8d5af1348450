"""Greedy sampling for regression (Wu, Lin & Huang, 2019): GSx, GSy and iGS."""

import numpy as np
from scipy.spatial.distance import cdist

from .._chunking import chunked_row_min
from .._param_validation import POSITIVE_INT, StrOptions
from .._validation import check_n_instances, labelled_targets
from ._base import BaseQueryStrategy, count_samples, embed_context, shared_default

__all__ = ["GreedySamplingQuery", "greedy_sampling"]

_MODES = ("x", "y", "xy")


def _output_distances(F, Y, chunk=None):
    """Euclidean distances between the rows of ``F`` (finite) and ``Y``.

    Entries of ``Y`` that are NaN (unannotated joints) are left out and the
    sum of squares is scaled to all outputs (``n_outputs / n_observed``); a
    row of ``Y`` with nothing observed is at distance ``inf`` (no constraint).
    """
    observed = np.isfinite(Y)
    Y0 = np.where(observed, Y, 0.0)
    total = np.zeros((F.shape[0], Y.shape[0]))
    for k in range(F.shape[1]):
        total += (F[:, k, None] - Y0[None, :, k]) ** 2 * observed[None, :, k]
    n_observed = observed.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt(total * (F.shape[1] / n_observed))
    out[:, n_observed == 0] = np.inf
    return out


class GreedySamplingQuery(BaseQueryStrategy):
    """Greedy sampling on the inputs, the outputs or both (GSx, GSy, iGS).

    Wu, Lin & Huang (2019) pick the pool sample farthest from everything
    labelled, in one of three senses. With the labelled samples ``m`` (inputs
    ``x_m``, labels ``y_m``) and the model's prediction ``f(x_n)`` for a pool
    sample ``x_n``:

    - ``mode="x"`` (GSx): ``d_n = min_m ||x_n - x_m||``, diversity of the
      inputs (the k-center greedy rule of :class:`CoreSetQuery`);
    - ``mode="y"`` (GSy): ``d_n = min_m ||f(x_n) - y_m||``, diversity of the
      outputs;
    - ``mode="xy"`` (iGS, the default, the best of the three in their
      study): ``d_n = min_m ||x_n - x_m|| * ||f(x_n) - y_m||``.

    Each pick takes the largest ``d_n``. A batch of B is chosen greedily: the
    chosen sample joins the reference set with its *predicted* output
    ``f(x_n)`` as its label (it is not labelled yet), and the distances are
    updated before the next pick. The method itself is sequential (one label
    per retraining); this is its batch form.

    Parameters
    ----------
    mode : {"x", "y", "xy"}, default="xy"
        Which distance, see above.
    embedding : callable, default=None
        ``embedding(X) -> ndarray (n_samples, n_dims)``, the input space.
        ``None`` uses the model's ``embed(X)`` (e.g.
        :meth:`HourglassRegressor.embed <sk_eglpp.HourglassRegressor.embed>`)
        and, for a model without ``embed``, the raw samples when they are 2-D.
        With a pipeline, ``X`` is the output of the steps before the final
        one (e.g. standardised features, as in the paper).
    chunk_size : int, default=1024
        Pool rows whose distances to the labelled set are computed at once;
        memory for distances is ``chunk_size x n_labelled`` floats.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        ``d_n`` of every pool sample against the labelled set alone, from the
        last call (``inf`` for ``mode="x"`` without a labelled set).
    pick_distances_ : ndarray of shape (n_instances,)
        After :meth:`select` (or a call): ``d_n`` of each chosen sample at the
        moment it was chosen (``inf`` for the first pick of ``mode="x"``
        without a labelled set). These are the utilities returned to modAL
        >= 0.4.2.

    The shared default instance ``greedy_sampling`` keeps none of these (see
    :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    CoreSetQuery : k-center greedy on the model's embeddings (GSx's rule).
    EGLPlusPlusQuery : expected gradient length with neighbour probabilities.

    Notes
    -----
    Output distances are Euclidean over all outputs. Labels with NaN entries
    (unannotated joints) are compared on their observed entries, the sum of
    squares scaled by ``n_outputs / n_observed``; a label with no observed
    entry constrains nothing. Predictions must be finite.

    ``mode="x"`` needs no model and no labelled set: without one, the first
    pick is the pool sample closest to the pool's mean (the paper's
    initialisation), and the next ones follow the rule. ``"y"`` and ``"xy"``
    need a fitted model with ``predict`` and the labelled set.

    Ties are broken by the lower index; the selection is deterministic, so
    the strategy has no ``random_state`` (even the first pick without a
    labelled set is the pool's most central sample, not a random one). After
    the initial ``O(n_pool * n_labelled)`` distances, each pick costs one pass
    over the pool (``O(n_pool * (d + n_outputs))``).

    References
    ----------
    .. [1] D. Wu, C.-T. Lin and J. Huang, "Active learning for regression
       using greedy sampling", Information Sciences 474, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp import GreedySamplingQuery
    >>> X_lab, y_lab = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])
    >>> model = LinearRegression().fit(X_lab, y_lab)
    >>> X_pool = np.array([[0.5], [3.0], [-1.5]])
    >>> strategy = GreedySamplingQuery(mode="xy")
    >>> strategy.select(model, X_pool, n_instances=2,
    ...                 X_labelled=X_lab, y_labelled=y_lab)
    array([1, 2])
    >>> strategy.scores_.round(2)
    array([0.25, 4.  , 2.25])
    """

    _allow_nan_y = True
    _parameter_constraints = {
        "mode": [StrOptions(_MODES)],
        "embedding": [None, callable],
        "chunk_size": [POSITIVE_INT],
    }

    def __init__(self, mode="xy", embedding=None, chunk_size=1024):
        self.mode = mode
        self.embedding = embedding
        self.chunk_size = chunk_size

    def _spaces(self, context):
        """The parameters, then inputs and outputs of pool and labelled set.

        Returns ``(mode, chunk_size, Z, Z_lab, F, Y_lab)``; the arrays a mode
        does not use are ``None``.
        """
        mode, chunk_size = self.mode, int(self.chunk_size)
        if mode != "x":
            context.require_labelled(f"GreedySamplingQuery(mode={mode!r})")
        Z = Z_lab = F = Y_lab = None
        if mode in ("x", "xy"):
            Z, Z_lab = embed_context(context, self.embedding)
        if mode in ("y", "xy"):
            estimator = context.estimator
            if not hasattr(estimator, "predict"):
                raise TypeError(
                    f"GreedySamplingQuery(mode={mode!r}) needs a fitted model with "
                    f"predict, got {type(estimator).__name__}."
                )
            F = np.asarray(estimator.predict(context.X_pool), dtype=np.float64)
            F = F.reshape(F.shape[0], -1)
            if not np.all(np.isfinite(F)):
                raise ValueError(
                    "GreedySamplingQuery: the model's predictions for the pool are "
                    "not finite."
                )
            Y_lab = labelled_targets(context.y_labelled, F.shape[1])
        return mode, chunk_size, Z, Z_lab, F, Y_lab

    @staticmethod
    def _distances(mode, Z_a, Z_b, F_a, Y_b):
        """``d`` between rows ``a`` (pool) and ``b`` (references) in ``mode``."""
        if mode == "x":
            return cdist(Z_a, Z_b)
        if mode == "y":
            return _output_distances(F_a, Y_b)
        return cdist(Z_a, Z_b) * _output_distances(F_a, Y_b)

    def _initial(self, context):
        mode, chunk_size, Z, Z_lab, F, Y_lab = self._spaces(context)
        n_pool = context.n_pool
        if context.X_labelled is None or not len(context.X_labelled):
            return mode, Z, F, np.full(n_pool, np.inf)

        def block(rows):
            return self._distances(
                mode,
                None if Z is None else Z[rows],
                Z_lab,
                None if F is None else F[rows],
                Y_lab,
            )

        return mode, Z, F, chunked_row_min(n_pool, block, chunk_size)

    def _score(self, context):
        _, _, _, d = self._initial(context)
        return d

    def _query(self, learner, X_pool, n_instances=1, *, X_labelled=None,
               y_labelled=None):
        n_instances = check_n_instances(n_instances, count_samples(X_pool))
        context = self._context(learner, X_pool, X_labelled, y_labelled)
        mode, Z, F, d = self._initial(context)
        scores = d.copy()
        available = np.ones(context.n_pool, dtype=bool)
        indices = np.empty(n_instances, dtype=np.intp)
        gains = np.empty(n_instances)
        for b in range(n_instances):
            if b == 0 and np.all(np.isinf(d)) and mode == "x":
                # nothing labelled: the sample closest to the pool's mean
                j = int(np.argmin(cdist(Z, Z.mean(axis=0, keepdims=True))[:, 0]))
            else:
                j = int(np.argmax(np.where(available, d, -1.0)))
            indices[b], gains[b] = j, d[j]
            available[j] = False
            new = self._distances(
                mode,
                Z,
                None if Z is None else Z[j : j + 1],
                F,
                None if F is None else F[j : j + 1],
            )[:, 0]
            np.minimum(d, new, out=d)
        diagnostics = {"scores_": scores, "pick_distances_": gains}
        return indices, gains, diagnostics


#: default :class:`GreedySamplingQuery` instance (iGS)
greedy_sampling = shared_default(GreedySamplingQuery())
