"""The images folder of a round and its COCO annotations: the labelled
samples and the pool, read and checked (nothing is written).

Image names stay inside the folder (``ImageFolder`` of the data sets), and
images are read as annotation tools show them (EXIF orientation applied).
"""

import os
from pathlib import Path

import numpy as np

from ..datasets._coco import coco_files, coco_index, warn_skipped
from ..datasets._crops import load_pool, load_samples
from ..datasets._image_folder import ImageFolder
from ._formats import BOX_MARGIN

__all__ = []


class ImagesFolder:
    """The images folder, the annotation files, and what they say.

    Parameters
    ----------
    images_dir : str or os.PathLike
        The folder; COCO ``file_name`` entries are relative to it.
    annotations : str, os.PathLike or list of them
        The COCO keypoints files.

    Attributes
    ----------
    images : ImageFolder
        Names and paths inside ``images_dir``.
    files : list of pathlib.Path
        The annotation files, each once.
    """

    def __init__(self, images_dir, annotations):
        self.images = ImageFolder(images_dir)
        self.files = coco_files(annotations, "select_for_annotation")

    @property
    def root(self):
        return self.images.root

    def inputs(self):
        """``(what, path)`` of the inputs an output may not touch."""
        return [("images folder", self.root),
                *[("annotations file", file) for file in self.files]]

    def read(self, unannotated, previous, settings):
        """The annotated samples and the pool, as a Bunch.

        ``previous`` is the previous round (or None); ``settings`` holds
        ``budget``, ``image_size``, ``as_gray``, ``crop`` and ``verbose``.
        Refused before any image is read: no annotated image, keypoint names
        other than the previous model's, a bad pool, a budget larger than it.
        """
        from sklearn.utils import Bunch

        coco = self._read_coco(
            None if previous is None else previous.info["keypoint_names"])
        names = self._pool_names(unannotated, coco.annotated)
        boxes = _person_boxes(coco) if settings["crop"] == "bbox" else {}
        boxes = [boxes.get(name, []) for name in names]
        _check_budget(settings["budget"], sum(max(1, len(b)) for b in boxes),
                      settings["crop"])
        size, gray, verbose = (settings["image_size"], settings["as_gray"],
                               settings["verbose"] > 0)
        X_lab, y_lab, lab_meta = load_samples(
            self.images, coco.category, coco.index, coco.labelled, size, gray,
            settings["crop"], BOX_MARGIN, "keep", verbose,
        )
        ids = image_ids(names, coco.index,
                        {} if previous is None else previous.image_ids)
        records = [dict(coco.index[n]) if n in coco.index
                   else {"id": ids[n], "file_name": n} for n in names]
        X_pool, pool_meta = load_pool(self.images, coco.category, records, boxes,
                                      size, gray, BOX_MARGIN, verbose=verbose)
        return Bunch(
            category=coco.category, names=names, ids=ids, X_lab=X_lab, y_lab=y_lab,
            lab_meta=lab_meta, X_pool=X_pool, pool_meta=pool_meta,
            shape=(X_lab.shape[1], y_lab.shape[1] // 2, size),  # in, joints, size
        )

    def _read_coco(self, keypoint_names):
        """The annotation files read: a Bunch of the category, the image
        records by name (``index``), the annotations (``anns``), those that
        label a keypoint (``labelled``) and ``{annotated image: its file}``.
        """
        from sklearn.utils import Bunch

        category, index, anns, skipped = coco_index(self.files, return_skipped=True)
        warn_skipped(skipped, self.files, category)
        labelled = [a for a in anns if (a["keypoints"][:, 2] > 0).any()]
        annotated = {a["file_name"]: a["file"] for a in labelled}
        if not annotated:
            raise ValueError(
                f"no annotated image in {', '.join(repr(str(f)) for f in self.files)}:"
                " the first round needs some annotated images (annotations with "
                "labelled keypoints) to train on."
            )
        if keypoint_names is not None and keypoint_names != category["keypoints"]:
            raise ValueError(
                f"the annotations name the keypoints {category['keypoints']}, the "
                f"previous round's model {keypoint_names}."
            )
        return Bunch(category=category, index=index, anns=anns, labelled=labelled,
                     annotated=annotated)

    def _pool_names(self, unannotated, annotated):
        """Normalised names (relative to the folder) of the pool, checked."""
        if unannotated is None:
            names = [n for n in self.images.scan() if n not in annotated]
            if not names:
                raise ValueError(
                    f"no unannotated images: every image file in {str(self.root)!r} "
                    "and its subfolders is annotated."
                )
            return names
        entries, source = _listed(unannotated)
        names, seen = [], {}
        for where, given in entries:
            name = self.images.normalise(given, where)
            if name in seen:
                raise ValueError(f"{source} lists {name!r} twice ({seen[name]} and "
                                 f"{where}).")
            seen[name] = where
            if name in annotated:
                raise ValueError(f"{source} lists {name!r} ({where}), which is "
                                 f"annotated in {str(annotated[name])!r}.")
            names.append(name)
        return names


def _person_boxes(coco):
    """``{file name: [(annotation id, bbox), ...]}`` of the unannotated images.

    The annotations that label no keypoint and have a finite box with sides
    > 0, in images without labelled keypoints, by id.
    """
    boxes = {}
    for ann in sorted(coco.anns, key=lambda a: (a["file_name"], a["id"])):
        box = ann["bbox"]
        if (ann["file_name"] in coco.annotated or (ann["keypoints"][:, 2] > 0).any()
                or not np.isfinite(box).all() or (box[2:] <= 0).any()):
            continue
        boxes.setdefault(ann["file_name"], []).append((ann["id"], box.tolist()))
    return boxes


def _listed(unannotated):
    """``([(where, name), ...], source)`` of a list or a text file of names."""
    if isinstance(unannotated, str | os.PathLike):
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
        if not all(isinstance(n, str) for n in unannotated):
            raise TypeError(
                "select_for_annotation: unannotated must be a list of file names "
                f"(str) or the path of a text file of them, got {unannotated!r}."
            )
        entries = [(f"unannotated[{k}]", n) for k, n in enumerate(unannotated)]
        source = "unannotated"
    if not entries:
        raise ValueError(f"no unannotated images: {source} lists none.")
    return entries, source


def _check_budget(budget, n_pool, crop):
    if budget > n_pool:
        what = ("unannotated images" if crop == "image" else "people to choose "
                "from: the person boxes of the unannotated images, and the images "
                "without one")
        raise ValueError(
            f"budget must be in [1, {n_pool}] (the number of {what}), got {budget}."
        )


def image_ids(names, index, previous_ids):
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
