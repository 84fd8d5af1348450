"""COCO keypoints files: read annotated images, write predictions or selections.

The COCO keypoints format (``images``, ``annotations`` with ``keypoints`` as
``x, y, v`` triplets, ``categories`` with ``keypoints`` names and a
``skeleton``) is what annotation tools such as CVAT and Label Studio import
and export. This module maps it to the package's layout (images ``X`` of
shape ``(n, c, image_size, image_size)``, keypoints ``y`` of shape
``(n, 2 * n_joints)`` with NaN for a missing joint) and back.

Conventions
-----------
Coordinates
    COCO keypoints are pixel indices (pixel centres at integers), the
    convention of :func:`keypoints_to_heatmaps` and of the LSP / MPII loaders,
    so they are used as they are. A COCO ``bbox`` ``[x, y, w, h]`` covers
    ``[x, x + w] x [y, y + h]`` with pixel edges at integers, i.e. ``[x - 0.5,
    x + w - 0.5]`` in pixel-centre coordinates.
Crops
    The same square crop transform as the LSP / MPII loaders (see
    :mod:`sk_eglpp.datasets`): ``crop="image"`` takes the whole image padded
    to a square (one person per image), ``crop="bbox"`` the square around
    each person's box enlarged by ``margin``.
Visibility
    ``v = 0`` (not labelled) is NaN; ``v = 1`` (labelled, not visible) keeps
    its position with ``occluded="keep"`` or becomes NaN with
    ``occluded="nan"``; ``v = 2`` (visible) is kept. Joints that fall outside
    the crop are NaN.
Image names
    Every ``file_name`` is relative to ``images_dir`` and is read in its
    canonical form (``./a.png`` is ``a.png``; see :class:`ImageFolder`, which
    also refuses absolute names, ``..`` and links that lead out of the folder).
Several files
    A list of files is read as one data set: images are matched by file name
    (relative to ``images_dir``), so an annotation tool's export of a new batch
    can be read together with the earlier annotations even when it numbers the
    images differently. A file given twice (under any name: ``./a.json``, a
    link) is read once. An image annotated in two files is an error.
Person boxes
    An annotation without ``keypoints`` (or with an empty list), as a person
    detector writes it, is read as one whose keypoints are all unlabelled
    (``v = 0``): a person known by its ``bbox`` only. So is one whose
    keypoints are all ``0, 0, 0`` (``num_keypoints`` 0).
Skipped annotations
    Annotations of another (listed) category and crowd regions (``iscrowd``
    1) carry no keypoints of the category read; they are skipped, counted,
    and reported in one :class:`UserWarning` per call.
Numbers
    Ids are integers in ``[0, 2**63 - 1]``; ``width`` and ``height`` integers
    in ``[1, 10**7]``; keypoint coordinates and ``bbox`` values finite, with
    ``|value| <= 10**7`` pixels (``bbox`` width and height ``>= 0``). Anything
    else is refused on reading, naming the file and the entry, so that what
    is written back is always valid JSON.
"""

import json
import math
import numbers
import os
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._files import atomic_folder, atomic_write_bytes
from .._param_validation import Interval, StrOptions, check_params
from .._validation import check_bool, check_option, check_positive_int
from ._image_folder import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
from ._image_folder import ImageFolder
from ._images import SourceImage, outside_to_nan, transform_points
from ._loaders import _check_folder, _leeds_joints, _select
from ._synthetic import LSP_JOINT_NAMES, make_pose_dataset

__all__ = [
    "LSP_SKELETON",
    "load_coco_keypoints",
    "write_coco_keypoints",
    "merge_coco_keypoints",
    "make_synthetic_coco",
    "leeds_to_coco",
]

#: Limbs of the 14 LSP joints as 0-based joint pairs (legs, hips, torso sides,
#: shoulders, arms, neck-shoulders and neck-head); written 1-based in COCO.
LSP_SKELETON = (
    (0, 1), (1, 2), (2, 3), (3, 4), (4, 5),
    (2, 8), (3, 9), (8, 9),
    (6, 7), (7, 8), (9, 10), (10, 11),
    (8, 12), (9, 12), (12, 13),
)  # fmt: skip

#: bound of coordinates, box sides and image sides, in pixels (module notes)
_MAX_PIXELS = 10**7
#: bound of image and annotation ids (int64)
_MAX_ID = 2**63 - 1


# --------------------------------------------------------------------------
# reading and checking COCO files
# --------------------------------------------------------------------------


def _as_files(annotations):
    if isinstance(annotations, (str, os.PathLike)):
        return [Path(annotations)]
    try:
        files = list(annotations)
    except TypeError:
        files = None
    if not files or not all(isinstance(f, (str, os.PathLike)) for f in files):
        raise TypeError(
            "annotations must be the path of a COCO keypoints file or a non-empty "
            f"list of paths, got {annotations!r}."
        )
    distinct = []  # a file named twice (a.json, ./a.json, a link) is read once
    for file in map(Path, files):
        if not any(_same_file(file, other) for other in distinct):
            distinct.append(file)
    return distinct


def _same_file(a, b):
    """Whether the paths ``a`` and ``b`` name one file (existing or not)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):  # a symbolic link loop
        return False


def _short(value, limit=40):
    """``repr(value)``, cut to about ``limit`` characters for a one-line message."""
    try:
        text = repr(value)
    except ValueError:  # an int longer than sys.get_int_max_str_digits()
        return f"an integer of {value.bit_length()} bits"
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def _read_json(file):
    if not file.is_file():
        raise FileNotFoundError(f"COCO file {str(file)!r} not found.")
    try:
        with open(file, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{str(file)!r} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{str(file)!r} is not UTF-8 text ({exc}).") from exc
    except (ValueError, RecursionError) as exc:  # a huge integer, deep nesting
        raise ValueError(
            f"{str(file)!r} could not be read as JSON ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:120]})."
        ) from exc
    if not isinstance(data, dict):
        raise ValueError(
            f"{str(file)!r} must hold a JSON object with 'images', 'annotations' "
            f"and 'categories' (COCO format), got a {type(data).__name__}."
        )
    return data


def _entries(data, key, file, required=True):
    if key not in data:
        if required:
            raise ValueError(
                f"{str(file)!r} has no {key!r} list (COCO keypoints format needs "
                f"'images', 'annotations' and 'categories'); its keys are "
                f"{sorted(data)}."
            )
        return []
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"{key!r} in {str(file)!r} must be a list of JSON objects.")
    return value


def _int_field(entry, key, where, low=0, high=_MAX_ID):
    """``entry[key]`` as an int in ``[low, high]`` (an integral float is one)."""
    value = entry.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{where} must have an integer {key!r}, got {_short(value)}."
        )
    if not low <= value <= high:
        raise ValueError(
            f"{where} must have {key!r} in [{low}, {high}], got {_short(value)}."
        )
    return int(value)


def _numbers(values, where, what, low=-_MAX_PIXELS, high=_MAX_PIXELS):
    """A list of JSON numbers as float64, each finite and in ``[low, high]``."""
    out = np.empty(len(values))
    for k, value in enumerate(values):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if ok and not isinstance(value, numbers.Integral):
            ok = math.isfinite(value)
        # compared before the conversion: a long int overflows float64
        if not (ok and low <= value <= high):
            raise ValueError(
                f"{where}: {what}[{k}] must be a finite number in [{low:g}, "
                f"{high:g}], got {_short(value)}."
            )
        out[k] = value
    return out


def _keypoint_categories(data, file):
    """The keypoint categories by id, and the positions of all category ids."""
    categories, listed = {}, {}
    for position, cat in enumerate(_entries(data, "categories", file)):
        where = f"categories[{position}] in {str(file)!r}"
        cid = _int_field(cat, "id", where)
        if cid in listed:
            raise ValueError(
                f"category id {cid} appears twice in {str(file)!r}: "
                f"categories[{listed[cid]}] and categories[{position}]."
            )
        listed[cid] = position
        names = cat.get("keypoints")
        if names is None:
            continue  # not a keypoint category (boxes, masks)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(
                f"{where} must have 'keypoints' as a list of names, got "
                f"{_short(names)}."
            )
        skeleton = cat.get("skeleton") or []
        if not isinstance(skeleton, list) or not all(
            isinstance(p, list)
            and len(p) == 2
            and all(
                isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= len(names)
                for i in p
            )
            for p in skeleton
        ):
            raise ValueError(
                f"{where} must have 'skeleton' as a list of [i, j] pairs of "
                f"1-based keypoint numbers in [1, {len(names)}], got "
                f"{_short(skeleton)}."
            )
        categories[cid] = {
            "id": cid,
            "name": str(cat.get("name", "")),
            "supercategory": str(cat.get("supercategory", cat.get("name", ""))),
            "keypoints": list(names),
            "skeleton": [list(p) for p in skeleton],
        }
    return categories, set(listed)


def _pick_category(categories, file, category):
    if not categories:
        raise ValueError(
            f"{str(file)!r} has no keypoint category (a 'categories' entry with a "
            "'keypoints' list of names)."
        )
    if category is None:
        if len(categories) > 1:
            names = [c["name"] for c in categories.values()]
            raise ValueError(
                f"{str(file)!r} has {len(categories)} keypoint categories {names}; "
                "pass category= (a name or an id) to choose one."
            )
        return next(iter(categories.values()))
    for cat in categories.values():
        if category == cat["id"] or category == cat["name"]:
            return cat
    names = [c["name"] for c in categories.values()]
    raise ValueError(
        f"{str(file)!r} has no keypoint category {category!r}; its keypoint "
        f"categories are {names}."
    )


def _file_name(entry, where):
    """An ``images`` entry's ``file_name``, normalised (``./a.png`` is ``a.png``)."""
    name = entry.get("file_name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where} must have a 'file_name', got {_short(name)}.")
    return ImageFolder.normalise(name, where)


def _image_records(data, file):
    """A file's ``images`` by id, checked: unique ids and names, sane sizes."""
    images, names = {}, {}
    for position, entry in enumerate(_entries(data, "images", file)):
        where = f"images[{position}] in {str(file)!r}"
        iid = _int_field(entry, "id", where)
        name = _file_name(entry, where)
        if iid in images:
            raise ValueError(
                f"image id {iid} appears twice in 'images' of {str(file)!r} "
                f"(file names {images[iid]['file_name']!r} and {name!r})."
            )
        if name in names:
            raise ValueError(
                f"file name {name!r} appears twice in 'images' of {str(file)!r} "
                f"(image ids {names[name]} and {iid}; names are compared in "
                "their normal form, ./a.png being a.png)."
            )
        size = {}
        for key in ("width", "height"):
            if entry.get(key) is not None:
                size[key] = _int_field(entry, key, where, 1, _MAX_PIXELS)
        images[iid] = {"id": iid, "file_name": name, **size}
        names[name] = iid
    return images


def _keypoints_and_box(ann, where, cat, image):
    """An annotation's keypoints ``(n_joints, 3)`` and bbox (NaN when absent)."""
    n_values = 3 * len(cat["keypoints"])
    values = ann.get("keypoints")
    if "keypoints" not in ann or values == []:  # a person box (module notes)
        values = [0] * n_values
    if not isinstance(values, list) or len(values) != n_values:
        got = len(values) if isinstance(values, list) else _short(values)
        raise ValueError(
            f"{where} (image {image['file_name']!r}) has {got} keypoint "
            f"values; category {cat['name']!r} names {len(cat['keypoints'])} "
            f"keypoints, so {n_values} (x, y, v) values are expected."
        )
    kp = _numbers(values, where, "keypoints").reshape(-1, 3)
    if not np.isin(kp[:, 2], (0, 1, 2)).all():
        raise ValueError(
            f"{where}: every keypoint needs a visibility v in {{0, 1, 2}}, got "
            f"v = {sorted(set(kp[:, 2].tolist()))}."
        )
    bbox = ann.get("bbox")
    if bbox is None:
        return kp, np.full(4, np.nan)
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise ValueError(
            f"{where}: bbox must be [x, y, width, height], got {_short(bbox)}."
        )
    box = _numbers(bbox, where, "bbox")
    if (box[2:] < 0).any():
        raise ValueError(
            f"{where}: bbox must be [x, y, width, height] with width, height >= 0, "
            f"got {_short(bbox)}."
        )
    return kp, box


def _read_coco_file(file, category):
    """One file's checked content: ``(category, images, annotations, skipped)``.

    ``images`` maps image id -> record; ``annotations`` are the category's
    annotations that are not crowd regions; ``skipped`` counts the others
    (``"other_category"``, ``"crowd"``).
    """
    data = _read_json(file)
    categories, listed = _keypoint_categories(data, file)
    cat = _pick_category(categories, file, category)
    images = _image_records(data, file)
    annotations, first_at = [], {}
    skipped = {"other_category": 0, "crowd": 0}
    for position, ann in enumerate(_entries(data, "annotations", file)):
        where = f"annotations[{position}]"
        if "id" in ann:
            where = f"annotation id {_short(ann['id'])}"
        where += f" in {str(file)!r}"
        aid = _int_field(ann, "id", where)
        if aid in first_at:
            raise ValueError(
                f"annotation id {aid} appears twice in {str(file)!r}: "
                f"annotations[{first_at[aid]}] and annotations[{position}]."
            )
        first_at[aid] = position
        cid = _int_field(ann, "category_id", where)
        if cid not in listed:
            raise ValueError(
                f"{where} has category_id {cid}, which no entry of 'categories' "
                f"has (their ids: {sorted(listed)})."
            )
        crowd = ann.get("iscrowd", 0)
        if not isinstance(crowd, int) or crowd not in (0, 1):  # a bool is fine
            raise ValueError(
                f"{where} must have 'iscrowd' 0 or 1, got {_short(crowd)}."
            )
        if cid != cat["id"]:
            skipped["other_category"] += 1
            continue
        iid = _int_field(ann, "image_id", where)
        if iid not in images:
            raise ValueError(
                f"{where} refers to image id {iid}, which is not in the file's "
                "'images'."
            )
        if crowd:
            skipped["crowd"] += 1  # crowd regions carry no keypoints
            continue
        kp, box = _keypoints_and_box(ann, where, cat, images[iid])
        annotations.append(
            {"id": aid, "image_id": iid, "keypoints": kp, "bbox": box, "file": file}
        )
    return cat, images, annotations, skipped


def _coco_index(files, category=None, *, return_skipped=False):
    """Merge COCO files by file name: ``(category, images, annotations)``.

    ``files`` as returned by :func:`_as_files` (each file once). ``images``
    maps file name (normalised, see :class:`ImageFolder`) -> ``{"id",
    "file_name", "width"?, "height"?, "file"}`` (the first file that lists an
    image gives its id; an id already taken by another file name gets a fresh
    one); ``annotations`` is a list of dicts with the image's ``file_name``
    added. With ``return_skipped=True``, a fourth item counts the annotations
    left out, summed over the files: ``{"other_category": n, "crowd": m}``.
    """
    category_used, images, annotations, ids = None, {}, [], {}
    annotated_in = {}
    skipped = {"other_category": 0, "crowd": 0}
    for file in files:
        cat, file_images, file_annotations, file_skipped = _read_coco_file(
            file, category
        )
        for reason, count in file_skipped.items():
            skipped[reason] += count
        if category_used is None:
            category_used = cat
        elif cat["keypoints"] != category_used["keypoints"]:
            raise ValueError(
                f"the keypoint category of {str(file)!r} names "
                f"{cat['keypoints']}, but {str(files[0])!r} names "
                f"{category_used['keypoints']}; the files describe different "
                "keypoints."
            )
        by_id = {}
        for iid, record in file_images.items():
            name = record["file_name"]
            if name not in images:
                new_id = iid if iid not in ids else _fresh_id(ids)
                images[name] = {**record, "id": new_id, "file": file}
                ids[new_id] = name
            by_id[iid] = name
        for ann in file_annotations:
            name = by_id[ann["image_id"]]
            earlier = annotated_in.get(name)
            if earlier is not None and earlier != file:
                raise ValueError(
                    f"image {name!r} is annotated in both {str(earlier)!r} and "
                    f"{str(file)!r}; each image may be annotated in one file only."
                )
            annotated_in[name] = file
            annotations.append({**ann, "file_name": name})
    if return_skipped:
        return category_used, images, annotations, skipped
    return category_used, images, annotations


def _fresh_id(ids):
    """An image id not in ``ids``: the largest plus one (the smallest unused
    one when that would pass the int64 bound)."""
    largest = max(ids)
    if largest < _MAX_ID:
        return largest + 1
    return next(i for i in range(len(ids) + 1) if i not in ids)


def _warn_skipped(skipped, files, cat):
    """One UserWarning saying how many annotations were left out, and why."""
    if not sum(skipped.values()):
        return
    reasons = [
        f"{skipped['other_category']} of other categories"
        if skipped["other_category"] else "",
        f"{skipped['crowd']} crowd regions (iscrowd 1)" if skipped["crowd"] else "",
    ]
    warnings.warn(
        f"{sum(skipped.values())} annotation(s) in "
        f"{', '.join(repr(str(f)) for f in files)} carry no keypoints of category "
        f"{cat['name']!r} and were skipped: {', '.join(r for r in reasons if r)}.",
        UserWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------
# images and crops
# --------------------------------------------------------------------------


def _image_square(width, height):
    """The crop of ``crop="image"``: the whole image, padded to a square."""
    return (width - 1) / 2.0, (height - 1) / 2.0, float(max(width, height))


def _box_square(box, kp, width, height, margin):
    """Square around the person's box (or its labelled keypoints)."""
    if np.isfinite(box).all() and box[2] > 0 and box[3] > 0:
        lo = box[:2] - 0.5
        hi = lo + box[2:]
    else:
        labelled = kp[kp[:, 2] > 0, :2]
        if labelled.shape[0] < 2 or np.ptp(labelled, axis=0).max() <= 0:
            return _image_square(width, height)
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


def _progress(iterable, verbose, desc, total=None):
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def _check_images_dir(images_dir):
    """The images folder as a Path, checked (kept for callers; see ImageFolder)."""
    return ImageFolder(images_dir).root


def _meta(category, records, annotation_ids, crops, boxes):
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


def _meta_rows(meta, rows):
    """The rows ``rows`` (an index or a slice) of a meta Bunch."""
    return Bunch(**{k: v[rows] if k in _ROW_KEYS else v for k, v in meta.items()})


def _load_pool(folder, cat, records, boxes, image_size, as_gray, margin,
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
    for record, its_boxes in zip(
        _progress(records, verbose, "reading images"), boxes, strict=True
    ):
        image = _read_checked(folder, record, as_gray)
        record["height"], record["width"] = image.height, image.width
        for aid, box in its_boxes or [(-1, None)]:
            row = len(rows)
            if box is None:
                square = _image_square(record["width"], record["height"])
            else:
                square = _box_square(np.asarray(box, dtype=np.float64),
                                     np.zeros((0, 3)), record["width"],
                                     record["height"], margin)
                bboxes[row] = box
            X[row] = image.crop(square[:2], square[2], image_size)
            crops[row] = square
            rows.append(record)
            annotation_ids.append(aid)
    return X, _meta(cat, rows, annotation_ids, crops, bboxes)


def _check_loader_options(image_size, as_gray, crop, margin, occluded):
    image_size = check_positive_int(image_size, "image_size")
    as_gray = check_bool(as_gray, "as_gray")
    check_option(crop, "crop", ("image", "bbox"))
    check_option(occluded, "occluded", ("keep", "nan"))
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real):
        raise TypeError(f"margin must be a non-negative number, got {margin!r}.")
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be finite and >= 0, got {margin}.")
    return image_size, as_gray


def load_coco_keypoints(
    annotations,
    images_dir,
    *,
    image_size=64,
    as_gray=False,
    crop="image",
    margin=0.2,
    occluded="keep",
    category=None,
    verbose=False,
):
    """Load the annotated people of a COCO keypoints file and their images.

    Every annotation (``iscrowd`` regions excepted) of the keypoint category
    becomes a sample: its image is read from ``images_dir``, cropped to a
    square and resized to ``image_size`` pixels, and its keypoints are mapped
    with the same transform (the LSP / MPII loaders' conventions; see the
    module notes). Annotations of other categories and crowd regions are
    skipped, counted in ``meta.skipped`` and reported in one
    :class:`UserWarning`. Nothing is written.

    Parameters
    ----------
    annotations : str, os.PathLike or list of them
        COCO keypoints file(s). Several files are read as one data set, with
        images matched by ``file_name`` (an image annotated in two files is an
        error); a file named twice (``a.json``, ``./a.json``, a link to it) is
        read once.
    images_dir : str or os.PathLike
        The folder that the ``file_name`` of every image is relative to
        (subfolders are fine); a name that is absolute, has a ``..``
        component or leads out of the folder through a link is refused.
    image_size : int, default=64
        Height and width of the returned square images.
    as_gray : bool, default=False
        One grey channel (ITU-R BT.601 luma) instead of RGB.
    crop : {"image", "bbox"}, default="image"
        ``"image"``: the whole image padded to a square, for data with one
        person per image (two annotations on one image are an error).
        ``"bbox"``: one sample per person, the square around its ``bbox``
        (around its labelled keypoints when it has no box) enlarged by
        ``margin`` times the box's larger side on every edge.
    margin : float, default=0.2
        See ``crop="bbox"``.
    occluded : {"keep", "nan"}, default="keep"
        Keypoints with ``v = 1`` (labelled but not visible) keep their
        position or become NaN. ``v = 0`` is always NaN.
    category : str or int, default=None
        Name or id of the keypoint category; ``None`` takes the only one.
    verbose : bool, default=False
        Show a progress bar while reading the images.

    Returns
    -------
    X : ndarray of shape (n_samples, c, image_size, image_size), dtype float32
        Images in [0, 1]; ``c`` is 3, or 1 with ``as_gray=True``.
    y : ndarray of shape (n_samples, 2 * n_keypoints), dtype float64
        Keypoints ``x0, y0, x1, y1, ...`` in the category's order, in the
        returned image's pixel coordinates; NaN for missing ones.
    meta : Bunch
        Per sample: ``image_id``, ``file_name``, ``width`` and ``height`` of
        the source image, ``annotation_id``, ``crop`` (``cx, cy, side`` of the
        crop square in source pixels) and ``bbox`` (the COCO box, NaN when
        absent); and ``keypoint_names``, ``skeleton`` (0-based joint pairs)
        and ``category`` (the COCO category record), which
        :func:`write_coco_keypoints` writes back; ``skipped``, the number of
        annotations left out by reason: ``{"other_category": n, "crowd": m}``.

    Raises
    ------
    FileNotFoundError
        A file, the folder or an image does not exist.
    ValueError
        Malformed JSON or COCO content (the message names the file and the
        entry): duplicate image, annotation or category ids (naming both
        positions), a ``category_id`` that is not an integer or names no
        listed category, an ``iscrowd`` other than 0 or 1, keypoint counts
        that disagree with the category, an annotation of an unknown image,
        numbers out of the bounds of the module notes (ids, sizes,
        coordinates), an image name that leaves ``images_dir``, an
        unreadable image or one whose size disagrees with its record.

    Warns
    -----
    UserWarning
        Once per call when annotations were skipped (other categories, crowd
        regions), with their numbers.

    See Also
    --------
    write_coco_keypoints, make_synthetic_coco, load_lsp, load_mpii

    Examples
    --------
    >>> import tempfile
    >>> from sk_eglpp.datasets import load_coco_keypoints, make_synthetic_coco
    >>> tmp = tempfile.TemporaryDirectory()
    >>> files = make_synthetic_coco(tmp.name + "/demo", n_images=12,
    ...                             n_annotated=5, random_state=0)
    >>> X, y, meta = load_coco_keypoints(files["annotations"], files["images"],
    ...                                  image_size=32, as_gray=True)
    >>> X.shape, y.shape, meta.file_name[0]
    ((5, 1, 32, 32), (5, 28), '00000.png')
    >>> tmp.cleanup()
    """
    files = _as_files(annotations)
    folder = ImageFolder(images_dir)
    image_size, as_gray = _check_loader_options(
        image_size, as_gray, crop, margin, occluded
    )
    verbose = check_bool(verbose, "verbose")
    cat, images, anns, skipped = _coco_index(files, category, return_skipped=True)
    _warn_skipped(skipped, files, cat)
    if not anns:
        raise ValueError(
            f"no annotation of category {cat['name']!r} in "
            f"{', '.join(repr(str(f)) for f in files)} (skipped: {skipped})."
        )
    X, y, meta = _load_samples(folder, cat, images, anns, image_size, as_gray,
                               crop, margin, occluded, verbose)
    meta.skipped = skipped
    return X, y, meta


def _load_samples(folder, cat, images, anns, image_size, as_gray, crop, margin,
                  occluded, verbose):
    """The samples of the annotations ``anns`` (of :func:`_coco_index`), checked.

    ``folder`` is an :class:`ImageFolder`; the options are checked. Returns
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
    for row, ann in enumerate(_progress(anns, verbose, "reading images")):
        record = dict(images[ann["file_name"]])
        if ann["file_name"] != cached:
            image = _read_checked(folder, record, as_gray)
            cached = ann["file_name"]
        record["height"], record["width"] = image.height, image.width
        kp = ann["keypoints"]
        if crop == "image":
            cx, cy, side = _image_square(record["width"], record["height"])
        else:
            cx, cy, side = _box_square(
                ann["bbox"], kp, record["width"], record["height"], margin
            )
        X[row] = image.crop((cx, cy), side, image_size)
        out = transform_points(kp[:, :2], (cx, cy), side, image_size)
        missing = (kp[:, 2] == 0) | ((kp[:, 2] == 1) & (occluded == "nan"))
        out[missing] = np.nan
        y[row] = outside_to_nan(out, image_size)
        crops[row] = cx, cy, side
        records.append(record)
    meta = _meta(
        cat, records, [a["id"] for a in anns], crops, [a["bbox"] for a in anns]
    )
    return X, y.reshape(n, 2 * n_joints), meta


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


_META_KEYS = ("image_id", "file_name", "width", "height", "crop", "category")


def _check_meta(meta):
    if not hasattr(meta, "keys") or any(key not in meta for key in _META_KEYS):
        got = sorted(meta.keys()) if hasattr(meta, "keys") else type(meta).__name__
        raise TypeError(
            f"meta must be a mapping with the keys {list(_META_KEYS)} (as returned "
            f"by load_coco_keypoints), got {got}."
        )
    n = len(meta["image_id"])
    for key in ("file_name", "width", "height", "crop"):
        if len(meta[key]) != n:
            raise ValueError(
                f"meta[{key!r}] has {len(meta[key])} rows, meta['image_id'] {n}."
            )
    return n


def _to_source(y, crop, size):
    """Crop-image keypoints ``(n, j, 2)`` back to source pixels (inverse map)."""
    scale = (crop[:, 2] / size)[:, None, None]
    return (y - (size - 1) / 2.0) * scale + crop[:, None, :2]


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
    if not isinstance(file, (str, os.PathLike)):
        raise TypeError(f"file must be a str or os.PathLike, got {file!r}.")
    n = _check_meta(meta)
    category = meta["category"]
    n_joints = len(category["keypoints"])
    crop = np.asarray(meta["crop"], dtype=np.float64).reshape(n, 3)
    if y is not None:
        if image_size is None:
            raise ValueError("image_size (the side of the crops y refers to) is "
                             "needed to write keypoints.")
        image_size = check_positive_int(image_size, "image_size")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (n, 2 * n_joints):
            raise ValueError(
                f"y must have shape ({n}, {2 * n_joints}): one row per meta row, "
                f"{n_joints} keypoints of category {category['name']!r}; got "
                f"{y.shape}."
            )
        source = _to_source(y.reshape(n, n_joints, 2), crop, image_size)
    else:
        source = None
    return _write_coco(file, meta, source, np.full(n, y is not None),
                       "written by sk_eglpp.datasets.write_coco_keypoints")


def _write_coco(file, meta, source, annotate, description):
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
        "categories": [_category_record(category)],
    }
    path = Path(file)
    atomic_write_bytes(path, _json_text(document, path))
    return path


def _json_text(document, path):
    """``document`` as JSON text; a non-finite number (not JSON) is an error."""
    try:
        return json.dumps(document, indent=1, allow_nan=False) + "\n"
    except ValueError as exc:
        raise ValueError(
            f"cannot write {str(path)!r}: the content holds a non-finite number "
            f"({exc}); nothing was written."
        ) from exc


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
    files = _as_files(inputs)
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output must be a str or os.PathLike, got {output!r}.")
    if images is not None and not isinstance(images, (str, os.PathLike)):
        raise TypeError(f"images must be a str or os.PathLike, got {images!r}.")
    output = Path(output)
    given = [("input", file) for file in files]
    if images is not None:
        given.append(("images", Path(images)))
    for what, file in given:
        if _same_file(output, file):
            raise ValueError(
                f"output {str(output)!r} is one of the inputs ({what} "
                f"{str(file)!r}); write the merged file elsewhere (inputs are "
                "never modified)."
            )
    cat, index, anns, skipped = _coco_index(files, category, return_skipped=True)
    _warn_skipped(skipped, files, cat)
    keep = None
    if images is not None:
        wanted = _coco_image_names(Path(images))
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
        "categories": [_category_record(cat)],
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
    atomic_write_bytes(output, _json_text(document, output))
    return output


def _coco_image_names(file):
    """File names of a COCO file's ``images``, normalised (see ImageFolder)."""
    data = _read_json(file)
    return [
        _file_name(entry, f"images[{position}] in {str(file)!r}")
        for position, entry in enumerate(_entries(data, "images", file))
    ]


def _category_record(category):
    return {
        "id": int(category["id"]),
        "name": category["name"],
        "supercategory": category.get("supercategory", category["name"]),
        "keypoints": list(category["keypoints"]),
        "skeleton": [list(map(int, p)) for p in category.get("skeleton", [])],
    }


# --------------------------------------------------------------------------
# LSP and LSPET as COCO keypoints
# --------------------------------------------------------------------------

#: written into what :func:`leeds_to_coco` creates, to know its files again
_LEEDS_MARK = "written by sk_eglpp.datasets.leeds_to_coco"
#: per data set: its name in messages, the layout of joints.mat, the digits of
#: the image numbers (im0001.jpg, im00001.jpg)
_LEEDS = {"lsp": ("LSP", "lsp", 4), "lspet": ("LSPET", "lspet", 5)}
_LEEDS_CONSTRAINTS = {
    "dataset": [StrOptions(list(_LEEDS))],
    "n_annotated": [Interval(Integral, 0, None, closed="left"), None],
    "person_boxes": ["boolean"],
    "margin": [Interval(Real, 0, None, closed="left")],
}


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
    check_params(
        dict(dataset=dataset, n_annotated=n_annotated, person_boxes=person_boxes,
             margin=margin),
        _LEEDS_CONSTRAINTS,
        "leeds_to_coco",
    )
    label, layout, digits = _LEEDS[dataset]
    folder = _check_folder(path, label)
    output, listing = _leeds_outputs(output, unannotated)
    file = folder / "joints.mat"
    xy, visible = _leeds_joints(_read_mat(file, label), file, label, layout)
    selected = _select(xy.shape[0], indices, None, "images")
    values, counts = np.unique(selected, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"indices must list each image once, got {int(values[counts > 1][0])} "
            f"{int(counts.max())} times."
        )
    n_annotated = selected.size if n_annotated is None else int(n_annotated)
    if n_annotated > selected.size:
        raise ValueError(
            f"n_annotated must be in [0, {selected.size}] (the number of images "
            f"listed), got {n_annotated}."
        )
    images_dir = folder / "images"
    images, annotations, todo = [], [], []
    for row, i in enumerate(selected.tolist()):
        name = f"im{i + 1:0{digits}d}.jpg"
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
        "categories": [_category_record(_LSP_CATEGORY)],
    }
    text = _json_text(document, output)
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


def _read_mat(file, dataset):
    """The variables of the MATLAB file ``file``; one-line errors."""
    import scipy.io

    if not file.is_file():
        raise FileNotFoundError(f"{dataset} annotation file {str(file)!r} not found.")
    try:
        return scipy.io.loadmat(file)
    except NotImplementedError as exc:  # MATLAB v7.3 (HDF5) files
        raise ValueError(
            f"{str(file)!r} is a MATLAB v7.3 (HDF5) file; expected the original "
            f"{dataset} release (MATLAB v5 format), which scipy.io.loadmat reads."
        ) from exc
    except Exception as exc:  # noqa: BLE001 - scipy raises many kinds
        raise ValueError(
            f"could not read {str(file)!r} as a MATLAB .mat file "
            f"({type(exc).__name__}: {exc})."
        ) from exc


def _leeds_outputs(output, unannotated):
    """``output`` and ``unannotated`` as paths, checked: ours to (re)place."""
    paths = []
    for name, value in (("output", output), ("unannotated", unannotated)):
        if value is None and name == "unannotated":
            paths.append(None)
            continue
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{name} must be a str or os.PathLike, got {value!r}.")
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
    if paths[1] is not None and _same_file(paths[0], paths[1]):
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
        "category_id": _LSP_CATEGORY["id"],
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


# --------------------------------------------------------------------------
# the embedded synthetic folder
# --------------------------------------------------------------------------

_LSP_CATEGORY = {
    "id": 1,
    "name": "person",
    "supercategory": "person",
    "keypoints": list(LSP_JOINT_NAMES),
    "skeleton": [[i + 1, j + 1] for i, j in LSP_SKELETON],
}


def make_synthetic_coco(
    directory,
    *,
    n_images=500,
    n_annotated=50,
    image_size=64,
    random_state=0,
):
    """Write the synthetic pose data as an image folder with COCO annotations.

    The embedded default of the annotation workflow (``sk-eglpp select``):
    ``n_images`` frames of :func:`make_pose_dataset` become grey PNG files,
    the first ``n_annotated`` of them (a random subset: the frames are
    shuffled) are annotated in ``annotations.json``, and the ground truth of
    the others is kept apart in ``ground_truth.json``, to play the annotator.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder to create; it must not exist or be empty. The files are
        written into a temporary sibling and moved in place at the end, so
        an interrupted call leaves nothing behind.
    n_images : int, default=500
    n_annotated : int, default=50
        In ``[1, n_images - 1]``.
    image_size : int, default=64
        Side of the square images (>= 16).
    random_state : int, RandomState instance or None, default=0
        Seed of :func:`make_pose_dataset`.

    Returns
    -------
    files : dict
        ``"images"`` (the image folder), ``"annotations"`` and
        ``"ground_truth"`` (the two COCO files), as :class:`pathlib.Path`.

    See Also
    --------
    make_pose_dataset, load_coco_keypoints

    Notes
    -----
    Hidden joints (occluded or outside the image) are written with ``v = 0``,
    the others with ``v = 2``. The images are 8-bit, so pixel values are the
    generator's rounded to multiples of 1 / 255.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> files = make_synthetic_coco(tmp.name + "/demo", n_images=10,
    ...                             n_annotated=4, random_state=0)
    >>> sorted(p.name for p in files["images"].iterdir())[:2]
    ['00000.png', '00001.png']
    >>> tmp.cleanup()
    """
    from PIL import Image

    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a str or os.PathLike, got {directory!r}.")
    target = Path(directory)
    n_images = check_positive_int(n_images, "n_images", minimum=2)
    n_annotated = check_positive_int(n_annotated, "n_annotated")
    if n_annotated >= n_images:
        raise ValueError(
            f"n_annotated must be in [1, n_images - 1] = [1, {n_images - 1}], got "
            f"{n_annotated}: some images must be left to select from."
        )
    image_size = check_positive_int(image_size, "image_size", minimum=16)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(
            f"{str(target)!r} already exists and is not an empty folder; choose a "
            "new folder (nothing is overwritten)."
        )
    X, y = make_pose_dataset(n_images, image_size=image_size,
                             random_state=random_state)
    target.parent.mkdir(parents=True, exist_ok=True)
    ids = np.arange(1, n_images + 1)
    meta = _meta(
        _LSP_CATEGORY,
        [{"id": int(i), "file_name": f"{i - 1:05d}.png", "width": image_size,
          "height": image_size} for i in ids],
        ids,
        np.tile(_image_square(image_size, image_size), (n_images, 1)),
        np.full((n_images, 4), np.nan),
    )
    with atomic_folder(target) as work:  # target is absent or empty (above)
        (work / "images").mkdir()
        for i, name in enumerate(meta.file_name):
            pixels = np.round(X[i, 0] * 255.0).astype(np.uint8)
            Image.fromarray(pixels).save(work / "images" / name)
        for file, rows in (
            ("annotations.json", slice(0, n_annotated)),
            ("ground_truth.json", slice(n_annotated, n_images)),
        ):
            write_coco_keypoints(
                work / file, _meta_rows(meta, rows), y[rows], image_size=image_size
            )
    return {
        "images": target / "images",
        "annotations": target / "annotations.json",
        "ground_truth": target / "ground_truth.json",
    }
