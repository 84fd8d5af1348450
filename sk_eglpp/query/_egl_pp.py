"""EGL++: expected gradient length with neighbour probabilities (Algorithm 1)."""

import copy
from numbers import Real

import numpy as np
import torch

from .._network import as_module_input, device_of, fitted_module, render_targets
from .._param_validation import N_JOBS, POSITIVE_INT, VERBOSE, Interval, StrOptions
from .._warnings import warn
from ..gradients import expected_gradient_norms, squared_gradient_norms
from ..gradients._checks import METHODS, PARAMETER_KEYWORDS
from ..neighbors import top_k_neighbors
from ._base import BATCH, BaseQueryStrategy, embed_context, shared_default

__all__ = ["EGLPlusPlusQuery", "egl_pp"]

_TARGETS = ("label", "prediction", "output")


class EGLPlusPlusQuery(BaseQueryStrategy):
    """EGL++ query strategy for neural regressors (paper Algorithm 1).

    For every unlabelled sample ``x_i`` the strategy estimates the expected
    squared gradient length of paper Eq. 7,

    .. math:: \\mathrm{score}(x_i) = \\sum_{j \\in \\mathrm{top}K(i)}
              q(h_j \\mid h_i) \\, \\| \\nabla_\\theta \\ell(x_i, y_j) \\|^2,

    where ``h`` are the model's embeddings, ``q(h_j | h_i)`` the t-SNE
    conditional probability of labelled sample ``j`` being a neighbour of
    ``i`` (paper Eq. 8, bandwidth set per sample by the ``perplexity``), and
    ``y_j`` the neighbour's label stands in for the unknown label of ``x_i``.
    The steps are:

    1. embeddings of pool and labelled set (``estimator.embed``, the
       ``embedding`` callable, or the flattened inputs);
    2. conditional probabilities and the top-``n_neighbors`` labelled
       neighbours of every pool sample (:func:`sk_eglpp.neighbors.top_k_neighbors`);
    3. targets: the neighbours' labels rendered into the model's output space
       (``target="label"``), the model's decoded predictions for the
       neighbours rendered the same way (``target="prediction"``), or the
       model's raw outputs for the neighbours (``target="output"``);
    4. squared gradient norms of the squared-error loss for each (pool input,
       neighbour target) pair over the selected parameters, model in eval mode
       (:func:`sk_eglpp.gradients.squared_gradient_norms`);
    5. the expectation above; :meth:`select` returns the top ``n_instances``
       (or a batch-aware choice, see ``batch``).

    Parameters
    ----------
    n_neighbors : int, default=30
        K, the number of labelled neighbours per pool sample. When the labelled
        set is smaller, all labelled samples are used and a warning says so.
    perplexity : float, default=20.0
        Target Shannon perplexity (2 ** entropy in bits) of every row of the
        neighbour distribution, as in scikit-learn's TSNE. The paper's
        reference code uses 2 ** (entropy in nats) instead: its value P is a
        standard perplexity of ``P ** (1 / ln 2)``, so its "20" is
        ``20 ** (1 / np.log(2))`` = 75.33 here. When it exceeds
        ``(n_labelled - 1) / 3`` (the rule of Barnes-Hut t-SNE), the rows
        would be nearly uniform and ignore the embedding: that value is used
        instead, with a warning.
    target : {"label", "prediction", "output"}, default="label"
        What the neighbours contribute as the assumed label of ``x_i``:

        - ``"label"``: their annotations, rendered by the estimator's
          ``render_targets`` when it has one (the hourglass: Gaussian
          heatmaps, unannotated joints masked out), else used as they are
          (NaN entries masked out);
        - ``"prediction"``: ``estimator.predict`` of the neighbours (decoded
          keypoints for the hourglass), rendered like labels;
        - ``"output"``: the fitted module's raw forward output for the
          neighbours, ``module_(X_neighbour)`` in eval mode, compared output
          by output (for the hourglass every stack's predicted heatmaps
          against the neighbour's heatmaps of the same stack), each output's
          squared error averaged over its elements. This is the default
          configuration of the EGL++ authors' code (``og_heatmap: False``);
          ``"label"`` is their ``og_heatmap: True``.
    renormalize : bool, default=False
        If False, the top-K probabilities are the Eq. 8 values over the whole
        labelled set (the truncated sum of Eq. 7, as in the paper). If True,
        they are renormalised to sum to one over the K neighbours.
    parameters : {"default", "all", "last"}, callable or list, default="default"
        Parameters the gradient is taken over: ``"default"`` the weights and
        biases of convolution and linear layers (BatchNorm excluded, the
        paper's theta_fast); see :func:`sk_eglpp.gradients.squared_gradient_norms`.
    method : {"exact", "lowrank"}, default="exact"
        ``"exact"`` computes every pair's gradient norm exactly. ``"lowrank"``
        is the approximate mode of
        :func:`sk_eglpp.gradients.expected_gradient_norms` (its error bound is
        documented there).
    energy : float, default=0.99
        With ``method="lowrank"``: the fraction, in (0, 1], of the squared
        Frobenius norm of the K weighted output gradients that the kept
        directions carry; ``1.0`` is exact up to rounding. Not used by
        ``method="exact"``.
    embedding : callable, default=None
        ``embedding(X) -> (n, d)`` used instead of ``estimator.embed``. When
        neither exists the flattened (pipeline-transformed) inputs are used.
    batch_size : int, default=16
        Pool inputs per forward pass in the gradient stage.
    chunk_size : int, default=1024
        Pool rows per chunk in the neighbour stage (memory is bounded by
        ``chunk_size x n_labelled``).
    n_jobs : int, default=None
        Joblib workers for the gradient loop over the pool, joblib's meaning:
        ``None`` is 1, negative values count from the number of CPUs (``-1``:
        all).
    device : str, torch.device or None, default=None
        Device of the gradient stage; ``None`` uses the estimator's ``device``.
    random_state : int, RandomState instance or None, default=None
        The draws of ``batch="kmeans++"``. The scores themselves are
        deterministic and do not use it.
    verbose : int, default=0
        0 is silent, 1 or more shows a progress bar over the pool; ``False``
        and ``True`` count as 0 and 1.
    batch : {"top", "diverse", "kmeans++"}, default="top"
        How :meth:`select` spends a batch of B on the scores, in the embedding
        space of step 1 (see :func:`~sk_eglpp.query.select_batch` for the
        definitions):

        - ``"top"``: the B largest expected gradient lengths (Algorithm 1);
        - ``"diverse"``: greedy, each candidate's score discounted by its
          Gaussian similarity to the samples already chosen in this batch;
        - ``"kmeans++"``: k-means++ seeding weighted by the scores (random,
          with ``random_state``).

        :meth:`score` is the same for all three. Their measured effect on the
        selection benchmark is in the user guide (:ref:`batch-modes`).

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Expected gradient lengths of the last query.
    neighbors_ : ndarray of shape (n_pool, K)
        Indices into the labelled set of each pool sample's neighbours.
    probabilities_ : ndarray of shape (n_pool, K)
        Their probabilities (renormalised when ``renormalize=True``).
    pair_gradient_norms_ : ndarray of shape (n_pool, K) or None
        Squared gradient norm of every pair (``method="exact"`` only).

    These attributes are set after each call (not on the shared default
    instance ``egl_pp``; see :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    LinearEGLQuery : the closed form for linear regression (paper Eq. 6).
    CoreSetQuery : the diversity baseline working on the same embeddings.

    References
    ----------
    .. [1] M. Shukla, "EGL++: Extending Expected Gradient Length to Active
       Learning for Human Pose Estimation", Algorithm 1 and Eq. 7-8.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch import NeuralNetRegressor
    >>> from sk_eglpp import EGLPlusPlusQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3)).astype(np.float32)
    >>> y = (X @ [1.0, -2.0, 0.5]).astype(np.float32).reshape(-1, 1)
    >>> net = NeuralNetRegressor(torch.nn.Linear(3, 1), max_epochs=5,
    ...                          train_split=None, verbose=0).fit(X[:20], y[:20])
    >>> strategy = EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0)
    >>> idx = strategy.select(net, X[20:], n_instances=3,
    ...                       X_labelled=X[:20], y_labelled=y[:20])
    >>> idx.shape, strategy.neighbors_.shape
    ((3,), (20, 5))
    """

    _needs_labelled = True
    _allow_nan_y = True
    _parameter_constraints = {
        "n_neighbors": [POSITIVE_INT],
        "perplexity": [Interval(Real, 0, None, closed="neither")],
        "target": [StrOptions(_TARGETS)],
        "renormalize": ["boolean"],
        "parameters": [StrOptions(PARAMETER_KEYWORDS), callable, "iterable"],
        "method": [StrOptions(METHODS)],
        "energy": [Interval(Real, 0, 1, closed="right")],
        "embedding": [None, callable],
        "batch_size": [POSITIVE_INT],
        "chunk_size": [POSITIVE_INT],
        "n_jobs": N_JOBS,
        "device": ["device", None],
        "random_state": ["random_state", None],
        "verbose": VERBOSE,
        "batch": BATCH,
    }

    _model = "network"

    def __init__(
        self,
        n_neighbors=30,
        perplexity=20.0,
        target="label",
        renormalize=False,
        parameters="default",
        method="exact",
        energy=0.99,
        embedding=None,
        batch_size=16,
        chunk_size=1024,
        n_jobs=None,
        device=None,
        random_state=None,
        verbose=0,
        batch="top",
    ):
        self.n_neighbors = n_neighbors
        self.perplexity = perplexity
        self.target = target
        self.renormalize = renormalize
        self.parameters = parameters
        self.method = method
        self.energy = energy
        self.embedding = embedding
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.batch = batch

    def _score(self, context):
        n_neighbors = int(self.n_neighbors)
        estimator = context.estimator
        module = fitted_module(estimator)

        H_pool, H_labelled = embed_context(context, self.embedding, flatten=True)
        n_labelled = H_labelled.shape[0]
        if n_neighbors > n_labelled:
            warn(
                f"n_neighbors={n_neighbors} is larger than the labelled set "
                f"({n_labelled} samples); using all {n_labelled} labelled samples."
            )
            n_neighbors = n_labelled

        perplexity = _effective_perplexity(self.perplexity, n_labelled)
        neighbors, probabilities = top_k_neighbors(
            H_pool,
            H_labelled,
            n_neighbors,
            perplexity=perplexity,
            chunk_size=self.chunk_size,
            renormalize=self.renormalize,
        )

        # Only the labelled samples that are someone's neighbour need targets.
        used, bank_index = np.unique(neighbors, return_inverse=True)
        bank_index = bank_index.reshape(neighbors.shape)
        device = self.device if self.device is not None else device_of(estimator)
        if self.target == "output":
            target_bank, weight_bank = _output_targets(
                module,
                as_module_input(context.X_labelled[used], module),
                self.batch_size,
                device,
            )
        else:
            y_used = context.y_labelled[used]
            if self.target == "prediction":
                y_used = estimator.predict(context.X_labelled[used])
            target_bank, weight_bank = render_targets(estimator, y_used)

        common = dict(
            weight_bank=weight_bank,
            parameters=self.parameters,
            batch_size=self.batch_size,
            n_jobs=self.n_jobs,
            device=device,
            verbose=int(self.verbose),
        )
        X_pool = as_module_input(context.X_pool, module)
        if self.method == "exact":
            pair_norms = squared_gradient_norms(
                module, X_pool, target_bank, bank_index, **common
            )
            scores = np.sum(probabilities * pair_norms, axis=1)
        else:
            pair_norms = None
            scores = expected_gradient_norms(
                module,
                X_pool,
                target_bank,
                bank_index,
                probabilities,
                method=self.method,
                energy=self.energy,
                **common,
            )
        return scores, {
            "neighbors_": neighbors,
            "probabilities_": probabilities,
            "pair_gradient_norms_": pair_norms,
            "_space": (H_pool, H_labelled),
        }


def _effective_perplexity(perplexity, n_labelled):
    """The perplexity, lowered to (n_labelled - 1) / 3 for small labelled sets.

    At a perplexity close to the number of labelled samples every row of Eq. 8
    is nearly uniform and the embedding is ignored (at ``perplexity >=
    n_labelled`` exactly uniform). The limit is the rule of Barnes-Hut t-SNE
    (3 * perplexity neighbours per sample); on the fidelity diagnostic it
    tracks the true gradient length better than keeping the perplexity (see
    the user guide).
    """
    limit = max((n_labelled - 1) / 3.0, 1.0)
    if perplexity <= limit:
        return perplexity
    warn(
        f"perplexity={perplexity:g} is not well below the {n_labelled} labelled "
        f"samples: the neighbour probabilities would be nearly uniform; using "
        f"perplexity={limit:.4g} = (n_labelled - 1) / 3 for this query (label "
        "more samples or pass a smaller perplexity to silence this warning)."
    )
    return limit


def _output_targets(module, X, batch_size, device):
    """The module's raw outputs for ``X`` as targets, with uniform weights.

    Evaluated like the gradient stage (a copy of the module in eval mode). A
    module returning a list of outputs (the hourglass: one heatmap tensor per
    stack) gives one target per output, ``(m, n_outputs, *out)``; the weights
    ``1 / out.numel()`` make each output's loss a mean over its elements.
    """
    work = copy.deepcopy(module).to(device).eval()
    parts, several = [], False
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            out = work(X[start : start + batch_size].to(device))
            several = isinstance(out, (list, tuple))
            if several:
                out = torch.stack(list(out), dim=1)
            parts.append(out.detach().cpu())
    targets = torch.cat(parts).numpy().astype(np.float32, copy=False)
    n_elements = int(np.prod(targets.shape[2 if several else 1 :]))
    weights = np.full(
        (targets.shape[0],) + (1,) * (targets.ndim - 1), 1.0 / n_elements, np.float32
    )
    return targets, weights


#: default :class:`EGLPlusPlusQuery` instance
egl_pp = shared_default(EGLPlusPlusQuery())
