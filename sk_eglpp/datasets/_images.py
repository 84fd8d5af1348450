"""Image files for the pose loaders: oriented, shrunk before blurring, bounded.

:class:`SourceImage` reads an image file for the LSP / LSPET / MPII and COCO
loaders and the annotation contact sheet; :func:`crop_array` is the crop
transform they share, :func:`transform_points` its action on keypoints and
:func:`crop_to_source` its inverse (predictions back to source pixels).

Conventions
-----------
Orientation
    The EXIF orientation tag (2 to 8: the stored pixels are mirrored and/or
    turned by a multiple of 90 degrees) is applied, as
    ``PIL.ImageOps.exif_transpose``, browsers, OpenCV and annotation tools do:
    width, height, pixels and every coordinate are those of the *oriented*
    image, the one annotators see (5 to 8 swap width and height). The tag is
    read from the metadata before the pixel data, where cameras and Pillow
    write it; a PNG ``eXIf`` chunk after the image data is not read.
Coordinates
    Pixel centres at integers: pixel ``(row i, column j)`` covers
    ``[j - 0.5, j + 0.5) x [i - 0.5, i + 0.5)``, the convention of
    :func:`keypoints_to_heatmaps`.
Crop transform
    A square of side ``s`` (source pixels) centred on ``(cx, cy)`` becomes an
    ``size`` x ``size`` image; a point maps as
    ``u = (x - cx) * size / s + (size - 1) / 2`` (same for y), so the
    square's edges land on the output's pixel edges ``-0.5`` and
    ``size - 0.5``. The image is sampled bilinearly at the output pixel
    centres after a Gaussian anti-aliasing blur of standard deviation
    ``(s / size - 1) / 2`` source pixels (at most 64) when it is shrunk;
    parts of the square outside the source image are black (0).
Reduction before blur
    When a crop shrinks by ``k = s / size >= 4`` source pixels per output
    pixel, the file is decoded at a size reduced by an integer factor
    ``f <= k / 2`` (JPEG: libjpeg's scaled decoding at 1/2, 1/4 or 1/8, then
    ``Image.reduce``; other formats: ``Image.reduce``, the mean of ``f x f``
    blocks), and the crop is taken there: reduced pixel ``i`` covers source
    pixels ``[f i, f i + f)``, so source coordinate ``x`` is
    ``(x - (f - 1) / 2) / f`` and the side ``s / f``. The anti-aliasing blur
    of the reduced image is the full-resolution one less the variance that
    the block means and the coarser bilinear sampling add,
    ``(f**2 - 1) / 4`` source pixels squared; the last row and column, whose
    blocks reach past the image, count the missing pixels as black. The result
    matches the full-resolution transform closely, not bit for bit; crops
    that need no reduction are computed from the full image exactly as
    before.
Pixel limit
    A file whose header announces more than :data:`MAX_IMAGE_PIXELS` pixels
    is refused before anything is decoded, with a ``ValueError`` naming it.
    Pillow's own decompression-bomb check is off while this module opens and
    decodes a file (this check replaces it) and is restored afterwards.
"""

import math
import numbers
import os
import threading
from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = [
    "MAX_IMAGE_PIXELS",
    "SourceImage",
    "crop_array",
    "transform_points",
    "crop_to_source",
    "outside_to_nan",
]

#: Largest image, in pixels (width x height), that :class:`SourceImage` reads:
#: 2**28 = 268 million, e.g. 16384 x 16384. That is above the 200-megapixel
#: sensors of current phones (Pillow's own default, 89 million with an error
#: at twice that, would refuse their photos), while a file that announces more
#: is refused before its pixels are decoded: decoding at full resolution
#: takes up to 4 bytes per pixel, 1 GiB at this limit.
MAX_IMAGE_PIXELS = 2**28

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601
_MAX_SIGMA = 64.0  # source pixels
_ORIENTATION_TAG = 0x0112
# EXIF orientation -> the Pillow transpose that shows the stored pixels upright
# (the table of PIL.ImageOps.exif_transpose).
_TRANSPOSE = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}
_JPEG_FORMATS = ("JPEG", "MPO")  # MPO: the JPEG of many phones, with previews


class _PillowBombCheckOff:
    """Pillow's decompression-bomb check off while any reader of ours runs.

    The check is a module global of Pillow; it is saved when the first reader
    enters and restored when the last one leaves, so concurrent readers
    cannot leave it changed. It must be off for the whole open-and-decode:
    Pillow warns above its limit at open, before this module can look at the
    header, and some plugins check again while decoding.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._saved = None

    def __enter__(self):
        from PIL import Image

        with self._lock:
            if self._users == 0:
                self._saved = Image.MAX_IMAGE_PIXELS
                Image.MAX_IMAGE_PIXELS = None
            self._users += 1

    def __exit__(self, *exc_info):
        from PIL import Image

        with self._lock:
            self._users -= 1
            if self._users == 0:
                Image.MAX_IMAGE_PIXELS = self._saved
        return False


_BOMB_CHECK_OFF = _PillowBombCheckOff()


def _one_line(exc):
    return " ".join(f"{type(exc).__name__}: {exc}".split())


class SourceImage:
    """An image file, opened lazily, read oriented and reduced for crops.

    On construction only the header is read: the size, the EXIF orientation
    and the pixel limit are checked. Pixels are decoded when a crop or the
    pixels are asked for, at the reduction they need (see the module
    conventions), and kept per reduction factor, so that the crops of
    several people in one image decode it once.

    Parameters
    ----------
    path : str or os.PathLike
        The image file (any format Pillow reads).
    as_gray : bool, default=False
        One grey channel (ITU-R BT.601 luma of RGB) instead of three (RGB).
        Alpha is dropped, palettes are expanded, 16-bit grey levels are
        divided by 65535 and floating-point images clipped to [0, 1].
    label : str, default="image"
        What the file is, for messages (e.g. ``"COCO image"``).

    Attributes
    ----------
    path : pathlib.Path
        The file.
    width, height : int
        Size of the oriented image, in pixels.
    orientation : int
        The EXIF orientation tag, 1 to 8; 1 (upright) when absent or invalid.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file.
    ValueError
        The file is not an image Pillow can read, is empty, or has more than
        :data:`MAX_IMAGE_PIXELS` pixels (from its header).

    See Also
    --------
    crop_array : The crop transform on an array.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sk_eglpp.datasets._images import SourceImage
    >>> tmp = tempfile.TemporaryDirectory()
    >>> file = pathlib.Path(tmp.name) / "a.jpg"
    >>> exif = Image.Exif()
    >>> exif[0x0112] = 6  # stored turned: shown rotated 90 degrees clockwise
    >>> Image.new("RGB", (40, 30)).save(file, exif=exif)
    >>> image = SourceImage(file, as_gray=True)
    >>> image.width, image.height, image.orientation
    (30, 40, 6)
    >>> image.crop((14.5, 19.5), 40, 8).shape
    (1, 8, 8)
    >>> pixels, factor = image.pixels(max_side=20)
    >>> pixels.shape, factor
    ((20, 15, 1), 2)
    >>> tmp.cleanup()
    """

    def __init__(self, path, *, as_gray=False, label="image"):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"path must be a str or os.PathLike, got {type(path).__name__}."
            )
        if not isinstance(as_gray, (bool, np.bool_)):
            raise TypeError(f"as_gray must be a bool, got {as_gray!r}.")
        self.path = Path(path)
        self.as_gray = bool(as_gray)
        self.label = str(label)
        self._arrays = {}  # (factor, for_crop) -> read-only (h, w, c) float32
        self._format, self._stored_size, self.orientation = self._open(_header)
        width, height = self._stored_size
        if width < 1 or height < 1:
            raise ValueError(
                f"{self.label} {str(self.path)!r} is empty ({width} x {height} "
                "pixels)."
            )
        if width * height > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"{self.label} {str(self.path)!r} is {width} x {height} = "
                f"{width * height} pixels, more than MAX_IMAGE_PIXELS = "
                f"{MAX_IMAGE_PIXELS} of sk_eglpp.datasets._images; downscale it, "
                "or raise that limit if the file is trusted."
            )
        if self.orientation in (5, 6, 7, 8):
            width, height = height, width
        self.width, self.height = width, height

    def __repr__(self):
        return (
            f"SourceImage({str(self.path)!r}, width={self.width}, "
            f"height={self.height}, orientation={self.orientation})"
        )

    # ---------------------------------------------------------------- reading

    def _open(self, action):
        """``action(opened Pillow image)``, with Pillow's errors as ValueError."""
        from PIL import Image, UnidentifiedImageError  # keeps the import light

        if not self.path.is_file():
            raise FileNotFoundError(f"{self.label} {str(self.path)!r} not found.")
        try:
            with _BOMB_CHECK_OFF, Image.open(self.path) as opened:
                return action(opened)
        except (
            OSError,
            SyntaxError,
            ValueError,
            UnidentifiedImageError,
            Image.DecompressionBombError,
        ) as exc:
            raise ValueError(
                f"could not read {self.label} {str(self.path)!r} ({_one_line(exc)})."
            ) from exc

    def _plan(self, factor, round_up=False):
        """``(draft, reduce)`` factors for a reduction by about ``factor``.

        JPEG files are decoded at 1/2, 1/4 or 1/8 of their size, then reduced
        by the rest. With an orientation other than 1, only a scale that
        divides both sides is used, so that the reduced grid stays aligned
        with the oriented image's first row and column. The total is at most
        ``factor`` (the largest JPEG scale: fastest), or with ``round_up`` the
        smallest total that is at least ``factor``.
        """
        if factor <= 1:
            return 1, 1
        drafts = [1]
        if self._format in _JPEG_FORMATS:
            width, height = self._stored_size
            drafts += [
                d for d in (2, 4, 8)
                if d <= min(factor, width, height)
                and (self.orientation == 1 or not (width % d or height % d))
            ]
        if not round_up:
            return drafts[-1], factor // drafts[-1]
        # smallest total, then the largest JPEG scale
        draft = min(drafts, key=lambda d: (d * -(-factor // d), -d))
        return draft, -(-factor // draft)

    def _decode(self, draft, rest):
        """The image reduced by ``draft * rest``, oriented, as float32 array."""
        stored_size, orientation = self._stored_size, self.orientation

        def action(opened):
            from PIL import Image

            if opened.size != stored_size:
                raise ValueError(
                    f"the file changed since it was opened: {opened.size[0]} x "
                    f"{opened.size[1]} pixels, was {stored_size[0]} x "
                    f"{stored_size[1]}"
                )
            done = 1
            if draft > 1 and opened.format in _JPEG_FORMATS:
                drafted = opened.draft(None, (opened.width // draft,
                                              opened.height // draft))
                if drafted is not None:  # its box is the size at full scale
                    done = round(stored_size[0] / drafted[1][2])
            opened.load()
            reduce_by = draft * rest // done
            if done * reduce_by != draft * rest:  # draft gave another scale
                raise ValueError(
                    f"the JPEG decoder reduced by {done} instead of {draft}"
                )
            img = opened
            if reduce_by > 1 or orientation != 1:
                img = _reducible(img)
                # Oriented before the block means, so that their grid starts
                # at the oriented image's first row and column.
                if orientation != 1:
                    img = img.transpose(getattr(Image.Transpose,
                                                _TRANSPOSE[orientation]))
                if reduce_by > 1:
                    img = img.reduce(reduce_by)
            return _pillow_to_array(img)

        factor = draft * rest
        array = self._open(action)
        expected = (-(-self.height // factor), -(-self.width // factor))
        if array.shape[:2] != expected:
            raise ValueError(
                f"could not read {self.label} {str(self.path)!r} reduced by "
                f"{factor}: got {array.shape[1]} x {array.shape[0]} pixels, "
                f"expected {expected[1]} x {expected[0]}."
            )
        return _channels(array, self.as_gray)

    def _array(self, draft, rest, for_crop=False):
        """The decoded image reduced by ``draft * rest``, kept for later calls.

        ``for_crop``: with the last row and column, whose blocks reach past
        the image, scaled as if the missing pixels were black (the crop
        transform's outside), instead of being means of the pixels there.
        """
        factor = draft * rest
        key = (factor, for_crop and factor > 1)
        if key not in self._arrays:
            if key[1]:
                array = self._array(draft, rest).copy()
                for axis, n in ((1, self.width), (0, self.height)):
                    last = n - factor * (array.shape[axis] - 1)  # pixels in it
                    if last < factor:
                        index = (slice(None),) * axis + (-1,)
                        array[index] *= last / factor
            else:
                array = self._decode(draft, rest)
            array.flags.writeable = False  # shared by every crop of this image
            self._arrays[key] = array
        return self._arrays[key]

    def _crop_factor(self, side, size):
        """Reduction for a crop: >= 2 source pixels per output pixel are left."""
        k = side / size
        if not math.isfinite(k):
            return 1
        return max(1, min(int(k // 2), min(self.width, self.height) // 2))

    # ---------------------------------------------------------------- public

    def crop(self, centre, side, size):
        """The crop transform of the oriented image (see the module notes).

        Parameters
        ----------
        centre : array-like of shape (2,)
            ``(cx, cy)`` of the square, in the oriented image's pixels.
        side : float
            Side of the square, in the oriented image's pixels.
        size : int
            Height and width of the output.

        Returns
        -------
        ndarray of shape (c, size, size), dtype float32
            Values in [0, 1]; ``c`` is 1 with ``as_gray`` else 3.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> from sk_eglpp.datasets._images import SourceImage
        >>> tmp = tempfile.TemporaryDirectory()
        >>> file = pathlib.Path(tmp.name) / "white.png"
        >>> Image.new("L", (600, 400), 255).save(file)
        >>> out = SourceImage(file).crop((299.5, 199.5), 400, 16)  # 1/12 size
        >>> out.shape, round(float(out[0, 8, 8]), 3)
        ((3, 16, 16), 1.0)
        >>> tmp.cleanup()
        """
        plan = self._plan(self._crop_factor(side, size))
        image = self._array(*plan, for_crop=True)
        factor = plan[0] * plan[1]
        if factor == 1:
            return crop_array(image, centre, side, size)
        shift = (factor - 1) / 2.0
        centre = ((centre[0] - shift) / factor, (centre[1] - shift) / factor)
        return crop_array(image, centre, side / factor, size, reduction=factor)

    def pixels(self, max_side=None):
        """The oriented image, reduced so that its larger side is about ``max_side``.

        Parameters
        ----------
        max_side : int, default=None
            Largest side wanted, in pixels; ``None`` gives the full resolution.

        Returns
        -------
        pixels : ndarray of shape (h, w, c), dtype float32
            Values in [0, 1]; ``c`` is 1 with ``as_gray`` else 3; ``max(h, w)
            <= max_side``. Read-only (kept for later calls).
        factor : int
            The reduction: pixel ``i`` covers the oriented image's pixels
            ``[factor * i, factor * i + factor)``, so a point ``x`` of the
            oriented image is ``(x - (factor - 1) / 2) / factor`` in
            ``pixels``; ``h = ceil(height / factor)``,
            ``w = ceil(width / factor)``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> from sk_eglpp.datasets._images import SourceImage
        >>> tmp = tempfile.TemporaryDirectory()
        >>> file = pathlib.Path(tmp.name) / "a.png"
        >>> Image.new("RGB", (300, 200)).save(file)
        >>> pixels, factor = SourceImage(file).pixels(max_side=100)
        >>> pixels.shape, factor
        ((67, 100, 3), 3)
        >>> tmp.cleanup()
        """
        if max_side is None:
            factor = 1
        else:
            if isinstance(max_side, bool) or not isinstance(
                max_side, numbers.Integral
            ):
                raise TypeError(
                    f"max_side must be a positive int or None, got {max_side!r}."
                )
            if max_side < 1:
                raise ValueError(f"max_side must be >= 1, got {max_side}.")
            factor = -(-max(self.width, self.height) // int(max_side))
        plan = self._plan(factor, round_up=True)
        return self._array(*plan), plan[0] * plan[1]


def _header(opened):
    """Format, stored size and EXIF orientation, from the header only."""
    from PIL import Image

    # Image.getexif, not the PNG plugin's override, which decodes the whole
    # image to look for an eXIf chunk after the pixel data.
    exif = Image.Image.getexif(opened)
    orientation = exif.get(_ORIENTATION_TAG, 1)
    if not isinstance(orientation, numbers.Integral) or orientation not in _TRANSPOSE:
        orientation = 1  # 1, absent, or not a valid value
    return opened.format, opened.size, int(orientation)


def _reducible(img):
    """``img`` in a mode that Image.reduce and transpose take: I, F, L or RGB.

    :func:`_pillow_to_array` gives the same values for the result as for
    ``img``.
    """
    if img.mode.startswith("I"):
        return img if img.mode == "I" else img.convert("I")
    if img.mode == "F":
        return img
    if img.mode in ("1", "L", "LA", "La"):
        return img if img.mode == "L" else img.convert("L")
    return img if img.mode == "RGB" else img.convert("RGB")


def _pillow_to_array(img):
    """A Pillow image as float32 (h, w, 1) grey or (h, w, 3) RGB in [0, 1]."""
    if img.mode.startswith("I"):  # 16-bit grey (Pillow opens some as "I")
        grey = np.asarray(img, dtype=np.float64) / 65535.0
        return np.clip(grey, 0.0, 1.0).astype(np.float32)[:, :, None]
    if img.mode == "F":
        return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)[:, :, None]
    if img.mode in ("1", "L", "LA", "La"):
        grey = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
        return grey[:, :, None]
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _channels(img, as_gray):
    """(h, w, 1) or (h, w, 3) as one grey channel or three."""
    if img.shape[2] == 1:
        return img if as_gray else np.repeat(img, 3, axis=2)
    if as_gray:
        return (img @ _LUMA)[:, :, None]
    return img


# --------------------------------------------------------------------------
# the crop transform on arrays
# --------------------------------------------------------------------------


def _blur_sigma(k, reduction):
    """Anti-aliasing blur, in ``image`` pixels, for ``k`` image pixels per output."""
    # Capped so that absurd crops (huge annotated scales) stay cheap; at that
    # blur the crop is many times the image and nearly black anyway.
    sigma = min(max(0.0, (k * reduction - 1.0) / 2.0), _MAX_SIGMA)
    if reduction == 1:
        return sigma
    # The reduction blurs already, with variances in source pixels**2:
    # (f**2 - 1) / 12 by its block means, and on average (f**2 - 1) / 6 by
    # bilinear sampling on the coarser grid (its variance, averaged over the
    # sample positions, is f**2 / 6 there against 1 / 6 at full resolution).
    # Only the rest of the full-resolution blur is added.
    rest = max(sigma**2 - (reduction**2 - 1) / 4.0, 0.0)
    return math.sqrt(rest) / reduction


def crop_array(image, centre, side, size, *, reduction=1):
    """Square crop of ``side`` pixels around ``centre``, resized to ``size``.

    The crop transform of the module notes: a Gaussian anti-aliasing blur
    when the square is shrunk, then bilinear sampling at the output pixel
    centres; outside the image is black.

    Parameters
    ----------
    image : ndarray of shape (h, w, c)
        The source, float.
    centre : array-like of shape (2,)
        ``(cx, cy)`` of the square, in ``image``'s pixels.
    side : float
        Side of the square, in ``image``'s pixels.
    size : int
        Height and width of the output.
    reduction : int, default=1
        ``image`` is a reduction by this factor (means of ``reduction`` x
        ``reduction`` blocks) of the image that the crop stands for; the
        blur is that of the full-resolution crop less what the block means
        and the coarser bilinear sampling add (see the module notes).

    Returns
    -------
    ndarray of shape (c, size, size), dtype float32
        Clipped to [0, 1].

    See Also
    --------
    transform_points : The same transform applied to points.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.datasets._images import crop_array
    >>> image = np.zeros((10, 20, 1), np.float32)
    >>> image[4, 13] = 1.0
    >>> out = crop_array(image, (12.5, 4.5), 4, 4)  # same scale: no blur
    >>> out[0]
    array([[0., 0., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 0.],
           [0., 0., 0., 0.]], dtype=float32)
    """
    h, w, c = image.shape
    k = side / size  # image pixels per output pixel
    sigma = _blur_sigma(k, reduction)
    offsets = (np.arange(size) - (size - 1) / 2.0) * k
    xs = centre[0] + offsets
    ys = centre[1] + offsets
    pad = int(np.ceil(4.0 * sigma)) + 2
    # Only the part of the image the samples (and the blur) can reach.
    r0 = max(0, int(np.floor(ys[0])) - pad)
    r1 = min(h, int(np.ceil(ys[-1])) + pad + 1)
    c0 = max(0, int(np.floor(xs[0])) - pad)
    c1 = min(w, int(np.ceil(xs[-1])) + pad + 1)
    out = np.zeros((c, size, size), dtype=np.float32)
    if r0 >= r1 or c0 >= c1:
        return out  # the square lies entirely outside the image
    window = image[r0:r1, c0:c1]
    rr, cc = np.meshgrid(ys - r0, xs - c0, indexing="ij")
    for ch in range(c):
        plane = window[:, :, ch]
        if sigma > 0:
            plane = ndimage.gaussian_filter(plane, sigma, mode="constant", cval=0.0)
        out[ch] = ndimage.map_coordinates(
            plane, [rr, cc], order=1, mode="grid-constant", cval=0.0
        )
    return np.clip(out, 0.0, 1.0, out=out)


def transform_points(points, centre, side, size):
    """The crop transform applied to ``(..., 2)`` points ``(x, y)``.

    Parameters
    ----------
    points : ndarray of shape (..., 2)
        Points in source pixels.
    centre : array-like of shape (2,)
        ``(cx, cy)`` of the crop square.
    side : float
        Side of the square, in source pixels.
    size : int
        Height and width of the output.

    Returns
    -------
    ndarray of shape (..., 2)
        ``(x - cx) * size / side + (size - 1) / 2``, same for y.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.datasets._images import transform_points
    >>> transform_points(np.array([[-0.5, -0.5], [99.5, 49.5]]), (49.5, 49.5),
    ...                  100, 10)
    array([[-0.5, -0.5],
           [ 9.5,  4.5]])
    """
    return (points - np.asarray(centre)) * (size / side) + (size - 1) / 2.0


def crop_to_source(points, crops, size):
    """Points of ``n`` crops back to source pixels: :func:`transform_points` undone.

    Parameters
    ----------
    points : ndarray of shape (n, n_points, 2)
        Points in the crops' pixels.
    crops : ndarray of shape (n, 3)
        ``cx, cy, side`` of each crop square, in source pixels.
    size : int
        Height and width of the crops.

    Returns
    -------
    ndarray of shape (n, n_points, 2)
        ``(u - (size - 1) / 2) * side / size + cx``, same for y.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.datasets._images import crop_to_source
    >>> crop_to_source(np.array([[[-0.5, -0.5], [9.5, 4.5]]]),
    ...                np.array([[49.5, 49.5, 100.0]]), 10)
    array([[[-0.5, -0.5],
            [99.5, 49.5]]])
    """
    scale = (crops[:, 2] / size)[:, None, None]
    return (points - (size - 1) / 2.0) * scale + crops[:, None, :2]


def outside_to_nan(kp, size):
    """Points outside a ``size`` x ``size`` image set to NaN (a copy).

    Parameters
    ----------
    kp : ndarray of shape (..., 2)
        Points in output pixels (pixel centres at integers).
    size : int
        Height and width of the image; inside is ``[-0.5, size - 0.5)``.

    Returns
    -------
    ndarray of shape (..., 2)
        ``kp`` with both coordinates of every outside point NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp.datasets._images import outside_to_nan
    >>> outside_to_nan(np.array([[0.0, 3.4], [-0.6, 1.0], [2.0, 3.5]]), 4)
    array([[0. , 3.4],
           [nan, nan],
           [nan, nan]])
    """
    kp = kp.copy()
    outside = np.any((kp < -0.5) | (kp >= size - 0.5), axis=-1)
    kp[outside] = np.nan
    return kp
