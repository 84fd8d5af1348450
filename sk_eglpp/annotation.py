"""One round of real active learning: which images should be annotated next?

:func:`select_for_annotation` is the job behind ``sk-eglpp select``: from a
folder of images and COCO keypoints annotations of some of them, it trains a
:class:`~sk_eglpp.models.HourglassRegressor` on the annotated images (or goes
on training the previous round's model), scores the unannotated ones with a
query strategy (EGL++ by default) and writes what an annotation team needs:
the ranked list, a COCO file of the selected images to import into an
annotation tool, a contact sheet and the model for the next round.

The round runs on the user's own folders, so it follows the rules of
:mod:`sk_eglpp._files`: it writes only its named outputs (:data:`OUTPUTS`)
into ``output_dir``, refuses to start when one of them is, contains or lies
inside an input, replaces a file or the ``model/`` folder only when it can
tell by content that an earlier round wrote it, and takes the folder's lock
for the whole round.
"""

import csv
import hashlib
import io
import json
import math
import numbers
import os
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

from ._files import (
    FolderLock,
    atomic_folder,
    atomic_write_bytes,
    is_lock_file,
    remove_leftovers,
    writing,
)
from ._fingerprints import describe, fingerprint
from ._interrupts import Interrupts
from ._threads import thread_limits
from ._validation import check_bool, check_device, check_option, check_positive_int
from .datasets._coco import coco_files, coco_index, warn_skipped
from .datasets._coco_write import write_coco_file
from .datasets._crops import load_pool, load_samples, meta_rows
from .datasets._image_folder import ImageFolder
from .datasets._images import SourceImage, crop_to_source, transform_points

__all__ = ["AnnotationSelection", "select_for_annotation"]

_FORMAT = 1
#: written into round.json and model.json: what wrote them
_WRITER = "sk_eglpp.select_for_annotation"
_MODEL_FILES = {
    "f_params": "params.pt",
    "f_optimizer": "optimizer.pt",
    "f_history": "history.json",
}
_MODEL_OWNED = (*_MODEL_FILES.values(), "loss_module.pt", "model.json")
_CSV_COLUMNS = ("rank", "file_name", "image_id", "utility", "bbox_x", "bbox_y",
                "bbox_width", "bbox_height")
#: how a round crops its samples (``crop`` of load_coco_keypoints)
CROPS = ("image", "bbox")
#: the margin around a person box with ``crop="bbox"`` (load_coco_keypoints')
_BOX_MARGIN = 0.2
#: everything a round writes into its ``output_dir``
OUTPUTS = ("round.json", "selection.csv", "selection.json", "contact_sheet.png",
           "model", "lock")
#: the largest ``image_size`` (network input side) a round accepts
MAX_IMAGE_SIZE = 1024
#: the longest side of an image drawn on the contact sheet (it is reduced)
_SHEET_SIDE = 256


class AnnotationSelection:
    """The ranked selection of one annotation round.

    Returned by :func:`select_for_annotation`; the same table is written to
    ``selection.csv``. A row is an image (``crop="image"``) or a person: an
    image and one of its person boxes (``crop="bbox"``; an image without a
    box is a row with ``bbox`` NaN).

    Attributes
    ----------
    rank : ndarray of shape (budget,)
        1 for the most informative row.
    file_name : ndarray of shape (budget,)
        Image file names relative to the images folder.
    image_id : ndarray of shape (budget,)
        Their ids in ``selection.json``.
    utility : ndarray of shape (budget,)
        The strategy's utility of each row (for EGL++ its expected gradient
        length, Eq. 7).
    keypoints : ndarray of shape (budget, 2 * n_keypoints)
        The model's predicted keypoints, in the full source image's pixels.
    files : dict
        Paths of what was written: ``"csv"``, ``"coco"``, ``"contact_sheet"``,
        ``"model"``.
    estimator : HourglassRegressor
        The model trained in this round.
    n_trained_on : int
        Number of annotated samples it was trained on (images, or people
        with ``crop="bbox"``).
    bbox : ndarray of shape (budget, 4)
        The person box ``x, y, width, height`` (COCO, source pixels) of each
        row; NaN for a whole image.
    crop : {"image", "bbox"}
        How the round cropped its samples.

    See Also
    --------
    select_for_annotation

    Examples
    --------
    >>> import numpy as np
    >>> table = AnnotationSelection(
    ...     rank=np.array([1, 2]), file_name=np.array(["b.png", "a.png"]),
    ...     image_id=np.array([7, 3]), utility=np.array([0.5, 0.25]),
    ...     keypoints=np.zeros((2, 28)), files={"csv": "selection.csv"},
    ...     estimator=None, n_trained_on=40)
    >>> table.to_records()[0]
    {'rank': 1, 'file_name': 'b.png', 'image_id': 7, 'utility': 0.5, 'bbox': None}
    >>> table
    AnnotationSelection: 2 images, model trained on 40
         1  b.png  (id 7)  0.5
         2  a.png  (id 3)  0.25
    >>> people = AnnotationSelection(
    ...     rank=np.array([1]), file_name=np.array(["b.png"]),
    ...     image_id=np.array([7]), utility=np.array([0.5]),
    ...     keypoints=np.zeros((1, 28)), files={}, estimator=None,
    ...     n_trained_on=40, bbox=np.array([[10.0, 20.0, 30.0, 60.0]]),
    ...     crop="bbox")
    >>> people.to_records()[0]["bbox"]
    [10.0, 20.0, 30.0, 60.0]
    >>> people
    AnnotationSelection: 1 person, model trained on 40
         1  b.png  (id 7, box 10 20 30 60)  0.5
    """

    def __init__(self, rank, file_name, image_id, utility, keypoints, files,
                 estimator, n_trained_on, bbox=None, crop="image"):
        self.rank = rank
        self.file_name = file_name
        self.image_id = image_id
        self.utility = utility
        self.keypoints = keypoints
        self.files = files
        self.estimator = estimator
        self.n_trained_on = n_trained_on
        self.bbox = np.full((len(rank), 4), np.nan) if bbox is None else bbox
        self.crop = crop

    def __len__(self):
        return len(self.rank)

    def to_records(self):
        """The table as a list of dicts (``rank``, ..., ``bbox``: a list or None)."""
        return [
            {"rank": int(r), "file_name": str(f), "image_id": int(i),
             "utility": float(u),
             "bbox": [float(v) for v in b] if np.isfinite(b).all() else None}
            for r, f, i, u, b in zip(
                self.rank, self.file_name, self.image_id, self.utility,
                np.asarray(self.bbox, dtype=np.float64).reshape(-1, 4), strict=True
            )
        ]

    def _rows(self):
        """The records with the box in four columns, as in ``selection.csv``."""
        keys = _CSV_COLUMNS[4:]
        return [
            {**{k: v for k, v in rec.items() if k != "bbox"},
             **dict(zip(keys, rec["bbox"] or [None] * 4, strict=True))}
            for rec in self.to_records()
        ]

    def to_dataframe(self):
        """The table as a pandas DataFrame, the columns of ``selection.csv``."""
        import pandas as pd

        return pd.DataFrame.from_records(self._rows(), columns=_CSV_COLUMNS)

    def __repr__(self):
        noun = "images"
        if self.crop == "bbox":
            noun = "person" if len(self) == 1 else "people"
        lines = [f"AnnotationSelection: {len(self)} {noun}, model trained on "
                 f"{self.n_trained_on}"]
        for rec in self.to_records()[:10]:
            box = "" if rec["bbox"] is None else (
                ", box " + " ".join(f"{v:.4g}" for v in rec["bbox"]))
            lines.append(f"  {rec['rank']:4d}  {rec['file_name']}  "
                         f"(id {rec['image_id']}{box})  {rec['utility']:.4g}")
        if len(self) > 10:
            lines.append(f"  ... {len(self) - 10} more in {self.files['csv']}")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# the inputs
# --------------------------------------------------------------------------


def _read_object(file, what):
    """A JSON object read from ``file``; a one-line ValueError when it is not."""
    try:
        data = json.loads(Path(file).read_text("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{str(file)!r} is not valid JSON ({exc}); it is not "
                         f"{what}.") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{str(file)!r} holds a JSON {type(data).__name__}, not "
                         f"{what}.")
    return data


def _check_image_size(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}.")
    if not 8 <= value <= MAX_IMAGE_SIZE or value % 8:
        raise ValueError(f"{name} must be a multiple of 8 in [8, {MAX_IMAGE_SIZE}], "
                         f"got {value}.")
    return int(value)


#: the keys of model.json and their types
_MODEL_INFO = {"format": int, "fingerprint": str, "image_size": int, "as_gray": bool,
               "keypoint_names": list, "network": dict, "trained_on": list}


def _model_info(file):
    """The checked content of a round's ``model.json``."""
    info = _read_object(file, "the model description of an sk_eglpp round")
    for key, kind in _MODEL_INFO.items():
        value = info.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(
                f"{str(file)!r} is not the model description of an sk_eglpp round "
                f"of this version: {key!r} must be a {kind.__name__}, got {value!r}."
            )
    if info["format"] != _FORMAT:
        raise ValueError(f"{str(file)!r} describes a model of format "
                         f"{info['format']}; this version reads format {_FORMAT}.")
    _check_image_size(info["image_size"], f"image_size in {str(file)!r}")
    if not all(isinstance(n, str) for n in info["keypoint_names"]):
        raise ValueError(f"keypoint_names in {str(file)!r} must be names (str).")
    # models of rounds before crop="bbox" do not say: they read whole images
    info.setdefault("crop", "image")
    if info["crop"] not in CROPS:
        raise ValueError(f"crop in {str(file)!r} must be one of {list(CROPS)}, got "
                         f"{info['crop']!r}.")
    return info


class _PreviousRound:
    """The round before: its model (folder and description) and image ids."""

    def __init__(self, previous):
        if not isinstance(previous, (str, os.PathLike)):
            raise TypeError(f"previous must be a folder path, got {previous!r}.")
        self.folder = Path(previous)
        nested = self.folder / "model"
        self.model = nested if (nested / "model.json").is_file() else self.folder
        info_file = self.model / "model.json"
        if not info_file.is_file():
            raise FileNotFoundError(
                f"no model of a previous round in {str(self.folder)!r}: expected "
                f"{str(nested / 'model.json')!r} (the output folder of an earlier "
                "select_for_annotation / sk-eglpp select)."
            )
        self.info = _model_info(info_file)
        round_file = self.model.parent / "round.json"
        self.image_ids = {}
        if self.model == nested and round_file.is_file():
            ids = _read_object(round_file, "an sk_eglpp round").get("image_ids", {})
            if isinstance(ids, dict):
                self.image_ids = {
                    name: int(i) for name, i in ids.items()
                    if isinstance(i, int) and not isinstance(i, bool)
                    and 0 <= i < 2**53
                }

    def params_digest(self):
        return hashlib.sha256(
            (self.model / _MODEL_FILES["f_params"]).read_bytes()
        ).hexdigest()


def _pool_names(images, unannotated, annotated):
    """Normalised names (relative to ``images``) of the pool, checked."""
    if unannotated is None:
        names = [n for n in images.scan() if n not in annotated]
        if not names:
            raise ValueError(
                f"no unannotated images: every image file in {str(images.root)!r} "
                "and its subfolders is annotated."
            )
        return names
    if isinstance(unannotated, (str, os.PathLike)):
        file = Path(unannotated)
        if not file.is_file():
            raise FileNotFoundError(f"list of unannotated images {str(file)!r} "
                                    "not found.")
        try:
            lines = file.read_text("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise ValueError(f"{str(file)!r} is not UTF-8 text ({exc}).") from exc
        entries = [(f"line {k + 1} of {str(file)!r}", line.strip())
                   for k, line in enumerate(lines)]
        entries = [(w, n) for w, n in entries if n and not n.startswith("#")]
        source = repr(str(file))
    else:
        if not isinstance(unannotated, (list, tuple)) or not all(
            isinstance(n, str) for n in unannotated
        ):
            raise TypeError("unannotated must be a list of file names (str) or the "
                            f"path of a text file of them, got {unannotated!r}.")
        entries = [(f"unannotated[{k}]", n) for k, n in enumerate(unannotated)]
        source = "unannotated"
    if not entries:
        raise ValueError(f"no unannotated images: {source} lists none.")
    names, seen = [], {}
    for where, given in entries:
        name = images.normalise(given, where)
        if name in seen:
            raise ValueError(f"{source} lists {name!r} twice ({seen[name]} and "
                             f"{where}).")
        seen[name] = where
        if name in annotated:
            raise ValueError(f"{source} lists {name!r} ({where}), which is annotated "
                             f"in {str(annotated[name])!r}.")
        names.append(name)
    return names


def _image_ids(names, index, previous_ids):
    """Ids of the pool's images, stable from round to round.

    An image keeps the id that a COCO file given lists for it; else the id
    the previous round gave it (unless a COCO file gives that id to another
    image); else a new id above every id known, in name order.
    """
    ids = {n: index[n]["id"] for n in names if n in index}
    taken = {r["id"] for r in index.values()}
    for name in names:
        before = previous_ids.get(name)
        if name not in ids and before is not None and before not in taken:
            ids[name] = before
            taken.add(before)
    next_id = max([*taken, *previous_ids.values()], default=0) + 1
    for name in sorted(n for n in names if n not in ids):
        ids[name] = next_id
        next_id += 1
    return ids


def _network_strategy_names():
    from .query import STRATEGIES, EMCMQuery, LinearEGLQuery

    return sorted(n for n, s in STRATEGIES.items()
                  if not isinstance(s, (LinearEGLQuery, EMCMQuery)))


def _resolve_strategy(strategy, n_jobs, device, random_state, verbose):
    """The strategy to score with (a copy), and its name as the user gave it."""
    from sklearn.base import clone

    from .query import (
        STRATEGIES,
        BaseQueryStrategy,
        EMCMQuery,
        LinearEGLQuery,
        get_strategy,
    )
    from .query._resolve import strategy_name

    networks = _network_strategy_names()
    if isinstance(strategy, str):
        if strategy not in networks:
            linear = strategy in STRATEGIES
            raise ValueError(
                f"{'strategy' if linear else 'unknown strategy'} {strategy!r}"
                f"{' scores linear models' if linear else ''}; the keypoint "
                f"regressor of an annotation round takes one of {', '.join(networks)}"
                " or a strategy object."
            )
        name, strategy = strategy, get_strategy(strategy)
    elif isinstance(strategy, BaseQueryStrategy):
        name, strategy = strategy_name(strategy), clone(strategy)
        if isinstance(strategy, (LinearEGLQuery, EMCMQuery)):
            raise ValueError(
                f"{type(strategy).__name__} scores linear models; the keypoint "
                "regressor of an annotation round takes one of "
                f"{', '.join(networks)}."
            )
        name = _describe_changes(name, strategy, STRATEGIES)
    else:
        raise TypeError(
            "strategy must be a strategy name or an sk_eglpp query strategy, got "
            f"{type(strategy).__name__}."
        )
    params = strategy.get_params(deep=False)
    update = {}
    if "random_state" in params and params["random_state"] is None:
        update["random_state"] = random_state
    if "n_jobs" in params and n_jobs is not None:
        update["n_jobs"] = n_jobs
    if "device" in params and params["device"] is None:
        update["device"] = device
    if "verbose" in params and verbose:
        update["verbose"] = True
    return strategy.set_params(**update), name


def _describe_changes(name, strategy, registry):
    """``egl_pp (batch='diverse')``: the registry name and the changed options."""
    default = next((s for s in registry.values() if type(s) is type(strategy)), None)
    if default is None:
        return name
    mine, base = strategy.get_params(deep=False), default.get_params(deep=False)
    changed = [f"{k}={v!r}" for k, v in sorted(mine.items())
               if k not in ("random_state", "n_jobs", "device", "verbose")
               and repr(v) != repr(base.get(k))]
    base_name = next(n for n, s in registry.items() if s is default)
    return f"{base_name} ({', '.join(changed)})" if changed else base_name


def _network_params(estimator):
    """The estimator's JSON-able parameters that fix the network's shape."""
    params = estimator.get_params(deep=False)
    fixed = {k: v for k, v in params.items() if k.startswith("module__")}
    fixed["loss_prediction"] = params.get("loss_prediction", False)
    fixed["module"] = getattr(params.get("module"), "__name__", repr(params["module"]))
    return json.loads(json.dumps(fixed, sort_keys=True, default=repr))


def _default_estimator(n_joints, in_channels, image_size, max_epochs, strategy,
                       device, random_state):
    from .models import pose_estimator
    from .query import LearningLossQuery, MCDropoutQuery

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


# --------------------------------------------------------------------------
# the output folder
# --------------------------------------------------------------------------


def _resolved(path):
    return Path(os.path.abspath(path)).resolve()


class _RoundFolder:
    """The output folder of a round: what it may write, and what it owns.

    Nothing is written until :meth:`open`; the checks before it read only.
    """

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"output_dir must be a str or os.PathLike, got {path!r}.")
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"output_dir {str(self.path)!r} is a file, not a folder.")
        self.model = self.path / "model"
        self._lock = None

    def check_apart_from(self, inputs):
        """Refuse when an output is, contains or lies inside an input.

        ``inputs`` are ``(what, path)`` pairs: the images folder, the
        annotation files, the list of unannotated images, the previous round.
        """
        for what, given in inputs:
            if _resolved(self.path) == _resolved(given):
                raise ValueError(
                    f"output_dir {str(self.path)!r} is the {what}; write the round "
                    "to a folder of its own (nothing given is modified)."
                )
        for name in OUTPUTS:
            out = _resolved(self.path / name)
            for what, given in inputs:
                inp = _resolved(given)
                if out == inp:
                    how = "is"
                elif out in inp.parents:
                    how = "contains"
                elif inp in out.parents:
                    how = "lies inside"
                else:
                    continue
                raise ValueError(
                    f"output_dir {str(self.path)!r}: the round's {name} {how} the "
                    f"{what} {str(given)!r}; choose an output folder apart from the "
                    "inputs (nothing given is modified)."
                )

    def saved_round(self):
        """The round.json of an earlier round here, checked; None when absent.

        Named outputs in a folder without a round's ``round.json``, a
        ``round.json`` that no round wrote, or a ``model/`` that is not a
        round's model are refused: they are someone else's files.
        """
        round_file = self.path / "round.json"
        saved = None
        if round_file.exists() or round_file.is_symlink():
            try:
                saved = _read_object(round_file, "the record of an sk_eglpp round")
                if saved.get("format") != _FORMAT or not isinstance(
                    saved.get("fingerprint"), str
                ):
                    raise ValueError(f"{str(round_file)!r} is not the record of an "
                                     "sk_eglpp round.")
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"{exc} Nothing in {str(self.path)!r} is replaced; choose another "
                    "output folder."
                ) from None
        else:
            paths = [self.path / n for n in OUTPUTS]
            present = [p.name for p in paths if (p.exists() or p.is_symlink())
                       and not is_lock_file(p)]
            if present:
                raise ValueError(
                    f"output_dir {str(self.path)!r} holds {', '.join(present)} but "
                    "no round.json: they were not written by a round of sk_eglpp and "
                    "are not replaced; choose another output folder."
                )
        if self.model.exists() or self.model.is_symlink():
            self._check_model_folder()
        return saved

    def _check_model_folder(self):
        folder = self.model
        if folder.is_symlink() or not folder.is_dir():
            kind = "symbolic link" if folder.is_symlink() else "file"
            raise ValueError(
                f"{str(folder)!r} is a {kind}, not the model folder of a round; it "
                "is not replaced. Remove it or choose another output folder."
            )
        try:
            _model_info(folder / "model.json")
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"{str(folder)!r} is not the model folder of an sk_eglpp round "
                f"({exc}); it is not replaced. Remove it or choose another output "
                "folder."
            ) from None
        foreign = sorted(p.name for p in folder.iterdir() if p.name not in _MODEL_OWNED)
        if foreign:
            raise ValueError(
                f"{str(folder)!r} holds files that no round wrote "
                f"({', '.join(foreign[:3])}); it is not replaced. Move them away or "
                "choose another output folder."
            )

    def open(self):
        """Create the folder, take its lock and remove killed writes' leftovers."""
        with writing(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
        self._lock = FolderLock(self.path, "round").acquire()
        remove_leftovers(self.path, OUTPUTS)

    def close(self):
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def write_round(self, record):
        atomic_write_bytes(self.path / "round.json", json.dumps(
            {"format": _FORMAT, "written_by": _WRITER, **record}, indent=1,
            sort_keys=True, allow_nan=False) + "\n")

    def drop_outputs(self):
        """Remove the selection files of an earlier round (``overwrite``)."""
        for stale in ("selection.csv", "selection.json", "contact_sheet.png"):
            (self.path / stale).unlink(missing_ok=True)

    def saved_model_fingerprint(self):
        file = self.model / "model.json"
        if not file.is_file():
            return None
        return _model_info(file)["fingerprint"]

    def save_model(self, net, info):
        """Write ``model/`` through a temporary sibling and a rename."""
        with atomic_folder(self.model, owns=_MODEL_OWNED.__contains__) as work:
            net.save_params(**_model_files(net, work))
            (work / "model.json").write_text(
                json.dumps({**info, "written_by": _WRITER}, indent=1, sort_keys=True,
                           allow_nan=False) + "\n",
                encoding="utf-8",
            )


# --------------------------------------------------------------------------
# the model of a round
# --------------------------------------------------------------------------


def _model_files(net, folder):
    """skorch's ``save_params`` / ``load_params`` file arguments in ``folder``."""
    files = {key: folder / name for key, name in _MODEL_FILES.items()}
    if getattr(net, "loss_prediction", False):
        files["f_loss_module"] = folder / "loss_module.pt"
    return files


def _load_model(net, model_dir, in_channels, n_joints, image_size):
    """Initialise ``net`` and load the saved parameters (weights only).

    The fitted attributes that ``fit`` sets besides the parameters are set
    too, so that a loaded model scores like the trained one (EGL++ renders
    its targets at ``heatmap_size_``).
    """
    net.set_params(torch_load_kwargs={"weights_only": True})
    net.n_joints_, net.in_channels_ = n_joints, in_channels
    net.initialize()
    net.heatmap_size_ = net.heatmap_size_for((image_size, image_size))
    try:
        net.load_params(**_model_files(net, model_dir))
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds
        raise ValueError(
            f"cannot load the model in {str(model_dir)!r} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
        ) from exc
    return net


class _EpochBar(Callback):
    """A skorch callback drawing one tqdm bar over the epochs of a fit."""

    def __init__(self, total):
        self.total = total

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc="training", unit="epoch",
                         leave=False)

    def on_epoch_end(self, net, **kwargs):
        self.bar_.update(1)
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.3g}")

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


def _train(net, X, y, previous, shape, verbose):
    """Fit ``net`` (continuing the previous round's model when there is one)."""
    callbacks = list(net.callbacks or [])
    if verbose > 0:  # before initialize(), which sets the callbacks up
        net.set_params(callbacks=[*callbacks, ("progress", _EpochBar(net.max_epochs))])
    if previous is not None:
        net.set_params(warm_start=True)
        net = _load_model(net, previous.model, *shape)
    with Interrupts() as interrupts:
        net.fit(X, y)
        # skorch's fit returns early on Ctrl-C: never save a model cut short
        interrupts.check()
    if verbose > 0:
        net.set_params(callbacks=callbacks or None)
        net.initialize_callbacks()
    return net


# --------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------


def _write_csv(path, records):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({**rec, "utility": repr(rec["utility"])})
    atomic_write_bytes(path, buffer.getvalue())


def _contact_sheet(path, images, selection, crops, skeleton, max_images, title):
    """PNG grid of the first selected rows with the predicted skeletons.

    A whole image is drawn reduced to at most ``_SHEET_SIDE`` pixels; a
    person (a row with a box) as the square the model saw (``crops``), with
    its box.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = min(len(selection), max_images)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    figure = Figure(figsize=(1.7 * cols, 1.9 * rows + 0.6))
    FigureCanvasAgg(figure)
    n_joints = selection.keypoints.shape[1] // 2
    for k in range(n):
        ax = figure.add_subplot(rows, cols, k + 1)
        name = str(selection.file_name[k])
        source = SourceImage(images.path(name), label="COCO")
        kp = selection.keypoints[k].reshape(n_joints, 2)
        box = selection.bbox[k]
        if np.isfinite(box).all():
            centre, side = crops[k, :2], crops[k, 2]
            image = source.crop(centre, side, _SHEET_SIDE).transpose(1, 2, 0)
            pts = transform_points(kp, centre, side, _SHEET_SIDE)
            # the box's edges (pixel edges at integers) in the square's pixels
            corners = transform_points(
                np.array([box[:2], box[:2] + box[2:]]) - 0.5, centre, side,
                _SHEET_SIDE)
            ax.add_patch(Rectangle(corners[0], *(corners[1] - corners[0]),
                                   fill=False, ec="tab:olive", lw=0.8))
        else:
            image, factor = source.pixels(max_side=_SHEET_SIDE)
            # source pixels to the reduced image's (pixel centres at integers)
            pts = (kp - (factor - 1) / 2) / factor
        ax.imshow(image if image.shape[2] == 3 else image[:, :, 0], cmap="gray",
                  vmin=0.0, vmax=1.0, interpolation="nearest")
        for i, j in skeleton:
            if np.isfinite(pts[[i, j]]).all():
                ax.plot(pts[[i, j], 0], pts[[i, j], 1], color="tab:orange", lw=1.2)
        ax.scatter(pts[:, 0], pts[:, 1], s=6, color="tab:cyan", zorder=3)
        ax.set_xlim(-0.5, image.shape[1] - 0.5)
        ax.set_ylim(image.shape[0] - 0.5, -0.5)
        ax.set_title(f"#{selection.rank[k]} {name}\nutility {selection.utility[k]:.3g}",
                     fontsize=7)
        ax.set_axis_off()
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(path, buffer.getvalue())


# --------------------------------------------------------------------------
# the round
# --------------------------------------------------------------------------


def select_for_annotation(
    images_dir,
    annotations,
    *,
    budget=100,
    output_dir="selection",
    unannotated=None,
    strategy="egl_pp",
    previous=None,
    estimator=None,
    image_size=None,
    as_gray=None,
    crop=None,
    max_epochs=10,
    pre_annotate=False,
    contact_sheet_size=48,
    device="cpu",
    n_jobs=None,
    n_threads=1,
    random_state=0,
    overwrite=False,
    verbose=1,
):
    """Pick the next images to annotate: one round of active learning.

    Trains a stacked-hourglass regressor on the annotated images (or goes on
    training the model of the previous round, ``previous``, on all
    annotations given now), scores every unannotated image (or person) with
    ``strategy`` and writes to ``output_dir``:

    - ``selection.csv``: ``rank, file_name, image_id, utility`` and the person
      box ``bbox_x, bbox_y, bbox_width, bbox_height`` (empty for a whole
      image), most informative first;
    - ``selection.json``: a COCO keypoints file listing the selected images,
      with the selected person boxes as annotations without keypoints, or
      with the model's predicted keypoints when ``pre_annotate``, to import
      into an annotation tool;
    - ``contact_sheet.png``: the first ``contact_sheet_size`` selected images
      (or people) with the predicted skeletons;
    - ``model/``: the trained model (skorch's parameter, optimizer and
      history files, read back weights-only) for the next round.

    With ``crop="image"`` the images are read whole and padded to a square
    (one person per image, ``crop="image"`` of
    :func:`~sk_eglpp.datasets.load_coco_keypoints`); with ``crop="bbox"``
    every person is cropped by its box (see Notes). Images are read as
    annotation tools show them: EXIF orientation applied. Nothing given is
    modified, and nothing in ``output_dir`` but the round's own files (see
    Notes). The round is safe to interrupt: the model is
    saved as soon as it is trained, every file is written whole or not at
    all, and calling again with the same annotations, estimator and input
    settings reuses the saved model (also when only the budget, the pool or
    the strategy changed, with ``overwrite``).

    Parameters
    ----------
    images_dir : str or os.PathLike
        The image folder; COCO ``file_name`` entries are relative to it.
    annotations : str, os.PathLike or list of them
        COCO keypoints file(s) of the annotated images: the first round's
        file and, in later rounds, the annotation tool's exports of the
        batches since (read together, images matched by file name).
    budget : int, default=100
        Number of images to select, at most the number of unannotated ones.
    output_dir : str or os.PathLike, default="selection"
        Where this round's files go (created). None of them may be, contain
        or lie inside an input (the images folder, an annotations file, the
        list of unannotated images, the previous round).
    unannotated : list of str, str or os.PathLike, default=None
        The pool: ``None`` takes every image file in ``images_dir`` and its
        subfolders (extensions ``.png .jpg .jpeg .bmp .tif .tiff .webp``;
        hidden files and folders skipped) that is not annotated; otherwise a
        list of file names relative to ``images_dir``, or the path of a text
        file with one per line (``#`` starts a comment line).
    strategy : str or query strategy, default="egl_pp"
        A name of :data:`sk_eglpp.query.STRATEGIES` or a strategy object. Its
        ``random_state`` (when ``None``), ``device`` (when ``None``),
        ``n_jobs`` and ``verbose`` are set from this call's. The default
        was kept by a rule fixed before the LSPET selection benchmark ran (a
        strategy significantly better on the area under the learning curve
        would have replaced it): there EGL++ was as good as random, and its
        ranking followed the true gradient lengths (user guide, "Real
        data"). ``"random_query"`` is the cheaper choice with the same
        benchmark result.
    previous : str or os.PathLike, default=None
        The ``output_dir`` of the previous round: its model is trained on,
        and its ``image_size`` / ``as_gray`` are kept.
    estimator : HourglassRegressor, default=None
        The model to train (cloned). ``None``: the simulations' hourglass
        (:func:`sk_eglpp.simulation.pose_estimator`, two stacks, 16 features,
        depth 3 or lower to fit ``image_size``, with a loss-prediction head
        for ``learning_loss`` and dropout 0.1 for ``mc_dropout``). With
        ``previous``, its network parameters must match the saved model's.
    image_size : int, default=None
        Side of the square network input; 64 when ``None`` and not taken from
        ``previous``. A multiple of 8.
    as_gray : bool, default=None
        One grey channel instead of RGB; False when ``None`` and not taken
        from ``previous``.
    crop : {"image", "bbox"}, default=None
        ``"image"``: a sample is a whole image padded to a square (one person
        per image). ``"bbox"``: a sample is a person, the square around its
        COCO ``bbox`` enlarged by 0.2 times its larger side on every edge
        (:func:`~sk_eglpp.datasets.load_coco_keypoints` with
        ``crop="bbox"``), for the annotated people and for the person boxes
        of unannotated images (see Notes). ``None``: the previous round's
        crop, else ``"image"``.
    max_epochs : int, default=10
        Training epochs of this round (a continued model trains this many
        more).
    pre_annotate : bool, default=False
        Write the predicted keypoints into ``selection.json``.
    contact_sheet_size : int, default=48
        At most this many images on the contact sheet.
    device : str, default="cpu"
        Torch device of the model (and of the strategy, if it has one).
    n_jobs : int, default=None
        joblib workers of the strategy, if it has ``n_jobs``.
    n_threads : int, default=1
        Torch, BLAS and OpenMP threads for the whole round (reading,
        training, scoring, contact sheet), restored afterwards; recorded in
        ``round.json``. A round is reproducible for a seed and a thread count
        on the same kind of processor.
    random_state : int, default=0
        Seed of the model's training and of a randomised strategy.
    overwrite : bool, default=False
        Replace the files of a different round (other inputs, budget or
        strategy) found in ``output_dir``; otherwise that is an error. Its
        model is kept when this round would train the same one.
    verbose : int, default=1
        Progress bars (reading, training, scoring) when > 0.

    Returns
    -------
    selection : AnnotationSelection
        The ranked table (also in ``selection.csv``), the predicted
        keypoints, the paths written and the trained model.

    Raises
    ------
    FileNotFoundError
        A folder, file or image does not exist.
    ValueError
        Malformed annotations (the message names the file and the entry), an
        image name outside ``images_dir``, an empty pool, a budget larger than
        the pool, a previous round with other keypoints, an output that is,
        contains or lies inside an input, or ``output_dir`` holding another
        round or files that no round wrote.
    OutputDirInUseError
        Another round is writing ``output_dir``.

    Notes
    -----
    *The output folder.* The round writes only ``round.json``,
    ``selection.csv``, ``selection.json``, ``contact_sheet.png``, ``model/``
    and ``lock`` (:data:`OUTPUTS`), each through a temporary sibling and a
    rename; what a killed round left behind is removed by the next one. It
    refuses a folder that holds any of these names without a ``round.json``
    of a round, and replaces ``model/`` only when its ``model.json`` is a
    round's model description and it holds no other files (never through a
    symbolic link). One round at a time writes a folder (its lock).

    *Names.* Image names are relative to ``images_dir`` and normalised
    (``./a.png`` is ``a.png``); absolute names and ``..`` are refused, and so
    is a name whose file lies outside the folder through a symbolic link.

    *Image ids.* An image keeps the id a given COCO file lists for it; else
    the id the previous round gave it (``round.json`` of ``previous``);
    else a new id above every id known, in name order.

    *Annotated images and person boxes.* An image is annotated when one of
    its annotations labels a keypoint (``v > 0``). Annotations that label
    none (no ``keypoints``, or all ``0, 0, 0``; ``num_keypoints`` 0), as a
    person detector writes them, are person boxes: with ``crop="bbox"`` an
    unannotated image with boxes is scored one sample per box with a
    finite, non-empty ``bbox``, and an unannotated image without one is read
    whole (``crop="image"``). They are never trained on, and in an annotated
    image they are ignored: the unit of the pool is the image, so annotate
    every person of a selected image that should be annotated.

    *Coordinates.* Predicted keypoints (``keypoints``, the pre-annotations
    of ``selection.json``) are mapped back through each sample's crop to the
    full image's pixel coordinates; boxes are the input files' boxes.

    *Another crop than the previous round's.* The network's input has the
    same size either way, so a round with ``crop="bbox"`` after rounds with
    ``"image"`` (or the reverse) goes on training the previous model, on
    every annotation cropped the new way; its first epochs adapt it to the
    new framing. ``round.json`` and ``model.json`` record the crop, and a
    later round without ``crop`` keeps the last one.

    See Also
    --------
    sk_eglpp.datasets.load_coco_keypoints, sk_eglpp.datasets.make_synthetic_coco,
    sk_eglpp.datasets.merge_coco_keypoints

    Examples
    --------
    >>> import tempfile
    >>> from sk_eglpp import EGLPlusPlusQuery, select_for_annotation
    >>> from sk_eglpp.datasets import make_synthetic_coco
    >>> tmp = tempfile.TemporaryDirectory()
    >>> files = make_synthetic_coco(tmp.name + "/demo", n_images=40,
    ...                             n_annotated=12, image_size=32)
    >>> selection = select_for_annotation(
    ...     files["images"], files["annotations"], budget=5, image_size=32,
    ...     strategy=EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0),
    ...     max_epochs=2, output_dir=tmp.name + "/round-1", verbose=0)
    >>> len(selection), selection.n_trained_on
    (5, 12)
    >>> selection.to_records()[0]["rank"], selection.file_name[0]
    (1, '...png')
    >>> sorted(p.name for p in selection.files["model"].iterdir())
    ['history.json', 'model.json', 'optimizer.pt', 'params.pt']
    >>> sorted(p.name for p in selection.files["model"].parent.iterdir())
    ['contact_sheet.png', 'lock', 'model', 'round.json', 'selection.csv',
     'selection.json']
    >>> tmp.cleanup()
    """
    params = _check_params(budget, max_epochs, contact_sheet_size, pre_annotate,
                           overwrite, device, n_threads, random_state, verbose)
    strategy, how = _resolve_strategy(strategy, n_jobs, params["device"],
                                      params["random_state"], params["verbose"] > 0)
    images = ImageFolder(images_dir)
    files = coco_files(annotations)
    prev = None if previous is None else _PreviousRound(previous)
    out = _RoundFolder(output_dir)
    inputs = [("images folder", images.root)]
    inputs += [("annotations file", file) for file in files]
    if isinstance(unannotated, (str, os.PathLike)):
        inputs.append(("list of unannotated images", Path(unannotated)))
    if prev is not None:
        inputs += [("previous round", prev.folder), ("previous model", prev.model)]
    out.check_apart_from(inputs)
    out.saved_round()  # read only: refuses someone else's files before any write
    params.update(_input_settings(image_size, as_gray, crop, prev))
    with thread_limits(params["n_threads"]):
        data = _read_inputs(images, files, unannotated, prev, params)
        net = _round_estimator(estimator, prev, strategy, data.shape, params)
        out.open()  # the first write: everything read is checked
        try:
            return _run_round(data, images, prev, out, strategy, how, net, params)
        finally:
            out.close()


def _check_params(budget, max_epochs, contact_sheet_size, pre_annotate, overwrite,
                  device, n_threads, random_state, verbose):
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(f"random_state must be an int, got {random_state!r}.")
    if not 0 <= random_state < 2**32:
        raise ValueError(f"random_state must be in [0, 2**32 - 1], got {random_state}.")
    if isinstance(verbose, bool):
        verbose = int(verbose)
    if not isinstance(verbose, numbers.Integral):
        raise TypeError(f"verbose must be an int, got {verbose!r}.")
    return {
        "budget": check_positive_int(budget, "budget"),
        "max_epochs": check_positive_int(max_epochs, "max_epochs"),
        "contact_sheet_size": check_positive_int(contact_sheet_size,
                                                 "contact_sheet_size"),
        "pre_annotate": check_bool(pre_annotate, "pre_annotate"),
        "overwrite": check_bool(overwrite, "overwrite"),
        "device": check_device(device) or "cpu",
        "n_threads": check_positive_int(n_threads, "n_threads"),
        "random_state": int(random_state),
        "verbose": int(verbose),
    }


def _input_settings(image_size, as_gray, crop, prev):
    """``image_size``, ``as_gray`` and ``crop``: given, or the previous round's."""
    if crop is None:
        crop = "image" if prev is None else prev.info["crop"]
    crop = check_option(crop, "crop", CROPS)
    if prev is not None:
        for name, value in (("image_size", image_size), ("as_gray", as_gray)):
            if value is not None and value != prev.info[name]:
                raise ValueError(
                    f"{name}={value!r} differs from the previous round's "
                    f"{prev.info[name]!r} (in {str(prev.folder)!r}); the model's "
                    "input cannot change between rounds."
                )
        image_size, as_gray = prev.info["image_size"], prev.info["as_gray"]
    return {
        "image_size": _check_image_size(64 if image_size is None else image_size,
                                        "image_size"),
        "as_gray": check_bool(False if as_gray is None else as_gray, "as_gray"),
        "crop": crop,
    }


def _read_inputs(images, files, unannotated, prev, p):
    """The annotated samples and the pool, read and checked (nothing written)."""
    from sklearn.utils import Bunch

    verbose, image_size, crop = p["verbose"] > 0, p["image_size"], p["crop"]
    category, index, anns, skipped = coco_index(files, return_skipped=True)
    warn_skipped(skipped, files, category)
    labelled = [a for a in anns if (a["keypoints"][:, 2] > 0).any()]
    annotated = {a["file_name"]: a["file"] for a in labelled}
    if not annotated:
        raise ValueError(
            f"no annotated image in {', '.join(repr(str(f)) for f in files)}: the "
            "first round needs some annotated images (annotations with labelled "
            "keypoints) to train on."
        )
    if prev is not None and prev.info["keypoint_names"] != category["keypoints"]:
        raise ValueError(
            f"the annotations name the keypoints {category['keypoints']}, the "
            f"previous round's model {prev.info['keypoint_names']}."
        )
    names = _pool_names(images, unannotated, annotated)
    boxes = _person_boxes(anns, annotated) if crop == "bbox" else {}
    boxes = [boxes.get(name, []) for name in names]
    n_pool = sum(max(1, len(b)) for b in boxes)
    if p["budget"] > n_pool:
        what = ("unannotated images" if crop == "image" else "people to choose "
                "from: the person boxes of the unannotated images, and the images "
                "without one")
        raise ValueError(
            f"budget must be in [1, {n_pool}] (the number of {what}), got "
            f"{p['budget']}."
        )
    X_lab, y_lab, lab_meta = load_samples(
        images, category, index, labelled, image_size, p["as_gray"], crop,
        _BOX_MARGIN, "keep", verbose,
    )
    ids = _image_ids(names, index, {} if prev is None else prev.image_ids)
    records = [dict(index[n]) if n in index else {"id": ids[n], "file_name": n}
               for n in names]
    X_pool, pool_meta = load_pool(images, category, records, boxes, image_size,
                                  p["as_gray"], _BOX_MARGIN, verbose=verbose)
    return Bunch(
        category=category, names=names, ids=ids, X_lab=X_lab, y_lab=y_lab,
        lab_meta=lab_meta, X_pool=X_pool, pool_meta=pool_meta,
        shape=(X_lab.shape[1], y_lab.shape[1] // 2, image_size),  # in, joints, size
    )


def _person_boxes(anns, annotated):
    """``{file name: [(annotation id, bbox), ...]}`` of the unannotated images.

    The annotations that label no keypoint and have a finite box with sides
    > 0, in images without labelled keypoints (``annotated``), by id.
    """
    boxes = {}
    for ann in sorted(anns, key=lambda a: (a["file_name"], a["id"])):
        box = ann["bbox"]
        if (ann["file_name"] in annotated or (ann["keypoints"][:, 2] > 0).any()
                or not np.isfinite(box).all() or (box[2:] <= 0).any()):
            continue
        boxes.setdefault(ann["file_name"], []).append((ann["id"], box.tolist()))
    return boxes


def _run_round(d, images, prev, out, strategy, how, net, p):
    """The round, with the output folder locked: the model, scores and files."""
    saved = out.saved_round()  # again, now that no other round can write
    image_size, y_lab = p["image_size"], d.y_lab
    trained_on = d.lab_meta.file_name.tolist()
    # crop="image" adds nothing: rounds written before crop="bbox" stay valid
    by_box = {} if p["crop"] == "image" else {"crop": p["crop"],
                                              "margin": _BOX_MARGIN}
    model_fingerprint = fingerprint(describe({
        "format": _FORMAT, "trained_on": trained_on, "keypoints": y_lab,
        "estimator": net, "image_size": image_size, "as_gray": p["as_gray"],
        "random_state": p["random_state"],
        "previous": None if prev is None else prev.params_digest(), **by_box,
    }))
    described_strategy = describe(strategy)
    described_strategy["params"].pop("n_jobs", None)  # how fast, not what
    if by_box:
        by_box["boxes"] = [  # the pool's samples: (image, box id, box or None)
            [str(n), int(a), b.tolist() if np.isfinite(b).all() else None]
            for n, a, b in zip(d.pool_meta.file_name, d.pool_meta.annotation_id,
                               d.pool_meta.bbox, strict=True)
        ]
    round_fingerprint = fingerprint({"model": model_fingerprint, "pool": d.names,
                                     "budget": p["budget"],
                                     "strategy": described_strategy, **by_box})
    if saved is not None and saved["fingerprint"] != round_fingerprint:
        if not p["overwrite"]:
            raise ValueError(
                f"{str(out.path)!r} holds a round with other inputs or settings; pass "
                "overwrite=True (sk-eglpp select --overwrite) to replace it, or "
                "choose a new output folder."
            )
        out.drop_outputs()
    out.write_round({"fingerprint": round_fingerprint, "n_threads": p["n_threads"],
                     "strategy": how, "image_ids": d.ids, "crop": p["crop"]})
    if out.saved_model_fingerprint() == model_fingerprint:
        net = _load_model(net, out.model, *d.shape)
    else:
        net = _train(net, d.X_lab, y_lab, prev, d.shape, p["verbose"])
        out.save_model(net, {
            "format": _FORMAT, "fingerprint": model_fingerprint,
            "image_size": image_size, "as_gray": p["as_gray"],
            "keypoint_names": d.category["keypoints"],
            "network": _network_params(net), "trained_on": trained_on,
            "epochs": len(net.history), "crop": p["crop"],
        })
    return _write_selection(out, images, strategy, how, net, d, p)


def _round_estimator(estimator, prev, strategy, shape, p):
    """The (unfitted) network of this round, checked against the previous one."""
    from sklearn.base import clone

    in_channels, n_joints, image_size = shape
    if estimator is None:
        net = _default_estimator(n_joints, in_channels, image_size, p["max_epochs"],
                                 strategy, p["device"], p["random_state"])
        if prev is not None:
            net.set_params(**{k: v for k, v in prev.info["network"].items()
                              if k.startswith("module__") or k == "loss_prediction"})
    else:
        net = clone(estimator).set_params(max_epochs=p["max_epochs"])
    if prev is not None:
        network, before = _network_params(net), prev.info["network"]
        changed = sorted(k for k in set(network) | set(before)
                         if network.get(k) != before.get(k))
        if changed:
            raise ValueError(
                f"the estimator's network differs from the previous round's model "
                f"in {changed}; continue with the same network or start without "
                "previous."
            )
    return net


def _write_selection(out, images, strategy, how, net, d, p):
    """Score the pool and write the selection's CSV, COCO file and contact sheet."""
    budget, image_size = p["budget"], p["image_size"]
    n_joints = d.y_lab.shape[1] // 2
    indices, utilities, _ = strategy._query(
        net, d.X_pool, n_instances=budget, X_labelled=d.X_lab, y_labelled=d.y_lab
    )
    chosen = meta_rows(d.pool_meta, indices)
    predicted = net.predict(d.X_pool[indices])
    keypoints = crop_to_source(predicted.reshape(budget, n_joints, 2), chosen.crop,
                               image_size)
    paths = {
        "csv": out.path / "selection.csv",
        "coco": out.path / "selection.json",
        "contact_sheet": out.path / "contact_sheet.png",
        "model": out.model,
    }
    selection = AnnotationSelection(
        rank=np.arange(1, budget + 1),
        file_name=chosen.file_name,
        image_id=chosen.image_id,
        utility=np.asarray(utilities, dtype=np.float64),
        keypoints=keypoints.reshape(budget, 2 * n_joints),
        files=paths,
        estimator=net,
        n_trained_on=len(d.lab_meta.file_name),
        bbox=chosen.bbox,
        crop=p["crop"],
    )
    _write_csv(paths["csv"], selection._rows())
    # the boxes keep the input files' annotation ids unless two files share one
    given = chosen.annotation_id[chosen.annotation_id >= 0]
    if len(np.unique(given)) < len(given):
        chosen.annotation_id = np.full(budget, -1)
    boxed = np.isfinite(chosen.bbox).all(axis=1)
    write_coco_file(paths["coco"], chosen, keypoints if p["pre_annotate"] else None,
                    boxed | p["pre_annotate"],
                    "written by sk_eglpp.datasets.write_coco_keypoints")
    skeleton = [tuple(pair) for pair in d.lab_meta.skeleton.tolist()]
    noun = "images" if p["crop"] == "image" else "people"
    _contact_sheet(paths["contact_sheet"], images, selection, chosen.crop, skeleton,
                   p["contact_sheet_size"],
                   f"{budget} {noun} selected by {how} from {len(d.X_pool)} (model "
                   f"trained on {len(d.lab_meta.file_name)}); under each: its "
                   "utility; dots: predicted keypoints"
                   + ("; box: the person box" if boxed.any() else ""))
    return selection
