"""The embedded synthetic pose data as an image folder with COCO annotations.

:func:`make_synthetic_coco` writes the frames of :func:`make_pose_dataset` as
PNG files with COCO keypoints files: the demonstration data of the
annotation round (``sk-eglpp make-synthetic``).
"""

from numbers import Integral
from pathlib import Path

import numpy as np

from .._files import atomic_folder
from .._param_validation import POSITIVE_INT, Interval, validate_params
from ._coco import LSP_CATEGORY
from ._coco_write import write_coco_keypoints
from ._crops import image_square, meta_rows, sample_meta
from ._synthetic import make_pose_dataset

__all__ = ["make_synthetic_coco"]


@validate_params({
    "directory": ["path"],
    "n_images": [Interval(Integral, 2, None, closed="left")],
    "n_annotated": [POSITIVE_INT],
    "image_size": [Interval(Integral, 16, None, closed="left")],
    "random_state": ["random_state", None],
})
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
        Number of images (>= 2).
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

    target = Path(directory)
    n_images, n_annotated = int(n_images), int(n_annotated)
    image_size = int(image_size)
    if n_annotated >= n_images:
        raise ValueError(
            f"make_synthetic_coco: n_annotated must be in [1, n_images - 1] = "
            f"[1, {n_images - 1}], got {n_annotated}: some images must be left to "
            "select from."
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(
            f"make_synthetic_coco: {str(target)!r} already exists and is not an "
            "empty folder; choose a new folder (nothing is overwritten)."
        )
    X, y = make_pose_dataset(n_images, image_size=image_size,
                             random_state=random_state)
    target.parent.mkdir(parents=True, exist_ok=True)
    ids = np.arange(1, n_images + 1)
    meta = sample_meta(
        LSP_CATEGORY,
        [{"id": int(i), "file_name": f"{i - 1:05d}.png", "width": image_size,
          "height": image_size} for i in ids],
        ids,
        np.tile(image_square(image_size, image_size), (n_images, 1)),
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
                work / file, meta_rows(meta, rows), y[rows], image_size=image_size
            )
    return {
        "images": target / "images",
        "annotations": target / "annotations.json",
        "ground_truth": target / "ground_truth.json",
    }
