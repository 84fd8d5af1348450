"""Keypoint regression with a stacked hourglass, as a skorch estimator."""

import contextlib
import threading
import warnings
import weakref
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch import NeuralNet, NeuralNetRegressor
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn

from .._param_validation import (
    Interval,
    ParamValidationMixin,
    StrOptions,
    validate_call,
)
from .._seeding import torch_seed
from .._tensors import image_tensor
from .._validation import check_keypoints, check_pool
from ..datasets._heatmaps import heatmaps_to_keypoints, keypoints_to_heatmaps
from ..metrics import pck
from ._augment import (
    augment_batch,
    check_flip_pairs,
    check_scale_range,
    flip_heatmaps,
    flip_permutation,
)
from ._hourglass import EMBEDDING_LAYERS, LossPredictionHead, StackedHourglass

__all__ = ["HourglassRegressor", "HeatmapMSELoss"]

#: start of torch's warning when a tensor is built on a read-only array
_READ_ONLY_WARNING = "The given NumPy array is not writable"


def _per_sample_heatmap_loss(heatmaps, targets, weights):
    """``sum_s sum(weights * (heatmaps[s] - targets) ** 2)`` per sample."""
    total = 0.0
    for h in heatmaps:
        total = total + (weights * (h - targets) ** 2).sum(dim=(1, 2, 3))
    return total


class HeatmapMSELoss(nn.Module):
    """Weighted squared error between every stack's heatmaps and the targets.

    The per-sample loss is ``sum over stacks s of sum(weights * (heatmaps[s] -
    targets) ** 2)``; :meth:`HourglassRegressor.render_targets` gives weights
    that make it the mean over annotated joints and pixels, summed over stacks.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        How the per-sample losses of a batch are combined.

    Examples
    --------
    >>> import torch
    >>> loss = HeatmapMSELoss()
    >>> h = [torch.ones(2, 1, 2, 2)]
    >>> float(loss(h, torch.zeros(2, 1, 2, 2), torch.full((2, 1, 1, 1), 0.25)))
    1.0
    """

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, heatmaps, targets, weights):
        per_sample = _per_sample_heatmap_loss(heatmaps, targets, weights)
        if self.reduction == "mean":
            return per_sample.mean()
        if self.reduction == "sum":
            return per_sample.sum()
        if self.reduction == "none":
            return per_sample
        raise ValueError(
            f'reduction must be "mean", "sum" or "none", got {self.reduction!r}.'
        )


class _HeatmapsAndFeatures(NamedTuple):
    """Output of a training step with a loss head (tells ``get_loss`` apart)."""

    heatmaps: list
    features: list


def _ranking_loss(predicted, target, margin):
    """Yoo & Kweon's pairwise margin ranking loss: pairs (i, i + B // 2)."""
    half = predicted.shape[0] // 2
    if half == 0:
        return predicted.sum() * 0.0
    sign = torch.sign(target[:half] - target[half : 2 * half])
    diff = predicted[:half] - predicted[half : 2 * half]
    return torch.clamp(margin - sign * diff, min=0.0).mean()


# Evaluation periods of the nets being predicted with: net -> (depth, modes).
_EVAL_LOCK = threading.Lock()
_EVAL_STATE = weakref.WeakKeyDictionary()


class HourglassRegressor(ParamValidationMixin, NeuralNetRegressor):
    """Stacked-hourglass keypoint regressor (skorch ``NeuralNetRegressor``).

    ``y`` holds keypoints in input-image pixel coordinates; the estimator
    renders Gaussian target heatmaps for them, trains every stack of the
    hourglass against them (intermediate supervision) and decodes its
    predictions back to keypoints.

    ``X`` holds images ``(n_samples, channels, height, width)``: floats
    (the loaders' [0, 1]) or uint8 in [0, 255], kept as they are and scaled
    to [0, 1] one batch at a time (``load_lspet(dtype="uint8")`` keeps 10,000
    colour images of 128 pixels in 0.5 GB instead of 2 GB).

    Parameters
    ----------
    module : torch module class or instance, default=StackedHourglass
        The network; its parameters are set with ``module__<name>`` (e.g.
        ``module__n_features=256, module__depth=4`` for the paper's model).
        ``module__n_joints`` defaults to the number of joints of the first
        ``y`` seen by ``fit``, ``module__in_channels`` to the channels of
        ``X``. A custom module must return a list of heatmaps ``(n, n_joints,
        h / stride, w / stride)`` and, for ``loss_prediction`` / :meth:`embed`,
        provide ``forward(x, return_features=True)``, ``feature_channels`` and
        ``embed`` like :class:`StackedHourglass`.
    criterion : torch criterion class, default=HeatmapMSELoss
        Called as ``criterion(heatmaps, targets, weights)``.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=30
    batch_size : int, default=16
    train_split : callable or None, default=None
        No validation split by default: active learning has few labels.
    sigma : float, default=1.0
        Standard deviation of the target Gaussians, in heatmap pixels.
    random_state : int, RandomState instance or None, default=None
        Makes fitting reproducible: ``fit`` and ``partial_fit`` seed torch's
        CPU (and the net's CUDA device's) random number generator inside
        :func:`torch.random.fork_rng` with a seed drawn from ``random_state``
        and the number of epochs trained so far, so the weights'
        initialisation, dropout and the shuffling of the training batches are
        reproducible and the global generators are left as they were. Two CPU
        fits with the same integer ``random_state`` and thread count are
        bit-identical on the same kind of processor (same torch version and
        CPU instruction set).
    loss_prediction : bool, default=False
        Add a loss-prediction head (Yoo & Kweon 2019) fed with the multi-scale
        features of the last hourglass, trained jointly with the pose loss;
        see :meth:`predict_loss`.
    loss_prediction_margin : float, default=1.0
        Margin of the pairwise ranking loss.
    loss_prediction_weight : float, default=0.01
        Weight of the ranking loss added to the pose loss (Yoo & Kweon's
        lambda, 1 in their paper). The heatmap loss here is a mean over pixels,
        of order 1e-2 per sample, so at weight 1 the ranking loss dominates the
        backbone's gradient (the user guide's Learning Loss section has the
        measurement behind the default).
    loss_prediction_stop_epoch : int or None, default=None
        After this many epochs (counted over the net's whole history, so
        continued training with ``warm_start`` keeps counting), the features
        fed to the head are detached: the ranking loss then trains only the
        head (Yoo & Kweon stop the gradient after 120 of 200 epochs).
        ``None`` never stops it.
    embedding_layer : {"bottleneck", "head"}, default="bottleneck"
        What :meth:`embed` pools (global average): ``"bottleneck"`` the
        innermost features of the last hourglass, ``"head"`` the last stack's
        head output (the features its heatmap convolution reads), the
        embedding of the EGL++ authors' code. The embedding is what EGL++'s
        neighbours, Core-set's distances and the selection map work on.
    flip_pairs : sequence of (int, int) or None, default=None
        Training augmentation: ``None`` never mirrors the images; otherwise
        every training sample is mirrored horizontally with probability 1/2
        and these left/right joints swapped (``LSP_FLIP_PAIRS`` for the 14
        LSP joints, ``()`` for keypoints without sides).
    max_rotation : float, default=0.0
        Training augmentation: rotations drawn uniformly in ``[-max_rotation,
        max_rotation]`` degrees (30 in the hourglass' recipe).
    scale_range : (float, float), default=(1.0, 1.0)
        Training augmentation: scales drawn uniformly in this range ((0.75,
        1.25) in the hourglass' recipe).
    flip_test : bool, default=False
        Predict heatmaps (and keypoints, and the score) as the mean of the
        image's and of its mirror image's, mapped back with ``flip_pairs``
        (which must then be given).
    verbose : int, default=0
        skorch's per-epoch log (off by default: active learning refits often).
    device : str or torch.device, default="cpu"
    **kwargs
        Any other skorch parameter (``warm_start``, ``callbacks``,
        ``iterator_train__...``, ``optimizer__...``, ...). The training batches
        are shuffled unless ``iterator_train__shuffle=False`` is given.

    Attributes
    ----------
    module_ : StackedHourglass
        The trained network.
    loss_module_ : LossPredictionHead
        The loss-prediction head (only with ``loss_prediction=True``).
    n_joints_ : int
        Joints of the training targets.
    heatmap_size_ : tuple of (int, int)
        Heatmap height and width for the training images.
    history_ : skorch.History
        skorch's training log.

    See Also
    --------
    StackedHourglass : the default network.
    sk_eglpp.metrics.pck : the metric behind :meth:`score`.

    Notes
    -----
    Augmentation (``flip_pairs``, ``max_rotation``, ``scale_range``) transforms
    every training batch anew, images and keypoints together, about the image
    centre: a keypoint ``p`` moves to ``c + s R(theta) F (p - c)`` (``F`` the
    mirror for flipped samples), and keypoints leaving the image become NaN
    (see :func:`sk_eglpp.models.augment_batch`). The draws come from torch's
    generator, seeded by ``random_state``, so augmented fits are as
    reproducible as plain ones. Only training is augmented: the losses and
    gradients of EGL++ and the other strategies are those of the images as
    given.

    A learning-rate schedule is a skorch callback, e.g.
    ``callbacks=[("lr", LRScheduler(CosineAnnealingLR, T_max=30))]``. skorch
    re-creates the scheduler from the net's epoch count whenever training
    continues (``warm_start``): a schedule given as a function of the epoch
    (``LambdaLR``) continues exactly, while a recursive one such as
    ``StepLR`` takes one extra step at each continuation.

    The loss of sample ``n`` is ``sum over stacks s of 1 / (V_n * H * W) *
    sum over annotated joints j and pixels of (heatmap_s - target) ** 2``,
    with ``V_n`` its number of annotated joints (a sample without any has
    loss 0); a batch's loss is the mean over its samples.
    :meth:`render_targets` returns the targets and the weights of exactly
    this sum, for methods that need the loss outside of training (EGL++).

    With ``loss_prediction=True`` the batch loss adds
    ``loss_prediction_weight`` times the ranking loss of Yoo & Kweon on the
    pairs ``(i, i + B // 2)`` of the batch: ``mean(max(0, -sign(l_i - l_j) *
    (lhat_i - lhat_j) + margin))`` with the detached true losses ``l``.

    References
    ----------
    A. Newell, K. Yang, J. Deng. "Stacked Hourglass Networks for Human Pose
    Estimation", ECCV 2016.
    D. Yoo, I. S. Kweon. "Learning Loss for Active Learning", CVPR 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.models import HourglassRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((8, 1, 16, 16), dtype=np.float32)
    >>> y = rng.uniform(2, 14, size=(8, 2 * 3))
    >>> net = HourglassRegressor(
    ...     module__n_features=8, module__depth=1, max_epochs=2, random_state=0
    ... ).fit(X, y)
    >>> net.predict(X).shape, net.embed(X).shape
    ((8, 6), (8, 8))
    """

    #: parameters added after simulation results were stored, with their
    #: defaults: fingerprints leave them out at these values (``describe``)
    _added_parameters = {
        "flip_pairs": None,
        "max_rotation": 0.0,
        "scale_range": (1.0, 1.0),
        "flip_test": False,
    }

    #: the parameters this class adds to skorch's (skorch checks its own)
    _parameter_constraints = {
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state", None],
        "loss_prediction": ["boolean"],
        "loss_prediction_margin": [Interval(Real, 0, None, closed="left")],
        "loss_prediction_weight": [Interval(Real, 0, None, closed="left")],
        "loss_prediction_stop_epoch": [
            Interval(Integral, 0, None, closed="left"),
            None,
        ],
        "embedding_layer": [StrOptions(EMBEDDING_LAYERS)],
        "flip_pairs": [None, "iterable"],  # pairs checked against n_joints
        "max_rotation": [Interval(Real, 0, 180, closed="both")],
        "scale_range": ["iterable"],  # (low, high) checked by check_scale_range
        "flip_test": ["boolean"],
    }

    def __init__(
        self,
        module=StackedHourglass,
        *,
        criterion=HeatmapMSELoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=30,
        batch_size=16,
        train_split=None,
        sigma=1.0,
        random_state=None,
        loss_prediction=False,
        loss_prediction_margin=1.0,
        loss_prediction_weight=0.01,
        loss_prediction_stop_epoch=None,
        embedding_layer="bottleneck",
        flip_pairs=None,
        max_rotation=0.0,
        scale_range=(1.0, 1.0),
        flip_test=False,
        verbose=0,
        device="cpu",
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.sigma = sigma
        self.random_state = random_state
        self.loss_prediction = loss_prediction
        self.loss_prediction_margin = loss_prediction_margin
        self.loss_prediction_weight = loss_prediction_weight
        self.loss_prediction_stop_epoch = loss_prediction_stop_epoch
        self.embedding_layer = embedding_layer
        self.flip_pairs = flip_pairs
        self.max_rotation = max_rotation
        self.scale_range = scale_range
        self.flip_test = flip_test

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    # -- validation -------------------------------------------------------

    @staticmethod
    def _check_X(X):
        """Images ``(n, c, h, w)`` as float32 (uint8 kept: scaled per batch),
        checked by the strategies' check."""
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = check_pool(X, name="X")
        if X.ndim != 4:
            raise ValueError(
                "X must be an image batch of shape (n_samples, channels, height, "
                f"width), got an array of shape {X.shape}."
            )
        if X.dtype == np.uint8:  # 0-255 images, scaled batch by batch
            return X
        X = X.astype(np.float32, copy=False)
        if not np.isfinite(X).all():  # finite float64 beyond the float32 range
            raise ValueError("X must not contain NaN or infinity.")
        return X

    @staticmethod
    @contextlib.contextmanager
    def _read_only_inputs():
        """Silence torch's warning about read-only input arrays.

        The data loader turns every sample of a batch into a tensor sharing the
        array's memory (torch warns when the array is read-only) and then
        stacks them into a new tensor, so the network never sees, let alone
        writes to, the caller's memory: read-only arrays (and memory maps) are
        safe inputs and need no copy.
        """
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_READ_ONLY_WARNING, category=UserWarning
            )
            yield

    def _check_y(self, y, n_samples):
        if y is None:
            raise ValueError(
                "HourglassRegressor requires y to be passed, but the target y is "
                "None: give keypoints of shape (n_samples, 2 * n_joints)."
            )
        # the keypoint check of the metrics and heatmaps: (n, J, 2) float64
        y = check_keypoints(y, "y")
        if y.shape[0] != n_samples:
            raise ValueError(
                f"X and y must have the same number of samples, got {n_samples} "
                f"and {y.shape[0]}."
            )
        return y.reshape(y.shape[0], -1).astype(np.float32)

    def _check_layout(self, X, expected_channels):
        """Reject a likely channels-last batch ``(n, h, w, c)`` with a hint.

        ``expected_channels``: the module's input channels when known (fitted
        net or ``module__in_channels``), else ``None`` (then 1 or 3 is
        expected). The last axis of a channels-first batch is the width, which
        is never 1 or 3 for the hourglass (a multiple of at least 8).
        """
        last, second = X.shape[3], X.shape[1]
        if last not in (1, 3) or second == last:
            return
        if expected_channels is None:
            suspect = second not in (1, 3)
        else:
            suspect = second != expected_channels and last == expected_channels
        if suspect:
            raise ValueError(
                f"X of shape {X.shape} looks like channels-last images (n_samples, "
                "height, width, channels); HourglassRegressor expects channels "
                "first (n_samples, channels, height, width): pass "
                "X.transpose(0, 3, 1, 2)."
            )

    def _check_training_data(self, X, y):
        if y is None:
            self._check_y(y, 0)
        X = self._check_X(X)
        if self.warm_start and getattr(self, "initialized_", False):
            expected = getattr(self, "in_channels_", None)
        else:
            expected = self.get_params_for("module").get("in_channels")
        self._check_layout(X, expected)
        y = self._check_y(y, X.shape[0])
        n_joints = y.shape[1] // 2
        self._flip_pairs(n_joints)
        check_scale_range(self.scale_range)
        self.n_joints_ = n_joints
        self.in_channels_ = X.shape[1]
        return X, y

    def _flip_pairs(self, n_joints):
        """``flip_pairs`` checked for ``n_joints`` joints (None stays None)."""
        if self.flip_pairs is None:
            return None
        return check_flip_pairs(self.flip_pairs, n_joints)

    def _augment(self, batch):
        """A training batch with the configured augmentation applied."""
        Xi, yi = unpack_data(batch)
        scale_range = check_scale_range(self.scale_range)
        if (self.flip_pairs is None and self.max_rotation == 0
                and scale_range == (1.0, 1.0)):
            return Xi, yi
        return augment_batch(
            image_tensor(to_tensor(Xi, device=self.device)),
            to_tensor(yi, device=self.device),
            max_rotation=float(self.max_rotation),
            scale_range=scale_range,
            flip_pairs=self.flip_pairs,
        )

    def _check_module_matches(self):
        n_joints = getattr(self.module_, "n_joints", self.n_joints_)
        if n_joints != self.n_joints_:
            raise ValueError(
                f"y has {self.n_joints_} joints, but the module predicts {n_joints} "
                "heatmaps (module__n_joints)."
            )

    # -- randomness -------------------------------------------------------

    @contextlib.contextmanager
    def _seeded(self, continued):
        """Seed torch from ``random_state`` without touching the global state.

        ``continued``: training goes on from the current weights, so the seed
        also depends on the number of epochs already trained.
        """
        base = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        history = getattr(self, "history_", None)
        n_epochs = len(history) if continued and history else 0
        seed = int(np.random.SeedSequence([base, n_epochs]).generate_state(1)[0])
        with torch_seed(seed, self.device):
            yield

    # -- skorch hooks -----------------------------------------------------

    @validate_call
    def initialize(self):
        """skorch's ``initialize``, after checking the parameters this class adds.

        (``fit`` and ``partial_fit`` check them too, also when they continue
        from an initialised net.)
        """
        return super().initialize()

    def initialize_module(self):
        """Build ``module_`` (and ``loss_module_``), defaults taken from the data."""
        kwargs = self.get_params_for("module")
        if not isinstance(self.module, nn.Module):
            for name in ("n_joints", "in_channels"):
                if hasattr(self, name + "_"):
                    kwargs.setdefault(name, getattr(self, name + "_"))
        self.module_ = self.initialized_instance(self.module, kwargs)
        if self.loss_prediction:
            channels = getattr(self.module_, "feature_channels", None)
            if channels is None:
                raise ValueError(
                    "loss_prediction=True needs a module with multi-scale features "
                    "(feature_channels and forward(x, return_features=True)), got "
                    f"{type(self.module_).__name__}."
                )
            self.loss_module_ = LossPredictionHead(channels)
        elif "loss_module" in self._modules:
            del self.loss_module_
        return self

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; training batches shuffled by a seeded generator.

        Prediction iterators get a private generator: torch's data loader
        draws a seed from its generator every time it is iterated, which would
        otherwise advance torch's global generator on every prediction.
        """
        if not training:
            kwargs = self.get_params_for("iterator_valid")
            kwargs.setdefault("batch_size", self.batch_size)
            if kwargs["batch_size"] == -1:
                kwargs["batch_size"] = len(dataset)
            kwargs.setdefault("generator", torch.Generator())
            return self.iterator_valid(dataset, **kwargs)
        kwargs = self.get_params_for("iterator_train")
        kwargs.setdefault("batch_size", self.batch_size)
        kwargs.setdefault("shuffle", True)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if kwargs["shuffle"] and "generator" not in kwargs:
            # drawn from torch's generator, seeded by ``random_state`` in fit
            seed = int(torch.randint(np.iinfo(np.int64).max, (1,)))
            kwargs["generator"] = torch.Generator().manual_seed(seed)
        return self.iterator_train(dataset, **kwargs)

    def infer(self, x, **fit_params):
        """skorch's forward pass; uint8 images are scaled to [0, 1] first."""
        return super().infer(image_tensor(to_tensor(x, device=self.device)),
                             **fit_params)

    def train_step_single(self, batch, **fit_params):
        """One training step (augmented); with a loss head, also its ranking
        loss."""
        Xi, yi = self._augment(batch)
        if not self.loss_prediction:
            return super().train_step_single((Xi, yi), **fit_params)
        self._set_training(True)
        y_pred = _HeatmapsAndFeatures(
            *self.infer(Xi, return_features=True, **fit_params)
        )
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred.heatmaps}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Pose loss of a batch (plus the ranking loss with a loss head).

        Parameters
        ----------
        y_pred : list or tuple of Tensor
            Every stack's heatmaps (during training with a loss head, a pair
            of heatmaps and multi-scale features).
        y_true : Tensor of shape (n, 2 * n_joints)
            Keypoints in input pixels (NaN: not annotated).
        X, training
            As in skorch.

        Returns
        -------
        loss : Tensor (scalar)
        """
        features = None
        if isinstance(y_pred, _HeatmapsAndFeatures):
            heatmaps, features = y_pred
        elif isinstance(y_pred, torch.Tensor):
            heatmaps = [y_pred]
        else:
            heatmaps = list(y_pred)
        if isinstance(y_true, torch.Tensor):
            y_true = y_true.detach().cpu().numpy()
        targets, weights = self._render(y_true, tuple(heatmaps[-1].shape[-2:]))
        device = heatmaps[-1].device
        targets = torch.as_tensor(targets, device=device)
        weights = torch.as_tensor(weights, device=device)
        loss = self.criterion_(heatmaps, targets, weights)
        if features is not None:
            loss = loss + self._loss_prediction_term(
                heatmaps, targets, weights, features
            )
        return loss

    def _loss_prediction_term(self, heatmaps, targets, weights, features):
        if not isinstance(getattr(self, "loss_module_", None), nn.Module):
            raise ValueError(
                "loss_prediction=True but the net has no loss head: it was "
                "initialised without one; call initialize() or fit with "
                "warm_start=False."
            )
        stop = self.loss_prediction_stop_epoch
        if stop is not None and len(self.history) > stop:
            features = [f.detach() for f in features]
        true_losses = _per_sample_heatmap_loss(heatmaps, targets, weights).detach()
        predicted = self.loss_module_(features)
        ranking = _ranking_loss(predicted, true_losses, self.loss_prediction_margin)
        return self.loss_prediction_weight * ranking

    # -- fitting ----------------------------------------------------------

    @validate_call
    def fit(self, X, y, **fit_params):
        """Train the network on images and their keypoints.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)
            Images; height and width multiples of ``module_.size_multiple``.
        y : array-like of shape (n_samples, 2 * n_joints) or \
                (n_samples, n_joints, 2)
            Keypoints in input pixels ``x0, y0, x1, y1, ...``; NaN for joints
            that are not annotated.
        **fit_params
            Passed to skorch.

        Returns
        -------
        self : HourglassRegressor
        """
        X, y = self._check_training_data(X, y)
        continued = bool(self.warm_start and self.initialized_)
        with self._seeded(continued):
            if not continued:
                self.initialize()
            self._check_module_matches()
            self.heatmap_size_ = self.heatmap_size_for(X.shape[2:])
            with self._read_only_inputs():
                NeuralNet.partial_fit(self, X, y, **fit_params)
        return self

    @validate_call
    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training for ``max_epochs`` epochs (see :meth:`fit`)."""
        X, y = self._check_training_data(X, y)
        with self._seeded(bool(self.initialized_)):
            if not self.initialized_:
                self.initialize()
            self._check_module_matches()
            self.heatmap_size_ = self.heatmap_size_for(X.shape[2:])
            with self._read_only_inputs():
                NeuralNet.partial_fit(self, X, y, classes, **fit_params)
        return self

    def heatmap_size_for(self, image_size):
        """The heatmaps' ``(height, width)`` for images of ``image_size``.

        The initialised module's output stride divides the image size (what
        ``fit`` stores as ``heatmap_size_``).

        Parameters
        ----------
        image_size : tuple of int
            ``(height, width)`` of the input images.

        Returns
        -------
        heatmap_size : tuple of int

        Examples
        --------
        >>> from sk_eglpp import HourglassRegressor
        >>> net = HourglassRegressor(module__n_joints=2, module__depth=1,
        ...                          module__n_features=4).initialize()
        >>> net.heatmap_size_for((64, 48))
        (16, 12)
        """
        self.check_is_fitted(["module_"])  # initialised: NotFittedError otherwise
        stride = getattr(self.module_, "stride", 4)
        return tuple(int(s) // stride for s in image_size)

    # -- targets ----------------------------------------------------------

    def _render(self, y, heatmap_size):
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(y.shape[0], -1, 2)
        stride = getattr(self.module_, "stride", 4)
        targets = keypoints_to_heatmaps(
            y, heatmap_size, sigma=self.sigma, stride=stride
        )
        annotated = ~np.isnan(y).any(axis=2)
        n_annotated = annotated.sum(axis=1, keepdims=True)
        height, width = heatmap_size
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(
                annotated, 1.0 / (np.maximum(n_annotated, 1) * height * width), 0.0
            )
        return targets, weights.astype(np.float32)[:, :, None, None]

    def render_targets(self, y, heatmap_size=None):
        """Target heatmaps and loss weights for keypoints ``y``.

        The training loss of sample ``n`` is exactly ``sum over stacks s of
        sum(weights[n] * (heatmaps_s[n] - targets[n]) ** 2)``: the weights
        hold the annotation mask and the mean over joints and pixels.

        Parameters
        ----------
        y : array-like of shape (n_samples, 2 * n_joints) or \
                (n_samples, n_joints, 2)
            Keypoints in input pixels; NaN for joints that are not annotated.
        heatmap_size : tuple of (int, int), default=None
            Heatmap height and width; default ``heatmap_size_`` (the training
            images').

        Returns
        -------
        targets : ndarray of shape (n_samples, n_joints, height, width), float32
            Gaussian heatmaps (all zero for joints that are not annotated).
        weights : ndarray of shape (n_samples, n_joints, 1, 1), float32
            ``1 / (n_annotated * height * width)`` for annotated joints, else 0.

        Examples
        --------
        >>> import numpy as np
        >>> net = HourglassRegressor(sigma=1.0).initialize()
        >>> t, w = net.render_targets(np.array([[8.0, 8.0, np.nan, np.nan]]), (4, 4))
        >>> t.shape, w.ravel().tolist()
        ((1, 2, 4, 4), [0.0625, 0.0])
        """
        self.check_is_fitted()
        if heatmap_size is None:
            if not hasattr(self, "heatmap_size_"):
                raise ValueError(
                    "heatmap_size must be given before the net has been fit, got None."
                )
            heatmap_size = self.heatmap_size_
        y = self._check_y(y, np.shape(y)[0] if np.ndim(y) else 0)
        return self._render(y, tuple(int(s) for s in heatmap_size))

    # -- prediction -------------------------------------------------------

    def _batches(self, X):
        """Input batches as tensors on ``device``, for use under ``_eval_mode``."""
        self.check_is_fitted()
        X = self._check_X(X)
        self._check_layout(
            X,
            getattr(self.module_, "in_channels", getattr(self, "in_channels_", None)),
        )
        batches = iter(self.get_iterator(self.get_dataset(X), training=False))
        while True:
            # the filter is set around the loader only, not around the caller's
            # code that runs between two batches
            with self._read_only_inputs():
                batch = next(batches, None)
            if batch is None:
                return
            Xi, _ = unpack_data(batch)
            yield image_tensor(to_tensor(Xi, device=self.device))

    def _infer(self, X, step, dim=0):
        """``step(Xi)`` on every input batch in evaluation mode, concatenated.

        The one batched-inference loop of the predict-like methods: ``step``
        maps a batch tensor on ``device`` to an output tensor; the outputs are
        moved to the CPU and concatenated along ``dim`` into an ndarray.
        """
        out = []
        with self._eval_mode():
            for Xi in self._batches(X):
                out.append(step(Xi).cpu())
        return torch.cat(out, dim=dim).numpy()

    @contextlib.contextmanager
    def _eval_mode(self):
        """Modules in evaluation mode, without gradients; modes restored after.

        Concurrent predictions of one net (threads) share one evaluation
        period: the first to enter records the modes and switches to
        evaluation, the last to leave restores them, so no prediction ever
        runs with BatchNorm or dropout in training mode (MCDropoutQuery's
        hooks aside, which switch dropout on on purpose).
        """
        with _EVAL_LOCK:
            depth, modes = _EVAL_STATE.get(self, (0, None))
            if depth == 0:
                modules = [
                    getattr(self, name + "_", None)
                    for name in self._modules + self._criteria
                ]
                modes = [
                    (m, m.training)
                    for module in modules
                    if isinstance(module, nn.Module)
                    for m in module.modules()
                ]
                self._set_training(False)
            _EVAL_STATE[self] = (depth + 1, modes)
        try:
            with torch.no_grad():
                yield
        finally:
            with _EVAL_LOCK:
                depth, modes = _EVAL_STATE.pop(self)
                if depth > 1:
                    _EVAL_STATE[self] = (depth - 1, modes)
                else:
                    for m, training in modes:
                        m.training = training

    def evaluation_step(self, batch, training=False):
        """skorch's evaluation step; every stack's heatmaps as a tuple.

        A tuple lets skorch's :meth:`forward` concatenate the batches per stack.
        """
        out = super().evaluation_step(batch, training=training)
        return tuple(out) if isinstance(out, list) else out

    def predict_heatmaps(self, X, *, all_stacks=False):
        """Predicted heatmaps of the last stack (or of every stack).

        With ``flip_test=True``, the mean of the image's heatmaps and of its
        mirror image's, mapped back (mirrored, left/right joints swapped).

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)
        all_stacks : bool, default=False
            Return every stack's heatmaps, stacked on a new first axis.

        Returns
        -------
        heatmaps : ndarray of shape (n_samples, n_joints, height / 4, width / 4)
            float32; with ``all_stacks=True`` of shape (n_stacks, n_samples,
            n_joints, height / 4, width / 4).
        """
        if all_stacks:
            return self._infer(X, lambda Xi: torch.stack(self._heatmaps(Xi)), 1)
        return self._infer(X, lambda Xi: self._heatmaps(Xi)[-1])

    def _heatmaps(self, Xi):
        """Every stack's heatmaps of a batch (flip-averaged with ``flip_test``)."""
        heatmaps = list(self.module_(Xi))
        if not self.flip_test:
            return heatmaps
        if self.flip_pairs is None:
            raise ValueError(
                "flip_test=True needs flip_pairs, the left/right joint pairs that "
                "a mirror swaps, got flip_pairs=None."
            )
        perm = flip_permutation(self.n_joints_, self._flip_pairs(self.n_joints_))
        mirrored = self.module_(torch.flip(Xi, dims=(-1,)))
        return [
            (h + flip_heatmaps(m, perm)) / 2
            for h, m in zip(heatmaps, mirrored, strict=True)
        ]

    def predict(self, X):
        """Keypoints decoded from the last stack's heatmaps.

        Arg-max with sub-pixel refinement (see
        :func:`~sk_eglpp.datasets.heatmaps_to_keypoints`), mapped back to
        input pixel coordinates.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        y_pred : ndarray of shape (n_samples, 2 * n_joints), float32
        """
        heatmaps = self.predict_heatmaps(X)
        stride = getattr(self.module_, "stride", 4)
        return heatmaps_to_keypoints(heatmaps, stride=stride).astype(np.float32)

    @validate_call
    def embed(self, X):
        """Embeddings: the pooled features chosen by ``embedding_layer``.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_features), float32
        """
        layer = self.embedding_layer
        return self._infer(X, lambda Xi: self.module_.embed(Xi, layer=layer))

    def predict_loss(self, X):
        """Losses predicted by the loss-prediction head (Learning Loss).

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        losses : ndarray of shape (n_samples,), float32
            Higher means a larger expected loss (the scale is only meaningful
            for ranking).
        """
        self.check_is_fitted()
        if not isinstance(getattr(self, "loss_module_", None), nn.Module):
            raise ValueError(
                "predict_loss needs a loss-prediction head: fit the regressor "
                f"with loss_prediction=True, got loss_prediction="
                f"{self.loss_prediction!r} and no head."
            )
        return self._infer(
            X, lambda Xi: self.loss_module_(self.module_(Xi, return_features=True)[1])
        )

    def score(self, X, y, sample_weight=None):
        """PCK@0.2 of the predictions (LSP convention, see ``metrics.pck``).

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)
        y : array-like of shape (n_samples, 2 * n_joints) or \
                (n_samples, n_joints, 2)
        sample_weight : None
            Not supported; must be None.

        Returns
        -------
        score : float
        """
        if sample_weight is not None:
            raise ValueError("score does not support sample_weight, got weights.")
        return pck(y, self.predict(X), alpha=0.2)


#: the largest heatmap side a fitted :class:`HourglassRegressor` may have
#: (images of 16384 pixels a side at the hourglass' stride 4)
MAX_HEATMAP_SIDE = 4096

#: the most joints or input channels a fitted net may have
_MAX_CHANNELS = 4096


def _check_size(name, value, high):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"{name} must be an int in [1, {high}], got {value!r} "
            f"({type(value).__name__})."
        )
    if not 1 <= value <= high:
        raise ValueError(f"{name} must be an int in [1, {high}], got {value!r}.")


def check_fitted_attributes(net):
    """Check the sizes a loaded :class:`HourglassRegressor` was fitted with.

    For fitted attributes read back from a file (the simulation store's
    ``attributes.json``): ``heatmap_size_`` must be two ints in ``[1,
    MAX_HEATMAP_SIDE]`` (a larger one would make every rendered target
    exhaust the memory), and ``n_joints_`` and ``in_channels_`` positive
    ints that agree with ``module_``. Attributes the net lacks are not
    checked; nets of other classes are not checked at all.

    Parameters
    ----------
    net : object
        A net whose fitted attributes were set from a file.

    Raises
    ------
    TypeError
        When one of them has the wrong type.
    ValueError
        When one is out of bounds or disagrees with ``module_``.

    Examples
    --------
    >>> net = HourglassRegressor().initialize()
    >>> net.heatmap_size_ = (16, 16)
    >>> check_fitted_attributes(net)
    >>> net.heatmap_size_ = (100000.0, 100000.0)
    >>> check_fitted_attributes(net)
    Traceback (most recent call last):
    ...
    TypeError: heatmap_size_[0] must be an int in [1, 4096], got 100000.0 (float).
    """
    if not isinstance(net, HourglassRegressor):
        return
    if hasattr(net, "heatmap_size_"):
        size = net.heatmap_size_
        if not isinstance(size, tuple | list):
            raise TypeError(
                "heatmap_size_ must be a (height, width) pair of ints, got "
                f"{type(size).__name__}."
            )
        if len(size) != 2:
            raise ValueError(
                "heatmap_size_ must be a (height, width) pair of ints, got "
                f"{len(size)} items."
            )
        for i, side in enumerate(size):
            _check_size(f"heatmap_size_[{i}]", side, MAX_HEATMAP_SIDE)
    module = getattr(net, "module_", None)
    for name in ("n_joints", "in_channels"):
        if not hasattr(net, name + "_"):
            continue
        value = getattr(net, name + "_")
        _check_size(name + "_", value, _MAX_CHANNELS)
        expected = getattr(module, name, None)
        if expected is not None and value != expected:
            raise ValueError(
                f"{name}_ must be the module's {name} ({expected}), got {value}."
            )
