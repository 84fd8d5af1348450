"""Readers for LSP, LSP extended (LSPET) and MPII Human Pose from a local folder.

Nothing is downloaded, and the data set's folder is never written: each loader
reads the data set's own annotation file and images from the folder it is
given, crops a square around every person, resizes it and maps the keypoints
with the same transform. The images are decoded in parallel with
``n_jobs``, and the arrays are kept in an on-disk cache outside the data
folder (:func:`get_cache_dir`; ``cache_dir=False`` turns it off), so that
the next call with the same arguments on the same files reads them back
instead of decoding the images again.

Conventions shared by the loaders
---------------------------------
Coordinates
    Returned keypoints use the convention of :func:`keypoints_to_heatmaps`:
    pixel centres at integers, pixel ``(row i, column j)`` covering
    ``[j - 0.5, j + 0.5) x [i - 0.5, i + 0.5)``. The annotation files hold
    MATLAB's 1-based pixel coordinates (pixel k's centre at k), so 1 is
    subtracted when reading them.
Crop transform
    A square of side ``s`` (source pixels) centred on ``(cx, cy)`` becomes an
    ``image_size`` x ``image_size`` image, and a point maps as
    ``u = (x - cx) * image_size / s + (image_size - 1) / 2`` (same for y). The
    transform (anti-aliasing, black outside the image), the EXIF orientation
    of the images, their reduction before large shrinks and the pixel limit
    are those of :mod:`sk_eglpp.datasets._images`, described there.
Missing joints
    A joint is NaN in ``y`` when it is not annotated (non-finite coordinates,
    or absent from MPII's point list), when it is flagged occluded/invisible
    and ``occluded="nan"``, or when it falls outside the output image after
    the crop transform.
Pixels
    ``dtype="float32"`` gives values in [0, 1]; ``dtype="uint8"`` gives
    ``round(255 * x)`` of the same values (a quarter of the memory), the
    rounding done in float32, halves to even.
Cache
    The cache entry's key holds the loader, every argument that changes the
    arrays (``n_jobs`` and ``verbose`` do not) and the identity of the files
    read: the annotation file's size, modification time and content hash,
    and each image's name, size and modification time. A changed file gives
    another key; a damaged entry is rebuilt with a warning. See
    :mod:`sk_eglpp.datasets._cache` and :func:`clear_cache`.
Parallel decoding
    With ``n_jobs`` workers the selection is cut into chunks of consecutive
    samples (a few per worker, at most 32 MiB of pixels each), decoded by
    joblib threads: ``prefer="threads"``, a hint that a
    :func:`joblib.parallel_config` backend such as ``"loky"`` overrides.
    Pillow decodes without the GIL but SciPy's filters hold it, so threads
    gain the decoding's share only (1.15 to 1.3 times faster with two threads
    on 500 LSPET images); processes start in seconds and send every crop
    back, and were slower than one thread on that task. Every sample is
    computed by the same code whatever the chunking, so the arrays are
    identical to those of ``n_jobs=None``.
"""

import functools
import os
from numbers import Real
from pathlib import Path

import numpy as np
import scipy.io
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils import gen_batches

from .._param_validation import (
    N_JOBS,
    POSITIVE_INT,
    VERBOSE,
    InstanceOf,
    Interval,
    StrOptions,
    validate_params,
)
from .._progress import progress_bar
from ._cache import cached_arrays, check_cache_dir
from ._dataset_files import (
    MARGIN,
    OCCLUDED,
    check_folder,
    read_mat,
    select_indices,
)
from ._images import SourceImage, outside_to_nan, transform_points
from ._leeds import LEEDS, N_JOINTS, leeds_image_name, leeds_joints

__all__ = ["load_lsp", "load_lspet", "load_mpii", "MPII_TO_LSP"]

#: MPII joint id (0-based) for each of the 14 LSP joints: ankles, knees, hips,
#: wrists, elbows and shoulders map one to one, LSP's neck is MPII's upper neck
#: (8) and the head top is MPII's head top (9). MPII's pelvis (6) and thorax
#: (7) are dropped.
MPII_TO_LSP = (0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9)

#: joblib's backend hint for decoding (see the module notes)
_PREFER = "threads"
#: bytes of images per chunk of decoding work, at most
_CHUNK_BYTES = 32 * 2**20

#: ``dtype``: its type here, its value in :func:`_check_output`
_DTYPE = [InstanceOf(str, type, np.dtype,
                     description="'float32' or 'uint8' (a str or numpy dtype)")]
#: ``cache_dir``: None, False or a path (True is refused by check_cache_dir)
_CACHE_DIR = [None, "path", InstanceOf(bool, np.bool_, description="False")]

#: the parameters of load_lsp and load_lspet (same signature)
_LEEDS_PARAMETERS = {
    "path": ["path"],
    "image_size": [POSITIVE_INT],
    "as_gray": ["boolean"],
    "occluded": OCCLUDED,
    "margin": MARGIN,
    "indices": ["array-like", None],
    "max_samples": [POSITIVE_INT, None],
    "dtype": _DTYPE,
    "cache_dir": _CACHE_DIR,
    "n_jobs": N_JOBS,
    "verbose": VERBOSE,
}


def _check_output(dtype, cache_dir, caller):
    """``(dtype name, cache folder or None)``: what the tables cannot check."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in ("float32", "uint8"):
        raise ValueError(
            f"{caller}: dtype must be 'float32' or 'uint8', got {dtype!r} "
            f"({type(dtype).__name__})."
        )
    return name, check_cache_dir(cache_dir, caller)


# --------------------------------------------------------------------------
# LSP and LSPET
# --------------------------------------------------------------------------


def _load_leeds(path, layout, params):
    """The Leeds loaders; ``params`` are the public loader's checked arguments."""
    dataset = LEEDS[layout][0]
    folder = check_folder(path, dataset)
    image_size, as_gray = int(params["image_size"]), bool(params["as_gray"])
    occluded, margin = params["occluded"], float(params["margin"])
    n_jobs, verbose = params["n_jobs"], params["verbose"]
    dtype, cache_dir = _check_output(
        params["dtype"], params["cache_dir"], f"load_{layout}"
    )
    file = folder / "joints.mat"
    mat, annotation = read_mat(file, "joints.mat", dataset)
    xy, visible = leeds_joints(mat, file, layout)
    selected = select_indices(
        xy.shape[0], params["indices"], params["max_samples"], "images"
    )
    names = [f"images/{leeds_image_name(i + 1, layout)}" for i in selected]

    def build():
        tasks, keeps = [], []
        for name, i in zip(names, selected, strict=True):
            kp = xy[i]
            annotated = np.all(np.isfinite(kp), axis=1)
            keep = annotated & (visible[i] | (occluded == "keep"))
            # The crop frames the visible joints (occluded positions may be
            # rough guesses); with fewer than two, the kept joints; else the
            # image.
            frame = annotated & visible[i]
            if frame.sum() < 2:
                frame = keep
            square = functools.partial(_leeds_square, kp[frame], margin=margin)
            tasks.append((folder / name, square))
            keeps.append(keep)
        X, squares = _crop_all(
            tasks, as_gray, image_size, f"{dataset} image", dtype, n_jobs, verbose
        )
        y = np.empty((selected.size, N_JOINTS, 2))
        for row, (i, keep) in enumerate(zip(selected, keeps, strict=True)):
            out = transform_points(
                xy[i], squares[row, :2], squares[row, 2], image_size
            )
            out[~keep] = np.nan
            y[row] = outside_to_nan(out, image_size)
        return {"X": X, "y": y.reshape(selected.size, 2 * N_JOINTS)}

    n_channels = 1 if as_gray else 3
    arrays = cached_arrays(
        cache_dir,
        f"load_{layout}",
        {
            "image_size": image_size,
            "as_gray": as_gray,
            "occluded": occluded,
            "margin": margin,
            "dtype": dtype,
            "indices": selected,
        },
        root=folder,
        annotation=annotation,
        images=names,
        expected={
            "X": ((selected.size, n_channels, image_size, image_size), dtype),
            "y": ((selected.size, 2 * N_JOINTS), np.float64),
        },
        build=build,
    )
    return arrays["X"], arrays["y"]


def _leeds_square(points, w, h, margin):
    """Square around the joints' bounding box, ``margin`` x its side per edge.

    Returns the centre ``(cx, cy)`` and the side; ``w`` and ``h`` are the
    image's size, for the square of the whole image when there are fewer
    than two distinct points.
    """
    if points.shape[0]:
        lo, hi = points.min(axis=0), points.max(axis=0)
        extent = float(np.max(hi - lo))
        if extent > 0:
            return (lo + hi) / 2.0, extent * (1.0 + 2.0 * margin)
    # No joints or a single point: the whole image.
    return np.array([(w - 1) / 2.0, (h - 1) / 2.0]), float(max(h, w))


def _fixed_square(centre, side, w, h):
    """The square of a person whose crop does not depend on the image size."""
    return centre, side


def _crop_rows(tasks, as_gray, image_size, label, dtype):
    """Crops of one chunk of ``tasks``: ``(file, square)`` pairs, in order.

    ``square(width, height) -> (centre, side)`` places the crop in the image.
    Consecutive tasks on one file decode it once (MPII's people of one image).
    Returns the crops ``(n, c, image_size, image_size)`` in ``dtype`` and the
    squares ``(n, 3)``: ``cx, cy, side``.
    """
    n_channels = 1 if as_gray else 3
    X = np.empty((len(tasks), n_channels, image_size, image_size), dtype)
    squares = np.empty((len(tasks), 3))
    image = None
    for row, (file, square) in enumerate(tasks):
        if image is None or image.path != file:
            image = SourceImage(file, as_gray=as_gray, label=label)
        centre, side = square(image.width, image.height)
        pixels = image.crop(centre, side, image_size)
        if dtype == "uint8":
            pixels = np.rint(pixels * np.float32(255)).astype(np.uint8)
        X[row] = pixels
        squares[row, :2] = centre
        squares[row, 2] = side
    return X, squares


def _crop_all(tasks, as_gray, image_size, label, dtype, n_jobs, verbose):
    """:func:`_crop_rows` of every task, in chunks over ``n_jobs`` workers."""
    n = len(tasks)
    n_channels = 1 if as_gray else 3
    row_bytes = n_channels * image_size**2 * np.dtype(dtype).itemsize
    n_workers = min(effective_n_jobs(n_jobs), n)
    # A few chunks per worker balance the load; the byte cap bounds the
    # memory of the chunks in flight and keeps the progress bar moving.
    chunk = -(-n // (4 * n_workers)) if n_workers > 1 or verbose else n
    chunk = max(1, min(chunk, _CHUNK_BYTES // row_bytes))
    batches = list(gen_batches(n, chunk))
    X = np.empty((n, n_channels, image_size, image_size), dtype)
    squares = np.empty((n, 3))
    parts = Parallel(n_jobs=n_jobs, prefer=_PREFER, return_as="generator")(
        delayed(_crop_rows)(tasks[rows], as_gray, image_size, label, dtype)
        for rows in batches
    )
    bar = progress_bar(verbose, total=n, desc="reading images", unit="image",
                       leave=False)
    try:
        for rows, (pixels, part) in zip(batches, parts, strict=True):
            X[rows], squares[rows] = pixels, part
            if bar is not None:
                bar.update(len(part))
    finally:
        if bar is not None:
            bar.close()
    return X, squares


_LEEDS_COMMON_DOC = """
    image_size : int, default=64
        Height and width of the returned square images (the EGL++ paper uses
        256).
    as_gray : bool, default=False
        Return grey-level images (one channel, ITU-R BT.601 luma) instead of
        RGB (three channels).
    occluded : {{"keep", "nan"}}, default="keep"
        What to do with joints flagged occluded: keep their annotated
        (estimated) position or set them to NaN.
        {occluded_note}
    margin : float, default=0.2
        The crop is the square around the bounding box of the visible joints
        (of all kept joints when fewer than two are visible; the whole image
        when the box is a single point or empty), enlarged by ``margin`` times
        the box's larger side on every edge.
    indices : array-like of int, default=None
        0-based image numbers to read, in that order (``i`` reads
        ``{pattern}`` with number ``i + 1``); ``None`` reads every annotated
        image.
    max_samples : int, default=None
        Read at most this many images (the first of the selection).
    {output}"""

_OUTPUT_DOC = """dtype : {"float32", "uint8"}, default="float32"
        Type of the returned images: float32 in [0, 1], or uint8
        ``round(255 * x)`` of the same values (a quarter of the memory).
    cache_dir : str, os.PathLike, None or False, default=None
        Folder of the on-disk cache of the returned arrays: ``None`` is
        :func:`get_cache_dir` (``$SK_EGLPP_CACHE``, else the user's cache
        folder), ``False`` reads and writes no cache. A call with the same
        arguments on unchanged files reads the arrays back instead of
        decoding the images (see the module's conventions).
    n_jobs : int, default=None
        Joblib workers decoding the images when they are not cached
        (threads; ``None`` is 1 unless in a :func:`joblib.parallel_config`
        context, ``-1`` all CPUs). The arrays do not depend on it.
    verbose : int or bool, default=False
        Show a progress bar while decoding the images (any value >= 1).
"""


@validate_params(_LEEDS_PARAMETERS)
def load_lsp(
    path,
    *,
    image_size=64,
    as_gray=False,
    occluded="keep",
    margin=0.2,
    indices=None,
    max_samples=None,
    dtype="float32",
    cache_dir=None,
    n_jobs=None,
    verbose=False,
):
    """Load the Leeds Sports Pose (LSP) data set from a local folder.

    Reads ``joints.mat`` (variable ``joints`` of shape 3 x 14 x 2000: x, y and
    an occlusion flag per joint, 1-based MATLAB pixel coordinates) and the
    images ``images/im0001.jpg`` ... from ``path``, crops a square around each
    person and resizes it (see the module's conventions). The arrays are
    cached outside ``path`` (``cache_dir``); nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike
        The LSP folder (holding ``joints.mat`` and ``images/``).
    {common}
    Returns
    -------
    X : ndarray of shape (n_samples, c, image_size, image_size)
        Images, float32 in [0, 1] or uint8 (``dtype``); ``c`` is 3, or 1 with
        ``as_gray=True``.
    y : ndarray of shape (n_samples, 28), dtype float64
        Keypoints ``x0, y0, ..., x13, y13`` of the 14 LSP joints (0 right
        ankle ... 13 head top) in the returned image's pixel coordinates
        (pixel centres at integers); NaN for missing joints.

    Raises
    ------
    FileNotFoundError
        The folder, ``joints.mat`` or a selected image does not exist.
    ValueError
        ``joints.mat`` is unreadable or has no 3 x 14 x n array ``joints``; an
        image cannot be decoded; a parameter is out of range.

    See Also
    --------
    load_lspet, load_mpii, make_pose_dataset
    get_cache_dir, clear_cache : The cache of the loaders' arrays.

    Notes
    -----
    In the original LSP release the third row of ``joints`` is 0 for a visible
    joint and 1 for an occluded one (whose position the annotators
    estimated); the LSP PCK protocol scores all 14 joints, hence the default
    ``occluded="keep"``. The LSP authors' split uses images 1-1000 for
    training and 1001-2000 for testing: ``indices=range(1000)`` and
    ``indices=range(1000, 2000)``.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, pathlib
    >>> from matplotlib.image import imsave
    >>> from sk_eglpp.datasets import load_lsp
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> (folder / "images").mkdir()
    >>> imsave(folder / "images" / "im0001.jpg", np.zeros((40, 30, 3), np.uint8))
    >>> joints = np.zeros((3, 14, 1))
    >>> joints[0, :, 0] = np.linspace(6, 25, 14)   # x (1-based)
    >>> joints[1, :, 0] = np.linspace(5, 36, 14)   # y (1-based)
    >>> scipy.io.savemat(folder / "joints.mat", {{"joints": joints}})
    >>> X, y = load_lsp(folder, image_size=32, cache_dir=False)  # a throw-away
    >>> X.shape, y.shape, X.dtype
    ((1, 3, 32, 32), (1, 28), dtype('float32'))
    >>> tmp.cleanup()
    """
    return _load_leeds(path, "lsp", dict(
        image_size=image_size, as_gray=as_gray, occluded=occluded, margin=margin,
        indices=indices, max_samples=max_samples, dtype=dtype,
        cache_dir=cache_dir, n_jobs=n_jobs, verbose=verbose,
    ))


@validate_params(_LEEDS_PARAMETERS)
def load_lspet(
    path,
    *,
    image_size=64,
    as_gray=False,
    occluded="keep",
    margin=0.2,
    indices=None,
    max_samples=None,
    dtype="float32",
    cache_dir=None,
    n_jobs=None,
    verbose=False,
):
    """Load the LSP extended training set (LSPET) from a local folder.

    Reads ``joints.mat`` (variable ``joints`` of shape 14 x 3 x 10000: x, y
    and a visibility flag per joint, 1-based MATLAB pixel coordinates) and the
    images ``images/im00001.jpg`` ... from ``path``, crops a square around each
    person and resizes it (see the module's conventions). The arrays are
    cached outside ``path`` (``cache_dir``); nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike
        The LSPET folder (holding ``joints.mat`` and ``images/``).
    {common}
    Returns
    -------
    X : ndarray of shape (n_samples, c, image_size, image_size)
        Images, float32 in [0, 1] or uint8 (``dtype``); ``c`` is 3, or 1 with
        ``as_gray=True``.
    y : ndarray of shape (n_samples, 28), dtype float64
        Keypoints of the 14 LSP joints in the returned image's pixel
        coordinates; NaN for missing joints.

    Raises
    ------
    FileNotFoundError
        The folder, ``joints.mat`` or a selected image does not exist.
    ValueError
        ``joints.mat`` is unreadable or has no 14 x 3 x n array ``joints``; an
        image cannot be decoded; a parameter is out of range.

    See Also
    --------
    load_lsp, load_mpii, make_pose_dataset
    get_cache_dir, clear_cache : The cache of the loaders' arrays.

    Notes
    -----
    LSPET's flag is 1 for a visible joint and 0 otherwise (the reverse of
    LSP's). LSPET's images are not tightly cropped around the person, so the
    crop follows the visible joints.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, pathlib
    >>> from matplotlib.image import imsave
    >>> from sk_eglpp.datasets import load_lspet
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> (folder / "images").mkdir()
    >>> imsave(folder / "images" / "im00001.jpg", np.zeros((40, 30, 3), np.uint8))
    >>> joints = np.ones((14, 3, 1))
    >>> joints[:, 0, 0] = np.linspace(6, 25, 14)   # x (1-based)
    >>> joints[:, 1, 0] = np.linspace(5, 36, 14)   # y (1-based)
    >>> scipy.io.savemat(folder / "joints.mat", {{"joints": joints}})
    >>> X, y = load_lspet(folder, image_size=32, as_gray=True, dtype="uint8",
    ...                   cache_dir=False)  # a throw-away folder: no cache
    >>> X.shape, y.shape, X.dtype
    ((1, 1, 32, 32), (1, 28), dtype('uint8'))
    >>> tmp.cleanup()
    """
    return _load_leeds(path, "lspet", dict(
        image_size=image_size, as_gray=as_gray, occluded=occluded, margin=margin,
        indices=indices, max_samples=max_samples, dtype=dtype,
        cache_dir=cache_dir, n_jobs=n_jobs, verbose=verbose,
    ))


def _fill_doc(func, **kwargs):
    if func.__doc__:  # None under python -OO
        common = _LEEDS_COMMON_DOC.format(output=_OUTPUT_DOC, **kwargs)
        func.__doc__ = func.__doc__.format(common=common.lstrip())


_fill_doc(
    load_lsp,
    occluded_note="The LSP PCK protocol scores occluded joints too.",
    pattern="images/im%04d.jpg",
)
_fill_doc(
    load_lspet,
    occluded_note="Choose ``'nan'`` to keep only the joints LSPET marks visible.",
    pattern="images/im%05d.jpg",
)


# --------------------------------------------------------------------------
# MPII
# --------------------------------------------------------------------------


def _as_list(value):
    """A MATLAB struct array / cell read with ``squeeze_me=True`` as a list."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    return [value]


def _scalar(value):
    """A number from a squeezed MATLAB field; ``None`` when the field is empty."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        if value.size != 1:
            raise ValueError(f"expected a single number, got an array {value!r}")
        value = value.item()
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    return float(value)


def _is_struct(value):
    return isinstance(value, scipy.io.matlab.mat_struct)


def _mpii_people(release, file, subset, single_person, require_keypoints):
    """One record per usable person: (image name, centre, scale, kp, vis, head)."""
    if not _is_struct(release) or not hasattr(release, "annolist"):
        raise ValueError(
            f"'RELEASE' in {str(file)!r} must be a struct with a field 'annolist' "
            f"(MPII format), got {type(release).__name__}."
        )
    annolist = _as_list(release.annolist)
    n_images = len(annolist)

    def per_image(field):
        if not hasattr(release, field):
            raise ValueError(
                f"'RELEASE' in {str(file)!r} has no field {field!r}, needed for "
                f"subset={subset!r} / single_person={single_person!r}."
            )
        values = _as_list(getattr(release, field))
        if len(values) != n_images:
            raise ValueError(
                f"RELEASE.{field} in {str(file)!r} must have one entry per image "
                f"({n_images}), got {len(values)}."
            )
        return values

    train = per_image("img_train") if subset != "all" else None
    singles = per_image("single_person") if single_person else None

    people = []
    for i, ann in enumerate(annolist):
        try:
            if train is not None and (_scalar(train[i]) == 1) != (subset == "train"):
                continue
            allowed = None
            if singles is not None:
                allowed = {int(_scalar(v)) - 1 for v in _as_list(singles[i])}
            name = ann.image.name
            if not isinstance(name, str):
                raise ValueError(f"image.name must be a string, got {name!r}")
            for r, rect in enumerate(_as_list(getattr(ann, "annorect", None))):
                if allowed is not None and r not in allowed:
                    continue
                person = _mpii_person(rect, require_keypoints)
                if person is not None:
                    people.append((name, *person))
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"malformed MPII annotation in {str(file)!r} at annolist({i + 1}): "
                f"{exc}. Expected the release struct of "
                "mpii_human_pose_v1_u12_1.mat (image.name, annorect with objpos, "
                "scale, x1/y1/x2/y2 and annopoints.point with id/x/y/is_visible)."
            ) from exc
    return people


def _mpii_person(rect, require_keypoints):
    if not _is_struct(rect):
        raise TypeError(f"annorect must be a struct, got {type(rect).__name__}")
    objpos = getattr(rect, "objpos", None)
    scale = _scalar(getattr(rect, "scale", None))
    if not _is_struct(objpos) or scale is None:
        return None  # no rough person position: cannot be cropped
    cx, cy = _scalar(objpos.x), _scalar(objpos.y)
    if cx is None or cy is None or not np.isfinite([cx, cy, scale]).all():
        return None
    if not scale > 0:
        return None
    kp = np.full((16, 2), np.nan)
    vis = np.ones(16, dtype=bool)
    annopoints = getattr(rect, "annopoints", None)
    points = _as_list(annopoints.point) if _is_struct(annopoints) else []
    for p in points:
        joint = _scalar(p.id)
        if joint is None or joint != int(joint) or not 0 <= joint < 16:
            raise ValueError(f"joint id must be an integer in [0, 16), got {p.id!r}")
        joint = int(joint)
        x, y = _scalar(p.x), _scalar(p.y)
        if x is None or y is None:
            continue
        kp[joint] = (x - 1.0, y - 1.0)
        flag = _scalar(getattr(p, "is_visible", None))
        vis[joint] = flag is None or flag != 0  # empty flag: treated as visible
    if require_keypoints and not np.isfinite(kp).any():
        return None
    head = np.full(4, np.nan)
    corners = [_scalar(getattr(rect, f, None)) for f in ("x1", "y1", "x2", "y2")]
    if all(v is not None for v in corners):
        head = np.array(corners) - 1.0
    idx = list(MPII_TO_LSP)
    return np.array([cx - 1.0, cy - 1.0]), scale, kp[idx], vis[idx], head


@validate_params({
    "path": ["path"],
    "image_size": [POSITIVE_INT],
    "as_gray": ["boolean"],
    "occluded": OCCLUDED,
    "subset": [StrOptions(["train", "test", "all"])],
    "single_person": ["boolean"],
    "require_keypoints": ["boolean"],
    "scale_factor": [Interval(Real, 0, None, closed="neither")],
    "annotation_file": ["path"],
    "indices": ["array-like", None],
    "max_samples": [POSITIVE_INT, None],
    "return_head_boxes": ["boolean"],
    "dtype": _DTYPE,
    "cache_dir": _CACHE_DIR,
    "n_jobs": N_JOBS,
    "verbose": VERBOSE,
})
def load_mpii(
    path,
    *,
    image_size=64,
    as_gray=False,
    occluded="keep",
    subset="train",
    single_person=False,
    require_keypoints=True,
    scale_factor=1.25,
    annotation_file="mpii_human_pose_v1_u12_1.mat",
    indices=None,
    max_samples=None,
    return_head_boxes=False,
    dtype="float32",
    cache_dir=None,
    n_jobs=None,
    verbose=False,
):
    """Load MPII Human Pose from a local folder, one sample per person.

    Reads the release annotation ``mpii_human_pose_v1_u12_1.mat`` (struct
    ``RELEASE``: ``annolist`` with ``image.name`` and ``annorect`` per image,
    ``img_train``, ``single_person``) and the images under ``images/``. Every
    annotated person becomes a sample: a square of side
    ``200 * scale * scale_factor`` pixels centred on the person's ``objpos``
    (MPII's ``scale`` is the person's height / 200 px) is cropped and resized
    (see the module's conventions). The 16 MPII joints are mapped to the 14
    LSP joints (:data:`MPII_TO_LSP`; pelvis, thorax dropped, upper neck used
    as the neck). The arrays are cached outside ``path`` (``cache_dir``);
    nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike
        The MPII folder (holding the annotation file and ``images/``).
    image_size : int, default=64
        Height and width of the returned square images (the EGL++ paper uses
        256).
    as_gray : bool, default=False
        Return grey-level images (one channel) instead of RGB.
    occluded : {"keep", "nan"}, default="keep"
        Joints with ``is_visible == 0`` keep their annotated position
        (``"keep"``, the PCKh protocol scores every annotated joint) or become
        NaN. An empty ``is_visible`` counts as visible.
    subset : {"train", "test", "all"}, default="train"
        Images with ``img_train == 1``, ``== 0`` (whose people carry no
        keypoints in the public release), or all.
    single_person : bool, default=False
        Keep only the people listed in ``single_person`` (sufficiently
        separated individuals).
    require_keypoints : bool, default=True
        Skip people without any annotated joint; when False they are returned
        with all-NaN keypoints. People without ``objpos``/``scale`` are always
        skipped (they cannot be cropped).
    scale_factor : float, default=1.25
        Enlargement of the person box (1.25 as in Newell et al.'s hourglass
        code).
    annotation_file : str or os.PathLike, default="mpii_human_pose_v1_u12_1.mat"
        Name of the annotation file, relative to ``path``.
    indices : array-like of int, default=None
        0-based positions among the people the other options select, in that
        order; ``None`` reads them all.
    max_samples : int, default=None
        Read at most this many people (the first of the selection).
    return_head_boxes : bool, default=False
        Also return the head boxes (for PCKh).
    {output}
    Returns
    -------
    X : ndarray of shape (n_samples, c, image_size, image_size)
        Images, float32 in [0, 1] or uint8 (``dtype``); ``c`` is 3, or 1 with
        ``as_gray=True``.
    y : ndarray of shape (n_samples, 28), dtype float64
        Keypoints of the 14 LSP joints in the returned image's pixel
        coordinates (pixel centres at integers); NaN for missing joints.
    head_boxes : ndarray of shape (n_samples, 4), dtype float64
        ``(x1, y1, x2, y2)`` of the head box mapped by the crop transform (NaN
        when the person has none). Only returned when ``return_head_boxes``.

    Raises
    ------
    FileNotFoundError
        The folder, the annotation file or a selected image does not exist.
    ValueError
        The annotation file is unreadable or not in the MPII release format;
        no person matches the options; an image cannot be decoded; a parameter
        is out of range.

    See Also
    --------
    load_lsp, load_lspet, make_pose_dataset
    get_cache_dir, clear_cache : The cache of the loaders' arrays.

    Notes
    -----
    The file is read with ``scipy.io.loadmat(..., struct_as_record=False,
    squeeze_me=True)``: structs become attribute objects and one-element
    arrays scalars, so a single person, a single point and an empty field are
    all handled as the release stores them. Newell et al. also move the centre
    down by 15 * scale pixels; this loader does not.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, pathlib
    >>> from matplotlib.image import imsave
    >>> from sk_eglpp.datasets import load_mpii
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> (folder / "images").mkdir()
    >>> imsave(folder / "images" / "a.jpg", np.zeros((60, 80, 3), np.uint8))
    >>> point = np.array([(0, 31.0, 41.0, 1), (9, 41.0, 11.0, 0)],
    ...     dtype=[("id", "O"), ("x", "O"), ("y", "O"), ("is_visible", "O")])
    >>> rect = {"x1": 35.0, "y1": 6.0, "x2": 47.0, "y2": 16.0, "scale": 0.25,
    ...         "objpos": {"x": 40.0, "y": 30.0}, "annopoints": {"point": point}}
    >>> annolist = np.array([({"name": "a.jpg"}, rect)],
    ...     dtype=[("image", "O"), ("annorect", "O")])
    >>> release = {"annolist": annolist, "img_train": np.array([1]),
    ...            "single_person": np.array([1.0])}
    >>> scipy.io.savemat(folder / "mpii_human_pose_v1_u12_1.mat",
    ...                  {"RELEASE": release})
    >>> X, y, heads = load_mpii(folder, image_size=32, return_head_boxes=True,
    ...                         cache_dir=False)  # a throw-away folder
    >>> X.shape, y.shape, heads.shape
    ((1, 3, 32, 32), (1, 28), (1, 4))
    >>> tmp.cleanup()
    """
    folder = check_folder(path, "MPII")
    image_size, as_gray = int(image_size), bool(as_gray)
    dtype, cache_dir = _check_output(dtype, cache_dir, "load_mpii")
    file = folder / annotation_file
    mat, annotation = read_mat(
        file, os.fspath(annotation_file), "MPII", struct_as_record=False,
        squeeze_me=True,
    )
    if "RELEASE" not in mat:
        keys = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(
            f"{str(file)!r} must contain the struct 'RELEASE' (MPII format), got "
            f"variables {keys}."
        )
    people = _mpii_people(
        mat["RELEASE"], file, subset, single_person, require_keypoints
    )
    if not people:
        raise ValueError(
            f"no person in {str(file)!r} matches subset={subset!r}, "
            f"single_person={single_person}, require_keypoints={require_keypoints}."
        )
    selected = select_indices(len(people), indices, max_samples, "people")

    names = [os.fspath(Path("images", people[i][0])) for i in selected]
    n, n_channels = selected.size, 1 if as_gray else 3
    arrays = cached_arrays(
        cache_dir,
        "load_mpii",
        {
            "image_size": image_size,
            "as_gray": as_gray,
            "occluded": occluded,
            "subset": subset,
            "single_person": bool(single_person),
            "require_keypoints": bool(require_keypoints),
            "scale_factor": float(scale_factor),
            "dtype": dtype,
            "indices": selected,
        },
        root=folder,
        annotation=annotation,
        images=list(dict.fromkeys(names)),  # people of one image share it
        expected={
            "X": ((n, n_channels, image_size, image_size), dtype),
            "y": ((n, 2 * N_JOINTS), np.float64),
            "heads": ((n, 4), np.float64),
        },
        build=lambda: _mpii_arrays(
            [folder / name for name in names], [people[i] for i in selected],
            image_size, as_gray, occluded, scale_factor, dtype, n_jobs, verbose,
        ),
    )
    X, y, heads = arrays["X"], arrays["y"], arrays["heads"]
    if return_head_boxes:
        return X, y, heads
    return X, y


def _mpii_arrays(files, people, image_size, as_gray, occluded, scale_factor,
                 dtype, n_jobs, verbose):
    """Crops, keypoints and head boxes of ``people`` (records of _mpii_people)."""
    sides = [200.0 * person[2] * scale_factor for person in people]
    tasks = [
        (file, functools.partial(_fixed_square, person[1], side))
        for file, person, side in zip(files, people, sides, strict=True)
    ]
    X, _ = _crop_all(
        tasks, as_gray, image_size, "MPII image", dtype, n_jobs, verbose
    )
    y = np.empty((len(people), N_JOINTS, 2))
    heads = np.empty((len(people), 4))
    for row, ((_, centre, _, kp, vis, head), side) in enumerate(
        zip(people, sides, strict=True)
    ):
        out = transform_points(kp, centre, side, image_size)
        if occluded == "nan":
            out[~vis] = np.nan
        y[row] = outside_to_nan(out, image_size)
        heads[row] = transform_points(
            head.reshape(2, 2), centre, side, image_size
        ).ravel()
    return {"X": X, "y": y.reshape(len(people), 2 * N_JOINTS), "heads": heads}


if load_mpii.__doc__:  # None under python -OO; its example holds braces
    load_mpii.__doc__ = _OUTPUT_DOC.join(load_mpii.__doc__.split("{output}"))
