"""COCO keypoints reading, writing and merging.

Expected crops and coordinates are computed here from the crop square's
edges (``u = (x - left) / side * size - 0.5``), and the synthetic folder is
checked against the generator's own arrays, independently of the loader.
"""

import hashlib
import json
import os
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from sk_eglpp.datasets import (
    LSP_JOINT_NAMES,
    load_coco_keypoints,
    make_pose_dataset,
    make_synthetic_coco,
    merge_coco_keypoints,
    write_coco_keypoints,
)
from sk_eglpp.datasets._images import SourceImage

NAMES = ["nose", "left_hand", "right_hand"]


def _category(cid=1, names=NAMES, name="person"):
    return {"id": cid, "name": name, "keypoints": list(names),
            "skeleton": [[1, 2], [1, 3]]}


def _png(file, h, w, marker=None, colour=False):
    """A dark image; ``marker`` (x, y) pixel indices painted white (3x3)."""
    img = np.full((h, w, 3) if colour else (h, w), 20, dtype=np.uint8)
    if marker is not None:
        x, y = marker
        img[y - 1 : y + 2, x - 1 : x + 2] = 255
    file.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(file)


def _write(file, data):
    file.write_text(json.dumps(data))
    return file


def _doc(images, annotations, categories=None):
    return {"images": images, "annotations": annotations,
            "categories": categories or [_category()]}


def _ann(aid, iid, kp, bbox=None, cid=1, **extra):
    entry = {"id": aid, "image_id": iid, "category_id": cid,
             "keypoints": [float(v) for v in np.ravel(kp)], **extra}
    if bbox is not None:
        entry["bbox"] = bbox
    return entry


def _hashes(*paths):
    out = {}
    for path in paths:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


# --------------------------------------------------------------------------
# the synthetic folder against the generator
# --------------------------------------------------------------------------


def test_synthetic_folder_matches_the_generator(tmp_path):
    files = make_synthetic_coco(tmp_path / "demo", n_images=30, n_annotated=10,
                                image_size=32, random_state=3)
    X_ref, y_ref = make_pose_dataset(30, image_size=32, random_state=3)
    X, y, meta = load_coco_keypoints(
        [files["annotations"], files["ground_truth"]], files["images"],
        image_size=32, as_gray=True,
    )
    order = [int(name[:5]) for name in meta.file_name]
    assert order == list(range(30))  # sorted by file name, all images
    # the crop of a square image at its own size is the identity
    np.testing.assert_allclose(X, np.round(X_ref * 255) / 255, atol=1e-6)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_ref))
    np.testing.assert_allclose(y, y_ref, atol=1e-3, equal_nan=True)
    assert meta.keypoint_names == list(LSP_JOINT_NAMES)
    assert len(json.loads(files["annotations"].read_text())["images"]) == 10
    # RGB reading repeats the grey channel
    X_rgb, _, _ = load_coco_keypoints(files["annotations"], files["images"],
                                      image_size=32)
    np.testing.assert_allclose(X_rgb, np.repeat(X[:10], 3, axis=1), atol=1e-6)


def test_synthetic_folder_refuses_a_used_folder(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists and is not an empty"):
        make_synthetic_coco(tmp_path / "used", n_images=5, n_annotated=2)
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
    with pytest.raises(ValueError, match=r"n_annotated .* = \[1, 4\], got 5"):
        make_synthetic_coco(tmp_path / "new", n_images=5, n_annotated=5)
    assert not (tmp_path / "new").exists()


# --------------------------------------------------------------------------
# crops and visibility
# --------------------------------------------------------------------------


def _expected(x, y, left, top, side, size):
    return (x - left) / side * size - 0.5, (y - top) / side * size - 0.5


def test_bbox_crop_maps_keypoints_and_pixels(tmp_path):
    h, w, size, margin = 60, 90, 32, 0.25
    marker = (50, 30)
    _png(tmp_path / "img" / "a.png", h, w, marker=marker, colour=True)
    box = [30.0, 10.0, 40.0, 44.0]  # continuous coordinates: x, y, w, h
    kp = [[50, 30, 2], [35, 40, 1], [0, 0, 0]]
    ann = _write(tmp_path / "a.json", _doc(
        [{"id": 7, "file_name": "a.png", "width": w, "height": h}],
        [_ann(3, 7, kp, bbox=box)],
    ))
    X, y, meta = load_coco_keypoints(ann, tmp_path / "img", image_size=size,
                                     crop="bbox", margin=margin)
    side = 44.0 * (1 + 2 * margin)
    # the square's left / top edges in pixel-centre coordinates: the box's
    # centre (its continuous centre minus half a pixel) minus half the side
    left = box[0] + box[2] / 2 - 0.5 - side / 2
    top = box[1] + box[3] / 2 - 0.5 - side / 2
    u0, v0 = _expected(50, 30, left, top, side, size)
    u1, v1 = _expected(35, 40, left, top, side, size)
    np.testing.assert_allclose(y[0, :4], [u0, v0, u1, v1], atol=1e-9)
    assert np.isnan(y[0, 4:]).all()  # v = 0
    # the white marker is where its keypoint landed
    brightest = np.unravel_index(np.argmax(X[0, 0]), X.shape[2:])
    assert abs(brightest[1] - u0) <= 1 and abs(brightest[0] - v0) <= 1
    assert meta.image_id.tolist() == [7] and meta.annotation_id.tolist() == [3]
    np.testing.assert_allclose(meta.crop[0], [49.5, 31.5, side])
    assert meta.skeleton.tolist() == [[0, 1], [0, 2]]
    # occluded="nan" drops v = 1
    _, y_nan, _ = load_coco_keypoints(ann, tmp_path / "img", image_size=size,
                                      crop="bbox", margin=margin, occluded="nan")
    assert np.isnan(y_nan[0, 2:]).all() and np.isfinite(y_nan[0, :2]).all()


def test_image_crop_pads_to_a_square(tmp_path):
    h, w, size = 40, 80, 16
    _png(tmp_path / "img" / "a.png", h, w)
    ann = _write(tmp_path / "a.json", _doc(
        [{"id": 1, "file_name": "a.png"}],
        [_ann(1, 1, [[10, 5, 2], [79, 39, 2], [40, 20, 2]])],
    ))
    X, y, meta = load_coco_keypoints(ann, tmp_path / "img", image_size=size)
    # square of side 80 centred on the image: left edge -0.5, top edge -20.5
    expected = [_expected(x, yy, -0.5, -20.5, 80.0, size)
                for x, yy in [(10, 5), (79, 39), (40, 20)]]
    np.testing.assert_allclose(y[0], np.ravel(expected), atol=1e-9)
    # the padding (outside the image) is black, the image grey
    assert X[0, :, 0].max() == 0 and X[0, :, -1].max() == 0
    np.testing.assert_allclose(X[0, :, size // 2, 2:-2], 20 / 255, atol=1e-6)
    assert meta.width.tolist() == [80] and meta.height.tolist() == [40]


# --------------------------------------------------------------------------
# writing back
# --------------------------------------------------------------------------


def test_write_inverts_the_crop(tmp_path):
    _png(tmp_path / "img" / "a.png", 50, 70)
    _png(tmp_path / "img" / "b.png", 64, 30)
    source = [[[12.0, 20.0, 2], [40.0, 30.0, 1], [0, 0, 0]],
              [[5.0, 60.0, 2], [29.0, 1.0, 2], [15.0, 30.0, 2]]]
    ann = _write(tmp_path / "a.json", _doc(
        [{"id": 4, "file_name": "a.png"}, {"id": 9, "file_name": "b.png"}],
        [_ann(11, 4, source[0], bbox=[5.0, 8.0, 40.0, 30.0]),
         _ann(12, 9, source[1])],
    ))
    for crop in ("image", "bbox"):
        X, y, meta = load_coco_keypoints(ann, tmp_path / "img", image_size=24,
                                         crop=crop)
        path = write_coco_keypoints(tmp_path / f"out-{crop}.json", meta, y,
                                    image_size=24)
        written = json.loads(path.read_text())
        assert [i["file_name"] for i in written["images"]] == ["a.png", "b.png"]
        assert [a["id"] for a in written["annotations"]] == [11, 12]
        for ann_out, ann_in in zip(written["annotations"], source, strict=True):
            got = np.reshape(ann_out["keypoints"], (-1, 3))
            ref = np.asarray(ann_in, dtype=float)
            labelled = ref[:, 2] > 0
            np.testing.assert_allclose(got[labelled, :2], ref[labelled, :2],
                                       atol=2e-3)
            assert (got[labelled, 2] == 2).all() and (got[~labelled] == 0).all()
        assert written["annotations"][0]["bbox"] == [5.0, 8.0, 40.0, 30.0]
        # a box computed from the keypoints when none was given
        assert written["annotations"][1]["bbox"] == pytest.approx(
            [5.5, 1.5, 24.0, 59.0], abs=2e-3
        )
        assert written["categories"][0]["skeleton"] == [[1, 2], [1, 3]]


def test_write_drops_points_outside_the_image_and_images_only(tmp_path):
    _png(tmp_path / "img" / "a.png", 20, 40)
    ann = _write(tmp_path / "a.json", _doc(
        [{"id": 1, "file_name": "a.png"}], [_ann(1, 1, [[1, 1, 2]] * 3)]
    ))
    _, y, meta = load_coco_keypoints(ann, tmp_path / "img", image_size=16)
    y = y.copy()
    y[0, 1] = 0.0  # row 0 of the crop: in the padding above the image
    y[0, 2:4] = np.nan
    out = json.loads(write_coco_keypoints(tmp_path / "o.json", meta, y,
                                          image_size=16).read_text())
    kp = np.reshape(out["annotations"][0]["keypoints"], (-1, 3))
    assert kp[0].tolist() == [0, 0, 0] and kp[1].tolist() == [0, 0, 0]
    assert kp[2, 2] == 2 and out["annotations"][0]["num_keypoints"] == 1
    images_only = json.loads(write_coco_keypoints(tmp_path / "i.json", meta)
                             .read_text())
    assert images_only["annotations"] == [] and len(images_only["images"]) == 1
    with pytest.raises(ValueError, match="image_size"):
        write_coco_keypoints(tmp_path / "x.json", meta, y)
    with pytest.raises(ValueError, match=r"y must have shape \(1, 6\)"):
        write_coco_keypoints(tmp_path / "x.json", meta, y[:, :4], image_size=16)
    with pytest.raises(TypeError, match="meta must be a mapping"):
        write_coco_keypoints(tmp_path / "x.json", {"image_id": [1]}, y)
    assert not (tmp_path / "x.json").exists()


# --------------------------------------------------------------------------
# several files, merging
# --------------------------------------------------------------------------


def _two_files(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        _png(tmp_path / "img" / name, 20, 20)
    first = _write(tmp_path / "first.json", _doc(
        [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        [_ann(1, 1, [[5, 5, 2]] * 3)],
    ))
    # an annotation tool's export numbering the images its own way
    second = _write(tmp_path / "second.json", _doc(
        [{"id": 1, "file_name": "b.png"}, {"id": 5, "file_name": "c.png"}],
        [_ann(1, 1, [[6, 6, 2]] * 3, cid=3), _ann(2, 5, [[7, 7, 2]] * 3, cid=3)],
        [_category(cid=3)],
    ))
    return first, second


def test_several_files_are_matched_by_file_name(tmp_path):
    first, second = _two_files(tmp_path)
    _, y, meta = load_coco_keypoints([first, second], tmp_path / "img",
                                     image_size=20)
    assert meta.file_name.tolist() == ["a.png", "b.png", "c.png"]
    assert meta.image_id.tolist() == [1, 2, 5]  # the first file's ids kept
    np.testing.assert_allclose(y[:, 0], [5, 6, 7])
    merged = json.loads(merge_coco_keypoints([first, second], tmp_path / "m.json")
                        .read_text())
    assert [i["file_name"] for i in merged["images"]] == ["a.png", "b.png", "c.png"]
    assert [a["id"] for a in merged["annotations"]] == [1, 2, 3]
    assert [a["image_id"] for a in merged["annotations"]] == [1, 2, 5]
    # keep the images of a selection only
    sel = _write(tmp_path / "sel.json", _doc([{"id": 9, "file_name": "c.png"}], []))
    subset = json.loads(merge_coco_keypoints(second, tmp_path / "s.json",
                                             images=sel).read_text())
    assert [i["file_name"] for i in subset["images"]] == ["c.png"]
    assert subset["annotations"][0]["keypoints"][:3] == [7, 7, 2]


def test_merge_refuses_to_overwrite_an_input_and_double_annotations(tmp_path):
    first, second = _two_files(tmp_path)
    before = _hashes(first, second)
    with pytest.raises(ValueError, match="is one of the inputs"):
        merge_coco_keypoints([first, second], first)
    clash = _write(tmp_path / "clash.json", _doc(
        [{"id": 1, "file_name": "a.png"}], [_ann(1, 1, [[1, 1, 2]] * 3)]
    ))
    with pytest.raises(ValueError, match="'a.png' is annotated in both"):
        load_coco_keypoints([first, clash], tmp_path / "img")
    other = _write(tmp_path / "other.json", _doc(
        [{"id": 1, "file_name": "c.png"}], [], [_category(names=["x", "y", "z"])]
    ))
    with pytest.raises(ValueError, match="describe different keypoints"):
        load_coco_keypoints([first, other], tmp_path / "img")
    missing = _write(tmp_path / "sel.json", _doc([{"id": 1, "file_name": "z.png"}],
                                                 []))
    with pytest.raises(ValueError, match=r"in none of the inputs, e.g. \['z.png'\]"):
        merge_coco_keypoints(first, tmp_path / "m.json", images=missing)
    assert _hashes(first, second) == before


# --------------------------------------------------------------------------
# bad input: a clear error naming the file and the entry
# --------------------------------------------------------------------------


def _good(tmp_path):
    _png(tmp_path / "img" / "a.png", 20, 30)
    return (
        [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
        [_ann(1, 1, [[5, 5, 2]] * 3)],
    )


@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda i, a, c: (i + [{"id": 1, "file_name": "b.png"}], a, c),
         ValueError, r"image id 1 appears twice in 'images' of .*bad.json.*"
         r"'a.png' and 'b.png'"),
        (lambda i, a, c: (i + [{"id": 2, "file_name": "a.png"}], a, c),
         ValueError, "file name 'a.png' appears twice"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 2)], c),
         ValueError, r"annotation id 1 in .*bad.json.*has 6 keypoint values; "
         r"category 'person' names 3 keypoints, so 9"),
        (lambda i, a, c: (i, [_ann(1, 4, [[5, 5, 2]] * 3)], c),
         ValueError, "refers to image id 4, which is not in"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 3]] * 3)], c),
         ValueError, r"visibility v in \{0, 1, 2\}, got v = \[3.0\]"),
        (lambda i, a, c: (i, a + [_ann(1, 1, [[5, 5, 2]] * 3)], c),
         ValueError, r"annotation id 1 appears twice in .*bad.json.*: "
         r"annotations\[0\] and annotations\[1\]"),
        # ids are unique over the file, other categories included
        (lambda i, a, c: (i, a + [_ann(1, 1, [[5, 5, 2]] * 3, cid=8)],
                          c + [{"id": 8, "name": "ball"}]),
         ValueError, r"annotation id 1 appears twice .*annotations\[0\] and "
         r"annotations\[1\]"),
        (lambda i, a, c: (i, a, c + [{"id": 1, "name": "ball"}]),
         ValueError, r"category id 1 appears twice in .*bad.json.*: "
         r"categories\[0\] and categories\[1\]"),
        # category_id: an integer naming a listed category
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, cid="1")], c),
         ValueError, r"annotation id 1 in .*bad.json.* must have an integer "
         r"'category_id', got '1'"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, cid=True)], c),
         ValueError, "must have an integer 'category_id', got True"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, cid=9)], c),
         ValueError, r"annotation id 1 in .*bad.json.* has category_id 9, which no "
         r"entry of 'categories' has \(their ids: \[1\]\)"),
        # iscrowd: 0 or 1
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, iscrowd="0")], c),
         ValueError, r"annotation id 1 in .*bad.json.* must have 'iscrowd' 0 or 1, "
         "got '0'"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, iscrowd=2)], c),
         ValueError, "must have 'iscrowd' 0 or 1, got 2"),
        # numbers out of range
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3,
                                   bbox=[1e308, 0, 1e308, 10])], c),
         ValueError, r"annotation id 1 in .*bad.json.*: bbox\[0\] must be a finite "
         r"number in \[-1e\+07, 1e\+07\], got 1e\+308"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, bbox=[0, 0, 2e7, 10])],
                          c),
         ValueError, r"bbox\[2\] must be a finite number"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, bbox="0 0 3 3")], c),
         ValueError, r"bbox must be \[x, y, width, height\], got '0 0 3 3'"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5e7, 5, 2]] + [[5, 5, 2]] * 2)], c),
         ValueError, r"annotation id 1 in .*: keypoints\[0\] must be a finite "
         "number"),
        (lambda i, a, c: (i, [{**_ann(1, 1, [[5, 5, 2]] * 3),
                               "keypoints": [5, True, 2] + [5, 5, 2] * 2}], c),
         ValueError, r"keypoints\[1\] must be a finite number .*got True"),
        (lambda i, a, c: ([{"id": 2**63, "file_name": "a.png"}], a, c),
         ValueError, r"images\[0\] in .*bad.json.* must have 'id' in "
         r"\[0, 9223372036854775807\], got 9223372036854775808"),
        (lambda i, a, c: ([{"id": -1, "file_name": "a.png"}], a, c),
         ValueError, r"images\[0\] .* must have 'id' in \[0, "),
        (lambda i, a, c: (i, [_ann(2**64, 1, [[5, 5, 2]] * 3)], c),
         ValueError, r"annotation id 18446744073709551616 in .*bad.json.* must "
         r"have 'id' in \[0, 9223372036854775807\]"),
        (lambda i, a, c: ([{"id": 1, "file_name": "a.png", "width": 0}], a, c),
         ValueError, r"images\[0\] in .*bad.json.* must have 'width' in "
         r"\[1, 10000000\], got 0"),
        (lambda i, a, c: ([{"id": 1, "file_name": "a.png", "height": 10**9}], a,
                          c),
         ValueError, r"must have 'height' in \[1, 10000000\], got 1000000000"),
        # names that leave the images folder
        (lambda i, a, c: ([{"id": 1, "file_name": "../secret.png"}], a, c),
         ValueError, r"image '../secret.png' \(images\[0\] in .*bad.json'\) has "
         "a '..' component"),
        (lambda i, a, c: ([{"id": 1, "file_name": "C:/secret.png"}], a, c),
         ValueError, r"image 'C:/secret.png' \(images\[0\] in .*\) is an "
         "absolute path"),
        (lambda i, a, c: (i + [{"id": 2, "file_name": "./a.png"}], a, c),
         ValueError, r"file name 'a.png' appears twice .*image ids 1 and 2"),
        (lambda i, a, c: (i, a + [_ann(2, 1, [[5, 5, 2]] * 3)], c),
         ValueError, r"'a.png' has several annotations \(ids 1 and 2\); "
         'crop="image"'),
        (lambda i, a, c: (i, a, c + [_category(cid=2, name="cat")]),
         ValueError, r"2 keypoint categories \['person', 'cat'\]; pass category="),
        (lambda i, a, c: (i, a, [{"id": 1, "name": "box"}]),
         ValueError, "has no keypoint category"),
        (lambda i, a, c: ([{"id": 1, "file_name": "a.png", "width": 31}], a, c),
         ValueError, r"'a.png' \(image id 1, listed in .*\) is 30 x 20 pixels, "
         "but its record says width 31"),
        (lambda i, a, c: ([{"id": 1, "file_name": "gone.png"}], a, c),
         FileNotFoundError, r"image 'gone.png' \(image id 1, listed in .*bad.json"
         r".*\) not found in"),
        (lambda i, a, c: ([{"id": "x", "file_name": "a.png"}], a, c),
         ValueError, r"images\[0\] in .*bad.json.* must have an integer 'id', "
         "got 'x'"),
        (lambda i, a, c: (i, [_ann(1, 1, [[5, 5, 2]] * 3, bbox=[1, 2, -3, 4])], c),
         ValueError, r"bbox must be \[x, y, width, height\]"),
    ],
)
def test_malformed_coco_is_reported(tmp_path, mutate, error, match):
    images, annotations = _good(tmp_path)
    images, annotations, categories = mutate(images, annotations, [_category()])
    bad = _write(tmp_path / "bad.json", _doc(images, annotations, categories))
    before = _hashes(bad, tmp_path / "img")
    with pytest.raises(error, match=match):
        load_coco_keypoints(bad, tmp_path / "img")
    assert _hashes(bad, tmp_path / "img") == before


def test_unreadable_files_are_reported(tmp_path):
    images, annotations = _good(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [\n  {"id": 1,, }]}')
    with pytest.raises(ValueError, match=r"broken.json' is not valid JSON: .* line "
                                         r"2, column"):
        load_coco_keypoints(broken, tmp_path / "img")
    listed = _write(tmp_path / "list.json", [1, 2])
    with pytest.raises(ValueError, match="must hold a JSON object"):
        load_coco_keypoints(listed, tmp_path / "img")
    (tmp_path / "img" / "a.png").write_bytes(b"not an image")
    ann = _write(tmp_path / "a.json", _doc(images, annotations))
    with pytest.raises(ValueError, match=r"could not read COCO image .*a.png.*"
                                         r"\(image id 1, listed in"):
        load_coco_keypoints(ann, tmp_path / "img")
    with pytest.raises(FileNotFoundError, match="COCO file .*nope.json.* not found"):
        load_coco_keypoints(tmp_path / "nope.json", tmp_path / "img")
    with pytest.raises(FileNotFoundError, match="images folder"):
        load_coco_keypoints(ann, tmp_path / "no-such-folder")
    with pytest.raises(TypeError, match="annotations must be a path"):
        load_coco_keypoints(3, tmp_path / "img")
    with pytest.raises(ValueError, match="crop must be one of"):
        load_coco_keypoints(ann, tmp_path / "img", crop="person")


def _write_raw(file, data, **literals):
    """JSON with ``"@name@"`` strings replaced by raw literals (``1e400``)."""
    text = json.dumps(data)
    for key, literal in literals.items():
        text = text.replace(f'"@{key}@"', literal)
    file.write_text(text)
    return file


@pytest.mark.parametrize(
    "literal, match",
    [
        ("1e400", r"keypoints\[0\] must be a finite number in \[-1e\+07, 1e\+07\], "
         "got inf"),
        ("-1e400", r"keypoints\[0\] must be a finite number .* got -inf"),
        ("NaN", r"keypoints\[0\] must be a finite number .* got nan"),
        ("9" * 400, r"keypoints\[0\] must be a finite number .* got 9999.*\.\.\. "
         r"\(400 characters\)"),
        ("9" * 5000, r"bad.json' could not be read as JSON \(ValueError: "),
    ],
)
def test_numbers_json_cannot_hold_are_refused(tmp_path, literal, match):
    images, _ = _good(tmp_path)
    ann = _ann(1, 1, [[5, 5, 2]] * 3)
    ann["keypoints"][0] = "@x@"
    bad = _write_raw(tmp_path / "bad.json", _doc(images, [ann]), x=literal)
    with pytest.raises(ValueError, match=match):
        load_coco_keypoints(bad, tmp_path / "img")
    with pytest.raises(ValueError, match=match):
        merge_coco_keypoints(bad, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_deeply_nested_json_is_refused(tmp_path):
    (tmp_path / "img").mkdir()
    deep = tmp_path / "deep.json"
    deep.write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValueError, match=r"deep.json' could not be read as JSON "
                                         r"\(RecursionError"):
        load_coco_keypoints(deep, tmp_path / "img")


def test_a_fresh_id_stays_in_int64(tmp_path):
    _png(tmp_path / "img" / "a.png", 20, 20)
    _png(tmp_path / "img" / "b.png", 20, 20)
    top = 2**63 - 1
    first = _write(tmp_path / "first.json", _doc(
        [{"id": top, "file_name": "a.png"}], [_ann(1, top, [[5, 5, 2]] * 3)]))
    second = _write(tmp_path / "second.json", _doc(
        [{"id": top, "file_name": "b.png"}], [_ann(1, top, [[6, 6, 2]] * 3)]))
    _, _, meta = load_coco_keypoints([first, second], tmp_path / "img")
    # the first file's id is kept, the collision gets an unused one
    assert meta.image_id.tolist() == [top, 0]


def test_written_json_never_holds_non_finite_numbers(tmp_path):
    _png(tmp_path / "img" / "a.png", 20, 30)
    ann = _write(tmp_path / "a.json", _doc(
        [{"id": 1, "file_name": "a.png"}], [_ann(1, 1, [[5, 5, 2]] * 3)]))
    _, y, meta = load_coco_keypoints(ann, tmp_path / "img", image_size=16)
    meta.bbox = np.array([[1e308, 0.0, 1e308, 10.0]])  # its area is inf
    with pytest.raises(ValueError, match=r"cannot write .*o.json': the content holds "
                                         "a non-finite number"):
        write_coco_keypoints(tmp_path / "o.json", meta, y, image_size=16)
    assert not (tmp_path / "o.json").exists()


def test_crowd_and_other_categories_are_skipped_and_counted(tmp_path):
    images, annotations = _good(tmp_path)
    annotations = annotations + [
        _ann(2, 1, [[0, 0, 0]] * 3, iscrowd=1),
        _ann(4, 1, [[0, 0, 0]] * 3, iscrowd=True),
        {"id": 3, "image_id": 1, "category_id": 8, "bbox": [0, 0, 3, 3]},
    ]
    categories = [_category(), {"id": 8, "name": "ball"}]
    ann = _write(tmp_path / "a.json", _doc(images, annotations, categories))
    with pytest.warns(UserWarning, match=r"^3 annotation\(s\) in .*a.json' carry no "
                      r"keypoints of category 'person' and were skipped: 1 of other "
                      r"categories, 2 crowd regions \(iscrowd 1\)\.$") as record:
        _, y, meta = load_coco_keypoints(ann, tmp_path / "img")
    assert len(record) == 1
    assert meta.annotation_id.tolist() == [1] and y.shape == (1, 6)
    assert meta.skipped == {"other_category": 1, "crowd": 2}
    # the counts stay out of what is written back
    write_coco_keypoints(tmp_path / "w.json", meta, y, image_size=64)
    with pytest.warns(UserWarning, match="^3 annotation") as record:
        merged = merge_coco_keypoints(ann, tmp_path / "m.json")
    assert len(record) == 1
    assert len(json.loads(merged.read_text())["annotations"]) == 1
    # nothing skipped: no warning
    clean = _write(tmp_path / "clean.json", _doc(*_good(tmp_path)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, meta = load_coco_keypoints(clean, tmp_path / "img")
        merge_coco_keypoints(clean, tmp_path / "m2.json")
    assert meta.skipped == {"other_category": 0, "crowd": 0}


# --------------------------------------------------------------------------
# file names: canonical, inside the images folder
# --------------------------------------------------------------------------


@pytest.mark.parametrize("exists", [True, False])
def test_names_out_of_the_images_folder_are_never_read(tmp_path, exists):
    _png(tmp_path / "img" / "a.png", 20, 20)
    (tmp_path / "private").mkdir()
    if exists:
        _png(tmp_path / "private" / "secret.png", 20, 20)
    os.symlink(tmp_path / "private" / "secret.png", tmp_path / "img" / "link.png")
    for name, match in [
        ("../private/secret.png", "has a '..' component"),
        (str(tmp_path / "private" / "secret.png"), "is an absolute path"),
        ("link.png", "resolves outside the images folder"),
    ]:
        bad = _write(tmp_path / "bad.json", _doc(
            [{"id": 1, "file_name": name}], [_ann(1, 1, [[5, 5, 2]] * 3)]))
        # the same error whether the file outside exists or not
        with pytest.raises(ValueError, match=rf"image '{re.escape(name)}' "
                           rf"\(.*\) {match}"):
            load_coco_keypoints(bad, tmp_path / "img")


def test_names_are_matched_in_their_normal_form(tmp_path):
    first, second = _two_files(tmp_path)
    dotted = _write(tmp_path / "dotted.json", _doc(
        [{"id": 1, "file_name": "./a.png"}, {"id": 2, "file_name": "b.png"}],
        [_ann(1, 1, [[5, 5, 2]] * 3)],
    ))
    _, _, meta = load_coco_keypoints(dotted, tmp_path / "img")
    assert meta.file_name.tolist() == ["a.png"]
    clash = _write(tmp_path / "clash.json", _doc(
        [{"id": 1, "file_name": "img/../a.png"}], []))
    with pytest.raises(ValueError, match="has a '..' component"):
        load_coco_keypoints([dotted, clash], tmp_path / "img")
    with pytest.raises(ValueError, match="'a.png' is annotated in both"):
        load_coco_keypoints([dotted, first], tmp_path / "img")
    # a selection spelled differently still names the inputs' images
    sel = _write(tmp_path / "sel.json", _doc([{"id": 9, "file_name": "./c.png"}],
                                             []))
    subset = json.loads(merge_coco_keypoints(second, tmp_path / "s.json",
                                             images=sel).read_text())
    assert [i["file_name"] for i in subset["images"]] == ["c.png"]


def test_images_in_a_subfolder_and_the_parent_hint(tmp_path):
    _png(tmp_path / "export" / "images" / "00000.png", 20, 20)
    ann = _write(tmp_path / "a.json", _doc(
        [{"id": 1, "file_name": "images/00000.png"}], [_ann(1, 1, [[5, 5, 2]] * 3)]))
    _, _, meta = load_coco_keypoints(ann, tmp_path / "export")
    assert meta.file_name.tolist() == ["images/00000.png"]
    with pytest.raises(FileNotFoundError, match=r"image 'images/00000.png' \(image "
                       r"id 1, listed in .*a.json'\) not found in .*images'; "
                       r".*export' holds it: pass that folder"):
        load_coco_keypoints(ann, tmp_path / "export" / "images")


# --------------------------------------------------------------------------
# a file given twice is read once
# --------------------------------------------------------------------------


def test_a_file_given_twice_is_read_once(tmp_path, monkeypatch):
    first, second = _two_files(tmp_path)
    os.symlink(first, tmp_path / "link.json")
    monkeypatch.chdir(tmp_path)
    names = [first, "first.json", "./first.json", tmp_path / "link.json"]
    _, y, meta = load_coco_keypoints(names, tmp_path / "img", crop="bbox")
    assert meta.annotation_id.tolist() == [1] and y.shape[0] == 1
    merged = json.loads(merge_coco_keypoints(names + [second],
                                             tmp_path / "m.json").read_text())
    assert len(merged["annotations"]) == 3
    assert [i["file_name"] for i in merged["images"]] == ["a.png", "b.png", "c.png"]


def test_merge_refuses_to_overwrite_the_selection(tmp_path, monkeypatch):
    first, second = _two_files(tmp_path)
    sel = _write(tmp_path / "sel.json", _doc([{"id": 9, "file_name": "c.png"}], []))
    (tmp_path / "out").mkdir()
    os.symlink(sel, tmp_path / "out" / "link.json")
    monkeypatch.chdir(tmp_path)
    before = _hashes(first, second, sel)
    for output in [sel, "./sel.json", tmp_path / "out" / ".." / "sel.json",
                   tmp_path / "out" / "link.json"]:
        with pytest.raises(ValueError, match=r"is one of the inputs \(images "
                           r".*sel.json'\)"):
            merge_coco_keypoints(second, output, images=sel)
    # spelled differently, or through a link, an input is an input
    for output in ["./first.json", tmp_path / "out" / ".." / "first.json"]:
        with pytest.raises(ValueError, match=r"is one of the inputs \(input "):
            merge_coco_keypoints([first, second], output)
    with pytest.raises(TypeError, match=r"images must be a path \(str or os.PathLike"):
        merge_coco_keypoints(second, tmp_path / "m.json", images=[sel])
    assert _hashes(first, second, sel) == before


# --------------------------------------------------------------------------
# image decoding with Pillow
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, make, grey",
    [
        ("L", lambda: np.array([[0, 255], [51, 102]], np.uint8), [0, 1, 0.2, 0.4]),
        ("I;16", lambda: np.array([[0, 65535], [13107, 26214]], np.uint16),
         [0, 1, 0.2, 0.4]),
        ("LA", lambda: np.dstack([np.array([[0, 255], [51, 102]], np.uint8),
                                  np.full((2, 2), 7, np.uint8)]),
         [0, 1, 0.2, 0.4]),
        ("RGBA", lambda: np.dstack([np.array([[0, 255], [51, 102]], np.uint8)] * 3
                                   + [np.full((2, 2), 7, np.uint8)]),
         [0, 1, 0.2, 0.4]),
    ],
)
def test_pillow_reader(tmp_path, mode, make, grey):
    file = tmp_path / "x.png"
    Image.fromarray(make()).save(file)
    with Image.open(file) as img:
        assert img.mode == mode or (mode == "I;16" and img.mode.startswith("I"))
    out = SourceImage(file, as_gray=True).pixels()[0]
    np.testing.assert_allclose(out[:, :, 0].ravel(), grey, atol=1e-6)
    rgb = SourceImage(file, as_gray=False).pixels()[0]
    assert rgb.shape == (2, 2, 3)
    np.testing.assert_allclose(rgb[:, :, 1].ravel(), grey, atol=1e-6)


def test_palette_image(tmp_path):
    file = tmp_path / "p.png"
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    Image.fromarray(rgb).convert("P").save(file)
    out = SourceImage(file, as_gray=False).pixels()[0]
    np.testing.assert_allclose(out[0, 0], [1, 0, 0], atol=1e-6)
    grey = SourceImage(file, as_gray=True).pixels()[0]
    np.testing.assert_allclose(grey[0, 0, 0], 0.299, atol=1e-6)


# --------------------------------------------------------------------------
# person boxes; LSP / LSPET as COCO
# --------------------------------------------------------------------------


def test_an_annotation_without_keypoints_is_a_person_box(tmp_path):
    _png(tmp_path / "img" / "a.png", 20, 30)
    box = {"id": 2, "image_id": 1, "category_id": 1, "bbox": [3, 4, 10, 12]}
    ann = _write(tmp_path / "a.json", _doc(
        [{"id": 1, "file_name": "a.png"}],
        [box, {**box, "id": 3, "keypoints": []}],
    ))
    _, y, meta = load_coco_keypoints(ann, tmp_path / "img", crop="bbox",
                                     image_size=8)
    assert np.isnan(y).all() and meta.annotation_id.tolist() == [2, 3]
    np.testing.assert_allclose(meta.bbox, [[3, 4, 10, 12]] * 2)


def _leeds_folder(folder, sizes, joints, layout="lspet"):
    """A fake LSP / LSPET folder: grey JPEG images with a bright spot per joint."""
    digits = 5 if layout == "lspet" else 4
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k, (h, w) in enumerate(sizes):
        pixels = rng.integers(0, 120, (h, w, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"im{k + 1:0{digits}d}.jpg")
    mat = joints if layout == "lspet" else joints.transpose(1, 0, 2)
    import scipy.io

    scipy.io.savemat(folder / "joints.mat", {"joints": mat})
    return folder


def _leeds_joints_for(sizes, flag_visible, rng, hidden=()):
    """LSPET-layout joints (14 x 3 x n, 1-based) inside each image; ``hidden``
    (image, joint) pairs get the visibility flag off and LSPET's placeholder."""
    n = len(sizes)
    joints = np.empty((14, 3, n))
    for k, (h, w) in enumerate(sizes):
        joints[:, 0, k] = rng.uniform(3, w - 3, 14) + 1
        joints[:, 1, k] = rng.uniform(3, h - 3, 14) + 1
        joints[:, 2, k] = flag_visible
    for k, j in hidden:
        joints[j, 2, k] = 1 - flag_visible
    return joints


def test_lspet_to_coco_reads_back_as_load_lspet(tmp_path):
    from sk_eglpp.datasets import leeds_to_coco, load_lspet

    sizes = [(60, 80), (50, 40), (70, 70), (45, 90)]
    joints = _leeds_joints_for(sizes, 1, np.random.default_rng(1),
                               hidden=[(0, 3), (2, 13), (2, 0)])
    joints[3, :2, 0] = (0, -26)  # LSPET's placeholders of invisible joints
    joints[13, :2, 2] = (-53, 0)
    joints[0, :2, 2] = (0, 0)
    folder = _leeds_folder(tmp_path / "lspet", sizes, joints)
    files = leeds_to_coco(folder, tmp_path / "lspet.json", margin=0.0)
    coco = json.loads(files["annotations"].read_text())
    assert [(i["width"], i["height"]) for i in coco["images"]] == [
        (w, h) for h, w in sizes]
    assert coco["categories"][0]["keypoints"] == list(LSP_JOINT_NAMES)
    # full-image pixels: joints.mat less one; hidden placeholders unlabelled
    for k, ann in enumerate(coco["annotations"]):
        kp = np.reshape(ann["keypoints"], (14, 3))
        visible = joints[:, 2, k] == 1
        np.testing.assert_array_equal(kp[visible, :2], joints[visible, :2, k] - 1)
        assert (kp[visible, 2] == 2).all() and (kp[~visible] == 0).all()
        assert ann["num_keypoints"] == visible.sum()
    # the tight box of the visible joints (margin 0): crops of load_lspet (with
    # a margin, so that no joint lies on a crop's edge, where rounding decides)
    for margin in (0.1, 0.3):
        X_ref, y_ref = load_lspet(folder, image_size=24, margin=margin,
                                  occluded="nan")
        X, y, meta = load_coco_keypoints(files["annotations"], files["images"],
                                         image_size=24, crop="bbox", margin=margin)
        assert meta.file_name.tolist() == [f"im{k:05d}.jpg" for k in range(1, 5)]
        np.testing.assert_array_equal(np.isnan(y), np.isnan(y_ref))
        np.testing.assert_allclose(y, y_ref, atol=1e-9, equal_nan=True)
        np.testing.assert_allclose(X, X_ref, atol=1e-5)


def test_lsp_to_coco_keeps_occluded_joints_as_labelled(tmp_path):
    from sk_eglpp.datasets import leeds_to_coco, load_lsp

    sizes = [(60, 80), (50, 40)]
    # LSP: the third row is 1 for an occluded joint, whose position is estimated
    joints = _leeds_joints_for(sizes, 0, np.random.default_rng(2),
                               hidden=[(0, 5), (1, 7), (1, 8)])
    folder = _leeds_folder(tmp_path / "lsp", sizes, joints, layout="lsp")
    files = leeds_to_coco(folder, tmp_path / "lsp.json", dataset="lsp",
                          margin=0.0)
    coco = json.loads(files["annotations"].read_text())
    kp = np.reshape(coco["annotations"][1]["keypoints"], (14, 3))
    assert kp[7, 2] == kp[8, 2] == 1 and kp[0, 2] == 2
    np.testing.assert_array_equal(kp[:, :2], joints[:, :2, 1] - 1)
    X_ref, y_ref = load_lsp(folder, image_size=16, occluded="keep")
    X, y, _ = load_coco_keypoints(files["annotations"], files["images"],
                                  image_size=16, crop="bbox")
    np.testing.assert_allclose(y, y_ref, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(X, X_ref, atol=1e-5)


def test_leeds_to_coco_boxes_first_annotated_and_the_list(tmp_path):
    from sk_eglpp.datasets import leeds_to_coco

    sizes = [(48, 60), (40, 40), (40, 40)]
    joints = _leeds_joints_for(sizes, 1, np.random.default_rng(3))
    # image 1: visible joints span x 10..50, y 5..45 (0-based); one joint hidden
    joints[:, 0, 0] = np.linspace(10, 50, 14) + 1
    joints[:, 1, 0] = np.linspace(45, 5, 14) + 1
    joints[6, :2, 0] = (-30, 0)
    joints[6, 2, 0] = 0
    folder = _leeds_folder(tmp_path / "lspet", sizes, joints)
    files = leeds_to_coco(folder, tmp_path / "out" / "lspet.json",
                          indices=[2, 0, 1], n_annotated=1,
                          unannotated=tmp_path / "todo.txt", person_boxes=True)
    assert files["images"] == folder / "images"
    coco = json.loads(files["annotations"].read_text())
    assert [i["id"] for i in coco["images"]] == [3, 1, 2]
    assert [a["image_id"] for a in coco["annotations"]] == [3, 1, 2]
    labelled = [a["num_keypoints"] for a in coco["annotations"]]
    assert labelled == [14, 0, 0]  # the first only; then person boxes
    assert all(set(a["keypoints"]) == {0} for a in coco["annotations"][1:])
    # extent 40, margin 0.1: 4 px more per side; pixel edges half a pixel out;
    # the bottom edge clipped to the image's 48 rows
    assert coco["annotations"][1]["bbox"] == pytest.approx([6.5, 1.5, 48.0, 46.5])
    assert coco["annotations"][1]["area"] == pytest.approx(48.0 * 46.5)
    lines = files["unannotated"].read_text().splitlines()
    assert lines[0].startswith("#") and lines[1:] == ["im00001.jpg", "im00002.jpg"]
    # read back: two person boxes without keypoints, one annotated person
    _, y, meta = load_coco_keypoints(files["annotations"], files["images"],
                                     crop="bbox", image_size=8)
    assert np.isfinite(y[meta.file_name == "im00003.jpg"]).any()
    assert np.isnan(y[meta.file_name != "im00003.jpg"]).all()
    # a second call replaces what the first wrote
    again = leeds_to_coco(folder, files["annotations"], indices=[0],
                          unannotated=files["unannotated"])
    assert len(json.loads(again["annotations"].read_text())["images"]) == 1
    assert again["unannotated"].read_text().splitlines()[1:] == []


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(dataset="mpii"), ValueError,
         r"leeds_to_coco: dataset must be one of \['lsp', 'lspet'\], got 'mpii'"),
        (dict(n_annotated=3), ValueError,
         r"n_annotated must be in \[0, 2\] \(the number of images listed\), got 3"),
        (dict(n_annotated=1.0), TypeError, "n_annotated must be an int"),
        (dict(margin=-0.1), ValueError, "margin must be a finite real number in"),
        (dict(person_boxes="yes"), TypeError, "person_boxes must be a bool"),
        (dict(indices=[0, 0]), ValueError, "indices must list each image once, "
         "got 0 2 times"),
        (dict(indices=[5]), ValueError, r"indices must be in \[0, 2\)"),
        (dict(dataset="lsp"), ValueError, "This is the other Leeds layout"),
        (dict(unannotated="out.json"), ValueError,
         "output and unannotated name one file"),
        (dict(unannotated=3), TypeError, "unannotated must be a path"),
    ],
)
def test_leeds_to_coco_bad_input(tmp_path, monkeypatch, kwargs, error, match):
    from sk_eglpp.datasets import leeds_to_coco

    monkeypatch.chdir(tmp_path)
    sizes = [(20, 20), (20, 20)]
    folder = _leeds_folder(tmp_path / "lspet", sizes,
                           _leeds_joints_for(sizes, 1, np.random.default_rng(4)))
    before = _hashes(folder)
    with pytest.raises(error, match=match):
        leeds_to_coco(folder, "out.json", **kwargs)
    assert not (tmp_path / "out.json").exists() and _hashes(folder) == before


def test_leeds_to_coco_never_replaces_a_file_it_did_not_write(tmp_path):
    from sk_eglpp.datasets import leeds_to_coco

    sizes = [(20, 20)]
    folder = _leeds_folder(tmp_path / "lspet", sizes,
                           _leeds_joints_for(sizes, 1, np.random.default_rng(5)))
    mine = _write(tmp_path / "mine.json", _doc([], []))
    notes = tmp_path / "notes.txt"
    notes.write_text("im00001.jpg\n")
    before = _hashes(mine, notes, folder)
    with pytest.raises(ValueError, match=r"output '.*mine.json' exists and was not "
                                         "written by leeds_to_coco"):
        leeds_to_coco(folder, mine)
    with pytest.raises(ValueError, match="unannotated .*notes.txt' exists"):
        leeds_to_coco(folder, tmp_path / "new.json", unannotated=notes)
    with pytest.raises(ValueError, match="exists and was not written"):
        leeds_to_coco(folder, folder / "joints.mat")
    (tmp_path / "link.json").symlink_to(mine)
    with pytest.raises(ValueError, match="exists and was not written"):
        leeds_to_coco(folder, tmp_path / "link.json")
    assert _hashes(mine, notes, folder) == before
    assert not (tmp_path / "new.json").exists()
