"""The round's ``model/``: the package's net checkpoint beside ``model.json``,
and the older layout (skorch's ``params.pt``, ``optimizer.pt``,
``history.json``) of rounds written before it, still read."""

import json
import shutil

import numpy as np
import pytest
import torch

from sk_eglpp import select_for_annotation
from sk_eglpp.models import HourglassRegressor

SIZE = 32  # the demo images' side
ROUND = dict(budget=3, image_size=SIZE, as_gray=True, max_epochs=1, verbose=0)
CHECKPOINT = ["attributes.json", "criterion.pt", "history.json", "model.json",
              "module.pt", "optimizer.pt"]


def _round(files, out, **change):
    return select_for_annotation(files["images"], files["annotations"],
                                 **{**ROUND, "output_dir": out, **change})


def _older_copy(round_dir, net, copy):
    """``round_dir`` copied to ``copy`` with ``model/`` in the older layout:
    what rounds wrote before the checkpoint codec (format 1)."""
    shutil.copytree(round_dir, copy)
    model = copy / "model"
    info = json.loads((model / "model.json").read_text())
    for path in model.iterdir():
        path.unlink()
    files = {"f_params": model / "params.pt", "f_optimizer": model / "optimizer.pt",
             "f_history": model / "history.json"}
    if net.loss_prediction:
        files["f_loss_module"] = model / "loss_module.pt"
    net.save_params(**files)
    (model / "model.json").write_text(json.dumps({**info, "format": 1}, indent=1))
    return copy


def _weights(net):
    return {k: v.clone() for k, v in net.module_.state_dict().items()}


def test_the_model_folder_holds_the_checkpoint_and_model_json(demo, tmp_path):
    _, files = demo
    selection = _round(files, tmp_path / "r", strategy="random_query")
    model = tmp_path / "r" / "model"
    assert sorted(p.name for p in model.iterdir()) == CHECKPOINT
    info = json.loads((model / "model.json").read_text())
    assert info["format"] == 2 and info["written_by"] == \
        "sk_eglpp.select_for_annotation"
    attributes = json.loads((model / "attributes.json").read_text())
    assert attributes["heatmap_size_"] == {"tuple": [{"value": 8}, {"value": 8}]}
    assert selection.files["model"] == model


@pytest.mark.parametrize("strategy", ["random_query", "learning_loss"])
def test_a_previous_round_in_the_older_layout_is_continued(demo, tmp_path,
                                                           strategy):
    """Going on from a round of the older layout trains exactly as going on
    from the same model in the checkpoint layout (a loss-prediction head
    included)."""
    _, files = demo
    first = _round(files, tmp_path / "new", strategy=strategy)
    older = _older_copy(tmp_path / "new", first.estimator, tmp_path / "old")
    expected = ["history.json", "model.json", "optimizer.pt", "params.pt"]
    if strategy == "learning_loss":
        expected.insert(1, "loss_module.pt")
    assert sorted(p.name for p in (older / "model").iterdir()) == expected
    from_new = _round(files, tmp_path / "r2-new", strategy=strategy,
                      previous=tmp_path / "new")
    from_old = _round(files, tmp_path / "r2-old", strategy=strategy, previous=older)
    assert from_old.file_name.tolist() == from_new.file_name.tolist()
    np.testing.assert_array_equal(from_old.utility, from_new.utility)
    history = [json.loads((tmp_path / r / "model" / "history.json").read_text())
               for r in ("r2-old", "r2-new")]
    assert len(history[0]) == 2
    assert [h["train_loss"] for h in history[0]] == [h["train_loss"]
                                                     for h in history[1]]
    new, old = _weights(from_new.estimator), _weights(from_old.estimator)
    assert all(torch.equal(new[k], old[k]) for k in new)
    # the next round is written in the checkpoint layout
    assert sorted(p.name for p in (tmp_path / "r2-old" / "model").iterdir()) == (
        sorted([*CHECKPOINT, "loss_module.pt"]) if strategy == "learning_loss"
        else CHECKPOINT)


def test_a_round_of_the_older_layout_is_resumed_and_replaced(demo, tmp_path,
                                                             monkeypatch):
    """The same round again in a folder of the older layout reuses its model;
    a round with another model replaces it by the checkpoint layout."""
    _, files = demo
    first = _round(files, tmp_path / "new", strategy="random_query")
    older = _older_copy(tmp_path / "new", first.estimator, tmp_path / "old")
    before = {p.name: p.read_bytes() for p in (older / "model").iterdir()}
    fits = []
    original_fit = HourglassRegressor.fit

    def counting_fit(self, *args, **kwargs):
        fits.append(1)
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(HourglassRegressor, "fit", counting_fit)
    again = _round(files, older, strategy="random_query")
    assert fits == []
    assert again.file_name.tolist() == first.file_name.tolist()
    np.testing.assert_array_equal(again.utility, first.utility)
    assert {p.name: p.read_bytes() for p in (older / "model").iterdir()} == before
    _round(files, older, strategy="random_query", max_epochs=2, overwrite=True)
    assert fits == [1]
    assert sorted(p.name for p in (older / "model").iterdir()) == CHECKPOINT


def test_an_older_layout_with_a_file_missing_is_one_line_error(demo, tmp_path):
    _, files = demo
    first = _round(files, tmp_path / "new", strategy="random_query")
    older = _older_copy(tmp_path / "new", first.estimator, tmp_path / "old")
    (older / "model" / "optimizer.pt").unlink()
    with pytest.raises(ValueError, match=r"cannot load the model in .*old/model"):
        _round(files, tmp_path / "r2", strategy="random_query", previous=older)
