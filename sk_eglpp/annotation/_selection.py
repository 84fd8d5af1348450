"""What a round hands back and writes: the ranked selection.

:class:`AnnotationSelection` is the table; :func:`write_selection` writes it
as ``selection.csv``, ``selection.json`` (COCO) and ``contact_sheet.png``.
"""

import csv
import io
import math

import numpy as np

from .._files import atomic_write_bytes
from ..datasets._coco_write import write_coco_file
from ..datasets._images import SourceImage, transform_points

__all__ = ["AnnotationSelection"]

CSV_COLUMNS = ("rank", "file_name", "image_id", "utility", "bbox_x", "bbox_y",
               "bbox_width", "bbox_height")
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
        The strategy's utility of each row: the rows' entries of the
        utilities of the whole pool that the strategy returns with the
        selection (``select(..., return_utilities=True)``). For EGL++ the
        expected gradient length (Eq. 7); for a batch mode the scores before
        the batch-aware pick; for :class:`~sk_eglpp.query.CoreSetQuery` the
        distance of the row to the labelled set, not the distance at which
        k-center greedy picked it. With batch modes and Core-set the rows
        are ranked by the pick, so the utilities need not decrease.
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
        keys = CSV_COLUMNS[4:]
        return [
            {**{k: v for k, v in rec.items() if k != "bbox"},
             **dict(zip(keys, rec["bbox"] or [None] * 4, strict=True))}
            for rec in self.to_records()
        ]

    def to_dataframe(self):
        """The table as a pandas DataFrame, the columns of ``selection.csv``."""
        import pandas as pd

        return pd.DataFrame.from_records(self._rows(), columns=CSV_COLUMNS)

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


def _write_csv(path, records):
    """``records`` as ``selection.csv`` (utilities as Python writes floats)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
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


def write_selection(paths, images, selection, chosen, settings, title):
    """Write the selection's CSV, COCO file and contact sheet.

    ``paths`` are the files' paths (``"csv"``, ``"coco"``,
    ``"contact_sheet"``), ``images`` the images folder (an ``ImageFolder``),
    ``chosen`` the selected samples' metadata rows (their crops, boxes and
    annotation ids), ``settings`` holds ``pre_annotate``,
    ``contact_sheet_size`` and ``skeleton``; ``title`` heads the sheet.
    """
    budget = len(selection)
    n_joints = selection.keypoints.shape[1] // 2
    _write_csv(paths["csv"], selection._rows())
    # the boxes keep the input files' annotation ids unless two files share one
    given = chosen.annotation_id[chosen.annotation_id >= 0]
    if len(np.unique(given)) < len(given):
        chosen.annotation_id = np.full(budget, -1)
    boxed = np.isfinite(chosen.bbox).all(axis=1)
    keypoints = selection.keypoints.reshape(budget, n_joints, 2)
    write_coco_file(paths["coco"], chosen,
                    keypoints if settings["pre_annotate"] else None,
                    boxed | settings["pre_annotate"],
                    "written by sk_eglpp.datasets.write_coco_keypoints")
    _contact_sheet(paths["contact_sheet"], images, selection, chosen.crop,
                   settings["skeleton"], settings["contact_sheet_size"],
                   title + ("; box: the person box" if boxed.any() else ""))
