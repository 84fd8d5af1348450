"""The round: :func:`select_for_annotation`, a sequence of small steps.

Check the parameters (the decorator) and set the strategy up; open the
inputs (images folder, previous round) and the output folder, and check them
apart; read the annotated samples and the pool; build the network; then,
with the output folder locked: fingerprint the round, train (or reuse the
saved model), score the pool and write the selection.
"""

import os
from numbers import Integral

import numpy as np

from .._fingerprints import describe, fingerprint
from .._param_validation import (
    N_JOBS,
    POSITIVE_INT,
    VERBOSE,
    InstanceOf,
    Interval,
    StrOptions,
    validate_params,
)
from .._threads import thread_limits
from ..datasets._crops import meta_rows
from ..datasets._images import crop_to_source
from ..models import HourglassRegressor
from ..query import BaseQueryStrategy
from ._formats import BOX_MARGIN, CROPS, MAX_IMAGE_SIZE, ROUND_FORMAT, check_image_size
from ._images_folder import ImagesFolder
from ._model import network_params, round_estimator, train
from ._previous import PreviousRound
from ._round_folder import RoundFolder
from ._selection import AnnotationSelection, write_selection
from ._strategy import resolve_strategy

__all__ = ["select_for_annotation"]


@validate_params({
    "images_dir": ["path"],
    "annotations": ["path", "iterable"],
    "budget": [POSITIVE_INT],
    "output_dir": ["path"],
    "unannotated": [None, "path", InstanceOf(list, tuple)],
    "strategy": [InstanceOf(str, BaseQueryStrategy, description="a strategy name "
                            "(str) or an sk_eglpp query strategy")],
    "previous": [None, "path"],
    "estimator": [None, InstanceOf(HourglassRegressor,
                                   description="a HourglassRegressor")],
    "image_size": [Interval(Integral, 8, MAX_IMAGE_SIZE, closed="both"), None],
    "as_gray": ["boolean", None],
    "crop": [StrOptions(CROPS), None],
    "max_epochs": [POSITIVE_INT],
    "pre_annotate": ["boolean"],
    "contact_sheet_size": [POSITIVE_INT],
    "device": ["device", None],
    "n_jobs": N_JOBS,
    "n_threads": [POSITIVE_INT],
    "random_state": ["random_state", None],
    "overwrite": ["boolean"],
    "verbose": VERBOSE,
})
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
      image), most informative first; ``utility`` is each row's entry of the
      utilities of the whole pool that the strategy returns with its
      selection (for Core-set, the distance to the labelled set; see
      ``AnnotationSelection.utility``);
    - ``selection.json``: a COCO keypoints file listing the selected images,
      with the selected person boxes as annotations without keypoints, or
      with the model's predicted keypoints when ``pre_annotate``, to import
      into an annotation tool;
    - ``contact_sheet.png``: the first ``contact_sheet_size`` selected images
      (or people) with the predicted skeletons;
    - ``model/``: the trained model for the next round: the package's net
      checkpoint (one ``.pt`` file per torch module, criterion and
      optimizer, ``history.json``, ``attributes.json``; read back
      weights-only) and ``model.json``, what the round knows of it.

    With ``crop="image"`` the images are read whole and padded to a square
    (one person per image, ``crop="image"`` of
    :func:`~sk_eglpp.datasets.load_coco_keypoints`); with ``crop="bbox"``
    every person is cropped by its box (see Notes). Images are read as
    annotation tools show them: EXIF orientation applied. Nothing given is
    modified, and nothing in ``output_dir`` but the round's own files (see
    Notes). The round is safe to interrupt: the model is saved as soon as it
    is trained, every file is written whole or not at all, and calling again
    with the same annotations, estimator and input settings reuses the saved
    model (also when only the budget, the pool or the strategy changed, with
    ``overwrite``).

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
        A name of :data:`sk_eglpp.query.STRATEGIES` or a strategy object, for
        a network (not one for linear models, ``get_query_tags(s).model ==
        "linear"``). Its ``random_state`` (when ``None``), ``device`` (when
        ``None``), ``n_jobs`` and ``verbose`` are set from this call's.
        EGL++ is the default; on LSPET it was as good as random (user guide,
        "Real data"), and ``"random_query"`` is the cheaper choice.
    previous : str or os.PathLike, default=None
        The ``output_dir`` of the previous round: its model is trained on,
        and its ``image_size`` / ``as_gray`` are kept. The model folders of
        rounds written by earlier versions of the package are read too.
    estimator : HourglassRegressor, default=None
        The model to train (cloned). ``None``: the simulations' hourglass
        (:func:`sk_eglpp.models.pose_estimator`, two stacks, 16 features,
        depth 3 or lower to fit ``image_size``, with a loss-prediction head
        for ``learning_loss`` and dropout 0.1 for ``mc_dropout``). With
        ``previous``, its network parameters must match the saved model's.
    image_size : int, default=None
        Side of the square network input; 64 when ``None`` and not taken from
        ``previous``. A multiple of 8 in ``[8, 1024]``.
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
    device : str or torch.device, default="cpu"
        Torch device of the model (and of the strategy, if it has one); a
        device this machine has. ``None`` is ``"cpu"``.
    n_jobs : int, default=None
        joblib workers of the strategy, if it has ``n_jobs``.
    n_threads : int, default=1
        Torch, BLAS and OpenMP threads for the whole round (reading,
        training, scoring, contact sheet), restored afterwards; recorded in
        ``round.json``. A round is reproducible for a seed and a thread count
        on the same kind of processor.
    random_state : int, RandomState instance or None, default=0
        Seed of the model's training and of a randomised strategy. An int is
        the round's seed; from a ``RandomState`` (``None``: numpy's global
        generator) the round draws one int seed. The seed is recorded in
        ``round.json`` (``random_state``). Calling again with the same int,
        or a ``RandomState`` of the same seed, is the same round (its saved
        model is reused); with ``None`` it is another round (see
        ``overwrite``).
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
    TypeError
        A parameter of the wrong type (the message names the function, the
        parameter and the value).
    FileNotFoundError
        A folder, file or image does not exist.
    ValueError
        A parameter out of its range, malformed annotations (the message
        names the file and the entry), an image name outside ``images_dir``,
        an empty pool, a budget larger than the pool, a previous round with
        other keypoints, an output that is, contains or lies inside an
        input, or ``output_dir`` holding another round or files that no
        round wrote.
    OutputDirInUseError
        Another round is writing ``output_dir``.

    Notes
    -----
    *The output folder.* The round writes only ``round.json``,
    ``selection.csv``, ``selection.json``, ``contact_sheet.png``, ``model/``
    and ``lock``, each through a temporary sibling and a rename; what a
    killed round left behind is removed by the next one. It refuses a folder
    that holds any of these names without a ``round.json`` of a round, and
    replaces ``model/`` only when its ``model.json`` is a round's model
    description and it holds no other files than a round writes
    (``model.json``, ``*.pt``, ``history.json``, ``attributes.json``), never
    through a symbolic link. One round at a time writes a folder (its lock).

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
    ['attributes.json', 'criterion.pt', 'history.json', 'model.json', 'module.pt',
     'optimizer.pt']
    >>> sorted(p.name for p in selection.files["model"].parent.iterdir())
    ['contact_sheet.png', 'lock', 'model', 'round.json', 'selection.csv',
     'selection.json']
    >>> tmp.cleanup()
    """
    settings = {
        "budget": int(budget), "max_epochs": int(max_epochs),
        "contact_sheet_size": int(contact_sheet_size),
        "pre_annotate": bool(pre_annotate), "overwrite": bool(overwrite),
        "device": "cpu" if device is None else device,
        "n_threads": int(n_threads), "seed": _seed(random_state),
        "verbose": int(verbose),
    }
    if image_size is not None:  # a multiple of 8 (the table checks the range)
        check_image_size(image_size, "select_for_annotation: image_size")
    strategy, how = resolve_strategy(strategy, n_jobs, settings["device"],
                                     settings["seed"], settings["verbose"] > 0)
    images = ImagesFolder(images_dir, annotations)
    prev = None if previous is None else PreviousRound(previous)
    out = RoundFolder(output_dir)
    inputs = images.inputs()
    if isinstance(unannotated, str | os.PathLike):
        inputs.append(("list of unannotated images", unannotated))
    out.check_apart_from(inputs + ([] if prev is None else prev.inputs()))
    out.saved_round()  # read only: refuses someone else's files before any write
    settings.update(_input_settings(image_size, as_gray, crop, prev))
    with thread_limits(settings["n_threads"]):
        data = images.read(unannotated, prev, settings)
        net = round_estimator(estimator, None if prev is None else
                              prev.info["network"], strategy, data.shape, settings)
        out.open()  # the first write: everything read is checked
        try:
            return _run_round(data, images, prev, out, strategy, how, net, settings)
        finally:
            out.close()


def _seed(random_state):
    """The round's int seed: ``random_state`` itself, or one draw from it."""
    if isinstance(random_state, Integral):
        return int(random_state)
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(2**32, dtype=np.int64))


def _input_settings(image_size, as_gray, crop, prev):
    """``image_size``, ``as_gray`` and ``crop``: given, or the previous round's."""
    if crop is None:
        crop = "image" if prev is None else prev.info["crop"]
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
        "image_size": 64 if image_size is None else int(image_size),
        "as_gray": bool(as_gray),
        "crop": crop,
    }


def _run_round(d, images, prev, out, strategy, how, net, s):
    """The round, with the output folder locked: the model, scores and files."""
    saved = out.saved_round()  # again, now that no other round can write
    model_fingerprint, round_fingerprint = _fingerprints(d, net, prev, strategy, s)
    if saved is not None and saved["fingerprint"] != round_fingerprint:
        if not s["overwrite"]:
            raise ValueError(
                f"{str(out.path)!r} holds a round with other inputs or settings; pass "
                "overwrite=True (sk-eglpp select --overwrite) to replace it, or "
                "choose a new output folder."
            )
        out.drop_outputs()
    out.write_round({"fingerprint": round_fingerprint, "n_threads": s["n_threads"],
                     "strategy": how, "image_ids": d.ids, "crop": s["crop"],
                     "random_state": s["seed"]})
    net = _trained_model(out, net, d, prev, model_fingerprint, s)
    return _select(out, images, strategy, how, net, d, s)


def _fingerprints(d, net, prev, strategy, s):
    """The fingerprints of the round's model and of the whole round.

    The model's: what it was trained on and how (the previous model by its
    weights); the round's: the model's, the pool, the budget and the
    strategy (not how fast it runs).
    """
    # crop="image" adds nothing: rounds written before crop="bbox" stay valid
    by_box = {} if s["crop"] == "image" else {"crop": s["crop"],
                                              "margin": BOX_MARGIN}
    model_fingerprint = fingerprint(describe({
        "format": ROUND_FORMAT, "trained_on": d.lab_meta.file_name.tolist(),
        "keypoints": d.y_lab, "estimator": net, "image_size": s["image_size"],
        "as_gray": s["as_gray"], "random_state": s["seed"],
        "previous": None if prev is None else prev.weights_digest(), **by_box,
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
                                     "budget": s["budget"],
                                     "strategy": described_strategy, **by_box})
    return model_fingerprint, round_fingerprint


def _trained_model(out, net, d, prev, model_fingerprint, s):
    """The model saved in ``out`` when it is this round's; else trained and saved."""
    saved = out.saved_model_info()
    if saved is not None and saved["fingerprint"] == model_fingerprint:
        return out.load_model(net, saved, d.shape)
    start = None if prev is None else (lambda net: prev.load(net, d.shape))
    net = train(net, d.X_lab, d.y_lab, s["verbose"], start)
    out.save_model(net, {
        "fingerprint": model_fingerprint, "image_size": s["image_size"],
        "as_gray": s["as_gray"], "keypoint_names": d.category["keypoints"],
        "network": network_params(net), "trained_on": d.lab_meta.file_name.tolist(),
        "epochs": len(net.history), "crop": s["crop"],
    })
    return net


def _select(out, images, strategy, how, net, d, s):
    """Score the pool, pick the budget and write the selection's files."""
    budget, n_joints = s["budget"], d.y_lab.shape[1] // 2
    indices, utilities = strategy.select(
        net, d.X_pool, n_instances=budget, return_utilities=True,
        X_labelled=d.X_lab, y_labelled=d.y_lab,
    )
    chosen = meta_rows(d.pool_meta, indices)
    predicted = net.predict(d.X_pool[indices])
    keypoints = crop_to_source(predicted.reshape(budget, n_joints, 2), chosen.crop,
                               s["image_size"])
    paths = {
        "csv": out.path / "selection.csv",
        "coco": out.path / "selection.json",
        "contact_sheet": out.path / "contact_sheet.png",
        "model": out.model,
    }
    n_trained_on = len(d.lab_meta.file_name)
    selection = AnnotationSelection(
        rank=np.arange(1, budget + 1),
        file_name=chosen.file_name,
        image_id=chosen.image_id,
        utility=np.asarray(utilities, dtype=np.float64)[indices],
        keypoints=keypoints.reshape(budget, 2 * n_joints),
        files=paths,
        estimator=net,
        n_trained_on=n_trained_on,
        bbox=chosen.bbox,
        crop=s["crop"],
    )
    noun = "images" if s["crop"] == "image" else "people"
    write_selection(
        paths, images.images, selection, chosen,
        {"pre_annotate": s["pre_annotate"],
         "contact_sheet_size": s["contact_sheet_size"],
         "skeleton": [tuple(pair) for pair in d.lab_meta.skeleton.tolist()]},
        f"{budget} {noun} selected by {how} from {len(d.X_pool)} (model trained on "
        f"{n_trained_on}); under each: its utility; dots: predicted keypoints",
    )
    return selection
