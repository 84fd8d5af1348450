"""The checkpoint of a skorch net: one folder, written whole or not at all.

A checkpoint folder holds::

    <component>.pt      one per torch module, criterion and optimizer of the
                        net (``module.pt``, ``criterion.pt``, ``optimizer.pt``,
                        ...), written by skorch's ``save_params``
    history.json        the training history (``save_params``)
    attributes.json     the simple fitted attributes the net sets in ``fit``
                        (``heatmap_size_``, ``n_joints_``, ``in_channels_``,
                        ...), as JSON

:func:`save_net` writes it through a temporary sibling and a rename
(:func:`sk_eglpp._files.atomic_folder`), each file fsynced;
:func:`load_net` reads it back into an initialised net with skorch's
``load_params`` and weights-only ``torch.load``. Both names are public within
the package; the simulation store keeps its nets this way.
"""

import json
import os

import numpy as np

from .._files import atomic_folder

__all__ = []

#: the file of the training history
HISTORY = "history.json"
#: the file of the simple fitted attributes
ATTRIBUTES = "attributes.json"


class CheckpointAttributeError(ValueError):
    """``attributes.json`` was read, but holds a value that no fit sets."""


def components(net):
    """Names of the net's torch modules, criteria and optimizers, sorted.

    The attributes ending with ``_`` (``module_``, ``criterion_``,
    ``optimizer_``, ...) that hold a ``torch.nn.Module`` or a
    ``torch.optim.Optimizer``, without the trailing underscore: each is saved
    as ``<name>.pt``.
    """
    import torch

    return sorted(
        key[:-1]
        for key, value in vars(net).items()
        if key.endswith("_")
        and not key.startswith("_")
        and isinstance(value, torch.nn.Module | torch.optim.Optimizer)
    )


def owns_checkpoint_file(name):
    """Whether ``name`` is a file that :func:`save_net` writes."""
    return name in (HISTORY, ATTRIBUTES) or name.endswith(".pt")


def encode_attribute(value):
    """JSON form of a simple fitted attribute, or None when it is not simple.

    Simple: ``None``, a bool, int, float or str (numpy scalars included), a
    numeric numpy array, or a list or tuple of simple values.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return {"value": value}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"ndarray": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, list | tuple):
        items = [encode_attribute(v) for v in value]
        if all(item is not None for item in items):
            return {type(value).__name__: items}
    return None


def decode_attribute(encoded):
    """The value of an attribute encoded by :func:`encode_attribute`."""
    if "value" in encoded:
        return encoded["value"]
    if "ndarray" in encoded:
        return np.asarray(encoded["ndarray"], dtype=encoded["dtype"])
    kind = "tuple" if "tuple" in encoded else "list"
    items = [decode_attribute(item) for item in encoded[kind]]
    return tuple(items) if kind == "tuple" else items


def _fitted_attributes(net):
    """The net's simple fitted attributes, encoded (the history excepted)."""
    attributes = {}
    for key, value in vars(net).items():
        if key.endswith("_") and not key.startswith("_") and key != "history_":
            encoded = encode_attribute(value)
            if encoded is not None:
                attributes[key] = encoded
    return attributes


def _fsync_files(folder):
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def save_net(net, folder, *, owns=None, extra_files=None):
    """Write the fitted skorch ``net`` into ``folder``, whole or not at all.

    Parameters
    ----------
    net : skorch.NeuralNet
        A fitted (or at least initialised) net.
    folder : pathlib.Path
        The checkpoint folder; its parent must exist. An existing folder is
        replaced only when every entry of it is a checkpoint file (or a name
        ``owns`` accepts); otherwise a ``ValueError`` is raised and nothing
        is touched.
    owns : callable, default=None
        A predicate on names: entries of an existing ``folder`` that may be
        replaced besides the checkpoint's own files.
    extra_files : dict of str to str, default=None
        ``{name: text}`` written beside the checkpoint, in the same atomic
        step (the labelling round's ``model.json``); ``owns`` must accept
        their names.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from skorch import NeuralNetRegressor
    >>> from skorch.toy import MLPModule
    >>> net = NeuralNetRegressor(MLPModule, module__input_units=2,
    ...                          module__output_units=1, max_epochs=1,
    ...                          train_split=None, verbose=0)
    >>> X = np.zeros((4, 2), dtype=np.float32); y = np.zeros((4, 1), np.float32)
    >>> folder = Path(tempfile.mkdtemp()) / "net"
    >>> save_net(net.fit(X, y), folder)
    >>> sorted(p.name for p in folder.iterdir())
    ['attributes.json', 'criterion.pt', 'history.json', 'module.pt', 'optimizer.pt']
    """
    names = components(net)
    attributes = _fitted_attributes(net)

    def replaceable(name):
        return owns_checkpoint_file(name) or (owns is not None and owns(name))

    with atomic_folder(folder, owns=replaceable) as work:
        net.save_params(
            f_history=work / HISTORY,
            **{f"f_{name}": work / f"{name}.pt" for name in names},
        )
        (work / ATTRIBUTES).write_text(json.dumps(attributes), encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (work / name).write_text(text, encoding="utf-8")
        _fsync_files(work)


def load_net(net, folder):
    """Load what :func:`save_net` wrote into the initialised ``net``.

    The weights of every component, the optimizer states and the history are
    read with skorch's ``load_params`` and weights-only ``torch.load`` (the
    net's ``torch_load_kwargs`` are set to ``{"weights_only": True}``). The
    fitted attributes that ``initialize()`` does not create
    (``heatmap_size_``, ``n_joints_``, ``in_channels_``, ...) are set from
    ``attributes.json``; those the initialised net already has (skorch's
    own) are kept.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net (``net.initialize()``) of the saved net's
        configuration.
    folder : pathlib.Path
        A folder written by :func:`save_net`.

    Returns
    -------
    net : skorch.NeuralNet
        ``net`` itself.

    Raises
    ------
    FileNotFoundError
        When a component's file, ``history.json`` or ``attributes.json`` is
        missing: a net is never left with some of its initial weights.
    CheckpointAttributeError
        When ``attributes.json`` holds a value that no fit sets (a
        ``ValueError``).
    """
    from ._regressor import check_fitted_attributes

    net.set_params(torch_load_kwargs={"weights_only": True})
    # every component's file, so that one that is missing is an error, never
    # a net left with its initial weights
    files = {f"f_{name}": folder / f"{name}.pt" for name in components(net)}
    missing = [path for path in files.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            2, f"the checkpoint {folder} lacks {missing[0].name}", str(missing[0])
        )
    net.load_params(f_history=folder / HISTORY, **files)
    path = folder / ATTRIBUTES
    attributes = json.loads(path.read_text(encoding="utf-8"))
    for key, encoded in attributes.items():
        if not hasattr(net, key):
            setattr(net, key, decode_attribute(encoded))
    try:
        check_fitted_attributes(net)
    except (TypeError, ValueError) as exc:
        raise CheckpointAttributeError(
            f"{path} holds a value no fit sets: {exc}"
        ) from exc
    return net
