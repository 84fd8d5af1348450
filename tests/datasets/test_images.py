"""Reading image files: EXIF orientation, reduction before blurring, limits.

References are built here independently of the reader: the oriented image is
drawn first and the stored pixels made from it with the inverse transpose;
expected crops come from ``crop_array`` on the fully decoded, oriented array
(Pillow's ``ImageOps.exif_transpose``), and expected blob positions from the
crop transform ``u = (x - cx) * size / side + (size - 1) / 2``.
"""

import json
import tracemalloc
import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps

from sk_eglpp.datasets import _images, load_coco_keypoints
from sk_eglpp.datasets._images import SourceImage, crop_array

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601
T = Image.Transpose
# EXIF orientation -> the transpose that makes the stored pixels from the
# oriented (upright) image: the inverse of what the tag asks a viewer to do.
STORE = {
    1: None,
    2: T.FLIP_LEFT_RIGHT,
    3: T.ROTATE_180,
    4: T.FLIP_TOP_BOTTOM,
    5: T.TRANSPOSE,
    6: T.ROTATE_90,  # the viewer turns it 90 degrees clockwise
    7: T.TRANSVERSE,
    8: T.ROTATE_270,
}


def _blobs(width, height, blobs):
    """float (height, width) image of Gaussian blobs ``(x, y, sigma)``."""
    xx, yy = np.arange(width), np.arange(height)
    img = np.zeros((height, width))
    for x, y, s in blobs:  # separable: a column profile times a row profile
        img += np.outer(np.exp(-((yy - y) ** 2) / (2.0 * s * s)),
                        np.exp(-((xx - x) ** 2) / (2.0 * s * s)))
    return np.clip(img, 0.0, 1.0)


def _save(file, upright, orientation, **kwargs):
    """Store the uint8 image ``upright`` as a file with that EXIF orientation."""
    img = Image.fromarray(upright)
    if STORE[orientation] is not None:
        img = img.transpose(STORE[orientation])
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    img.save(file, exif=exif, **kwargs)
    return file


def _oriented_full(file):
    """The file decoded whole by Pillow and oriented: float32 (h, w, 3)."""
    with Image.open(file) as img:
        upright = ImageOps.exif_transpose(img).convert("RGB")
    return np.asarray(upright, dtype=np.float32) / 255.0


def _centroid(plane):
    """(x, y) centre of mass of a non-negative 2-D array."""
    yy, xx = np.mgrid[0 : plane.shape[0], 0 : plane.shape[1]]
    return np.array([(xx * plane).sum(), (yy * plane).sum()]) / plane.sum()


# --------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "jpg"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation, ext):
    width, height, x, y = 37, 23, 9, 5  # the blob, in the oriented image
    upright = np.zeros((height, width, 3), np.uint8)
    upright[y - 1 : y + 2, x - 1 : x + 2] = 160
    upright[y, x] = 255
    file = _save(tmp_path / f"a.{ext}", upright, orientation, quality=95)

    image = SourceImage(file)
    assert (image.width, image.height, image.orientation) == (
        width, height, orientation)
    pixels, factor = image.pixels()
    assert factor == 1
    np.testing.assert_array_equal(pixels, _oriented_full(file))  # Pillow's view
    tol = 0 if ext == "png" else 0.1  # JPEG: compression
    np.testing.assert_allclose(pixels, upright / 255.0, atol=tol)
    # A 5-pixel square centred on the blob, unscaled: the blob in its middle.
    out = image.crop((x, y), 5, 5)
    assert np.unravel_index(out[0].argmax(), (5, 5)) == (2, 2)
    np.testing.assert_allclose(
        out, crop_array(upright / 255.0, (x, y), 5, 5), atol=tol)


@pytest.mark.parametrize("ext", ["png", "jpg"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_reduced_crop_of_an_oriented_image(tmp_path, orientation, ext):
    # Sides not divisible by the reduction, so that a mis-aligned block grid
    # (means taken before turning the image) would move the blob.
    width, height = 410, 270
    centre, side, size = ((width - 1) / 2, (height - 1) / 2), float(width), 16
    x, y = np.array(centre) + (np.array([4, 9]) - 7.5) * side / size  # out (4, 9)
    upright = _blobs(width, height, [(x, y, 20.0), (300.0, 60.0, 10.0)])
    upright = np.repeat((upright * 255).round().astype(np.uint8)[:, :, None], 3, 2)
    file = _save(tmp_path / f"a.{ext}", upright, orientation, quality=95)

    image = SourceImage(file, as_gray=True)
    out = image.crop(centre, side, size)  # 25.6 source pixels per output pixel
    reference = crop_array(_oriented_full(file)[:, :, :1], centre, side, size)
    np.testing.assert_allclose(out, reference, atol=0.02)
    assert np.unravel_index(out[0].argmax(), (size, size)) == (9, 4)
    window = out[0, 7:12, 2:7]  # centred on the blob, away from the other one
    np.testing.assert_allclose(_centroid(window) + [2, 7], [4, 9], atol=0.05)


# --------------------------------------------------------------------------
# reduction before the blur
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_large_image_crop_matches_the_full_resolution_crop(tmp_path, ext):
    width, height = 3000, 2000
    centre, side, size = (1499.5, 999.5), 3000.0, 64  # 46.9 pixels per output
    # A blob where the transform puts output pixel (column 10, row 40).
    bx, by = np.array([10, 40]) * side / size + np.array(centre) - 31.5 * side / size
    blobs = [(bx, by, 100.0), (2100.0, 700.0, 60.0), (1500.0, 1500.0, 40.0)]
    grey = _blobs(width, height, blobs)
    rgb = np.stack([grey, 0.6 * grey, 0.3 * grey[::-1, ::-1]], axis=2)
    file = tmp_path / f"a.{ext}"
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(
        file, compress_level=1, quality=95)
    full = (_oriented_full(file) @ LUMA)[:, :, None]  # grey: one slow reference
    reference = crop_array(full, centre, side, size)
    sub = ((1800.0, 800.0), 700.0)  # a person-sized square: 11 pixels per output

    image = SourceImage(file, as_gray=True)
    tracemalloc.start()
    try:
        out = image.crop(centre, side, size)
        out_sub = image.crop(*sub, size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6  # the full image as float32 would be 72 MB
    np.testing.assert_allclose(out, reference, atol=0.02)
    np.testing.assert_allclose(
        out_sub, crop_array(full, *sub, size), atol=0.02)
    assert np.unravel_index(out[0].argmax(), (size, size)) == (40, 10)
    np.testing.assert_allclose(
        _centroid(out[0, 36:45, 6:15]) + [6, 36], [10, 40], atol=0.05)


def test_huge_png_is_cropped_from_a_reduced_decode(tmp_path):
    file = tmp_path / "big.png"
    img = Image.new("L", (9400, 9400))
    img.paste(255, (4000, 3000, 4100, 3100))  # centre (4049.5, 3049.5)
    img.save(file, compress_level=1)
    assert file.stat().st_size < 2e6

    image = SourceImage(file)
    tracemalloc.start()
    try:
        centre = (4699.5, 4699.5)
        out = image.crop(centre, 9400, 64)
        pixels, factor = image.pixels(max_side=500)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6  # at full resolution: 353 MB grey, 1 GB in RGB
    assert out.shape == (3, 64, 64)
    u, v = (np.array([4049.5, 3049.5]) - 4699.5) * 64 / 9400 + 31.5
    assert np.unravel_index(out[0].argmax(), (64, 64)) == (round(v), round(u))
    assert factor == 19 and pixels.shape == (495, 495, 3)
    np.testing.assert_allclose(pixels[160:163, 213:215], 1.0)  # x 4047..4084
    assert not pixels[:150].any()


def test_pixels_are_reduced_and_read_only(tmp_path):
    file = tmp_path / "a.png"
    grey = np.arange(12 * 9, dtype=np.uint8).reshape(9, 12) * 2
    Image.fromarray(grey).save(file)
    image = SourceImage(file, as_gray=True)
    pixels, factor = image.pixels(max_side=4)
    assert factor == 3 and pixels.shape == (3, 4, 1)
    blocks = grey.reshape(3, 3, 4, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(pixels[:, :, 0], np.round(blocks) / 255, atol=1e-6)
    with pytest.raises(ValueError, match="read-only"):
        pixels[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="max_side must be >= 1, got 0"):
        image.pixels(max_side=0)
    with pytest.raises(TypeError, match="max_side must be a positive int"):
        image.pixels(max_side=2.5)


# --------------------------------------------------------------------------
# limits and errors
# --------------------------------------------------------------------------


def test_pixel_limit_is_checked_from_the_header(tmp_path, monkeypatch):
    file = tmp_path / "wide.png"
    noise = np.random.default_rng(0).integers(0, 256, (10, 20, 3), np.uint8)
    Image.fromarray(noise).save(file)
    data = file.read_bytes()
    file.write_bytes(data[: len(data) - 200])  # header intact, pixels cut off
    monkeypatch.setattr(_images, "MAX_IMAGE_PIXELS", 150)
    with pytest.raises(ValueError, match=r"wide\.png' is 20 x 10 = 200 pixels, "
                                         "more than MAX_IMAGE_PIXELS = 150"):
        SourceImage(file)
    monkeypatch.setattr(_images, "MAX_IMAGE_PIXELS", 200)
    image = SourceImage(file)  # at the limit: accepted; the cut shows on decoding
    with pytest.raises(ValueError, match=r"could not read image .*wide\.png"):
        image.crop((9.5, 4.5), 20, 4)


def test_pillow_bomb_check_is_replaced_and_restored(tmp_path, monkeypatch):
    file = tmp_path / "a.png"
    Image.new("L", (40, 30)).save(file)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow: error > 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SourceImage(file).crop((19.5, 14.5), 40, 8).shape == (3, 8, 8)
    assert Image.MAX_IMAGE_PIXELS == 100
    monkeypatch.setattr(_images, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError, match=r"a\.png' is 40 x 30 = 1200 pixels"):
        SourceImage(file)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_missing_and_unreadable_files(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match=r"^LSP image '.*nope\.jpg' not "
                                                r"found\.$"):
        SourceImage(missing, label="LSP image")
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not an image\n" * 20)
    with pytest.raises(ValueError, match=r"could not read COCO image "
                                         r"'.*garbage\.png' \(") as info:
        SourceImage(garbage, label="COCO image")
    assert "\n" not in str(info.value)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        SourceImage(3)
    with pytest.raises(TypeError, match="as_gray must be a bool, got 1"):
        SourceImage(garbage, as_gray=1)


# --------------------------------------------------------------------------
# the loaders use the oriented image
# --------------------------------------------------------------------------


def _coco(folder, width, height, keypoints):
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": width,
                    "height": height}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                         "keypoints": keypoints}],
        "categories": [{"id": 1, "name": "person", "keypoints": ["nose"],
                        "skeleton": []}],
    }
    file = folder / "a.json"
    file.write_text(json.dumps(doc))
    return file


def test_coco_sizes_and_keypoints_refer_to_the_oriented_image(tmp_path):
    upright = np.zeros((40, 30, 3), np.uint8)  # 30 wide, 40 high as shown
    upright[9:12, 19:22] = 160
    upright[10, 20] = 255  # the nose at (20, 10)
    _save(tmp_path / "a.jpg", upright, 6, quality=95)  # stored 40 x 30
    X, y, _ = load_coco_keypoints(
        _coco(tmp_path, 30, 40, [20, 10, 2]), tmp_path, image_size=40)
    # crop="image": the 40-pixel square around the image, unscaled
    np.testing.assert_allclose(y[0], [25, 10])
    assert np.unravel_index(X[0, 0].argmax(), (40, 40)) == (10, 25)
    with pytest.raises(ValueError, match=r"'a.jpg' .*is 30 x 40 pixels as shown, "
                                         r"but its record says width 40, height "
                                         r"30, .*EXIF orientation 6"):
        load_coco_keypoints(_coco(tmp_path, 40, 30, [20, 10, 2]), tmp_path)
