"""The net checkpoint: a folder that ``save_net`` writes and ``load_net`` reads."""

import json

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sk_eglpp.models import pose_estimator
from sk_eglpp.models._checkpoint import (
    ATTRIBUTES,
    HISTORY,
    CheckpointAttributeError,
    decode_attribute,
    encode_attribute,
    load_net,
    save_net,
)

#: the files of a checkpoint of a HourglassRegressor (module_, criterion_,
#: optimizer_), as the simulation store has always written them
FILES = ["attributes.json", "criterion.pt", "history.json", "module.pt",
         "optimizer.pt"]


@pytest.fixture(scope="module")
def fitted(small_pose):
    """A tiny HourglassRegressor, fitted once for the module."""
    X, y = small_pose
    net = pose_estimator(y.shape[1] // 2, depth=1, n_features=4, max_epochs=2)
    torch.manual_seed(0)
    return net.fit(X[:16], y[:16])


def _initialised(fitted):
    torch.manual_seed(1)  # other initial weights than the fitted net's
    return clone(fitted).initialize()


def test_round_trip_predicts_the_same(fitted, small_pose, tmp_path):
    X, _ = small_pose
    save_net(fitted, tmp_path / "net")
    loaded = load_net(_initialised(fitted), tmp_path / "net")
    np.testing.assert_array_equal(loaded.predict(X[16:]), fitted.predict(X[16:]))
    for a, b in zip(fitted.module_.parameters(), loaded.module_.parameters(),
                    strict=True):
        assert torch.equal(a, b)
    assert loaded.optimizer_.state_dict()["state"].keys() == (
        fitted.optimizer_.state_dict()["state"].keys()
    )
    assert len(loaded.history_) == len(fitted.history_) == 2
    assert loaded.torch_load_kwargs == {"weights_only": True}


def test_the_folder_holds_the_documented_files(fitted, tmp_path):
    save_net(fitted, tmp_path / "net")
    assert sorted(p.name for p in (tmp_path / "net").iterdir()) == FILES
    assert HISTORY == "history.json" and ATTRIBUTES == "attributes.json"
    stored = json.loads((tmp_path / "net" / ATTRIBUTES).read_text())
    height, width = fitted.heatmap_size_
    assert stored["heatmap_size_"] == {"tuple": [{"value": height},
                                                 {"value": width}]}
    assert stored["n_joints_"] == {"value": fitted.n_joints_}
    assert stored["in_channels_"] == {"value": 1}
    # the history is in history.json; torch objects only in their .pt files
    assert not {"history_", "module_", "optimizer_"} & set(stored)
    # nothing is left beside the folder (the temporary sibling is renamed)
    assert [p.name for p in tmp_path.iterdir()] == ["net"]


def test_the_fitted_attributes_come_back(fitted, tmp_path):
    save_net(fitted, tmp_path / "net")
    net = _initialised(fitted)
    assert not hasattr(net, "heatmap_size_")
    load_net(net, tmp_path / "net")
    assert net.heatmap_size_ == fitted.heatmap_size_
    assert isinstance(net.heatmap_size_, tuple)
    assert (net.n_joints_, net.in_channels_) == (fitted.n_joints_, 1)


@pytest.mark.parametrize("name", ["module.pt", "optimizer.pt", "history.json",
                                  "attributes.json"])
def test_a_missing_file_is_an_error(fitted, tmp_path, name):
    save_net(fitted, tmp_path / "net")
    (tmp_path / "net" / name).unlink()
    with pytest.raises(FileNotFoundError, match=name.replace(".", "\\.")):
        load_net(_initialised(fitted), tmp_path / "net")


def test_an_attribute_no_fit_sets_is_an_error(fitted, tmp_path):
    save_net(fitted, tmp_path / "net")
    path = tmp_path / "net" / ATTRIBUTES
    stored = json.loads(path.read_text())
    stored["heatmap_size_"] = encode_attribute((100000, 100000))
    path.write_text(json.dumps(stored))
    with pytest.raises(CheckpointAttributeError, match="holds a value no fit sets"):
        load_net(_initialised(fitted), tmp_path / "net")
    assert issubclass(CheckpointAttributeError, ValueError)


def test_a_checkpoint_replaces_only_a_checkpoint(fitted, tmp_path):
    folder = tmp_path / "net"
    save_net(fitted, folder)
    save_net(fitted, folder)  # an earlier checkpoint is replaced
    assert sorted(p.name for p in folder.iterdir()) == FILES
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ValueError):
        save_net(fitted, folder)
    assert (folder / "notes.txt").read_text() == "mine"
    save_net(fitted, folder, owns=lambda name: name == "notes.txt")
    assert sorted(p.name for p in folder.iterdir()) == FILES


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "head", (4, 8), [1, (2.0, "x")],
     np.arange(3, dtype=np.int16), np.linspace(0, 1, 4, dtype=np.float32)],
    ids=repr,
)
def test_simple_attributes_round_trip(value):
    encoded = encode_attribute(value)
    decoded = decode_attribute(json.loads(json.dumps(encoded)))
    if isinstance(value, np.ndarray):
        assert decoded.dtype == value.dtype
        np.testing.assert_array_equal(decoded, value)
    else:
        assert decoded == value and type(decoded) is type(value)


@pytest.mark.parametrize("value", [object(), {"a": 1}, np.array(["a"]),
                                   [1, object()]], ids=repr)
def test_other_attributes_are_not_stored(value):
    assert encode_attribute(value) is None


def test_extra_files_are_written_in_the_same_step(fitted, tmp_path):
    folder = tmp_path / "model"
    save_net(fitted, folder, owns=lambda name: name == "model.json",
             extra_files={"model.json": '{"round": 1}\n'})
    assert json.loads((folder / "model.json").read_text()) == {"round": 1}
    save_net(fitted, folder, owns=lambda name: name == "model.json",
             extra_files={"model.json": '{"round": 2}\n'})  # replaced whole
    assert json.loads((folder / "model.json").read_text()) == {"round": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
