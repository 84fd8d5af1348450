"""The labelling round on real photographs: LSPET, converted to COCO.

Runs when the LSPET folder (``joints.mat`` and ``images/``) is at
``shared/data/lspet`` beside the repository, and is skipped otherwise. The
keypoints are checked against ``joints.mat`` itself and against
:func:`~sk_eglpp.datasets.load_lspet`, which reads the same annotations its
own way. The converted files and the rounds go to ``tmp_path``; nothing
derived from the data set is written into the repository.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from sk_eglpp import EGLPlusPlusQuery, select_for_annotation
from sk_eglpp.datasets import leeds_to_coco, load_coco_keypoints, load_lspet
from sk_eglpp.models import HourglassRegressor

LSPET = Path(__file__).resolve().parents[3] / "shared" / "data" / "lspet"
N_ANNOTATED, N_POOL, SIZE, MARGIN = 150, 50, 32, 0.2

pytestmark = pytest.mark.skipif(
    not (LSPET / "joints.mat").is_file(),
    reason=f"the LSPET data set is not at {LSPET}",
)


@pytest.fixture(scope="module")
def lspet(tmp_path_factory):
    """200 LSPET images as COCO: 150 annotated, 50 with person boxes only.

    The boxes are the joints' tight boxes (``margin=0``), so that the round's
    person crops are those of ``load_lspet``.
    """
    out = tmp_path_factory.mktemp("lspet")
    files = leeds_to_coco(LSPET, out / "lspet.json",
                          indices=range(N_ANNOTATED + N_POOL), n_annotated=N_ANNOTATED,
                          unannotated=out / "todo.txt", person_boxes=True,
                          margin=0.0)
    joints = scipy.io.loadmat(LSPET / "joints.mat")["joints"]
    coco = json.loads(files["annotations"].read_text())
    size = {i["file_name"]: (i["width"], i["height"]) for i in coco["images"]}
    return files, joints, coco, size


def _clipped(joints, k, width, height):
    """Whether image ``k``'s visible joints leave it (its box is then clipped)."""
    xy = joints[:, :2, k] - 1
    seen = xy[joints[:, 2, k] == 1]
    return bool((seen < -0.5).any() or (seen[:, 0] >= width - 0.5).any()
                or (seen[:, 1] >= height - 0.5).any())


def test_converted_file_holds_lspet_in_full_image_pixels(lspet):
    files, joints, coco, size = lspet
    assert len(coco["images"]) == N_ANNOTATED + N_POOL
    todo = files["unannotated"].read_text().splitlines()[1:]
    assert todo == [f"im{k:05d}.jpg" for k in range(N_ANNOTATED + 1,
                                                   N_ANNOTATED + N_POOL + 1)]
    for ann in coco["annotations"][:N_ANNOTATED]:
        k = ann["image_id"] - 1
        kp = np.reshape(ann["keypoints"], (14, 3))
        visible = joints[:, 2, k] == 1
        np.testing.assert_array_equal(kp[visible, :2], joints[visible, :2, k] - 1)
        assert (kp[visible, 2] == 2).all() and (kp[~visible] == 0).all()
    for ann in coco["annotations"][N_ANNOTATED:]:  # person boxes only
        assert ann["num_keypoints"] == 0 and ann["image_id"] > N_ANNOTATED
        width, height = size[f"im{ann['image_id']:05d}.jpg"]
        x, y, w, h = ann["bbox"]
        assert 0 <= x < x + w <= width and 0 <= y < y + h <= height
    # read back cropped by the boxes: the crops of load_lspet
    n = 50
    X, y, meta = load_coco_keypoints(files["annotations"], files["images"],
                                     image_size=SIZE, crop="bbox", margin=MARGIN)
    X_ref, y_ref = load_lspet(LSPET, image_size=SIZE, margin=MARGIN,
                              occluded="nan", indices=range(n))
    same = [k for k in range(n)
            if not _clipped(joints, k, *size[meta.file_name[k]])]
    assert len(same) >= n - 3
    np.testing.assert_allclose(y[same], y_ref[same], atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(X[same], X_ref[same], atol=1e-5)


@pytest.fixture
def fits(monkeypatch):
    """The (X, y) of every fit in the test."""
    calls = []
    original_fit = HourglassRegressor.fit

    def fit(self, X, y, **kw):
        calls.append((np.array(X), np.array(y)))
        return original_fit(self, X, y, **kw)

    monkeypatch.setattr(HourglassRegressor, "fit", fit)
    return calls


@pytest.mark.parametrize("crop", ["image", "bbox"])
def test_one_round_on_real_photographs(lspet, tmp_path, fits, crop):
    files, joints, coco, size = lspet
    net = HourglassRegressor(module__n_features=8, module__n_stacks=1,
                             module__depth=1, batch_size=16, random_state=0)
    selection = select_for_annotation(
        files["images"], files["annotations"], unannotated=files["unannotated"],
        crop=crop, budget=10, image_size=SIZE, estimator=net, max_epochs=1,
        strategy=EGLPlusPlusQuery(n_neighbors=5, perplexity=3.0),
        pre_annotate=True, output_dir=tmp_path / "round", verbose=0,
    )
    # the annotated people the round trained on, against LSPET's annotations
    (_, y_fit), = fits
    names = [f"im{k:05d}.jpg" for k in range(1, N_ANNOTATED + 1)]
    assert selection.n_trained_on == len(y_fit) == N_ANNOTATED
    if crop == "bbox":  # the crops of load_lspet
        _, y_ref = load_lspet(LSPET, image_size=SIZE, margin=MARGIN,
                              occluded="nan", indices=range(N_ANNOTATED))
        same = [k for k in range(N_ANNOTATED)
                if not _clipped(joints, k, *size[names[k]])]
        np.testing.assert_allclose(y_fit[same], y_ref[same], atol=1e-9,
                                   equal_nan=True)
    else:  # the whole image padded to a square, mapped back by hand
        for k, name in enumerate(names):
            width, height = size[name]
            side = max(width, height)
            left, top = (width - side) / 2 - 0.5, (height - side) / 2 - 0.5
            back = np.c_[left + (y_fit[k, 0::2] + 0.5) * side / SIZE,
                         top + (y_fit[k, 1::2] + 0.5) * side / SIZE]
            visible = joints[:, 2, k] == 1
            found = np.isfinite(back).all(axis=1)
            assert not (found & ~visible).any()
            np.testing.assert_allclose(back[found], joints[found, :2, k] - 1,
                                       atol=1e-9)
    # the selection: unannotated images only, each with its person box
    todo = set(files["unannotated"].read_text().splitlines()[1:])
    assert len(selection) == 10 and set(selection.file_name) <= todo
    boxes = {a["image_id"]: a["bbox"] for a in coco["annotations"][N_ANNOTATED:]}
    for name, image_id, box in zip(selection.file_name, selection.image_id,
                                   selection.bbox, strict=True):
        assert image_id == int(name[2:7])
        if crop == "bbox":
            assert box.tolist() == boxes[image_id]
        else:
            assert np.isnan(box).all()
    # pre-annotations in the full image's pixels, inside it
    written = json.loads((tmp_path / "round" / "selection.json").read_text())
    by_id = {i["id"]: i for i in written["images"]}
    for row, ann in enumerate(written["annotations"]):
        image = by_id[ann["image_id"]]
        assert (image["width"], image["height"]) == size[image["file_name"]]
        kp = np.reshape(ann["keypoints"], (14, 3))
        shown = kp[:, 2] == 2
        assert shown.any()
        assert (kp[shown, :2] >= -0.5).all()
        assert (kp[shown, 0] < image["width"] - 0.5).all()
        assert (kp[shown, 1] < image["height"] - 0.5).all()
        np.testing.assert_allclose(
            kp[shown, :2], selection.keypoints[row].reshape(14, 2)[shown], atol=1e-3)
    assert (tmp_path / "round" / "contact_sheet.png").stat().st_size > 10_000
