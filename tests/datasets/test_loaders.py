"""Tests of the LSP / LSPET / MPII loaders on fixtures written in their formats.

Every fixture is written into ``tmp_path`` exactly as the releases store it:
``joints.mat`` (3 x 14 x n for LSP, 14 x 3 x n for LSPET) and the MPII
``RELEASE`` struct, with 1-based MATLAB pixel coordinates, and JPEG images
under ``images/``. Expected keypoints are computed here from the crop square's
edges (``u = (x - left) / side * size - 0.5``), independently of the loader.
"""

import ast
import pathlib
import sys

import numpy as np
import pytest
import scipy.io
from matplotlib.image import imsave
from PIL import Image

from sk_eglpp.datasets import MPII_TO_LSP, load_lsp, load_lspet, load_mpii
from sk_eglpp.datasets._images import crop_array

LUMA = np.array([0.299, 0.587, 0.114])


# --------------------------------------------------------------------------
# fixture writers and independent expectations
# --------------------------------------------------------------------------


def _write_jpg(file, h, w, rng, marker=None):
    """A smooth random RGB JPEG; ``marker`` (x, y) 0-based paints a white 5x5."""
    img = np.zeros((h, w, 3))
    if rng is not None:
        yy, xx = np.mgrid[0:h, 0:w]
        for c in range(3):
            fx, fy, ph = rng.uniform(0.02, 0.1, 2).tolist() + [rng.uniform(0, 6)]
            img[:, :, c] = 0.3 + 0.2 * np.sin(fx * xx + fy * yy + ph)
    if marker is not None:
        x, y = int(round(marker[0])), int(round(marker[1]))
        img[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3] = 1.0
    file.parent.mkdir(parents=True, exist_ok=True)
    imsave(file, (img * 255).round().astype(np.uint8))


def _snapshot(folder):
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def _expected_leeds(xy1, visible, occluded, margin, size):
    """Expected keypoints for one image: xy1 (14, 2) 1-based, visible (14,)."""
    xy = xy1 - 1.0
    annotated = np.isfinite(xy).all(axis=1)
    keep = annotated & (visible | (occluded == "keep"))
    frame = annotated & visible
    if frame.sum() < 2:
        frame = keep
    lo, hi = xy[frame].min(axis=0), xy[frame].max(axis=0)
    side = (hi - lo).max() * (1 + 2 * margin)
    left_top = (lo + hi) / 2 - side / 2
    out = (xy - left_top) / side * size - 0.5
    out[~keep] = np.nan
    out[((out < -0.5) | (out >= size - 0.5)).any(axis=1)] = np.nan
    return out


@pytest.fixture
def lsp_folder(tmp_path, rng):
    """Three LSP images; image 2 has occluded joints, image 3 a missing one."""
    tmp_path = tmp_path / "lsp"
    shapes = [(60, 50), (72, 90), (40, 40)]
    joints = np.zeros((3, 14, 3))
    for n, (h, w) in enumerate(shapes):
        joints[0, :, n] = rng.uniform(5, w - 5, 14)  # x, 1-based
        joints[1, :, n] = rng.uniform(5, h - 5, 14)  # y
    joints[2, [1, 6, 13], 1] = 1  # occluded (LSP: 1 = occluded)
    joints[:2, 4, 2] = np.nan  # not annotated
    for n, (h, w) in enumerate(shapes):
        _write_jpg(tmp_path / "images" / f"im{n + 1:04d}.jpg", h, w, rng)
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    return tmp_path, joints


@pytest.fixture
def lspet_folder(tmp_path, rng):
    tmp_path = tmp_path / "lspet"
    shapes = [(80, 70), (50, 100)]
    joints = np.ones((14, 3, 2))
    for n, (h, w) in enumerate(shapes):
        joints[:, 0, n] = rng.uniform(3, w - 3, 14)
        joints[:, 1, n] = rng.uniform(3, h - 3, 14)
    joints[[0, 5, 9], 2, 0] = 0  # LSPET: 0 = not visible
    joints[:, 2, 1] = 0
    joints[[2, 3], 2, 1] = 1  # only two visible joints in image 2
    for n, (h, w) in enumerate(shapes):
        _write_jpg(tmp_path / "images" / f"im{n + 1:05d}.jpg", h, w, rng)
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    return tmp_path, joints


# --------------------------------------------------------------------------
# the crop itself
# --------------------------------------------------------------------------


def _bilinear_reference(image, x, y):
    """Bilinear sample of (h, w) ``image`` at (x, y), zero outside."""
    h, w = image.shape
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    value = 0.0
    for yi, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xi, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yi < h and 0 <= xi < w:
                value += wx * wy * image[yi, xi]
    return value


def test_crop_matches_per_pixel_bilinear_loop(rng):
    image = rng.random((15, 20, 1)).astype(np.float32)
    size, centre, side = 12, np.array([17.3, 2.6]), 10.5  # partly outside
    got = crop_array(image, centre, side, size)
    k = side / size
    expected = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            x = centre[0] + (j - (size - 1) / 2) * k
            y = centre[1] + (i - (size - 1) / 2) * k
            expected[i, j] = _bilinear_reference(image[:, :, 0], x, y)
    np.testing.assert_allclose(got[0], expected, atol=1e-5)


def test_crop_outside_image_is_black_and_shrinking_preserves_mean(rng):
    image = np.full((40, 40, 3), 0.5, dtype=np.float32)
    assert not crop_array(image, np.array([200.0, 200.0]), 20.0, 8).any()
    # A uniform image shrunk 5x (with the anti-aliasing blur) stays uniform
    # away from the borders.
    out = crop_array(image, np.array([19.5, 19.5]), 40.0, 8)
    np.testing.assert_allclose(out[:, 2:-2, 2:-2], 0.5, atol=1e-3)


# --------------------------------------------------------------------------
# LSP / LSPET
# --------------------------------------------------------------------------


@pytest.mark.parametrize("occluded", ["keep", "nan"])
def test_lsp_keypoints_round_trip(lsp_folder, occluded):
    folder, joints = lsp_folder
    X, y = load_lsp(folder, image_size=32, occluded=occluded, margin=0.2)
    assert X.shape == (3, 3, 32, 32) and X.dtype == np.float32
    assert y.shape == (3, 28) and y.dtype == np.float64
    assert 0.0 <= X.min() and X.max() <= 1.0
    for n in range(3):
        expected = _expected_leeds(
            joints[:2, :, n].T, joints[2, :, n] == 0, occluded, 0.2, 32
        )
        np.testing.assert_allclose(y[n].reshape(14, 2), expected, atol=1e-9)
    kp = y.reshape(3, 14, 2)
    assert np.isnan(kp[2, 4]).all()  # not annotated
    assert np.isnan(kp[1, [1, 6, 13]]).all() == (occluded == "nan")


def test_lsp_marker_lands_on_the_mapped_keypoint(tmp_path):
    """Image content and keypoints go through the same transform."""
    h, w = 100, 80
    rng = np.random.default_rng(1)
    joints = np.zeros((3, 14, 1))
    joints[0, :, 0] = rng.uniform(15, 65, 14)
    joints[1, :, 0] = rng.uniform(15, 85, 14)
    head = joints[:2, 13, 0] - 1  # 0-based
    _write_jpg(tmp_path / "images" / "im0001.jpg", h, w, None, marker=head)
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    X, y = load_lsp(tmp_path, image_size=48, as_gray=True)
    img = X[0, 0].astype(float)
    i, j = np.unravel_index(img.argmax(), img.shape)
    patch = img[i - 2 : i + 3, j - 2 : j + 3]
    yy, xx = np.mgrid[i - 2 : i + 3, j - 2 : j + 3]
    centroid = np.array([(patch * xx).sum(), (patch * yy).sum()]) / patch.sum()
    np.testing.assert_allclose(centroid, y[0, 26:28], atol=0.5)


def test_gray_is_luma_of_rgb(lsp_folder):
    folder, _ = lsp_folder
    X_rgb, y_rgb = load_lsp(folder, image_size=24)
    X_gray, y_gray = load_lsp(folder, image_size=24, as_gray=True)
    assert X_gray.shape == (3, 1, 24, 24)
    np.testing.assert_array_equal(y_rgb, y_gray)
    np.testing.assert_allclose(
        X_gray[:, 0], np.einsum("c,nchw->nhw", LUMA, X_rgb), atol=1e-5
    )


def test_grey_jpeg_is_read_as_three_equal_channels(tmp_path):
    (tmp_path / "images").mkdir()
    grey = (np.linspace(0, 255, 30 * 30).reshape(30, 30)).astype(np.uint8)
    Image.fromarray(grey, mode="L").save(tmp_path / "images" / "im0001.jpg")
    joints = np.zeros((3, 14, 1))
    joints[0, :, 0] = np.linspace(5, 25, 14)
    joints[1, :, 0] = np.linspace(4, 26, 14)
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    X, _ = load_lsp(tmp_path, image_size=16)
    assert X.shape == (1, 3, 16, 16)
    np.testing.assert_array_equal(X[0, 0], X[0, 1])
    np.testing.assert_array_equal(X[0, 0], X[0, 2])
    assert X.max() > 0.3


@pytest.mark.parametrize("occluded", ["keep", "nan"])
def test_lspet_keypoints_round_trip(lspet_folder, occluded):
    folder, joints = lspet_folder
    X, y = load_lspet(folder, image_size=20, occluded=occluded, margin=0.1)
    assert X.shape == (2, 3, 20, 20)
    for n in range(2):
        expected = _expected_leeds(
            joints[:, :2, n], joints[:, 2, n] == 1, occluded, 0.1, 20
        )
        np.testing.assert_allclose(y[n].reshape(14, 2), expected, atol=1e-9)
    kp = y.reshape(2, 14, 2)
    if occluded == "nan":
        assert np.isnan(kp[0, [0, 5, 9]]).all()
        assert np.isfinite(kp[1, [2, 3]]).all() and np.isnan(kp[1, 4:]).all()


def test_indices_and_max_samples(lsp_folder):
    folder, _ = lsp_folder
    X, y = load_lsp(folder, image_size=16)
    X2, y2 = load_lsp(folder, image_size=16, indices=[2, 0])
    np.testing.assert_array_equal(X2, X[[2, 0]])
    np.testing.assert_array_equal(y2, y[[2, 0]])
    X3, y3 = load_lsp(folder, image_size=16, max_samples=2)
    np.testing.assert_array_equal(y3, y[:2])
    X4, _ = load_lsp(folder, image_size=16, indices=np.array([1, 2]), max_samples=1)
    np.testing.assert_array_equal(X4, X[[1]])


def test_loaders_never_write(lsp_folder, lspet_folder):
    for folder, loader in ((lsp_folder[0], load_lsp), (lspet_folder[0], load_lspet)):
        before = _snapshot(folder)
        loader(folder, image_size=16)
        with pytest.raises(ValueError):
            loader(folder, indices=[99])
        assert _snapshot(folder) == before


def test_loaders_never_write_to_their_folders_or_the_working_folder(
    lsp_folder, lspet_folder, mpii_folder, tmp_path, monkeypatch
):
    (lsp, _), (lspet, _), (mpii, _) = lsp_folder, lspet_folder, mpii_folder
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = _snapshot(tmp_path)
    outputs = [
        load_lsp(lsp, image_size=16),
        load_lspet(lspet, image_size=16),
        load_mpii(mpii, image_size=16, return_head_boxes=True),
    ]
    with pytest.raises(ValueError):
        load_mpii(mpii, indices=[5])
    assert _snapshot(tmp_path) == before
    assert list(cwd.iterdir()) == []
    for arrays, n_samples in zip(outputs, (3, 2, 2), strict=True):
        assert arrays[0].shape == (n_samples, 3, 16, 16)
        assert arrays[1].shape == (n_samples, 28) and np.isfinite(arrays[1]).any()


def test_loader_module_has_no_write_calls():
    """The loaders' source opens nothing for writing and calls no writer.

    (Tests run as root here, which ignores read-only permissions, so the
    behaviour test above is backed by this check of the source.)
    """
    modules = {loader.__module__ for loader in (load_lsp, load_lspet, load_mpii)}
    assert len(modules) == 1
    path = pathlib.Path(sys.modules[modules.pop()].__file__)
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            assert all("w" not in m and "a" not in m and "+" not in m for m in modes)
        if isinstance(node, ast.Attribute) and node.attr in (
            "write_bytes", "write_text", "mkdir", "savemat", "imsave", "unlink",
            "rename", "replace", "touch",
        ):
            pytest.fail(f"{path.name} line {node.lineno} writes: {node.attr}")


def test_lsp_and_lspet_layouts_are_told_apart(lsp_folder, tmp_path_factory):
    folder, joints = lsp_folder
    with pytest.raises(ValueError, match=r"14 x 3 x n_images .*use load_lsp\b"):
        load_lspet(folder)
    other = tmp_path_factory.mktemp("lspet")
    scipy.io.savemat(other / "joints.mat", {"joints": joints.transpose(1, 0, 2)})
    with pytest.raises(ValueError, match=r"3 x 14 x n_images .*use load_lspet"):
        load_lsp(other)


@pytest.mark.parametrize(
    "content, error, match",
    [
        (
            {"points": np.zeros((3, 14, 2))},
            ValueError,
            "must contain a variable 'joints'",
        ),
        ({"joints": np.zeros((2, 14, 2))}, ValueError, r"must have shape 3 x 14"),
        ({"joints": np.zeros((3, 13, 2))}, ValueError, r"got shape \(3, 13, 2\)"),
        ({"joints": np.array(["abc"])}, ValueError, "real numeric array"),
        ({"joints": np.zeros((3, 14, 0))}, ValueError,
         r"3 x 14 x n_images .* got shape \(3, 14, 0\)"),
        ({"joints": np.zeros((14, 3, 2))}, ValueError,
         "This is the other Leeds layout; use load_lspet"),
        ({"joints": np.array(["abc"])}, ValueError,
         "must be a real numeric array, got dtype <U3"),
        ({"joints": np.zeros((3, 14, 2)) + 1j}, ValueError,
         "must be a real numeric array, got dtype complex"),
    ],
)
def test_malformed_joints_mat(tmp_path, content, error, match):
    scipy.io.savemat(tmp_path / "joints.mat", content)
    with pytest.raises(error, match=match):
        load_lsp(tmp_path)


def test_file_errors(lsp_folder, tmp_path_factory):
    folder, _ = lsp_folder
    with pytest.raises(FileNotFoundError, match="LSP folder .* does not exist"):
        load_lsp(folder / "nowhere")
    with pytest.raises(TypeError, match=r"^load_lsp: path must be a path \(str or "):
        load_lsp(3)
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(FileNotFoundError, match=r"annotation file .*joints\.mat"):
        load_lsp(empty)
    garbage = tmp_path_factory.mktemp("garbage")
    (garbage / "joints.mat").write_bytes(b"this is not a MATLAB file" * 10)
    with pytest.raises(ValueError, match="could not read .* as a MATLAB .mat file"):
        load_lsp(garbage)
    (folder / "images" / "im0002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"LSP image .*im0002\.jpg"):
        load_lsp(folder)
    load_lsp(folder, indices=[0, 2])  # the others still load
    (folder / "images" / "im0002.jpg").write_text("not a jpeg")
    with pytest.raises(ValueError, match=r"could not read LSP image .*im0002\.jpg"):
        load_lsp(folder)


_V73_HEADER = (
    b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + b"\0" * 8 + b"\0\2IM"
)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "could not read .* as a MATLAB .mat file"),
        (b"garbage" * 20, "could not read .* as a MATLAB .mat file"),
        (_V73_HEADER + b"\0" * 512, r"MATLAB v7.3 \(HDF5\) file"),
    ],
)
@pytest.mark.parametrize("loader", (load_lsp, load_lspet))
def test_leeds_unreadable_annotation_files(tmp_path, loader, content, match):
    (tmp_path / "joints.mat").write_bytes(content)
    with pytest.raises(ValueError, match=match):
        loader(tmp_path)


def test_path_arguments(tmp_path):
    with pytest.raises(TypeError, match=r"path must be a path \(str or os.PathLike\)"):
        load_mpii(3.5)
    (tmp_path / "joints.mat").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="does not exist or is not a folder"):
        load_lsp(tmp_path / "joints.mat")
    (tmp_path / "dir.mat").mkdir()
    with pytest.raises(FileNotFoundError, match="file .*dir.mat.* not found"):
        load_mpii(tmp_path, annotation_file="dir.mat")
    with pytest.raises(TypeError, match=r"annotation_file must be a path \(str"):
        load_mpii(tmp_path, annotation_file=3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"image_size": 0}, ValueError, r"image_size must be an int in \[1, inf\)"),
        ({"image_size": 32.0}, TypeError, r"image_size must be an int .*\(float\)"),
        ({"as_gray": "yes"}, TypeError, "as_gray must be a bool"),
        ({"occluded": "drop"}, ValueError, r"occluded must be one of \['keep', "),
        ({"margin": -0.1}, ValueError, r"margin must be a finite real number in \[0"),
        ({"margin": "wide"}, TypeError, "margin must be a finite real number"),
        ({"max_samples": 0}, ValueError, r"max_samples must be an int in \[1, inf\)"),
        ({"indices": [0, 3]}, ValueError, r"indices must be in \[0, 3\) .*got \[3\]"),
        ({"indices": [-1]}, ValueError, r"indices must be in \[0, 3\)"),
        ({"indices": [0.5]}, TypeError, "indices must be integers"),
        ({"indices": [[0]]}, ValueError, "indices must be a 1-D sequence"),
        ({"indices": []}, ValueError, "no images selected"),
    ],
)
def test_invalid_parameters(lsp_folder, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_lsp(lsp_folder[0], **kwargs)


# --------------------------------------------------------------------------
# MPII
# --------------------------------------------------------------------------

POINT = [("id", "O"), ("x", "O"), ("y", "O"), ("is_visible", "O")]
RECT = [
    ("x1", "O"),
    ("y1", "O"),
    ("x2", "O"),
    ("y2", "O"),
    ("annopoints", "O"),
    ("scale", "O"),
    ("objpos", "O"),
]
EMPTY = np.zeros((0, 0))


def _rect(head, points, scale, objpos):
    annopoints = {"point": np.array(points, dtype=POINT)} if points else EMPTY
    return (*head, annopoints, scale, {"x": objpos[0], "y": objpos[1]})


def _people():
    """Per image: list of (head box, points (id, x, y, vis), scale, objpos)."""
    rng = np.random.default_rng(7)
    pts = [(j, *rng.uniform(20, 70, 2).round(2), rng.integers(0, 2)) for j in range(16)]
    pts[3] = (3, 60.0, 50.0, "1")  # string flag, as in parts of the release
    pts[5] = (5, 41.0, 42.0, EMPTY)  # empty flag: counts as visible
    del pts[11]  # r-elbow not annotated
    return [
        # image a.jpg: two people, the second with a single point
        [
            ((30.0, 10.0, 44.0, 24.0), pts, 0.3, (45.0, 45.0)),
            ((5.0, 5.0, 9.0, 9.0), [(9, 12.0, 8.0, 1)], 0.1, (12.0, 15.0)),
        ],
        # image b.jpg (a test image): a person without keypoints
        [((1.0, 1.0, 2.0, 2.0), [], 0.2, (30.0, 30.0))],
        # image c.jpg: nobody
        [],
    ]


@pytest.fixture
def mpii_folder(tmp_path, rng):
    people = _people()
    names = ["a.jpg", "b.jpg", "c.jpg"]
    annolist = np.empty(3, dtype=[("image", "O"), ("annorect", "O")])
    for i, (name, persons) in enumerate(zip(names, people, strict=True)):
        rects = np.array([_rect(*p) for p in persons], dtype=RECT) if persons else EMPTY
        if len(persons) == 1:
            rects = {f: rects[0][f] for f, _ in RECT}  # a 1x1 struct
        annolist[i] = ({"name": name}, rects)
        _write_jpg(tmp_path / "images" / name, 90, 100, rng)
    single = np.empty(3, dtype=object)
    single[:] = [np.array([[2]]), EMPTY, EMPTY]
    release = {
        "annolist": annolist,
        "img_train": np.array([1, 0, 1]),
        "single_person": single,
        "version": "12",
    }
    scipy.io.savemat(tmp_path / "mpii_human_pose_v1_u12_1.mat", {"RELEASE": release})
    return tmp_path, people


def _expected_mpii(person, size, occluded, scale_factor=1.25):
    head, points, scale, objpos = person
    side = 200 * scale * scale_factor
    left_top = np.array(objpos) - 1 - side / 2
    kp16 = np.full((16, 2), np.nan)
    vis16 = np.ones(16, bool)
    for joint, x, y, flag in points:
        kp16[joint] = (x - 1, y - 1)
        flag = float(flag) if not isinstance(flag, np.ndarray) else 1.0
        vis16[joint] = flag != 0
    out = (kp16[list(MPII_TO_LSP)] - left_top) / side * size - 0.5
    if occluded == "nan":
        out[~vis16[list(MPII_TO_LSP)]] = np.nan
    out[((out < -0.5) | (out >= size - 0.5)).any(axis=1)] = np.nan
    box = (np.array(head).reshape(2, 2) - 1 - left_top) / side * size - 0.5
    return out, box.ravel()


@pytest.mark.parametrize("occluded", ["keep", "nan"])
def test_mpii_round_trip(mpii_folder, occluded):
    folder, people = mpii_folder
    before = _snapshot(folder)
    X, y, heads = load_mpii(
        folder, image_size=32, occluded=occluded, return_head_boxes=True
    )
    assert _snapshot(folder) == before
    assert X.shape == (2, 3, 32, 32) and y.shape == (2, 28) and heads.shape == (2, 4)
    for row, person in enumerate(people[0]):
        kp, box = _expected_mpii(person, 32, occluded)
        np.testing.assert_allclose(y[row].reshape(14, 2), kp, atol=1e-9)
        np.testing.assert_allclose(heads[row], box, atol=1e-9)
    kp = y.reshape(2, 14, 2)
    assert np.isnan(kp[0, 7]).all()  # r-elbow (MPII 11) not annotated
    assert np.isfinite(kp[0, [3, 5]]).all()  # string / empty visibility flags
    assert np.isfinite(kp[1]).sum() == 2  # the single point (head top)


def test_mpii_joint_order_is_lsp():
    # ankles..hips identical, wrists..shoulders from MPII 10..15, neck = upper
    # neck (8), head top = 9; pelvis (6) and thorax (7) are dropped.
    assert MPII_TO_LSP == (0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9)


def test_mpii_subsets_and_selection(mpii_folder):
    folder, people = mpii_folder
    _, y_single = load_mpii(folder, image_size=16, single_person=True)
    _, y_all = load_mpii(folder, image_size=16)
    np.testing.assert_array_equal(y_single, y_all[[1]])
    with pytest.raises(ValueError, match="no person .* matches subset='test'"):
        load_mpii(folder, subset="test")
    X_test, y_test = load_mpii(folder, subset="test", require_keypoints=False)
    assert X_test.shape[0] == 1 and np.isnan(y_test).all()
    _, y_every = load_mpii(folder, image_size=16, subset="all", require_keypoints=False)
    assert y_every.shape[0] == 3
    _, y_one = load_mpii(folder, image_size=16, indices=[1], max_samples=1)
    np.testing.assert_array_equal(y_one, y_all[[1]])
    _, y_scaled = load_mpii(folder, image_size=16, scale_factor=2.0)
    kp, _ = _expected_mpii(people[0][0], 16, "keep", scale_factor=2.0)
    np.testing.assert_allclose(y_scaled[0].reshape(14, 2), kp, atol=1e-9)


def test_mpii_marker_at_objpos_lands_in_the_centre(tmp_path):
    _write_jpg(tmp_path / "images" / "m.jpg", 120, 90, None, marker=(40, 70))
    rect = _rect((1.0, 1.0, 2.0, 2.0), [(0, 41.0, 71.0, 1)], 0.2, (41.0, 71.0))
    annolist = np.array(
        [({"name": "m.jpg"}, {f: v for (f, _), v in zip(RECT, rect, strict=True)})],
        dtype=[("image", "O"), ("annorect", "O")],
    )
    release = {"annolist": annolist, "img_train": np.array([1])}
    scipy.io.savemat(tmp_path / "mpii_human_pose_v1_u12_1.mat", {"RELEASE": release})
    X, y = load_mpii(tmp_path, image_size=25, as_gray=True)
    assert X.shape == (1, 1, 25, 25)
    np.testing.assert_allclose(y[0, :2], [12.0, 12.0])  # the centre pixel
    assert np.unravel_index(X[0, 0].argmax(), (25, 25)) == (12, 12)


def _write_release(folder, release):
    scipy.io.savemat(folder / "mpii_human_pose_v1_u12_1.mat", release)


def test_mpii_malformed_files(mpii_folder):
    folder, people = mpii_folder
    good = scipy.io.loadmat(folder / "mpii_human_pose_v1_u12_1.mat")
    good = {k: v for k, v in good.items() if not k.startswith("__")}
    _write_release(folder, {"annotations": np.zeros(3)})
    with pytest.raises(ValueError, match="must contain the struct 'RELEASE'"):
        load_mpii(folder)
    _write_release(folder, {"RELEASE": {"img_train": np.array([1])}})
    with pytest.raises(ValueError, match="struct with a field 'annolist'"):
        load_mpii(folder)
    annolist = np.array(
        [
            (
                {"name": "a.jpg"},
                _rect((1.0, 1.0, 2.0, 2.0), [(17, 5.0, 5.0, 1)], 0.2, (5.0, 5.0)),
            )
        ],
        dtype=[("image", "O"), ("annorect", "O")],
    )
    annolist[0]["annorect"] = {
        f: v for (f, _), v in zip(RECT, annolist[0]["annorect"], strict=True)
    }
    _write_release(
        folder, {"RELEASE": {"annolist": annolist, "img_train": np.array([1])}}
    )
    with pytest.raises(ValueError, match=r"annolist\(1\).*joint id must be an integer"):
        load_mpii(folder)
    _write_release(
        folder, {"RELEASE": {"annolist": annolist, "img_train": np.array([1, 0])}}
    )
    with pytest.raises(ValueError, match=r"img_train .* one entry per image \(1\)"):
        load_mpii(folder)
    _write_release(folder, {"RELEASE": {"annolist": annolist}})
    with pytest.raises(ValueError, match="has no field 'img_train'"):
        load_mpii(folder)
    scipy.io.savemat(folder / "mpii_human_pose_v1_u12_1.mat", good)
    load_mpii(folder)  # restored
    (folder / "images" / "a.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"MPII image .*a\.jpg"):
        load_mpii(folder)
    with pytest.raises(FileNotFoundError, match="MPII annotation file"):
        load_mpii(folder, annotation_file="other.mat")


@pytest.mark.parametrize(
    "content, match",
    [
        ({"X": np.zeros(1)}, r"the struct 'RELEASE' .* got variables \['X'\]"),
        ({"RELEASE": {"foo": 1.0}}, "must be a struct with a field 'annolist'"),
        ({"RELEASE": np.zeros(3)}, "must be a struct with a field 'annolist'"),
        ({"RELEASE": {"annolist": np.array([1.0, 2.0]),
                      "img_train": np.array([1.0, 1.0])}},
         r"malformed MPII annotation .* at annolist\(1\)"),
    ],
)
def test_mpii_malformed_release(tmp_path, content, match):
    _write_release(tmp_path, content)
    with pytest.raises(ValueError, match=match):
        load_mpii(tmp_path)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"subset": "val"}, ValueError,
         r"subset must be one of \['train', 'test', 'all'\]"),
        ({"single_person": 1}, TypeError, "single_person must be a bool"),
        ({"return_head_boxes": None}, TypeError, "return_head_boxes must be a bool"),
        ({"scale_factor": 0}, ValueError, r"scale_factor must be .* in \(0, inf\)"),
        ({"scale_factor": "1"}, TypeError, "scale_factor must be a finite real number"),
        ({"annotation_file": 5}, TypeError, "annotation_file must be a path"),
        ({"indices": [2]}, ValueError, r"indices must be in \[0, 2\) \(2 people\)"),
    ],
)
def test_mpii_invalid_parameters(mpii_folder, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_mpii(mpii_folder[0], **kwargs)


def test_absurd_coordinates_stay_cheap_and_finite(lsp_folder):
    folder, joints = lsp_folder
    joints = joints.copy()
    joints[0, 0, 0] = 1e12  # a typo-sized coordinate
    scipy.io.savemat(folder / "joints.mat", {"joints": joints})
    X, y = load_lsp(folder, image_size=16)
    assert np.isfinite(X).all() and 0 <= X.min() and X.max() <= 1
    kp = y.reshape(3, 14, 2)
    assert np.isnan(kp[0, 0]).all() or np.isfinite(kp[0, 0]).all()
    # The other images are unaffected.
    np.testing.assert_array_equal(y[1:], load_lsp(folder, image_size=16)[1][1:])


def test_mpii_people_without_a_finite_position_are_skipped(tmp_path):
    _write_jpg(tmp_path / "images" / "a.jpg", 50, 50, None)
    rects = np.array(
        [
            _rect((1.0, 1.0, 2.0, 2.0), [(0, 20.0, 20.0, 1)], np.nan, (20.0, 20.0)),
            _rect((1.0, 1.0, 2.0, 2.0), [(0, 20.0, 20.0, 1)], 0.1, (np.inf, 20.0)),
            _rect((1.0, 1.0, 2.0, 2.0), [(0, 20.0, 20.0, 1)], -1.0, (20.0, 20.0)),
            _rect((1.0, 1.0, 2.0, 2.0), [(0, 20.0, 20.0, 1)], 0.1, (20.0, 20.0)),
        ],
        dtype=RECT,
    )
    annolist = np.array(
        [({"name": "a.jpg"}, rects)], dtype=[("image", "O"), ("annorect", "O")]
    )
    release = {"annolist": annolist, "img_train": np.array([1])}
    scipy.io.savemat(tmp_path / "mpii_human_pose_v1_u12_1.mat", {"RELEASE": release})
    X, y = load_mpii(tmp_path, image_size=16)
    assert X.shape[0] == 1
    np.testing.assert_allclose(y[0, :2], [7.5, 7.5])  # objpos = the joint
