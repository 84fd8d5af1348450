"""COCO keypoints files written: predictions, selections, merged files.

:func:`write_coco_keypoints` writes what :func:`load_coco_keypoints` read
(its ``meta``) with keypoints mapped back to the source images, and
:func:`merge_coco_keypoints` merges files read by the same rules (see the
conventions of :mod:`sk_eglpp.datasets._coco`). Every file is written
through a temporary file and a rename, and holds only finite numbers, so it
is valid JSON that the reader takes back.
"""

import json
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes
from .._param_validation import POSITIVE_INT, validate_params
from ._coco import (
    CATEGORY,
    coco_files,
    coco_image_names,
    coco_index,
    same_file,
    warn_skipped,
)
from ._images import crop_to_source

__all__ = [
    "category_record",
    "json_text",
    "merge_coco_keypoints",
    "write_coco_file",
    "write_coco_keypoints",
]


_META_KEYS = ("image_id", "file_name", "width", "height", "crop", "category")


def _check_meta(meta):
    if not hasattr(meta, "keys") or any(key not in meta for key in _META_KEYS):
        got = sorted(meta.keys()) if hasattr(meta, "keys") else type(meta).__name__
        raise TypeError(
            f"write_coco_keypoints: meta must be a mapping with the keys "
            f"{list(_META_KEYS)} (as returned by load_coco_keypoints), got {got}."
        )
    n = len(meta["image_id"])
    for key in ("file_name", "width", "height", "crop"):
        if len(meta[key]) != n:
            raise ValueError(
                f"write_coco_keypoints: meta[{key!r}] has {len(meta[key])} rows, "
                f"meta['image_id'] {n}."
            )
    return n


@validate_params({
    "file": ["path"],
    "meta": ["no_validation"],
    "y": ["array-like", None],
    "image_size": [POSITIVE_INT, None],
})
def write_coco_keypoints(file, meta, y=None, *, image_size=None):
    """Write images, and optionally keypoints, as a COCO keypoints file.

    The inverse of :func:`load_coco_keypoints`: keypoints in the crops' pixel
    coordinates are mapped back to the source images with ``meta["crop"]``.
    The file is written through a temporary file and a rename, so it is either
    complete or absent.

    Parameters
    ----------
    file : str or os.PathLike
        The COCO file to write (replaced if it exists).
    meta : mapping
        What :func:`load_coco_keypoints` returns as ``meta`` (rows aligned
        with ``y``): at least ``image_id``, ``file_name``, ``width``,
        ``height``, ``crop`` and ``category``; ``annotation_id`` and ``bbox``
        are used when present.
    y : array-like of shape (n_samples, 2 * n_keypoints), default=None
        Keypoints in the crops' pixel coordinates (NaN: missing). Every row
        becomes one annotation; a keypoint is written with ``v = 2`` when it
        is finite and inside its source image and as ``0, 0, 0`` otherwise.
        ``None`` writes the images only (e.g. a selection to annotate).
    image_size : int, default=None
        Side of the crops ``y`` refers to; required with ``y``.

    Returns
    -------
    path : pathlib.Path
        The file written.

    See Also
    --------
    load_coco_keypoints

    Notes
    -----
    The ``bbox`` of an annotation is ``meta["bbox"]`` when it is finite, else
    the box of the written keypoints (a point box when there is one, the
    whole image when there is none); ``area`` is the box's area and
    ``iscrowd`` is 0.

    Examples
    --------
    >>> import json, tempfile
    >>> from sk_eglpp.datasets import (
    ...     load_coco_keypoints, make_synthetic_coco, write_coco_keypoints)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> files = make_synthetic_coco(tmp.name + "/demo", n_images=12,
    ...                             n_annotated=5, random_state=0)
    >>> X, y, meta = load_coco_keypoints(files["annotations"], files["images"],
    ...                                  image_size=32)
    >>> path = write_coco_keypoints(tmp.name + "/copy.json", meta, y,
    ...                             image_size=32)
    >>> copy = json.loads(path.read_text())
    >>> len(copy["images"]), len(copy["annotations"])
    (5, 5)
    >>> tmp.cleanup()
    """
    n = _check_meta(meta)
    category = meta["category"]
    n_joints = len(category["keypoints"])
    crop = np.asarray(meta["crop"], dtype=np.float64).reshape(n, 3)
    if y is not None:
        if image_size is None:
            raise ValueError(
                "write_coco_keypoints: image_size (the side of the crops y refers "
                "to) is needed to write keypoints, got None."
            )
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (n, 2 * n_joints):
            raise ValueError(
                f"write_coco_keypoints: y must have shape ({n}, {2 * n_joints}): "
                f"one row per meta row, {n_joints} keypoints of category "
                f"{category['name']!r}; got {y.shape}."
            )
        source = crop_to_source(y.reshape(n, n_joints, 2), crop, image_size)
    else:
        source = None
    return write_coco_file(file, meta, source, np.full(n, y is not None),
                           "written by sk_eglpp.datasets.write_coco_keypoints")


def write_coco_file(file, meta, source, annotate, description):
    """Write ``meta``'s images and, for the rows ``annotate``, annotations.

    ``source`` holds the keypoints ``(n, n_joints, 2)`` in source-image
    pixels (NaN: missing; ``None``: none). An annotated row without finite
    keypoints inside its image is a person box (``num_keypoints`` 0).
    """
    n = len(meta["image_id"])
    category = meta["category"]
    n_joints = len(category["keypoints"])
    if source is None:
        source = np.full((n, n_joints, 2), np.nan)
    images, seen = [], set()
    for i in range(n):
        iid = int(meta["image_id"][i])
        if iid in seen:
            continue
        seen.add(iid)
        images.append({
            "id": iid,
            "file_name": str(meta["file_name"][i]),
            "width": int(meta["width"][i]),
            "height": int(meta["height"][i]),
        })
    annotations = []
    ids = meta.get("annotation_id")
    boxes = meta.get("bbox")
    taken = [int(a) for a in ids if a >= 0] if ids is not None else []
    next_id = max(taken, default=0) + 1
    for i in np.flatnonzero(annotate):
        width, height = int(meta["width"][i]), int(meta["height"][i])
        pts = source[i]
        inside = (
            np.isfinite(pts).all(axis=1)
            & (pts[:, 0] >= -0.5) & (pts[:, 0] < width - 0.5)
            & (pts[:, 1] >= -0.5) & (pts[:, 1] < height - 0.5)
        )
        values = np.zeros((n_joints, 3))
        values[inside] = np.c_[pts[inside].round(3), np.full(inside.sum(), 2)]
        values = [v if v % 1 else int(v) for v in values.ravel().tolist()]
        box = np.full(4, np.nan) if boxes is None else np.asarray(boxes[i], float)
        if not np.isfinite(box).all():
            if inside.any():
                lo, hi = pts[inside].min(axis=0), pts[inside].max(axis=0)
                box = np.array([lo[0] + 0.5, lo[1] + 0.5, *(hi - lo)])
            else:
                box = np.array([0.0, 0.0, width, height])
        aid = int(ids[i]) if ids is not None and ids[i] >= 0 else None
        if aid is None:
            aid, next_id = next_id, next_id + 1
        annotations.append({
            "id": aid,
            "image_id": int(meta["image_id"][i]),
            "category_id": int(category["id"]),
            "keypoints": values,
            "num_keypoints": int(inside.sum()),
            "bbox": [round(float(v), 3) for v in box],
            "area": round(float(box[2]) * float(box[3]), 3),  # inf: refused
            "iscrowd": 0,
        })
    document = {
        "info": {"description": description},
        "images": images,
        "annotations": annotations,
        "categories": [category_record(category)],
    }
    path = Path(file)
    atomic_write_bytes(path, json_text(document, path))
    return path


def json_text(document, path):
    """``document`` as JSON text; a non-finite number (not JSON) is an error."""
    try:
        return json.dumps(document, indent=1, allow_nan=False) + "\n"
    except ValueError as exc:
        raise ValueError(
            f"cannot write {str(path)!r}: the content holds a non-finite number "
            f"({exc}); nothing was written."
        ) from exc


@validate_params({
    "inputs": ["path", "iterable"],
    "output": ["path"],
    "images": ["path", None],
    "category": CATEGORY,
})
def merge_coco_keypoints(inputs, output, *, images=None, category=None):
    """Merge COCO keypoints files into one, optionally keeping some images only.

    Images are matched by ``file_name`` as in :func:`load_coco_keypoints`;
    annotations keep their keypoints and boxes as they are and are numbered
    afresh. With ``images``, only the images listed in that COCO file (e.g.
    the ``selection.json`` of :func:`sk_eglpp.select_for_annotation`) are
    kept: with the annotation tool's export of a batch or, in the synthetic
    demo, with the ground truth, this "annotates" a selection.

    Parameters
    ----------
    inputs : str, os.PathLike or list of them
        COCO keypoints files, all of the same keypoint category.
    output : str or os.PathLike
        The file to write (through a temporary file and a rename); it must
        not be one of the inputs nor ``images`` (compared by resolved path,
        so ``./a.json`` or a link to an input is refused too, whether or not
        ``output`` exists yet).
    images : str or os.PathLike, default=None
        A COCO file whose ``images`` (by file name) are the ones to keep.
    category : str or int, default=None
        Name or id of the keypoint category; ``None`` takes the only one.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        As :func:`load_coco_keypoints`; ``output`` is an input or ``images``;
        an image of ``images`` is in none of the inputs.

    Warns
    -----
    UserWarning
        Once per call when annotations of other categories or crowd regions
        were skipped (they are not written), with their numbers.

    Examples
    --------
    >>> import json, tempfile
    >>> from sk_eglpp.datasets import make_synthetic_coco, merge_coco_keypoints
    >>> tmp = tempfile.TemporaryDirectory()
    >>> files = make_synthetic_coco(tmp.name + "/demo", n_images=12,
    ...                             n_annotated=5, random_state=0)
    >>> path = merge_coco_keypoints(
    ...     [files["annotations"], files["ground_truth"]], tmp.name + "/all.json")
    >>> len(json.loads(path.read_text())["annotations"])
    12
    >>> tmp.cleanup()
    """
    files = coco_files(inputs, "merge_coco_keypoints", "inputs")
    output = Path(output)
    given = [("input", file) for file in files]
    if images is not None:
        given.append(("images", Path(images)))
    for what, file in given:
        if same_file(output, file):
            raise ValueError(
                f"output {str(output)!r} is one of the inputs ({what} "
                f"{str(file)!r}); write the merged file elsewhere (inputs are "
                "never modified)."
            )
    cat, index, anns, skipped = coco_index(files, category, return_skipped=True)
    warn_skipped(skipped, files, cat)
    keep = None
    if images is not None:
        wanted = coco_image_names(Path(images))
        missing = [name for name in wanted if name not in index]
        if missing:
            raise ValueError(
                f"{len(missing)} image(s) of {str(images)!r} are in none of the "
                f"inputs, e.g. {missing[:3]}."
            )
        keep = set(wanted)
    records = [r for r in index.values() if keep is None or r["file_name"] in keep]
    document = {
        "info": {"description": "merged by sk_eglpp.datasets.merge_coco_keypoints"},
        "images": [
            {k: r[k] for k in ("id", "file_name", "width", "height") if k in r}
            for r in records
        ],
        "annotations": [],
        "categories": [category_record(cat)],
    }
    for ann in anns:
        if keep is not None and ann["file_name"] not in keep:
            continue
        kp = ann["keypoints"]
        values = [v if v % 1 else int(v) for v in kp.ravel().tolist()]
        entry = {
            "id": len(document["annotations"]) + 1,
            "image_id": index[ann["file_name"]]["id"],
            "category_id": cat["id"],
            "keypoints": values,
            "num_keypoints": int((kp[:, 2] > 0).sum()),
            "iscrowd": 0,
        }
        if np.isfinite(ann["bbox"]).all():
            entry["bbox"] = ann["bbox"].tolist()
            entry["area"] = float(ann["bbox"][2]) * float(ann["bbox"][3])
        document["annotations"].append(entry)
    atomic_write_bytes(output, json_text(document, output))
    return output


def category_record(category):
    return {
        "id": int(category["id"]),
        "name": category["name"],
        "supercategory": category.get("supercategory", category["name"]),
        "keypoints": list(category["keypoints"]),
        "skeleton": [list(map(int, p)) for p in category.get("skeleton", [])],
    }

