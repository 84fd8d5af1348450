"""Samples cropped from COCO-described images: squares, pixels, keypoints, meta.

A sample is a square of an image, resized to ``image_size`` pixels (the crop
transform of :mod:`sk_eglpp.datasets._images`), its keypoints mapped by the
same transform, and a row of ``meta`` saying where it came from. The squares
are those of :func:`load_coco_keypoints`' ``crop`` (see the conventions of
:mod:`sk_eglpp.datasets._coco`): :func:`image_square` is the whole image
padded to a square, :func:`box_square` the square around a person's box.
:func:`load_samples` crops the annotated people, :func:`load_pool` the
unannotated images (for the annotation round), and :func:`meta_rows` picks
rows of a ``meta``; :func:`~sk_eglpp.datasets._images.crop_to_source` maps
keypoints back to the source images.
"""

import numpy as np
from sklearn.utils import Bunch

from .._progress import progress
from ._image_folder import ImageFolder
from ._images import SourceImage, outside_to_nan, transform_points

__all__ = [
    "box_square",
    "image_square",
    "load_pool",
    "load_samples",
    "meta_rows",
    "sample_meta",
]


def image_square(width, height):
    """The crop of ``crop="image"``: the whole image, padded to a square."""
    return (width - 1) / 2.0, (height - 1) / 2.0, float(max(width, height))


def box_square(box, kp, width, height, margin):
    """Square around the person's box (or its labelled keypoints)."""
    if np.isfinite(box).all() and box[2] > 0 and box[3] > 0:
        lo = box[:2] - 0.5
        hi = lo + box[2:]
    else:
        labelled = kp[kp[:, 2] > 0, :2]
        if labelled.shape[0] < 2 or np.ptp(labelled, axis=0).max() <= 0:
            return image_square(width, height)
        lo, hi = labelled.min(axis=0), labelled.max(axis=0)
    centre = (lo + hi) / 2.0
    return centre[0], centre[1], float(np.max(hi - lo)) * (1.0 + 2.0 * margin)


def _read_checked(images_dir, record, as_gray):
    """Read one image and check its size against its COCO record.

    ``images_dir`` is an :class:`ImageFolder` (or a folder path): the name
    must stay inside it (:meth:`ImageFolder.path`).
    """
    where = record.get("file")
    entry = f"image id {record['id']}, listed in {str(where)!r}" if where else None
    listed = f" ({entry})" if entry else ""
    if not isinstance(images_dir, ImageFolder):
        images_dir = ImageFolder(images_dir)
    file = images_dir.path(record["file_name"], entry)
    try:  # the header only: pixels are decoded by the crops
        image = SourceImage(file, as_gray=as_gray, label="COCO image")
    except ValueError as exc:
        raise ValueError(f"{exc}{listed}") from exc
    _check_record_size(image, record, listed)
    return image


def _check_record_size(image, record, listed):
    """The record's ``width`` / ``height`` against the oriented image's."""
    given = {k: record[k] for k in ("width", "height") if record.get(k) is not None}
    actual = {"width": image.width, "height": image.height}
    if all(given[k] == actual[k] for k in given):
        return
    said = ", ".join(f"{k} {v}" for k, v in given.items())
    stored = {"width": image.height, "height": image.width}  # before turning
    if image.orientation >= 5 and all(given[k] == stored[k] for k in given):
        raise ValueError(
            f"image {record['file_name']!r}{listed} is {image.width} x "
            f"{image.height} pixels as shown, but its record says {said}, the "
            f"size of its stored pixels: the file has EXIF orientation "
            f"{image.orientation} (turned by 90 degrees), and sizes and keypoints "
            "refer to the oriented image, as annotation tools show it; annotate "
            "it in a tool that applies the orientation, or store it upright."
        )
    key = next(k for k in given if given[k] != actual[k])
    raise ValueError(
        f"image {record['file_name']!r}{listed} is {image.width} x {image.height} "
        f"pixels, but its record says {key} {given[key]}."
    )


def sample_meta(category, records, annotation_ids, crops, boxes):
    """The ``meta`` of :func:`load_coco_keypoints` for samples of ``records``.

    One row per sample: the image record (``id``, ``file_name``, ``width``,
    ``height``), the annotation id (-1: none), the crop square ``cx, cy,
    side`` and the COCO box (NaN: none); and the category's names, skeleton
    (0-based) and record.
    """
    names = category["keypoints"]
    return Bunch(
        image_id=np.array([r["id"] for r in records], dtype=np.int64),
        file_name=np.array([r["file_name"] for r in records], dtype=object),
        width=np.array([r["width"] for r in records], dtype=np.int64),
        height=np.array([r["height"] for r in records], dtype=np.int64),
        annotation_id=np.asarray(annotation_ids, dtype=np.int64),
        crop=np.asarray(crops, dtype=np.float64).reshape(-1, 3),
        bbox=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        keypoint_names=list(names),
        skeleton=np.asarray(category["skeleton"], dtype=np.int64).reshape(-1, 2) - 1,
        category=dict(category),
    )


_ROW_KEYS = ("image_id", "file_name", "width", "height", "annotation_id", "crop",
             "bbox")


def meta_rows(meta, rows):
    """The rows ``rows`` (an index or a slice) of a meta Bunch."""
    return Bunch(**{k: v[rows] if k in _ROW_KEYS else v for k, v in meta.items()})


def load_pool(folder, cat, records, boxes, image_size, as_gray, margin,
              verbose=False):
    """Samples of unannotated images: one per person box, else the whole image.

    ``records`` are image records (``id``, ``file_name``, maybe ``width`` /
    ``height``, checked against the files) and ``boxes[k]`` the list of
    ``(annotation_id, bbox)`` of the person boxes of ``records[k]``, each box
    finite with sides > 0. A box gives the square of ``crop="bbox"`` around it
    (enlarged by ``margin``); an image without boxes is read whole and padded
    to a square (``crop="image"``, annotation id -1, bbox NaN). Returns ``X``
    and the samples' ``meta`` (as :func:`load_coco_keypoints`'s).
    """
    n = sum(max(1, len(b)) for b in boxes)
    X = np.empty((n, 1 if as_gray else 3, image_size, image_size), dtype=np.float32)
    crops, bboxes = np.empty((n, 3)), np.full((n, 4), np.nan)
    rows, annotation_ids = [], []
    reading = progress(records, verbose, desc="reading images", leave=False)
    for record, its_boxes in zip(reading, boxes, strict=True):
        image = _read_checked(folder, record, as_gray)
        record["height"], record["width"] = image.height, image.width
        for aid, box in its_boxes or [(-1, None)]:
            row = len(rows)
            if box is None:
                square = image_square(record["width"], record["height"])
            else:
                square = box_square(np.asarray(box, dtype=np.float64),
                                    np.zeros((0, 3)), record["width"],
                                    record["height"], margin)
                bboxes[row] = box
            X[row] = image.crop(square[:2], square[2], image_size)
            crops[row] = square
            rows.append(record)
            annotation_ids.append(aid)
    return X, sample_meta(cat, rows, annotation_ids, crops, bboxes)


def load_samples(folder, cat, images, anns, image_size, as_gray, crop, margin,
                 occluded, verbose):
    """The samples of the annotations ``anns`` (of :func:`coco_index`), checked.

    ``folder`` is an :class:`ImageFolder`; the options were checked by the
    caller (:func:`load_coco_keypoints`' rules). Returns
    ``X``, ``y`` and ``meta`` of :func:`load_coco_keypoints` (no ``skipped``).
    """
    if crop == "image":
        per_image = {}
        for ann in anns:
            if ann["file_name"] in per_image:
                raise ValueError(
                    f"image {ann['file_name']!r} has several annotations "
                    f"(ids {per_image[ann['file_name']]} and {ann['id']}); "
                    'crop="image" takes one person per image, use crop="bbox".'
                )
            per_image[ann["file_name"]] = ann["id"]
    anns = sorted(anns, key=lambda a: (a["file_name"], a["id"]))
    n, n_joints = len(anns), len(cat["keypoints"])
    X = np.empty((n, 1 if as_gray else 3, image_size, image_size), dtype=np.float32)
    y = np.empty((n, n_joints, 2))
    crops, records = np.empty((n, 3)), []
    cached, image = None, None
    reading = progress(anns, verbose, desc="reading images", leave=False)
    for row, ann in enumerate(reading):
        record = dict(images[ann["file_name"]])
        if ann["file_name"] != cached:
            image = _read_checked(folder, record, as_gray)
            cached = ann["file_name"]
        record["height"], record["width"] = image.height, image.width
        kp = ann["keypoints"]
        if crop == "image":
            cx, cy, side = image_square(record["width"], record["height"])
        else:
            cx, cy, side = box_square(
                ann["bbox"], kp, record["width"], record["height"], margin
            )
        X[row] = image.crop((cx, cy), side, image_size)
        out = transform_points(kp[:, :2], (cx, cy), side, image_size)
        missing = (kp[:, 2] == 0) | ((kp[:, 2] == 1) & (occluded == "nan"))
        out[missing] = np.nan
        y[row] = outside_to_nan(out, image_size)
        crops[row] = cx, cy, side
        records.append(record)
    meta = sample_meta(
        cat, records, [a["id"] for a in anns], crops, [a["bbox"] for a in anns]
    )
    return X, y.reshape(n, 2 * n_joints), meta

