"""LSP and LSPET as COCO keypoints files: :func:`leeds_to_coco`.

The Leeds annotations (``joints.mat``, see :mod:`sk_eglpp.datasets._leeds`)
are written as a COCO file that lists the original photographs, so that the
annotation round and :func:`load_coco_keypoints` read a real data set.
"""

import json
from numbers import Integral
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes
from .._param_validation import Interval, StrOptions, validate_params
from ._coco import LSP_CATEGORY, same_file
from ._coco_write import category_record, json_text
from ._dataset_files import MARGIN, check_folder, read_mat, select_indices
from ._images import SourceImage
from ._leeds import LEEDS, leeds_image_name, leeds_joints

__all__ = ["leeds_to_coco"]

#: written into what :func:`leeds_to_coco` creates, to know its files again
_LEEDS_MARK = "written by sk_eglpp.datasets.leeds_to_coco"


@validate_params({
    "path": ["path"],
    "output": ["path"],
    "dataset": [StrOptions(list(LEEDS))],
    "indices": ["array-like", None],
    "n_annotated": [Interval(Integral, 0, None, closed="left"), None],
    "unannotated": ["path", None],
    "person_boxes": ["boolean"],
    "margin": MARGIN,
})
def leeds_to_coco(
    path,
    output,
    *,
    dataset="lspet",
    indices=None,
    n_annotated=None,
    unannotated=None,
    person_boxes=False,
    margin=0.1,
):
    """Write the LSP or LSPET annotations as a COCO keypoints file.

    The images stay where they are: the file lists the original photographs
    of ``path/images`` (their ``width`` and ``height`` read from the files)
    with the 14 LSP keypoints in full-image pixel coordinates, the LSP
    keypoint names and :data:`LSP_SKELETON`, so that ``sk-eglpp select
    path/images output`` (:func:`sk_eglpp.select_for_annotation`) and
    :func:`load_coco_keypoints` read them. Nothing is downloaded, and nothing
    in ``path`` is modified.

    Parameters
    ----------
    path : str or os.PathLike
        The LSP or LSPET folder (holding ``joints.mat`` and ``images/``).
    output : str or os.PathLike
        The COCO file to write (through a temporary file and a rename; its
        folder is created). An existing file is replaced only when an earlier
        call wrote it.
    dataset : {"lspet", "lsp"}, default="lspet"
        The layout of ``joints.mat``: LSPET's 14 x 3 x n (third column 1 for a
        visible joint) or LSP's 3 x 14 x n (third row 1 for an occluded one).
    indices : array-like of int, default=None
        0-based image numbers to list, in that order (``i`` is the file
        numbered ``i + 1``); ``None`` lists every image of ``joints.mat``.
    n_annotated : int, default=None
        Annotate only the first ``n_annotated`` images of ``indices``; the
        others are listed in ``images`` without keypoints. ``None``: all.
    unannotated : str or os.PathLike, default=None
        Also write this text file: the file names of the images listed
        without keypoints, one per line after a ``#`` comment line, the
        format of ``unannotated`` / ``sk-eglpp select --unannotated``. An
        existing file is replaced only when an earlier call wrote it.
    person_boxes : bool, default=False
        Give each image listed without keypoints an annotation with its
        person box and no keypoints (``num_keypoints`` 0), as a person
        detector writes it; ``select_for_annotation(crop="bbox")`` then
        crops those images by their boxes.
    margin : float, default=0.1
        The ``bbox`` of a person is the box of its joints (see Notes)
        enlarged by ``margin`` times its larger side on every edge, then
        clipped to the image.

    Returns
    -------
    files : dict
        ``"images"`` (the images folder, ``path/images``), ``"annotations"``
        (``output``) and ``"unannotated"`` (the list, or ``None``), as
        :class:`pathlib.Path`.

    Raises
    ------
    FileNotFoundError
        The folder, ``joints.mat`` or a listed image does not exist.
    ValueError
        ``joints.mat`` is unreadable or has another layout; ``indices`` out
        of range or listing an image twice; ``n_annotated`` larger than the
        number of images listed; ``output`` or ``unannotated`` exists and was
        not written by this function, or they name one file.

    See Also
    --------
    load_lspet, load_lsp : The same annotations, cropped around each person.
    load_coco_keypoints, sk_eglpp.select_for_annotation

    Notes
    -----
    ``joints.mat`` holds MATLAB's 1-based pixel coordinates; the file gets
    the package's (and COCO's) pixel indices, one less. A joint flagged
    visible is written with ``v = 2`` (even a few pixels outside the frame,
    where LSPET's annotators put some head tops); a joint not flagged
    visible with ``v = 1`` (labelled, not visible) when its position lies in
    the image, and as ``0, 0, 0`` (not labelled) otherwise: LSPET stores its
    invisible joints at 0 or negative placeholder positions, LSP estimates
    occluded joints inside the image. The person box frames the ``v = 2``
    joints (the ``v >= 1`` ones when fewer than two are visible; no
    ``bbox`` when fewer than two are labelled), as :func:`load_lspet` frames
    its crops: with ``margin=0``, ``load_coco_keypoints(crop="bbox",
    margin=m)`` reads the crops of ``load_lspet(margin=m)`` for a person
    whose visible joints lie in the image. Image and annotation ids are the
    image numbers (``i + 1``).

    Examples
    --------
    >>> import json, numpy as np, scipy.io, tempfile, pathlib
    >>> from matplotlib.image import imsave
    >>> from sk_eglpp.datasets import leeds_to_coco, load_coco_keypoints
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name) / "lspet"
    >>> (folder / "images").mkdir(parents=True)
    >>> for name in ("im00001.jpg", "im00002.jpg"):
    ...     imsave(folder / "images" / name, np.zeros((40, 30, 3), np.uint8))
    >>> joints = np.ones((14, 3, 2))                # all visible
    >>> joints[:, 0, :] = np.linspace(6, 25, 14)[:, None]   # x (1-based)
    >>> joints[:, 1, :] = np.linspace(5, 36, 14)[:, None]   # y (1-based)
    >>> joints[13, 2, 1] = 0                       # image 2: head top hidden
    >>> scipy.io.savemat(folder / "joints.mat", {"joints": joints})
    >>> files = leeds_to_coco(folder, pathlib.Path(tmp.name) / "lspet.json",
    ...                       n_annotated=1, unannotated=pathlib.Path(tmp.name)
    ...                       / "todo.txt")
    >>> files["unannotated"].read_text().splitlines()[1:]
    ['im00002.jpg']
    >>> coco = json.loads(files["annotations"].read_text())
    >>> [(i["file_name"], i["width"], i["height"]) for i in coco["images"]]
    [('im00001.jpg', 30, 40), ('im00002.jpg', 30, 40)]
    >>> ann = coco["annotations"][0]  # image 1 only: n_annotated=1
    >>> ann["keypoints"][:3], ann["num_keypoints"]  # 0-based pixels, v = 2
    ([5.0, 4.0, 2], 14)
    >>> X, y, meta = load_coco_keypoints(files["annotations"], files["images"],
    ...                                  image_size=16)
    >>> meta.file_name.tolist(), y[0, :2]  # padded to 40 x 40, scaled by 0.4
    (['im00001.jpg'], array([3.7, 1.3]))
    >>> tmp.cleanup()
    """
    label = LEEDS[dataset][0]
    folder = check_folder(path, label)
    output, listing = _leeds_outputs(output, unannotated)
    file = folder / "joints.mat"
    mat, _ = read_mat(file, "joints.mat", label)
    xy, visible = leeds_joints(mat, file, dataset)
    selected = select_indices(xy.shape[0], indices, None, "images")
    values, counts = np.unique(selected, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"leeds_to_coco: indices must list each image once, got "
            f"{int(values[counts > 1][0])} {int(counts.max())} times."
        )
    n_annotated = selected.size if n_annotated is None else int(n_annotated)
    if n_annotated > selected.size:
        raise ValueError(
            f"leeds_to_coco: n_annotated must be in [0, {selected.size}] (the "
            f"number of images listed), got {n_annotated}."
        )
    images_dir = folder / "images"
    images, annotations, todo = [], [], []
    for row, i in enumerate(selected.tolist()):
        name = leeds_image_name(i + 1, dataset)
        image = SourceImage(images_dir / name, label=f"{label} image")
        images.append({"id": i + 1, "file_name": name, "width": image.width,
                       "height": image.height})
        kp = _leeds_keypoints(xy[i], visible[i], image.width, image.height)
        box = _leeds_box(kp, image.width, image.height, float(margin))
        if row < n_annotated:
            annotations.append(_leeds_annotation(i + 1, kp, box))
        else:
            todo.append(name)
            if person_boxes and box is not None:
                annotations.append(_leeds_annotation(i + 1, np.zeros_like(kp), box))
    document = {
        "info": {"description": _LEEDS_MARK,
                 "source": f"{label} joints.mat, 1-based pixels made 0-based"},
        "images": images,
        "annotations": annotations,
        "categories": [category_record(LSP_CATEGORY)],
    }
    text = json_text(document, output)
    for file in (output, listing):
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(output, text)
    if listing is not None:
        atomic_write_bytes(listing, "".join(
            f"{line}\n" for line in
            [f"# {_LEEDS_MARK}: the images of {output.name} without keypoints",
             *todo]
        ))
    return {"images": images_dir, "annotations": output, "unannotated": listing}


def _leeds_outputs(output, unannotated):
    """``output`` and ``unannotated`` as paths, checked: ours to (re)place."""
    paths = []
    for name, value in (("output", output), ("unannotated", unannotated)):
        if value is None:  # unannotated, not asked for
            paths.append(None)
            continue
        path = Path(value)
        if path.exists() or path.is_symlink():
            if not (path.is_file() and not path.is_symlink()
                    and _written_by_leeds_to_coco(path)):
                raise ValueError(
                    f"{name} {str(path)!r} exists and was not written by "
                    "leeds_to_coco; it is not replaced: choose another name or "
                    "remove it."
                )
        paths.append(path)
    if paths[1] is not None and same_file(paths[0], paths[1]):
        raise ValueError(
            f"output and unannotated name one file, {str(paths[0])!r}; give the "
            "list of unannotated images a name of its own."
        )
    return paths


def _written_by_leeds_to_coco(path):
    """Whether the file at ``path`` carries :data:`_LEEDS_MARK` where we put it."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(len(_LEEDS_MARK) + 2)
            if head == f"# {_LEEDS_MARK}":  # the list of unannotated images
                return True
            data = json.loads(head + f.read())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    info = data.get("info") if isinstance(data, dict) else None
    return isinstance(info, dict) and info.get("description") == _LEEDS_MARK


def _leeds_keypoints(xy, visible, width, height):
    """COCO ``(14, 3)`` x, y, v of one Leeds person (see :func:`leeds_to_coco`)."""
    finite = np.isfinite(xy).all(axis=1)
    inside = (
        finite & (xy[:, 0] >= -0.5) & (xy[:, 0] < width - 0.5)
        & (xy[:, 1] >= -0.5) & (xy[:, 1] < height - 0.5)
    )
    v = np.where(finite & visible, 2, np.where(inside, 1, 0))
    kp = np.zeros((len(xy), 3))
    kp[v > 0, :2] = xy[v > 0]
    kp[:, 2] = v
    return kp


def _leeds_box(kp, width, height, margin):
    """The person box ``[x, y, w, h]`` of ``kp`` (``None`` when it has none)."""
    frame = kp[kp[:, 2] == 2, :2]
    if len(frame) < 2:
        frame = kp[kp[:, 2] > 0, :2]
    if len(frame) < 2:
        return None
    lo, hi = frame.min(axis=0), frame.max(axis=0)
    extent = float(np.max(hi - lo))
    if extent <= 0:
        return None
    # pixel-centre coordinates to the box's edges (pixel edges at integers)
    low = np.maximum(lo - margin * extent + 0.5, 0.0)
    high = np.minimum(hi + margin * extent + 0.5, [width, height])
    if (high <= low).any():
        return None
    return [float(v) for v in (*low, *(high - low))]


def _leeds_annotation(number, kp, box):
    labelled = kp[:, 2] > 0
    entry = {
        "id": number,
        "image_id": number,
        "category_id": LSP_CATEGORY["id"],
        "keypoints": [
            value
            for x, y, v in kp.tolist()
            for value in ((x, y, int(v)) if v else (0, 0, 0))
        ],
        "num_keypoints": int(labelled.sum()),
        "iscrowd": 0,
    }
    if box is not None:
        entry["bbox"] = box
        entry["area"] = box[2] * box[3]
    return entry

