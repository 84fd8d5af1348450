"""One round of real active learning: which images should be annotated next?

:func:`select_for_annotation` is the job behind ``sk-eglpp select``: from a
folder of images and COCO keypoints annotations of some of them, it trains a
:class:`~sk_eglpp.models.HourglassRegressor` on the annotated images (or goes
on training the previous round's model), scores the unannotated ones with a
query strategy (EGL++ by default) and writes what an annotation team needs:
the ranked list, a COCO file of the selected images to import into an
annotation tool, a contact sheet and the model for the next round.
"""

import csv
import hashlib
import io
import json
import math
import os
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

from ._files import atomic_folder, atomic_write_bytes
from ._fingerprints import describe, fingerprint
from ._interrupts import Interrupts
from ._validation import check_bool, check_device, check_positive_int
from .datasets._coco import (
    IMAGE_EXTENSIONS,
    _as_files,
    _check_images_dir,
    _coco_index,
    _load_images,
    _meta,
    _meta_rows,
    _to_source,
    load_coco_keypoints,
    write_coco_keypoints,
)
from .datasets._loaders import _read_image

__all__ = ["AnnotationSelection", "select_for_annotation"]

_FORMAT = 1
_MODEL_FILES = {
    "f_params": "params.pt",
    "f_optimizer": "optimizer.pt",
    "f_history": "history.json",
}
_CSV_COLUMNS = ("rank", "file_name", "image_id", "utility")


class AnnotationSelection:
    """The ranked selection of one annotation round.

    Returned by :func:`select_for_annotation`; the same table is written to
    ``selection.csv``.

    Attributes
    ----------
    rank : ndarray of shape (budget,)
        1 for the most informative image.
    file_name : ndarray of shape (budget,)
        Image file names relative to the images folder.
    image_id : ndarray of shape (budget,)
        Their ids in ``selection.json``.
    utility : ndarray of shape (budget,)
        The strategy's utility of each image (for EGL++ its expected gradient
        length, Eq. 7).
    keypoints : ndarray of shape (budget, 2 * n_keypoints)
        The model's predicted keypoints, in source-image pixels.
    files : dict
        Paths of what was written: ``"csv"``, ``"coco"``, ``"contact_sheet"``,
        ``"model"``.
    estimator : HourglassRegressor
        The model trained in this round.
    n_trained_on : int
        Number of annotated images it was trained on.

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
    {'rank': 1, 'file_name': 'b.png', 'image_id': 7, 'utility': 0.5}
    >>> table
    AnnotationSelection: 2 images, model trained on 40
         1  b.png  (id 7)  0.5
         2  a.png  (id 3)  0.25
    """

    def __init__(self, rank, file_name, image_id, utility, keypoints, files,
                 estimator, n_trained_on):
        self.rank = rank
        self.file_name = file_name
        self.image_id = image_id
        self.utility = utility
        self.keypoints = keypoints
        self.files = files
        self.estimator = estimator
        self.n_trained_on = n_trained_on

    def __len__(self):
        return len(self.rank)

    def to_records(self):
        """The table as a list of dicts (``rank``, ``file_name``, ...)."""
        return [
            {"rank": int(r), "file_name": str(f), "image_id": int(i),
             "utility": float(u)}
            for r, f, i, u in zip(
                self.rank, self.file_name, self.image_id, self.utility, strict=True
            )
        ]

    def to_dataframe(self):
        """The table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.to_records(), columns=_CSV_COLUMNS)

    def __repr__(self):
        lines = [f"AnnotationSelection: {len(self)} images, model trained on "
                 f"{self.n_trained_on}"]
        for rec in self.to_records()[:10]:
            lines.append(f"  {rec['rank']:4d}  {rec['file_name']}  "
                         f"(id {rec['image_id']})  {rec['utility']:.4g}")
        if len(self) > 10:
            lines.append(f"  ... {len(self) - 10} more in {self.files['csv']}")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------


def _unannotated_names(folder, unannotated, annotated, annotation_files):
    """File names (relative to ``folder``) of the pool, checked."""
    if unannotated is None:
        names = sorted(
            p.name for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
            and not p.name.startswith(".")
        )
        names = [n for n in names if n not in annotated]
        if not names:
            raise ValueError(
                f"no unannotated images: every image file in {str(folder)!r} is "
                f"annotated in {', '.join(repr(str(f)) for f in annotation_files)}."
            )
        return names
    if isinstance(unannotated, (str, os.PathLike)):
        file = Path(unannotated)
        if not file.is_file():
            raise FileNotFoundError(f"list of unannotated images {str(file)!r} "
                                    "not found.")
        names = [line.strip() for line in file.read_text("utf-8").splitlines()]
        names = [n for n in names if n and not n.startswith("#")]
        source = f"{str(file)!r}"
    else:
        names = list(unannotated)
        if not all(isinstance(n, str) for n in names):
            raise TypeError("unannotated must be a list of file names (str) or the "
                            f"path of a text file of them, got {unannotated!r}.")
        source = "unannotated"
    if not names:
        raise ValueError(f"no unannotated images: {source} lists none.")
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{source} lists {name!r} twice.")
        seen.add(name)
        if name in annotated:
            raise ValueError(
                f"{source} lists {name!r}, which is annotated in "
                f"{str(annotated[name])!r}."
            )
    return names


def _resolve_strategy(strategy, n_jobs, device, random_state, verbose):
    from sklearn.base import clone

    from .query import STRATEGIES, BaseQueryStrategy, get_strategy

    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {strategy!r}; expected one of "
                f"{', '.join(sorted(STRATEGIES))} or a strategy object."
            )
        strategy = get_strategy(strategy)
    elif isinstance(strategy, BaseQueryStrategy):
        strategy = clone(strategy)
    else:
        raise TypeError(
            "strategy must be a strategy name or an sk_eglpp query strategy, got "
            f"{type(strategy).__name__}."
        )
    from .query import EMCMQuery, LinearEGLQuery

    if isinstance(strategy, (LinearEGLQuery, EMCMQuery)):
        raise ValueError(
            f"{type(strategy).__name__} scores linear models; the keypoint "
            "regressor of an annotation round needs a strategy for neural "
            "networks (egl_pp, coreset, multipeak_entropy, learning_loss, "
            "mc_dropout, greedy_sampling or random_query)."
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
    return strategy.set_params(**update)


def _network_params(estimator):
    """The estimator's JSON-able parameters that fix the network's shape."""
    params = estimator.get_params(deep=False)
    fixed = {k: v for k, v in params.items() if k.startswith("module__")}
    fixed["loss_prediction"] = params.get("loss_prediction", False)
    fixed["module"] = getattr(params.get("module"), "__name__", repr(params["module"]))
    return json.loads(json.dumps(fixed, sort_keys=True, default=repr))


def _default_estimator(n_joints, in_channels, image_size, max_epochs, strategy,
                       device, random_state):
    from .query import LearningLossQuery, MCDropoutQuery
    from .simulation import pose_estimator

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
# the model of a round
# --------------------------------------------------------------------------


def _read_model_info(folder):
    folder = Path(folder)
    model = folder / "model" if (folder / "model" / "model.json").is_file() else folder
    info_file = model / "model.json"
    if not info_file.is_file():
        raise FileNotFoundError(
            f"no model of a previous round in {str(folder)!r}: expected "
            f"{str(folder / 'model' / 'model.json')!r} (the output folder of "
            "an earlier select_for_annotation / sk-eglpp select)."
        )
    try:
        info = json.loads(info_file.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{str(info_file)!r} is not valid JSON ({exc}).") from exc
    if not isinstance(info, dict) or info.get("format") != _FORMAT:
        raise ValueError(f"{str(info_file)!r} is not a model description of this "
                         f"sk_eglpp version (format {_FORMAT}).")
    return model, info


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
    net.heatmap_size_ = net._heatmap_size((image_size, image_size))
    try:
        net.load_params(**_model_files(net, model_dir))
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds
        raise ValueError(
            f"cannot load the model in {str(model_dir)!r} "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return net


def _save_model(net, target, info):
    """Write the model folder through a temporary sibling and a rename."""
    with atomic_folder(target) as work:
        net.save_params(**_model_files(net, work))
        (work / "model.json").write_text(
            json.dumps(info, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )


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


def _contact_sheet(path, folder, selection, skeleton, max_images, title):
    """PNG grid of the first selected images with the predicted skeletons."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = min(len(selection), max_images)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    figure = Figure(figsize=(1.7 * cols, 1.9 * rows + 0.4))
    FigureCanvasAgg(figure)
    n_joints = selection.keypoints.shape[1] // 2
    for k in range(n):
        ax = figure.add_subplot(rows, cols, k + 1)
        image = _read_image(folder / selection.file_name[k], "COCO", False)
        ax.imshow(image if image.shape[2] == 3 else image[:, :, 0], cmap="gray",
                  vmin=0.0, vmax=1.0, interpolation="nearest")
        pts = selection.keypoints[k].reshape(n_joints, 2)
        for i, j in skeleton:
            if np.isfinite(pts[[i, j]]).all():
                ax.plot(pts[[i, j], 0], pts[[i, j], 1], color="tab:orange", lw=1.2)
        ax.scatter(pts[:, 0], pts[:, 1], s=6, color="tab:cyan", zorder=3)
        ax.set_xlim(-0.5, image.shape[1] - 0.5)
        ax.set_ylim(image.shape[0] - 0.5, -0.5)
        ax.set_title(f"#{selection.rank[k]} {selection.file_name[k]}\n"
                     f"{selection.utility[k]:.3g}", fontsize=7)
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
    max_epochs=10,
    pre_annotate=False,
    contact_sheet_size=48,
    device="cpu",
    n_jobs=None,
    random_state=0,
    overwrite=False,
    verbose=1,
):
    """Pick the next images to annotate: one round of active learning.

    Trains a stacked-hourglass regressor on the annotated images (or goes on
    training the model of the previous round, ``previous``, on all
    annotations given now), scores every unannotated image with ``strategy``
    and writes to ``output_dir``:

    - ``selection.csv``: ``rank, file_name, image_id, utility``, most
      informative first;
    - ``selection.json``: a COCO keypoints file listing the selected images
      (with the model's predicted keypoints as annotations when
      ``pre_annotate``), to import into an annotation tool;
    - ``contact_sheet.png``: the first ``contact_sheet_size`` selected images
      with the predicted skeletons;
    - ``model/``: the trained model (skorch's parameter, optimizer and
      history files, read back weights-only) for the next round.

    The images are read whole and padded to a square (one person per image,
    ``crop="image"`` of :func:`~sk_eglpp.datasets.load_coco_keypoints`).
    Nothing given is modified. The round is safe to interrupt: the model is
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
        Where this round's files go (created); not ``images_dir`` and not
        ``previous``.
    unannotated : list of str, str or os.PathLike, default=None
        The pool: ``None`` takes every image file directly in ``images_dir``
        (extensions ``.png .jpg .jpeg .bmp .tif .tiff .webp``) that is not
        annotated; otherwise a list of file names relative to
        ``images_dir``, or the path of a text file with one per line.
    strategy : str or query strategy, default="egl_pp"
        A name of :data:`sk_eglpp.query.STRATEGIES` or a strategy object. Its
        ``random_state`` (when ``None``), ``device`` (when ``None``),
        ``n_jobs`` and ``verbose`` are set from this call's.
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
        empty pool, a budget larger than the pool, a previous round with
        other keypoints, or ``output_dir`` holding another round.

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
    >>> tmp.cleanup()
    """
    from sklearn.base import clone

    folder = _check_images_dir(images_dir)
    files = _as_files(annotations)
    budget = check_positive_int(budget, "budget")
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    contact_sheet_size = check_positive_int(contact_sheet_size, "contact_sheet_size")
    pre_annotate = check_bool(pre_annotate, "pre_annotate")
    overwrite = check_bool(overwrite, "overwrite")
    device = check_device(device) or "cpu"
    if isinstance(random_state, bool) or not isinstance(random_state, int):
        raise TypeError(f"random_state must be an int, got {random_state!r}.")
    if isinstance(verbose, bool):
        verbose = int(verbose)
    if not isinstance(verbose, int):
        raise TypeError(f"verbose must be an int, got {verbose!r}.")
    if not isinstance(output_dir, (str, os.PathLike)):
        raise TypeError(f"output_dir must be a str or os.PathLike, got {output_dir!r}.")
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output_dir {str(out)!r} is a file, not a folder.")
    if out.exists() and out.resolve() == folder.resolve():
        raise ValueError("output_dir must not be the images folder (nothing given is "
                         "modified); choose another folder.")

    previous_model, previous_info = None, None
    if previous is not None:
        if not isinstance(previous, (str, os.PathLike)):
            raise TypeError(f"previous must be a folder path, got {previous!r}.")
        previous_model, previous_info = _read_model_info(previous)
        if out.exists() and out.resolve() in (
            Path(previous).resolve(), previous_model.resolve().parent
        ):
            raise ValueError(
                f"output_dir {str(out)!r} is the previous round's folder; write "
                "this round to a new folder (the previous model is an input)."
            )
        for name, value in (("image_size", image_size), ("as_gray", as_gray)):
            if value is not None and value != previous_info[name]:
                raise ValueError(
                    f"{name}={value!r} differs from the previous round's "
                    f"{previous_info[name]!r} (in {str(previous)!r}); the model's "
                    "input cannot change between rounds."
                )
        image_size, as_gray = previous_info["image_size"], previous_info["as_gray"]
    image_size = check_positive_int(64 if image_size is None else image_size,
                                    "image_size")
    if image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8, got {image_size}.")
    as_gray = check_bool(False if as_gray is None else as_gray, "as_gray")

    # -- the annotated images and the pool ------------------------------------
    category, index, anns = _coco_index(files)
    annotated = {a["file_name"]: a["file"] for a in anns}
    if not annotated:
        raise ValueError(
            f"no annotated image in {', '.join(repr(str(f)) for f in files)}: the "
            "first round needs some annotated images to train on."
        )
    if previous_info is not None and previous_info["keypoint_names"] != category[
        "keypoints"
    ]:
        raise ValueError(
            f"the annotations name the keypoints {category['keypoints']}, the "
            f"previous round's model {previous_info['keypoint_names']}."
        )
    names = _unannotated_names(folder, unannotated, annotated, files)
    if budget > len(names):
        raise ValueError(
            f"budget must be in [1, {len(names)}] (the number of unannotated "
            f"images), got {budget}."
        )
    strategy = _resolve_strategy(strategy, n_jobs, device, random_state, verbose > 0)
    X_lab, y_lab, lab_meta = load_coco_keypoints(
        files, folder, image_size=image_size, as_gray=as_gray, crop="image",
        verbose=verbose > 0,
    )
    next_id = max([r["id"] for r in index.values()], default=0) + 1
    records = []
    for name in names:
        if name in index:
            # id, file name, and the size and file to check the image against
            records.append(dict(index[name]))
        else:
            records.append({"id": next_id, "file_name": name})
            next_id += 1
    X_pool, crops = _load_images(folder, records, image_size, as_gray,
                                 verbose=verbose > 0)
    pool_meta = _meta(category, records, [-1] * len(records), crops,
                      np.full((len(records), 4), np.nan))
    n_joints, in_channels = y_lab.shape[1] // 2, X_lab.shape[1]

    # -- the model ------------------------------------------------------------
    if estimator is None:
        net = _default_estimator(n_joints, in_channels, image_size, max_epochs,
                                 strategy, device, random_state)
        if previous_info is not None:
            net.set_params(**{k: v for k, v in previous_info["network"].items()
                              if k.startswith("module__") or k == "loss_prediction"})
    else:
        net = clone(estimator).set_params(max_epochs=max_epochs)
    network = _network_params(net)
    if previous_info is not None and network != previous_info["network"]:
        changed = sorted(k for k in set(network) | set(previous_info["network"])
                         if network.get(k) != previous_info["network"].get(k))
        raise ValueError(
            f"the estimator's network differs from the previous round's model in "
            f"{changed}; continue with the same network or start without "
            "previous."
        )
    previous_params = None
    if previous_model is not None:
        params_file = previous_model / _MODEL_FILES["f_params"]
        previous_params = hashlib.sha256(params_file.read_bytes()).hexdigest()
    # what the model depends on, and what the round (its selection) adds
    model_fingerprint = fingerprint(describe({
        "format": _FORMAT,
        "trained_on": lab_meta.file_name.tolist(),
        "keypoints": y_lab,
        "estimator": net,
        "image_size": image_size,
        "as_gray": as_gray,
        "random_state": random_state,
        "previous": previous_params,
    }))
    described_strategy = describe(strategy)
    described_strategy["params"].pop("n_jobs", None)  # how fast, not what
    round_fingerprint = fingerprint({
        "model": model_fingerprint,
        "pool": names,
        "budget": budget,
        "strategy": described_strategy,
    })
    round_file = out / "round.json"
    model_dir = out / "model"
    if round_file.is_file():
        try:
            saved = json.loads(round_file.read_text("utf-8"))
        except json.JSONDecodeError:
            saved = {}
        if saved.get("fingerprint") != round_fingerprint and not overwrite:
            raise ValueError(
                f"{str(out)!r} holds a round with other inputs or settings; pass "
                "overwrite=True (sk-eglpp select --overwrite) to replace it, or "
                "choose a new output folder."
            )
        if saved.get("fingerprint") != round_fingerprint:  # overwrite: drop it
            for stale in ("selection.csv", "selection.json", "contact_sheet.png"):
                (out / stale).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(round_file, json.dumps(
        {"format": _FORMAT, "fingerprint": round_fingerprint}, indent=1) + "\n")

    trained_on = lab_meta.file_name.tolist()
    resumed = False
    if model_dir.is_dir() and (model_dir / "model.json").is_file():
        info = json.loads((model_dir / "model.json").read_text("utf-8"))
        if info.get("fingerprint") == model_fingerprint:
            net = _load_model(net, model_dir, in_channels, n_joints, image_size)
            resumed = True
    if not resumed:
        callbacks = list(net.callbacks or [])
        if verbose > 0:  # before initialize(), which sets the callbacks up
            net.set_params(callbacks=[*callbacks, ("progress", _EpochBar(max_epochs))])
        if previous_model is not None:
            net.set_params(warm_start=True)
            net = _load_model(net, previous_model, in_channels, n_joints,
                              image_size)
        with Interrupts() as interrupts:
            net.fit(X_lab, y_lab)
            # skorch's fit returns early on Ctrl-C: never save a model cut short
            interrupts.check()
        if verbose > 0:
            net.set_params(callbacks=callbacks or None)
            net.initialize_callbacks()
        info = {
            "format": _FORMAT,
            "fingerprint": model_fingerprint,
            "image_size": image_size,
            "as_gray": as_gray,
            "keypoint_names": category["keypoints"],
            "network": network,
            "trained_on": trained_on,
            "epochs": len(net.history),
        }
        _save_model(net, model_dir, info)

    # -- scoring and the outputs ----------------------------------------------
    indices, utilities, _ = strategy._query(
        net, X_pool, n_instances=budget, X_labelled=X_lab, y_labelled=y_lab
    )
    chosen = _meta_rows(pool_meta, indices)
    predicted = net.predict(X_pool[indices])
    keypoints = _to_source(predicted.reshape(budget, n_joints, 2), chosen.crop,
                           image_size).reshape(budget, 2 * n_joints)
    paths = {
        "csv": out / "selection.csv",
        "coco": out / "selection.json",
        "contact_sheet": out / "contact_sheet.png",
        "model": model_dir,
    }
    selection = AnnotationSelection(
        rank=np.arange(1, budget + 1),
        file_name=chosen.file_name,
        image_id=chosen.image_id,
        utility=np.asarray(utilities, dtype=np.float64),
        keypoints=keypoints,
        files=paths,
        estimator=net,
        n_trained_on=len(trained_on),
    )
    _write_csv(paths["csv"], selection.to_records())
    write_coco_keypoints(paths["coco"], chosen,
                         predicted if pre_annotate else None, image_size=image_size)
    skeleton = [tuple(p) for p in lab_meta.skeleton.tolist()]
    name = strategy.__class__.__name__
    _contact_sheet(paths["contact_sheet"], folder, selection, skeleton,
                   contact_sheet_size,
                   f"{budget} images selected by {name} from {len(names)} "
                   f"(model trained on {len(trained_on)}); predicted keypoints")
    return selection
