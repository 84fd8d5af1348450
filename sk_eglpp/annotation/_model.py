"""The model of a round: its network, its training, its folder ``model/``.

A round's ``model/`` holds the net's checkpoint as the package's one codec
writes it (:mod:`sk_eglpp.models._checkpoint`: one ``<component>.pt`` per
torch module, criterion and optimizer, ``history.json``,
``attributes.json``) and, beside it, ``model.json``: what the round knows of
the model (its fingerprint, input size, keypoint names, network, the images
it was trained on). ``model.json``'s ``format`` tells the layout: 2 is the
codec's; 1 is the older layout of rounds written before it
(``params.pt``, ``optimizer.pt``, ``history.json`` and, with a
loss-prediction head, ``loss_module.pt``), which is still read.
"""

import hashlib
import json

from skorch.callbacks import Callback

from .._interrupts import Interrupts
from .._progress import progress_bar
from ..models._checkpoint import load_net, owns_checkpoint_file, save_net
from ._formats import CROPS, WRITER, check_image_size, json_text, read_object

__all__ = []

#: the format of the ``model.json`` this version writes: the codec's layout
MODEL_FORMAT = 2
#: the format of rounds written before the codec: skorch's files by name
LEGACY_MODEL_FORMAT = 1
#: the round's description of its model, beside the checkpoint
MODEL_INFO = "model.json"
#: skorch's ``save_params`` files of the older layout (format 1)
_LEGACY_FILES = {
    "f_params": "params.pt",
    "f_optimizer": "optimizer.pt",
    "f_history": "history.json",
}
#: the keys of model.json and their types
_MODEL_INFO_KEYS = {"format": int, "fingerprint": str, "image_size": int,
                    "as_gray": bool, "keypoint_names": list, "network": dict,
                    "trained_on": list}


def owns_model_file(name):
    """Whether ``name`` in ``model/`` is a file a round writes (either layout)."""
    return name == MODEL_INFO or owns_checkpoint_file(name)


def read_model_info(file):
    """The checked content of a round's ``model.json`` (format 1 or 2)."""
    info = read_object(file, "the model description of an sk_eglpp round")
    for key, kind in _MODEL_INFO_KEYS.items():
        value = info.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(
                f"{str(file)!r} is not the model description of an sk_eglpp round "
                f"of this version: {key!r} must be a {kind.__name__}, got {value!r}."
            )
    if info["format"] not in (LEGACY_MODEL_FORMAT, MODEL_FORMAT):
        raise ValueError(
            f"{str(file)!r} describes a model of format {info['format']}; this "
            f"version reads formats {LEGACY_MODEL_FORMAT} and {MODEL_FORMAT}."
        )
    check_image_size(info["image_size"], f"image_size in {str(file)!r}")
    if not all(isinstance(n, str) for n in info["keypoint_names"]):
        raise ValueError(f"keypoint_names in {str(file)!r} must be names (str).")
    # models of rounds before crop="bbox" do not say: they read whole images
    info.setdefault("crop", "image")
    if info["crop"] not in CROPS:
        raise ValueError(f"crop in {str(file)!r} must be one of {list(CROPS)}, got "
                         f"{info['crop']!r}.")
    return info


def weights_digest(folder, info):
    """SHA-256 of the network's weights file in ``folder``.

    The codec's ``module.pt``, or the older layout's ``params.pt`` (so that
    a round continuing an older round keeps its fingerprint).
    """
    name = "params.pt" if info["format"] == LEGACY_MODEL_FORMAT else "module.pt"
    return hashlib.sha256((folder / name).read_bytes()).hexdigest()


def save_model(net, folder, info):
    """Write ``folder``: the net's checkpoint and ``model.json``, whole or not at all.

    Written through a temporary sibling and a rename; an existing ``folder``
    is replaced only when it holds nothing but a round's files
    (:func:`owns_model_file`).
    """
    record = {**info, "format": MODEL_FORMAT, "written_by": WRITER}
    save_net(net, folder, owns=owns_model_file,
             extra_files={MODEL_INFO: json_text(record)})


def load_model(net, folder, info, shape):
    """Initialise ``net`` and load the round's model in ``folder`` (weights only).

    ``info`` is the folder's ``model.json`` (its format tells the layout);
    ``shape`` is ``(in_channels, n_joints, image_size)``. The fitted
    attributes are restored too, so that a loaded model scores like the
    trained one (EGL++ renders its targets at ``heatmap_size_``).
    """
    in_channels, n_joints, image_size = shape
    net.set_params(torch_load_kwargs={"weights_only": True})
    net.n_joints_, net.in_channels_ = n_joints, in_channels
    net.initialize()
    try:
        if info["format"] == LEGACY_MODEL_FORMAT:
            _load_legacy(net, folder, image_size)
        else:
            load_net(net, folder)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds
        raise ValueError(
            f"cannot load the model in {str(folder)!r} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
        ) from exc
    return net


def _load_legacy(net, folder, image_size):
    """Read the older layout (format 1) into the initialised ``net``.

    Rounds written before the checkpoint codec kept skorch's ``params.pt``,
    ``optimizer.pt``, ``history.json`` (and ``loss_module.pt`` for a
    loss-prediction head) and no fitted attributes: ``heatmap_size_`` is
    computed from the input size, as ``fit`` sets it.
    """
    net.heatmap_size_ = net.heatmap_size_for((image_size, image_size))
    files = {key: folder / name for key, name in _LEGACY_FILES.items()}
    if getattr(net, "loss_prediction", False):
        files["f_loss_module"] = folder / "loss_module.pt"
    net.load_params(**files)


def network_params(estimator):
    """The estimator's JSON-able parameters that fix the network's shape."""
    params = estimator.get_params(deep=False)
    fixed = {k: v for k, v in params.items() if k.startswith("module__")}
    fixed["loss_prediction"] = params.get("loss_prediction", False)
    fixed["module"] = getattr(params.get("module"), "__name__", repr(params["module"]))
    return json.loads(json.dumps(fixed, sort_keys=True, default=repr))


def default_estimator(n_joints, in_channels, image_size, max_epochs, strategy,
                      device, random_state):
    """The round's hourglass when none is given (fits ``image_size``).

    A loss-prediction head for :class:`~sk_eglpp.query.LearningLossQuery`,
    dropout 0.1 for :class:`~sk_eglpp.query.MCDropoutQuery`.
    """
    from ..models import pose_estimator
    from ..query import LearningLossQuery, MCDropoutQuery

    depth = 3
    while depth > 1 and image_size % (4 * 2**depth):
        depth -= 1
    net = pose_estimator(
        n_joints,
        in_channels=in_channels,
        depth=depth,
        max_epochs=max_epochs,
        loss_prediction=isinstance(strategy, LearningLossQuery),
        # MC dropout needs dropout layers that drop (the benchmark preset's p)
        dropout=0.1 if isinstance(strategy, MCDropoutQuery) else 0.0,
        device=device,
    )
    return net.set_params(random_state=random_state)


def round_estimator(estimator, previous_network, strategy, shape, settings):
    """The (unfitted) network of this round, checked against the previous one.

    ``previous_network`` is the previous model's :func:`network_params`
    (``None`` in a first round); ``settings`` holds ``max_epochs``,
    ``device`` and ``seed``.
    """
    from sklearn.base import clone

    in_channels, n_joints, image_size = shape
    if estimator is None:
        net = default_estimator(n_joints, in_channels, image_size,
                                settings["max_epochs"], strategy, settings["device"],
                                settings["seed"])
        if previous_network is not None:
            net.set_params(**{k: v for k, v in previous_network.items()
                              if k.startswith("module__") or k == "loss_prediction"})
    else:
        net = clone(estimator).set_params(max_epochs=settings["max_epochs"])
    if previous_network is not None:
        network = network_params(net)
        changed = sorted(k for k in set(network) | set(previous_network)
                         if network.get(k) != previous_network.get(k))
        if changed:
            raise ValueError(
                f"the estimator's network differs from the previous round's model "
                f"in {changed}; continue with the same network or start without "
                "previous."
            )
    return net


class _EpochBar(Callback):
    """A skorch callback drawing one tqdm bar over the epochs of a fit."""

    def __init__(self, total):
        self.total = total

    def on_train_begin(self, net, **kwargs):
        self.bar_ = progress_bar(True, total=self.total, desc="training",
                                 unit="epoch", leave=False)

    def on_epoch_end(self, net, **kwargs):
        self.bar_.update(1)
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.3g}")

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


def train(net, X, y, verbose, start=None):
    """Fit ``net``; ``start(net)``, when given, loads the model to go on training.

    A fit cut short by Ctrl-C raises ``KeyboardInterrupt`` (skorch's ``fit``
    returns early), so that no such model is ever saved.
    """
    callbacks = list(net.callbacks or [])
    if verbose > 0:  # before initialize(), which sets the callbacks up
        net.set_params(callbacks=[*callbacks, ("progress", _EpochBar(net.max_epochs))])
    if start is not None:
        net.set_params(warm_start=True)
        net = start(net)
    with Interrupts() as interrupts:
        net.fit(X, y)
        interrupts.check()
    if verbose > 0:
        net.set_params(callbacks=callbacks or None)
        net.initialize_callbacks()
    return net
