"""The annotation round: ``select_for_annotation`` and ``sk-eglpp select``.

Two full rounds run through the CLI on a synthetic folder; the ranking is
checked against the strategy's own scores on independently loaded data, and
the pre-annotations against the model's predictions.
"""

import csv
import hashlib
import json

import numpy as np
import pytest
from sklearn.base import clone

from sk_eglpp import (
    CoreSetQuery,
    EGLPlusPlusQuery,
    RandomQuery,
    select_for_annotation,
)
from sk_eglpp.cli import main
from sk_eglpp.datasets import load_coco_keypoints, make_synthetic_coco
from sk_eglpp.datasets._images import SourceImage
from sk_eglpp.models import HourglassRegressor

SIZE = 32
EPOCHS = 2


def _hashes(*paths):
    out = {}
    for path in paths:
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file():
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _select_args(files, out, *extra):
    return ["select", str(files["images"]), str(files["annotations"]), *extra,
            "--budget", "8", "--output-dir", str(out), "--image-size", str(SIZE),
            "--gray", "--epochs", str(EPOCHS), "--no-progress"]


def _labelled_and_pool(files):
    """The annotated images and the pool (file names, images), read independently."""
    X_lab, y_lab, _ = load_coco_keypoints(files["annotations"], files["images"],
                                          image_size=SIZE, as_gray=True)
    gt = json.loads(files["ground_truth"].read_text())
    pool = sorted(i["file_name"] for i in gt["images"])
    X_pool = np.stack([
        SourceImage(files["images"] / name, as_gray=True).pixels()[0].transpose(2, 0, 1)
        for name in pool
    ])
    return X_lab, y_lab, pool, X_pool


# the default EGL++ lowers its perplexity for the few labelled images, and says so
@pytest.mark.filterwarnings("ignore:perplexity=20 is not well below")
def test_two_rounds_through_the_cli(demo, tmp_path, capsys):
    root, files = demo
    before = _hashes(files["images"], files["annotations"], files["ground_truth"])
    r1, r2 = tmp_path / "round-1", tmp_path / "round-2"
    assert main(_select_args(files, r1, "--pre-annotate")) == 0
    printed = capsys.readouterr().out
    assert "8 images selected with egl_pp by a model trained on 30" in printed

    annotated = {i["file_name"] for i in
                 json.loads(files["annotations"].read_text())["images"]}
    rows = _rows(r1 / "selection.csv")
    assert [r["rank"] for r in rows] == [str(k) for k in range(1, 9)]
    picked = [r["file_name"] for r in rows]
    assert len(set(picked)) == 8 and not set(picked) & annotated
    utilities = [float(r["utility"]) for r in rows]
    assert utilities == sorted(utilities, reverse=True)
    coco = json.loads((r1 / "selection.json").read_text())
    assert [i["file_name"] for i in coco["images"]] == picked
    assert [str(i["id"]) for i in coco["images"]] == [r["image_id"] for r in rows]
    assert len(coco["annotations"]) == 8  # --pre-annotate
    assert (r1 / "contact_sheet.png").stat().st_size > 1000
    info1 = json.loads((r1 / "model" / "model.json").read_text())
    assert sorted(info1["trained_on"]) == sorted(annotated)
    assert info1["epochs"] == EPOCHS

    # "annotate" the selection with the ground truth, then round 2
    batch = tmp_path / "batch-1.json"
    assert main(["merge-coco", str(batch), str(files["ground_truth"]),
                 "--images", str(r1 / "selection.json")]) == 0
    assert main(_select_args(files, r2, str(batch), "--model", str(r1))) == 0
    printed = capsys.readouterr().out
    assert "trained on 38 annotated images" in printed
    info2 = json.loads((r2 / "model" / "model.json").read_text())
    assert sorted(info2["trained_on"]) == sorted(annotated | set(picked))
    # round 2 went on training round 1's model: its history continues round 1's
    history1 = json.loads((r1 / "model" / "history.json").read_text())
    history2 = json.loads((r2 / "model" / "history.json").read_text())
    assert info2["epochs"] == len(history2) == 2 * EPOCHS
    assert [h["train_loss"] for h in history2[:EPOCHS]] == [
        h["train_loss"] for h in history1
    ]
    picked2 = [r["file_name"] for r in _rows(r2 / "selection.csv")]
    assert not set(picked2) & (annotated | set(picked))
    # without --pre-annotate the selection lists images only
    assert json.loads((r2 / "selection.json").read_text())["annotations"] == []
    # nothing given was modified
    assert _hashes(files["images"], files["annotations"],
                   files["ground_truth"]) == before


def test_ranking_and_pre_annotations_match_the_strategy(demo, tmp_path):
    _, files = demo
    strategy = EGLPlusPlusQuery(n_neighbors=10, perplexity=5.0)
    selection = select_for_annotation(
        files["images"], files["annotations"], budget=6, image_size=SIZE,
        as_gray=True, max_epochs=EPOCHS, strategy=strategy, pre_annotate=True,
        output_dir=tmp_path / "r", verbose=0,
    )
    X_lab, y_lab, pool, X_pool = _labelled_and_pool(files)
    scores = strategy.score(selection.estimator, X_pool, X_labelled=X_lab,
                            y_labelled=y_lab)
    top = np.argsort(-scores, kind="stable")[:6]
    assert selection.file_name.tolist() == [pool[i] for i in top]
    np.testing.assert_allclose(selection.utility, scores[top], rtol=1e-6)
    # square images at the network's size: the crop is the identity, so the
    # pre-annotations are the model's predictions themselves
    predicted = selection.estimator.predict(X_pool[top])
    np.testing.assert_allclose(selection.keypoints, predicted, atol=1e-4)
    written = json.loads((tmp_path / "r" / "selection.json").read_text())
    for ann, pred in zip(written["annotations"], predicted, strict=True):
        kp = np.reshape(ann["keypoints"], (-1, 3))
        inside = (kp[:, 2] == 2)
        np.testing.assert_allclose(kp[inside, :2], pred.reshape(-1, 2)[inside],
                                   atol=2e-3)
    assert selection.to_records()[0]["rank"] == 1
    assert "AnnotationSelection: 6 images, model trained on 30" in repr(selection)


@pytest.mark.parametrize("strategy", [
    CoreSetQuery(),
    EGLPlusPlusQuery(n_neighbors=10, perplexity=5.0, batch="diverse"),
], ids=["coreset", "egl_pp-diverse"])
def test_utility_column_is_the_strategys_score_of_the_selected_rows(demo, tmp_path,
                                                                  strategy):
    """The utilities are the pool-wide scores the strategy returns with its
    selection, read at the selected rows: for k-center greedy, the distance
    to the labelled set; for a batch mode, the score before the pick."""
    _, files = demo
    out = tmp_path / "r"
    selection = select_for_annotation(
        files["images"], files["annotations"], budget=6, image_size=SIZE,
        as_gray=True, max_epochs=1, strategy=strategy, output_dir=out, verbose=0,
    )
    X_lab, y_lab, pool, X_pool = _labelled_and_pool(files)
    scores = clone(strategy).score(selection.estimator, X_pool, X_labelled=X_lab,
                                   y_labelled=y_lab)
    rows = [pool.index(name) for name in selection.file_name]
    np.testing.assert_allclose(selection.utility, scores[rows], rtol=1e-6)
    assert [float(r["utility"]) for r in _rows(out / "selection.csv")] == \
        selection.utility.tolist()


@pytest.mark.filterwarnings("ignore:perplexity=20 is not well below")
def test_batch_mode_through_the_cli_and_the_library(demo, tmp_path, capsys):
    _, files = demo
    out = tmp_path / "r"
    assert main(_select_args(files, out, "--batch", "diverse")) == 0
    assert "8 images selected with egl_pp (batch diverse)" in capsys.readouterr().out
    picked = [r["file_name"] for r in _rows(out / "selection.csv")]
    # the library with the same strategy object reuses the round's model
    strategy = EGLPlusPlusQuery(batch="diverse")
    selection = select_for_annotation(
        files["images"], files["annotations"], budget=8, image_size=SIZE,
        as_gray=True, max_epochs=EPOCHS, strategy=strategy, output_dir=out,
        overwrite=True, verbose=0,
    )
    assert selection.file_name.tolist() == picked
    X_lab, y_lab, pool, X_pool = _labelled_and_pool(files)
    idx = EGLPlusPlusQuery(batch="diverse").select(
        selection.estimator, X_pool, 8, X_labelled=X_lab, y_labelled=y_lab
    )
    assert picked == [pool[i] for i in idx]
    from sk_eglpp.cli import build_parser
    from sk_eglpp.query import BATCH_MODES

    select = build_parser()._subparsers._group_actions[0].choices["select"]
    batch = next(a for a in select._actions if a.dest == "batch")
    assert tuple(batch.choices) == BATCH_MODES
    # batch modes are for the score-ranking strategies only
    with pytest.raises(SystemExit) as exc:
        main(_select_args(files, tmp_path / "c", "--batch", "kmeans++",
                          "--strategy", "coreset"))
    assert exc.value.code == 2
    assert "--batch kmeans++ applies to strategies that rank scores (egl_pp), not " \
        "to coreset" in capsys.readouterr().err


def test_rerun_resumes_from_the_saved_model(demo, tmp_path, monkeypatch):
    _, files = demo
    out = tmp_path / "r"
    kwargs = dict(budget=4, image_size=SIZE, as_gray=True, max_epochs=EPOCHS,
                  strategy="random_query", output_dir=out, verbose=0)
    calls = []
    original_fit = HourglassRegressor.fit

    def counting_fit(self, *args, **kw):
        calls.append(1)
        return original_fit(self, *args, **kw)

    monkeypatch.setattr(HourglassRegressor, "fit", counting_fit)

    # interrupted while scoring, after the model was saved
    def interrupt(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(RandomQuery, "_query", interrupt)
    with pytest.raises(KeyboardInterrupt):
        select_for_annotation(files["images"], files["annotations"], **kwargs)
    assert calls == [1] and (out / "model" / "module.pt").is_file()
    assert not (out / "selection.csv").exists()
    params = (out / "model" / "module.pt").read_bytes()
    monkeypatch.undo()
    monkeypatch.setattr(HourglassRegressor, "fit", counting_fit)
    first = select_for_annotation(files["images"], files["annotations"], **kwargs)
    assert calls == [1]  # the saved model was reused, not retrained
    assert (out / "model" / "module.pt").read_bytes() == params
    again = select_for_annotation(files["images"], files["annotations"], **kwargs)
    assert calls == [1]
    assert again.file_name.tolist() == first.file_name.tolist()
    # other settings in the same folder: refused, unless overwrite
    with pytest.raises(ValueError, match="holds a round with other inputs"):
        select_for_annotation(files["images"], files["annotations"],
                              **{**kwargs, "budget": 5})
    replaced = select_for_annotation(files["images"], files["annotations"],
                                     **{**kwargs, "budget": 5}, overwrite=True)
    assert len(replaced) == 5 and calls == [1]  # the same model: not retrained
    assert len(_rows(out / "selection.csv")) == 5
    # another model (more epochs) in the same folder is trained afresh
    select_for_annotation(files["images"], files["annotations"],
                          **{**kwargs, "max_epochs": EPOCHS + 1}, overwrite=True)
    assert calls == [1, 1]
    assert len(json.loads((out / "model" / "history.json").read_text())) == 3


def test_unannotated_list(demo, tmp_path):
    _, files = demo
    gt = json.loads(files["ground_truth"].read_text())
    some = sorted(i["file_name"] for i in gt["images"])[:5]
    listing = tmp_path / "todo.txt"
    listing.write_text("# to do\n" + "\n".join(some) + "\n\n")
    selection = select_for_annotation(
        files["images"], files["annotations"], unannotated=listing, budget=5,
        image_size=SIZE, as_gray=True, max_epochs=1, strategy="random_query",
        output_dir=tmp_path / "r", verbose=0,
    )
    assert sorted(selection.file_name.tolist()) == some


@pytest.mark.parametrize(
    "change, error, match",
    [
        (dict(budget=41), ValueError,
         r"budget must be in \[1, 40\] \(the number of unannotated images\), got 41"),
        (dict(unannotated=[]), ValueError, "no unannotated images: unannotated "
         "lists none"),
        (dict(unannotated=["00000.png"]), ValueError,
         r"lists '00000.png' \(unannotated\[0\]\), which is annotated in "
         ".*annotations.json"),
        (dict(unannotated=["00040.png", "00040.png"]), ValueError, "twice"),
        (dict(unannotated=["missing.png"], budget=1), FileNotFoundError,
         "image 'missing.png' not found in"),
        (dict(strategy="best"), ValueError, "unknown strategy 'best'"),
        (dict(strategy="egl_linear"), ValueError,
         "strategy .egl_linear. scores linear"),
        (dict(image_size=36), ValueError, "image_size must be a multiple of 8"),
        (dict(budget=0), ValueError, r"select_for_annotation: budget must be an "
         r"int in \[1, inf\), got 0 \(int\)"),
        (dict(n_threads=0), ValueError, r"n_threads must be an int in \[1, inf\)"),
        (dict(n_threads=1.5), TypeError, "n_threads must be"),
        (dict(previous="nowhere"), FileNotFoundError,
         "no model of a previous round in 'nowhere'"),
    ],
)
def test_bad_input(demo, tmp_path, change, error, match):
    _, files = demo
    before = _hashes(files["images"], files["annotations"])
    kwargs = dict(budget=3, image_size=SIZE, as_gray=True, max_epochs=1,
                  output_dir=tmp_path / "r", verbose=0)
    with pytest.raises(error, match=match):
        select_for_annotation(files["images"], files["annotations"],
                              **{**kwargs, **change})
    assert _hashes(files["images"], files["annotations"]) == before


def test_everything_annotated_and_previous_rounds(demo, tmp_path, capsys):
    _, files = demo
    with pytest.raises(ValueError, match="no unannotated images: every image file"):
        select_for_annotation(files["images"],
                              [files["annotations"], files["ground_truth"]],
                              budget=1, output_dir=tmp_path / "x", verbose=0)
    r1 = tmp_path / "r1"
    select_for_annotation(files["images"], files["annotations"], budget=2,
                          image_size=SIZE, as_gray=True, max_epochs=1,
                          strategy="random_query", output_dir=r1, verbose=0)
    with pytest.raises(ValueError, match="image_size=64 differs from the previous "
                                         "round's 32"):
        select_for_annotation(files["images"], files["annotations"], budget=2,
                              image_size=64, previous=r1,
                              output_dir=tmp_path / "r2", verbose=0)
    with pytest.raises(ValueError, match="is the previous round; write the round"):
        select_for_annotation(files["images"], files["annotations"], budget=2,
                              previous=r1, output_dir=r1, verbose=0)
    other = HourglassRegressor(module__n_features=8, module__depth=1,
                               module__n_joints=14, module__in_channels=1)
    with pytest.raises(ValueError, match="network differs from the previous "
                                         r"round's model in \['module__depth'"):
        select_for_annotation(files["images"], files["annotations"], budget=2,
                              previous=r1, estimator=other,
                              output_dir=tmp_path / "r3", verbose=0)
    # the CLI reports the same errors in one line, with status 1
    status = main(_select_args(files, tmp_path / "r4", "--model", str(r1))
                  + ["--image-size", "64"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("sk-eglpp select: error: image_size=64 differs")
    assert err.count("\n") == 1


def test_make_synthetic_command(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["make-synthetic", str(out), "--images", "12", "--annotated", "4",
                 "--image-size", "16"]) == 0
    assert "wrote 12 images" in capsys.readouterr().out
    assert len(list((out / "images").iterdir())) == 12
    assert main(["make-synthetic", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_ctrl_c_while_training_saves_no_model(demo, tmp_path):
    """skorch's fit swallows Ctrl-C; the round must not save a model cut short."""
    import os
    import signal

    from skorch.callbacks import Callback

    class CtrlC(Callback):
        def on_epoch_end(self, net, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)

    _, files = demo
    net = HourglassRegressor(module__n_features=8, module__depth=1,
                             max_epochs=3, callbacks=[("ctrl_c", CtrlC())])
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        select_for_annotation(files["images"], files["annotations"], budget=2,
                              image_size=SIZE, as_gray=True, max_epochs=3,
                              estimator=net, strategy="random_query",
                              output_dir=out, verbose=0)
    assert not (out / "model").exists() and not (out / "selection.csv").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_pool_images_are_checked_against_their_records(demo, tmp_path):
    _, files = demo
    coco = json.loads(files["annotations"].read_text())
    coco["images"].append({"id": 999, "file_name": "00040.png", "width": 99,
                           "height": SIZE})
    listed = tmp_path / "listed.json"
    listed.write_text(json.dumps(coco))
    with pytest.raises(ValueError, match=r"'00040.png' \(image id 999, listed in "
                                         r".*listed.json'\) is 32 x 32 pixels, but "
                                         "its record says width 99"):
        select_for_annotation(files["images"], listed, budget=1, image_size=SIZE,
                              as_gray=True, max_epochs=1, output_dir=tmp_path / "r",
                              verbose=0)
    assert not (tmp_path / "r").exists()  # refused before anything was written


# -- the output folder owns only its own files ------------------------------------

ROUND = dict(budget=2, image_size=SIZE, as_gray=True, max_epochs=1,
             strategy="random_query", verbose=0)


def _round(files, out, **change):
    return select_for_annotation(files["images"], files["annotations"],
                                 **{**ROUND, "output_dir": out, **change})


def test_a_model_folder_that_is_not_the_rounds_is_never_replaced(demo, tmp_path,
                                                                   monkeypatch):
    _, files = demo
    # the user's images live in <out>/model: refused before anything is trained
    out = tmp_path / "out"
    (out / "model").mkdir(parents=True)
    (out / "model" / "photo.png").write_bytes(b"user's image")
    (out / "model" / "model.json").write_text("{}")
    fits = []
    monkeypatch.setattr(HourglassRegressor, "fit", lambda *a, **k: fits.append(1))
    with pytest.raises(ValueError, match=r"no round.json: they were not written by "
                                         "a round of sk_eglpp"):
        _round(files, out)
    monkeypatch.undo()
    assert fits == [] and (out / "model" / "photo.png").read_bytes() == b"user's image"
    # a round's own model folder with a file of the user's in it: not replaced
    ours = tmp_path / "ours"
    _round(files, ours)
    (ours / "model" / "my_weights.bin").write_bytes(b"mine")
    with pytest.raises(ValueError, match=r"holds files that no round wrote "
                                         r"\(my_weights.bin\)"):
        _round(files, ours, max_epochs=2, overwrite=True)
    assert (ours / "model" / "my_weights.bin").read_bytes() == b"mine"
    # a symbolic link as model/: refused before training, the target untouched
    linked = tmp_path / "linked"
    _round(files, linked)
    target = tmp_path / "elsewhere"
    (linked / "model").rename(target)
    (linked / "model").symlink_to(target, target_is_directory=True)
    monkeypatch.setattr(HourglassRegressor, "fit", lambda *a, **k: fits.append(1))
    with pytest.raises(ValueError, match="is a symbolic link, not the model folder"):
        _round(files, linked, max_epochs=2, overwrite=True)
    assert fits == [] and (target / "module.pt").is_file()


@pytest.mark.parametrize("where", ["annotations", "unannotated", "images",
                                   "inside_images"])
def test_an_output_that_is_or_holds_an_input_is_refused(demo, tmp_path, where):
    _, files = demo
    out = tmp_path / "out"
    out.mkdir()
    annotations, unannotated, images = files["annotations"], None, files["images"]
    if where == "annotations":  # the user keeps the annotations at out/selection.json
        annotations = out / "selection.json"
        annotations.write_bytes(files["annotations"].read_bytes())
    elif where == "unannotated":
        unannotated = out / "selection.csv"
        unannotated.write_text("00040.png\n00041.png\n")
    elif where == "images":  # the images live in out/model
        images = out / "model"
        images.symlink_to(files["images"], target_is_directory=True)
    else:
        out = files["images"] / "round"
    before = _hashes(tmp_path, files["images"], files["annotations"])
    with pytest.raises(ValueError, match=r"the round's \S+ (is|contains|lies inside) "
                                         "the .*; choose an output folder apart"):
        select_for_annotation(images, annotations, unannotated=unannotated,
                              **{**ROUND, "output_dir": out})
    assert _hashes(tmp_path, files["images"], files["annotations"]) == before
    assert not (files["images"] / "round").exists()


def test_names_stay_inside_the_images_folder(demo, tmp_path):
    _, files = demo
    secret = tmp_path / "secret.png"
    secret.write_bytes(files["images"].joinpath("00040.png").read_bytes())
    for name in ("../secret.png", str(secret)):
        with pytest.raises(ValueError, match="unannotated\\[0\\]"):
            _round(files, tmp_path / "r", unannotated=[name, "00041.png"])
    # ./00000.png is the annotated 00000.png, not a new image
    with pytest.raises(ValueError, match="lists '00000.png' .* which is annotated"):
        _round(files, tmp_path / "r", unannotated=["./00000.png"])
    assert not (tmp_path / "r").exists()


def test_one_round_at_a_time_per_folder(demo, tmp_path, capsys):
    from sk_eglpp._files import FolderLock
    from sk_eglpp.simulation import OutputDirInUseError

    _, files = demo
    out = tmp_path / "r"
    out.mkdir()
    with FolderLock(out, "round"):
        with pytest.raises(OutputDirInUseError, match="is in use by another round"):
            _round(files, out)
        assert main(_select_args(files, out)) == 1
    err = capsys.readouterr().err
    assert err.startswith("sk-eglpp select: error: output_dir") and err.count("\n") == 1
    assert sorted(p.name for p in out.iterdir()) == ["lock"]


def test_threads_are_set_for_the_whole_round_and_recorded(demo, tmp_path,
                                                          monkeypatch):
    import torch

    _, files = demo
    seen = []
    original = RandomQuery._query

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RandomQuery, "_query", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _round(files, tmp_path / "r", n_threads=1)
        assert seen == [1] and torch.get_num_threads() == 2
        assert main(_select_args(files, tmp_path / "c", "--strategy", "random_query",
                                 "--threads", "3")) == 0
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 3]
    assert json.loads((tmp_path / "r" / "round.json").read_text())["n_threads"] == 1
    assert json.loads((tmp_path / "c" / "round.json").read_text())["n_threads"] == 3


def test_image_ids_are_stable_from_round_to_round(demo, tmp_path):
    _, files = demo
    r1, r2 = tmp_path / "r1", tmp_path / "r2"
    first = _round(files, r1, budget=4)
    batch = tmp_path / "batch.json"
    assert main(["merge-coco", str(batch), str(files["ground_truth"]),
                 "--images", str(r1 / "selection.json")]) == 0
    # the annotation tool renumbered the images of the batch it exports
    coco = json.loads(batch.read_text())
    renumber = {i["id"]: 5000 + k for k, i in enumerate(coco["images"])}
    for image in coco["images"]:
        image["id"] = renumber[image["id"]]
    for ann in coco["annotations"]:
        ann["image_id"] = renumber[ann["image_id"]]
    batch.write_text(json.dumps(coco))
    select_for_annotation(files["images"], [files["annotations"], batch],
                          previous=r1, **{**ROUND, "output_dir": r2})
    ids1 = json.loads((r1 / "round.json").read_text())["image_ids"]
    ids2 = json.loads((r2 / "round.json").read_text())["image_ids"]
    still_pool = set(ids1) - set(first.file_name.tolist())
    assert set(ids2) == still_pool
    assert {n: ids2[n] for n in still_pool} == {n: ids1[n] for n in still_pool}
    assert not set(ids2.values()) & set(renumber.values())


def test_damaged_records_and_sizes_are_one_line_errors(demo, tmp_path, capsys):
    _, files = demo
    r1 = tmp_path / "r1"
    _round(files, r1)
    info = json.loads((r1 / "model" / "model.json").read_text())
    for content, match in [
        ("[1, 2]", "holds a JSON list, not the model description"),
        (json.dumps({**info, "image_size": 800000}),
         r"image_size in .* must be a multiple of 8 in \[8, 1024\], got 800000"),
        (json.dumps({k: v for k, v in info.items() if k != "network"}),
         "'network' must be a dict, got None"),
    ]:
        (r1 / "model" / "model.json").write_text(content)
        with pytest.raises(ValueError, match=match):
            _round(files, tmp_path / "r2", previous=r1)
        status = main(_select_args(files, tmp_path / "r3", "--model", str(r1)))
        err = capsys.readouterr().err
        assert status == 1 and err.count("\n") == 1, err
    (r1 / "round.json").write_text("[]")
    with pytest.raises(ValueError, match="round.json' holds a JSON list, not the "
                                         "record of an sk_eglpp round"):
        _round(files, r1)
    with pytest.raises(ValueError, match=r"image_size must be an int in \[8, 1024\] "
                                         r"or None, got 80000"):
        _round(files, tmp_path / "r4", image_size=80000)


def test_a_full_disk_names_the_target(demo, tmp_path, monkeypatch, capsys):
    import os
    from collections import namedtuple

    import torch

    _, files = demo
    out = tmp_path / "r"

    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . "
                           "PytorchStreamWriter failed writing file data/0: file "
                           "write failed")

    Stat = namedtuple("Stat", "f_bavail f_frsize")
    monkeypatch.setattr(torch, "save", full)
    monkeypatch.setattr(os, "statvfs", lambda path: Stat(0, 4096))
    assert main(_select_args(files, out, "--strategy", "random_query")) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and f"{out / 'model'}" in err
    assert ".tmp" not in err and err.count("\n") == 1
    assert sorted(p.name for p in out.iterdir()) == ["lock", "round.json"]


def test_outputs_follow_the_umask_and_leftovers_are_removed(demo, tmp_path):
    import os
    import stat

    _, files = demo
    out = tmp_path / "r"
    old = os.umask(0o022)
    try:
        _round(files, out)
        out.joinpath(".model.x1y2.tmp").mkdir()  # what a kill -9 left
        out.joinpath(".model.x1y2.tmp", "params.pt").write_bytes(b"0" * 100)
        out.joinpath(".round.json.abcd.tmp").write_text("{")
        out.joinpath("notes.txt").write_text("the user's")
        _round(files, out)  # the same round: resumed
    finally:
        os.umask(old)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["contact_sheet.png", "lock", "model", "notes.txt", "round.json",
                     "selection.csv", "selection.json"]
    for name in ("selection.csv", "selection.json", "contact_sheet.png",
                 "round.json", "model/module.pt"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    assert stat.S_IMODE((out / "model").stat().st_mode) == 0o755


def test_subfolders_of_the_images_folder(demo, tmp_path, capsys):
    _, files = demo
    root = tmp_path / "project"
    (root / "images").mkdir(parents=True)
    for image in sorted(files["images"].iterdir())[:40]:
        (root / "images" / image.name).write_bytes(image.read_bytes())
    coco = json.loads(files["annotations"].read_text())
    for image in coco["images"]:  # as Label Studio exports it
        image["file_name"] = "images/" + image["file_name"]
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(coco))
    # the images folder itself: the error says to pass its parent
    with pytest.raises(FileNotFoundError, match="project. holds it: pass that folder"):
        select_for_annotation(root / "images", ann, **{**ROUND,
                                                       "output_dir": tmp_path / "x"})
    selection = select_for_annotation(root, ann, **{**ROUND,
                                                    "output_dir": tmp_path / "r"})
    assert all(name.startswith("images/") for name in selection.file_name)


def test_strategy_names_as_given(demo, tmp_path):
    _, files = demo
    with pytest.raises(ValueError, match="unknown strategy 'best'") as exc:
        _round(files, tmp_path / "r", strategy="best")
    assert "egl_pp" in str(exc.value) and "emcm" not in str(exc.value)
    assert "egl_linear" not in str(exc.value)
    _round(files, tmp_path / "r", strategy=EGLPlusPlusQuery(batch="diverse",
                                                            n_neighbors=5,
                                                            perplexity=3.0))
    recorded = json.loads((tmp_path / "r" / "round.json").read_text())["strategy"]
    assert recorded == "egl_pp (batch='diverse', n_neighbors=5, perplexity=3.0)"


def test_make_synthetic_and_merge_coco_follow_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o027)
    try:
        files = make_synthetic_coco(tmp_path / "demo", n_images=6, n_annotated=2,
                                    image_size=16)
        assert main(["merge-coco", str(tmp_path / "all.json"),
                     str(files["annotations"]), str(files["ground_truth"])]) == 0
    finally:
        os.umask(old)
    for path in (tmp_path / "demo", files["images"]):
        assert stat.S_IMODE(path.stat().st_mode) == 0o750, path
    for path in (files["annotations"], files["images"] / "00000.png",
                 tmp_path / "all.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_a_file_named_lock_that_is_not_a_lock_is_left_alone(demo, tmp_path):
    _, files = demo
    out = tmp_path / "out"
    out.mkdir()
    (out / "lock").write_text("my notes on the locks of the lab door\n")
    with pytest.raises(ValueError, match="holds lock but no round.json"):
        _round(files, out)
    assert (out / "lock").read_text() == "my notes on the locks of the lab door\n"


# --------------------------------------------------------------------------
# crop="bbox": people cropped by their boxes, mapped back to the full image
# --------------------------------------------------------------------------

NAMES = ["nose", "left_hand", "right_hand"]
H, W = 64, 96
#: the two person boxes of every two-person image (COCO x, y, width, height)
BOX_A, BOX_B = [6.0, 8.0, 30.0, 40.0], [56.0, 12.0, 30.0, 40.0]
#: the markers of the unannotated people: (image, box or None, marker pixel)
POOL = [("pool-0.png", BOX_A, (20, 30)), ("pool-0.png", BOX_B, (70, 25)),
        ("pool-1.png", [30.0, 10.0, 24.0, 36.0], (40, 30)),
        ("pool-2.png", None, (60, 40))]


def _square(box, margin=0.2):
    """The crop square of a box, by hand: its left and top pixel-centre
    coordinates and its side (the box's edges are half a pixel out)."""
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    return x - 0.5 + w / 2 - side / 2, y - 0.5 + h / 2 - side / 2, side


def _marked(file, markers):
    """A dark grey image with 3x3 white markers at the (x, y) pixels."""
    from PIL import Image

    pixels = np.full((H, W), 20, np.uint8)
    for x, y in markers:
        pixels[y - 1:y + 2, x - 1:x + 2] = 255
    Image.fromarray(pixels).save(file)


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """Six annotated images of two people each (the nose on a marker), and
    unannotated ones with detector boxes (no keypoints) or none."""
    root = tmp_path_factory.mktemp("people")
    (root / "images").mkdir()
    images, anns, truth = [], [], []
    for i in range(6):
        name = f"lab-{i}.png"
        noses = [(12 + 2 * i, 20 + i), (62 + 2 * i, 30 - i)]
        _marked(root / "images" / name, noses)
        images.append({"id": i + 1, "file_name": name, "width": W, "height": H})
        for k, (box, nose) in enumerate(zip((BOX_A, BOX_B), noses, strict=True)):
            kp = [*nose, 2, box[0] + 10, box[1] + 25, 1, 0, 0, 0]
            anns.append({"id": 10 * (i + 1) + k, "image_id": i + 1,
                         "category_id": 1, "keypoints": kp, "bbox": box})
            truth.append((name, box, kp))
    # a detector's box in an annotated image: neither trained on nor scored
    anns.append({"id": 99, "image_id": 1, "category_id": 1,
                 "bbox": [40.0, 40.0, 10.0, 10.0]})
    for j, name in enumerate(["pool-0.png", "pool-1.png", "pool-2.png"]):
        _marked(root / "images" / name, [m for n, _, m in POOL if n == name])
        images.append({"id": 100 + j, "file_name": name, "width": W, "height": H})
    anns += [
        {"id": 200, "image_id": 100, "category_id": 1, "bbox": BOX_A, "score": 0.9},
        {"id": 201, "image_id": 100, "category_id": 1, "bbox": BOX_B, "score": 0.8},
        {"id": 202, "image_id": 101, "category_id": 1, "bbox": POOL[2][1],
         "keypoints": [0] * 9, "num_keypoints": 0},
        {"id": 203, "image_id": 101, "category_id": 1, "bbox": [5.0, 5.0, 0.0, 9.0]},
    ]
    file = root / "people.json"
    file.write_text(json.dumps({
        "images": images, "annotations": anns,
        "categories": [{"id": 1, "name": "person", "keypoints": NAMES,
                        "skeleton": [[1, 2], [1, 3]]}],
    }))
    return root / "images", file, truth


def _brightest(X):
    """Every joint of every sample at the brightest pixel: a marker detector."""
    rows, cols = np.unravel_index(X[:, 0].reshape(len(X), -1).argmax(axis=1),
                                  X.shape[2:])
    return np.tile(np.c_[cols, rows].astype(float), (1, len(NAMES)))


@pytest.fixture
def spied(monkeypatch):
    """What the round trained on, and a model that finds the markers."""
    calls = {"fit": [], "predict": []}
    original_fit = HourglassRegressor.fit

    def fit(self, X, y, **kw):
        calls["fit"].append((np.array(X), np.array(y)))
        return original_fit(self, X, y, **kw)

    def predict(self, X):
        calls["predict"].append((np.array(X), _brightest(np.asarray(X))))
        return calls["predict"][-1][1]

    monkeypatch.setattr(HourglassRegressor, "fit", fit)
    monkeypatch.setattr(HourglassRegressor, "predict", predict)
    return calls


def test_bbox_round_crops_people_and_maps_keypoints_back(people, tmp_path, spied,
                                                         small_hourglass):
    images, file, truth = people
    out = tmp_path / "r"
    selection = select_for_annotation(
        images, file, crop="bbox", budget=4, image_size=SIZE, as_gray=True,
        estimator=small_hourglass(), max_epochs=1, strategy="random_query",
        pre_annotate=True, output_dir=out, verbose=0,
    )
    # trained on the 12 annotated people, each cropped by its box: the nose's
    # known pixel lands where the crop transform puts it, on its marker
    (X_fit, y_fit), = spied["fit"]
    assert len(y_fit) == len(truth) == selection.n_trained_on == 12
    for k, (_, box, kp) in enumerate(truth):  # in (file name, id) order
        left, top, side = _square(box)
        u = (kp[0] - left) / side * SIZE - 0.5
        v = (kp[1] - top) / side * SIZE - 0.5
        np.testing.assert_allclose(y_fit[k, :2], [u, v], atol=1e-9)
        hand = [(kp[3] - left) / side * SIZE - 0.5, (kp[4] - top) / side * SIZE - 0.5]
        np.testing.assert_allclose(y_fit[k, 2:4], hand, atol=1e-9)  # v = 1 kept
        assert np.isnan(y_fit[k, 4:]).all()  # v = 0
        assert np.abs(_brightest(X_fit[k:k + 1])[0, :2] - [u, v]).max() <= 1
    # the pool: one sample per usable box, the image without one whole
    picked = sorted(zip(selection.file_name, map(tuple, selection.bbox.tolist()),
                        strict=True), key=str)
    expected = sorted(((n, tuple(b) if b else (np.nan,) * 4) for n, b, _ in POOL),
                      key=str)
    assert str(picked) == str(expected)
    (X_pred, uv), = spied["predict"]
    for row in range(4):
        name, box = selection.file_name[row], selection.bbox[row]
        entry = next(p for p in POOL if p[0] == name
                     and (p[1] is None) == np.isnan(box).all()
                     and (p[1] is None or p[1] == box.tolist()))
        if entry[1] is None:  # the whole image, padded to a square
            left, top, side = -0.5, (H - W) / 2 - 0.5, float(W)
        else:
            left, top, side = _square(entry[1])
        crop = SourceImage(images / name, as_gray=True).crop(
            (left + side / 2, top + side / 2), side, SIZE)
        np.testing.assert_allclose(X_pred[row], crop, atol=1e-6)
        # the marker found in the crop, back in the full image's pixels
        back = np.c_[left + (uv[row, 0::2] + 0.5) * side / SIZE,
                     top + (uv[row, 1::2] + 0.5) * side / SIZE]
        np.testing.assert_allclose(selection.keypoints[row].reshape(-1, 2), back,
                                   atol=1e-9)
        assert np.abs(back - entry[2]).max() <= side / SIZE
    # the files: people with their boxes, pre-annotations in full-image pixels
    rows = _rows(out / "selection.csv")
    assert [r["file_name"] for r in rows] == selection.file_name.tolist()
    assert [r["bbox_x"] for r in rows] == [
        "" if np.isnan(b[0]) else repr(float(b[0])) for b in selection.bbox]
    coco = json.loads((out / "selection.json").read_text())
    assert sorted(i["file_name"] for i in coco["images"]) == [
        "pool-0.png", "pool-1.png", "pool-2.png"]
    for row, ann in enumerate(coco["annotations"]):
        kp = np.reshape(ann["keypoints"], (-1, 3))
        assert (kp[:, 2] == 2).all()
        np.testing.assert_allclose(kp[:, :2], selection.keypoints[row].reshape(-1, 2),
                                   atol=1e-3)
        if np.isfinite(selection.bbox[row]).all():
            assert ann["bbox"] == selection.bbox[row].tolist()
    # the boxes keep their ids; the whole image's pre-annotation gets a new one
    ids = {tuple(a["bbox"]): a["id"] for a in coco["annotations"]}
    assert [ids[tuple(b)] for b in (BOX_A, BOX_B, POOL[2][1])] == [200, 201, 202]
    assert len(set(ids.values())) == 4
    assert json.loads((out / "round.json").read_text())["crop"] == "bbox"
    assert json.loads((out / "model" / "model.json").read_text())["crop"] == "bbox"
    assert "AnnotationSelection: 4 people, model trained on 12" in repr(selection)


def test_bbox_selection_without_pre_annotations_lists_the_boxes(people, tmp_path,
                                                                capsys):
    images, file, _ = people
    out = tmp_path / "r"
    assert main(["select", str(images), str(file), "--crop", "bbox", "--budget",
                 "4", "--output-dir", str(out), "--image-size", str(SIZE),
                 "--gray", "--epochs", "1", "--strategy", "random_query",
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "4 people selected with random_query by a model trained on 12 " \
        "annotated people" in printed
    assert "whole image" in printed and "6.0 8.0 30.0 40.0" in printed
    coco = json.loads((out / "selection.json").read_text())
    assert len(coco["images"]) == 3  # pool-0 once, for its two people
    boxes = sorted((a["id"], a["bbox"], a["num_keypoints"], set(a["keypoints"]))
                   for a in coco["annotations"])
    assert boxes == [(200, BOX_A, 0, {0}), (201, BOX_B, 0, {0}),
                     (202, POOL[2][1], 0, {0})]  # the whole image: none


def test_bbox_pool_counts_people_and_image_crop_refuses_two(people, tmp_path):
    images, file, _ = people
    kwargs = dict(image_size=SIZE, as_gray=True, max_epochs=1,
                  strategy="random_query", output_dir=tmp_path / "r", verbose=0)
    with pytest.raises(ValueError, match=r"budget must be in \[1, 4\] \(the number "
                                         "of people to choose from"):
        select_for_annotation(images, file, crop="bbox", budget=5, **kwargs)
    with pytest.raises(ValueError, match=r"'lab-0.png' has several annotations "
                                         r"\(ids 10 and 11\); crop=.image. takes "
                                         "one person per image, use crop=.bbox."):
        select_for_annotation(images, file, budget=2, **kwargs)
    with pytest.raises(ValueError, match=r"crop must be one of \['image', 'bbox'\] "
                                         "or None, got 'box'"):
        select_for_annotation(images, file, crop="box", budget=2, **kwargs)
    with pytest.raises(TypeError, match="crop must be one of"):
        select_for_annotation(images, file, crop=1, budget=2, **kwargs)
    assert not (tmp_path / "r").exists()


def test_a_round_after_another_crop_goes_on_training(demo, tmp_path):
    _, files = demo
    kwargs = dict(budget=3, image_size=SIZE, as_gray=True, max_epochs=1,
                  strategy="random_query", verbose=0)
    r1, r2, r3 = tmp_path / "r1", tmp_path / "r2", tmp_path / "r3"
    first = select_for_annotation(files["images"], files["annotations"],
                                  output_dir=r1, **kwargs)
    assert first.crop == "image" and np.isnan(first.bbox).all()
    # the synthetic people have boxes; the pool has none: whole images
    second = select_for_annotation(files["images"], files["annotations"],
                                   crop="bbox", previous=r1, output_dir=r2, **kwargs)
    assert second.crop == "bbox" and np.isnan(second.bbox).all()
    assert len(json.loads((r2 / "model" / "history.json").read_text())) == 2
    # a round without crop keeps the last one
    third = select_for_annotation(files["images"], files["annotations"],
                                  previous=r2, output_dir=r3, **kwargs)
    assert third.crop == "bbox"
    assert [json.loads((r / "round.json").read_text())["crop"]
            for r in (r1, r2, r3)] == ["image", "bbox", "bbox"]
