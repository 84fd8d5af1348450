"""COCO keypoints files: read and check them, load their annotated people.

The COCO keypoints format (``images``, ``annotations`` with ``keypoints`` as
``x, y, v`` triplets, ``categories`` with ``keypoints`` names and a
``skeleton``) is what annotation tools such as CVAT and Label Studio import
and export. This module reads it into the package's layout (images ``X`` of
shape ``(n, c, image_size, image_size)``, keypoints ``y`` of shape
``(n, 2 * n_joints)`` with NaN for a missing joint); the crops are made by
:mod:`sk_eglpp.datasets._crops`, and :mod:`sk_eglpp.datasets._coco_write`
writes the format back.

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
from numbers import Integral
from pathlib import Path

import numpy as np

from .._param_validation import (
    POSITIVE_INT,
    VERBOSE,
    InstanceOf,
    Interval,
    StrOptions,
    validate_params,
)
from .._warnings import warn
from ._crops import load_samples
from ._dataset_files import MARGIN, OCCLUDED
from ._image_folder import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
from ._image_folder import ImageFolder
from ._synthetic import LSP_JOINT_NAMES

__all__ = [
    "LSP_CATEGORY",
    "LSP_SKELETON",
    "CATEGORY",
    "coco_files",
    "coco_image_names",
    "coco_index",
    "load_coco_keypoints",
    "same_file",
    "warn_skipped",
]

#: Limbs of the 14 LSP joints as 0-based joint pairs (legs, hips, torso sides,
#: shoulders, arms, neck-shoulders and neck-head); written 1-based in COCO.
LSP_SKELETON = (
    (0, 1), (1, 2), (2, 3), (3, 4), (4, 5),
    (2, 8), (3, 9), (8, 9),
    (6, 7), (7, 8), (9, 10), (10, 11),
    (8, 12), (9, 12), (12, 13),
)  # fmt: skip

#: The COCO category of the 14 LSP joints (what leeds_to_coco and
#: make_synthetic_coco write).
LSP_CATEGORY = {
    "id": 1,
    "name": "person",
    "supercategory": "person",
    "keypoints": list(LSP_JOINT_NAMES),
    "skeleton": [[i + 1, j + 1] for i, j in LSP_SKELETON],
}

#: bound of coordinates, box sides and image sides, in pixels (module notes)
_MAX_PIXELS = 10**7
#: bound of image and annotation ids (int64)
_MAX_ID = 2**63 - 1
#: ``category``: a keypoint category's name or id
CATEGORY = [InstanceOf(str), Interval(Integral, 0, None, closed="left"), None]


# --------------------------------------------------------------------------
# reading and checking COCO files
# --------------------------------------------------------------------------


def coco_files(annotations, caller=None, name="annotations"):
    """A COCO file or a list of them as a list of paths, each file once.

    ``caller`` and ``name`` (the function and the parameter) begin the
    messages. A file named twice (``a.json``, ``./a.json``, a link to it) is
    listed once.
    """
    prefix = f"{caller}: " if caller else ""
    if isinstance(annotations, str | os.PathLike):
        return [Path(annotations)]
    try:
        files = list(annotations)
    except TypeError:
        raise TypeError(
            f"{prefix}{name} must be the path of a COCO keypoints file or a list "
            f"of paths, got {annotations!r} ({type(annotations).__name__})."
        ) from None
    if not files:
        raise ValueError(f"{prefix}{name} must be a non-empty list of paths, got [].")
    for file in files:
        if not isinstance(file, str | os.PathLike):
            raise TypeError(
                f"{prefix}{name} must be the path of a COCO keypoints file or a "
                f"list of paths, got an item {file!r} ({type(file).__name__})."
            )
    distinct = []  # a file named twice (a.json, ./a.json, a link) is read once
    for file in map(Path, files):
        if not any(same_file(file, other) for other in distinct):
            distinct.append(file)
    return distinct


def same_file(a, b):
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


def coco_index(files, category=None, *, return_skipped=False):
    """Merge COCO files by file name: ``(category, images, annotations)``.

    ``files`` as returned by :func:`coco_files` (each file once). ``images``
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


def warn_skipped(skipped, files, cat):
    """One UserWarning saying how many annotations were left out, and why."""
    if not sum(skipped.values()):
        return
    reasons = [
        f"{skipped['other_category']} of other categories"
        if skipped["other_category"] else "",
        f"{skipped['crowd']} crowd regions (iscrowd 1)" if skipped["crowd"] else "",
    ]
    warn(
        f"{sum(skipped.values())} annotation(s) in "
        f"{', '.join(repr(str(f)) for f in files)} carry no keypoints of category "
        f"{cat['name']!r} and were skipped: {', '.join(r for r in reasons if r)}."
    )


def coco_image_names(file):
    """File names of a COCO file's ``images``, normalised (see ImageFolder)."""
    data = _read_json(file)
    return [
        _file_name(entry, f"images[{position}] in {str(file)!r}")
        for position, entry in enumerate(_entries(data, "images", file))
    ]


@validate_params({
    "annotations": ["path", "iterable"],
    "images_dir": ["path"],
    "image_size": [POSITIVE_INT],
    "as_gray": ["boolean"],
    "crop": [StrOptions(["image", "bbox"])],
    "margin": MARGIN,
    "occluded": OCCLUDED,
    "category": CATEGORY,
    "verbose": VERBOSE,
})
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
    verbose : int or bool, default=False
        Show a progress bar while reading the images (any value >= 1).

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
    files = coco_files(annotations, "load_coco_keypoints")
    folder = ImageFolder(images_dir)
    cat, images, anns, skipped = coco_index(files, category, return_skipped=True)
    warn_skipped(skipped, files, cat)
    if not anns:
        raise ValueError(
            f"no annotation of category {cat['name']!r} in "
            f"{', '.join(repr(str(f)) for f in files)} (skipped: {skipped})."
        )
    X, y, meta = load_samples(folder, cat, images, anns, int(image_size),
                              bool(as_gray), crop, float(margin), occluded, verbose)
    meta.skipped = skipped
    return X, y, meta

