"""Monte Carlo dropout predictive variance (Gal & Ghahramani; Kendall & Gal)."""

import threading
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import NotFittedError
from torch import nn

from .._param_validation import POSITIVE_INT, Interval, StrOptions
from .._seeding import torch_seed
from ._base import BaseQueryStrategy, shared_default

__all__ = ["MCDropoutQuery", "mc_dropout"]

#: the module types whose training mode is switched on for the passes
DROPOUT_TYPES = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)

_OUTPUTS = ("predict", "heatmaps")

# The passes switch the model's dropout layers and seed torch's process-wide
# generator inside fork_rng: concurrent calls take turns.
_PASSES_LOCK = threading.Lock()


def _force_training(module, args):
    """Forward pre-hook: run this dropout layer in training mode."""
    module.training = True


class MCDropoutQuery(BaseQueryStrategy):
    """Predictive variance under Monte Carlo dropout.

    The model predicts every pool sample ``n_samples`` times with its dropout
    layers active (each pass draws new dropout masks); the utility is the
    variance of those predictions, summed over the outputs: the epistemic term
    of Kendall & Gal's predictive variance (EGL++ supplement, Eq. 5).

    Parameters
    ----------
    n_samples : int, default=20
        Number of stochastic forward passes ``T`` (at least 2).
    dropout : float or None, default=None
        Dropout rate in ``[0, 1)`` used for every dropout layer during the
        query only; ``None`` keeps the rates the model was built with.
        ``0.0`` turns Monte Carlo dropout off (every score is zero).
    output : {"predict", "heatmaps"}, default="predict"
        What varies: ``"predict"`` uses ``estimator.predict(X)`` (for
        :class:`~sk_eglpp.HourglassRegressor`, the decoded keypoint
        coordinates, in pixels); ``"heatmaps"`` uses
        ``estimator.predict_heatmaps(X)`` (the last stack's heatmaps: smoother
        than the arg-max decoded keypoints, with one output per pixel).
    batch_size : int, default=256
        Pool samples processed at once; the ``n_samples`` predictions of a
        batch are held in memory together.
    random_state : int, RandomState instance or None, default=None
        Seeds the dropout masks. Scores depend on ``random_state`` and
        ``batch_size``; the global torch random state is left untouched.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Utilities from the last call (not kept by the shared default instance;
        see :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    LinearEGLQuery : its closed form has the same prediction-variance term.
    MultiPeakEntropyQuery : another uncertainty baseline.

    Notes
    -----
    With predictions :math:`f_t(x)` of pass :math:`t`, the score is
    :math:`\\sum_k \\big[\\frac{1}{T}\\sum_t f_{t,k}(x)^2 -
    (\\frac{1}{T}\\sum_t f_{t,k}(x))^2\\big]` (population variance, as in
    Eq. 5 of the EGL++ supplement, without the aleatoric term).

    The estimator must be a fitted skorch net (``module_``) whose module
    contains dropout layers (:data:`DROPOUT_TYPES`; dropout applied with
    ``torch.nn.functional`` inside ``forward`` is not seen). Only these layers
    run in training mode, through forward pre-hooks, so BatchNorm keeps its
    running statistics. A ``ValueError`` is raised when the module has no
    dropout layer, or when all have ``p=0`` and no ``dropout`` is given; for
    :class:`~sk_eglpp.HourglassRegressor` build the regressor with
    ``module__dropout=p`` or pass ``dropout=p`` here. Afterwards the layers'
    rates and training flags are restored; parameters are never changed.
    The passes run with torch seeded from ``random_state`` (the CPU generator
    and the net's CUDA device's), the caller's torch random state restored
    afterwards. Concurrent calls (threads) run their passes one at a time,
    since they change the model's dropout layers and use torch's process-wide
    generator; other code predicting with the same model during a call sees
    the dropout layers active.

    References
    ----------
    .. [1] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation:
       Representing Model Uncertainty in Deep Learning", ICML 2016.
    .. [2] A. Kendall and Y. Gal, "What Uncertainties Do We Need in Bayesian
       Deep Learning for Computer Vision?", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from torch import nn
    >>> from skorch import NeuralNetRegressor
    >>> from sk_eglpp import MCDropoutQuery
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(8, 4)).astype(np.float32)
    >>> y = rng.normal(size=(8, 1)).astype(np.float32)
    >>> net = NeuralNetRegressor(
    ...     nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1)),
    ...     max_epochs=1, train_split=None, verbose=0).fit(X, y)
    >>> scores = MCDropoutQuery(n_samples=5, random_state=0).score(net, X)
    >>> scores.shape, bool(np.all(scores >= 0))
    ((8,), True)
    >>> float(MCDropoutQuery(dropout=0.0).score(net, X).max())
    0.0
    """

    #: y is never read, so unannotated (NaN) joints are fine
    _allow_nan_y = True
    _parameter_constraints = {
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "output": [StrOptions(_OUTPUTS)],
        "batch_size": [POSITIVE_INT],
        "random_state": ["random_state", None],
    }

    _model = "network"

    def __init__(
        self,
        n_samples=20,
        dropout=None,
        output="predict",
        batch_size=256,
        random_state=None,
    ):
        self.n_samples = n_samples
        self.dropout = dropout
        self.output = output
        self.batch_size = batch_size
        self.random_state = random_state

    def _dropout_layers(self, estimator):
        module = getattr(estimator, "module_", None)
        if not isinstance(module, nn.Module):
            if hasattr(estimator, "initialize"):  # an unfitted skorch net
                raise NotFittedError(
                    f"This {type(estimator).__name__} is not initialized yet; fit "
                    "it before querying with MCDropoutQuery."
                )
            raise ValueError(
                "MCDropoutQuery needs a fitted skorch net (with a torch module in "
                f"module_), got {type(estimator).__name__}."
            )
        layers = [m for m in module.modules() if isinstance(m, DROPOUT_TYPES)]
        if not layers:
            raise ValueError(
                f"MCDropoutQuery needs dropout layers, but the module "
                f"{type(module).__name__} has none (any of "
                f"{', '.join(t.__name__ for t in DROPOUT_TYPES)})."
            )
        if self.dropout is None and all(m.p == 0 for m in layers):
            raise ValueError(
                f"All {len(layers)} dropout layers of the module have p=0, so every "
                "score would be zero; build the model with dropout (e.g. "
                "module__dropout=0.1 for HourglassRegressor) or pass dropout= to "
                "MCDropoutQuery."
            )
        return module, layers

    def _score(self, context):
        n_samples, batch_size = int(self.n_samples), int(self.batch_size)
        estimator = context.estimator
        module, layers = self._dropout_layers(estimator)
        if self.output == "heatmaps" and not hasattr(estimator, "predict_heatmaps"):
            raise ValueError(
                "output='heatmaps' needs a model with predict_heatmaps(X), got "
                f"{type(estimator).__name__}."
            )
        if self.output == "predict":
            predict = estimator.predict
        else:
            predict = estimator.predict_heatmaps
        seed = int(self._rng().randint(np.iinfo(np.int32).max))
        X = context.X_pool
        scores = np.empty(X.shape[0])

        with _PASSES_LOCK:
            self._passes(module, layers, predict, X, scores, n_samples,
                         batch_size, seed, estimator)
        return scores

    def _passes(self, module, layers, predict, X, scores, n_samples, batch_size,
                seed, estimator):
        """The stochastic forward passes; the model is restored afterwards."""
        submodules = list(module.modules())
        training = [m.training for m in submodules]
        rates = [m.p for m in layers]
        hooks = [m.register_forward_pre_hook(_force_training) for m in layers]
        try:
            if self.dropout is not None:
                for m in layers:
                    m.p = float(self.dropout)
            with torch_seed(seed, getattr(estimator, "device", None)):
                for start in range(0, X.shape[0], batch_size):
                    stop = min(start + batch_size, X.shape[0])
                    passes = np.stack(
                        [
                            np.asarray(predict(X[start:stop]), dtype=np.float64)
                            .reshape(stop - start, -1)
                            for _ in range(n_samples)
                        ]
                    )
                    if not np.all(np.isfinite(passes)):
                        raise ValueError(
                            f"The model's {self.output} returned non-finite values."
                        )
                    scores[start:stop] = passes.var(axis=0).sum(axis=1)
        finally:
            for hook in hooks:
                hook.remove()
            for m, p in zip(layers, rates, strict=True):
                m.p = p
            for m, flag in zip(submodules, training, strict=True):
                m.training = flag


#: default :class:`MCDropoutQuery` instance
mc_dropout = shared_default(MCDropoutQuery())
