"""The parameters of ``select_for_annotation``: checked at the edge by one
table (wrong type: TypeError, wrong value: ValueError, the message naming the
function), and ``random_state`` as an int, a RandomState or None."""

import json

import numpy as np
import pytest

from sk_eglpp import select_for_annotation
from sk_eglpp.models import HourglassRegressor

SIZE = 32  # the demo images' side


@pytest.mark.parametrize(
    "change, error, match",
    [
        (dict(budget=True), TypeError,
         r"select_for_annotation: budget must be an int in \[1, inf\), got True "
         r"\(bool\)\."),
        (dict(budget=2.0), TypeError, "budget must be an int in"),
        (dict(max_epochs=0), ValueError,
         r"select_for_annotation: max_epochs must be an int in \[1, inf\), got 0"),
        (dict(strategy=3), TypeError,
         r"select_for_annotation: strategy must be a strategy name \(str\) or an "
         r"sk_eglpp query strategy, got 3 \(int\)\."),
        (dict(estimator="hourglass"), TypeError,
         "select_for_annotation: estimator must be a HourglassRegressor or None"),
        (dict(image_size=2048), ValueError,
         r"select_for_annotation: image_size must be an int in \[8, 1024\] or None"),
        (dict(image_size=36), ValueError,
         r"select_for_annotation: image_size must be a multiple of 8"),
        (dict(crop="box"), ValueError, "select_for_annotation: crop must be one of"),
        (dict(as_gray="yes"), TypeError,
         r"select_for_annotation: as_gray must be a bool or None, got 'yes'"),
        (dict(pre_annotate=1), TypeError,
         r"select_for_annotation: pre_annotate must be a bool, got 1 \(int\)\."),
        (dict(device="tpu"), ValueError,
         "select_for_annotation: device must be .*, got 'tpu' .*not a torch device"),
        (dict(device=0), TypeError, "select_for_annotation: device must be"),
        (dict(n_jobs=0), ValueError,
         "select_for_annotation: n_jobs must be a non-zero int"),
        (dict(n_threads=0), ValueError,
         r"select_for_annotation: n_threads must be an int in \[1, inf\)"),
        (dict(random_state=-1), ValueError,
         r"select_for_annotation: random_state must be an int in \[0, 2\*\*32 - 1\]"),
        (dict(random_state=np.random.default_rng(0)), TypeError,
         "a numpy Generator is not supported"),
        (dict(previous=3), TypeError, "select_for_annotation: previous must be a path"),
        (dict(output_dir=None), TypeError,
         "select_for_annotation: output_dir must be a path"),
        (dict(unannotated=b"a.png"), TypeError,
         "select_for_annotation: unannotated must be"),
        (dict(overwrite="no"), TypeError, "select_for_annotation: overwrite must be"),
        (dict(verbose=-1), ValueError, "select_for_annotation: verbose must be"),
    ],
)
def test_parameters_are_checked_before_anything_is_read(tmp_path, change, error,
                                                        match):
    # neither input exists: a parameter that passed would end in FileNotFoundError
    kwargs = dict(budget=2, output_dir=tmp_path / "r", verbose=0)
    with pytest.raises(error, match=match):
        select_for_annotation(tmp_path / "images", tmp_path / "annotations.json",
                              **{**kwargs, **change})
    assert not (tmp_path / "r").exists()


def test_names_in_the_list_of_unannotated_images_are_strings(demo, tmp_path):
    _, files = demo
    with pytest.raises(TypeError, match="unannotated must be a list of file names "
                                        r"\(str\)"):
        select_for_annotation(files["images"], files["annotations"], budget=1,
                              unannotated=["00040.png", 3],
                              output_dir=tmp_path / "r", verbose=0)


ROUND = dict(budget=4, image_size=SIZE, as_gray=True, max_epochs=1,
             strategy="random_query", verbose=0)


def _round(files, out, **change):
    return select_for_annotation(files["images"], files["annotations"],
                                 **{**ROUND, "output_dir": out, **change})


def _record(out):
    return json.loads((out / "round.json").read_text())


def test_a_random_state_instance_gives_a_reproducible_round(demo, tmp_path,
                                                            monkeypatch):
    """One int seed is drawn from a RandomState and recorded: a RandomState
    of the same seed gives the same round, and the same as that int."""
    _, files = demo
    a = _round(files, tmp_path / "a", random_state=np.random.RandomState(7))
    b = _round(files, tmp_path / "b", random_state=np.random.RandomState(7))
    seed = int(np.random.RandomState(7).randint(2**32, dtype=np.int64))
    assert a.file_name.tolist() == b.file_name.tolist()
    np.testing.assert_array_equal(a.utility, b.utility)
    assert _record(tmp_path / "a")["random_state"] == seed
    assert _record(tmp_path / "a") == _record(tmp_path / "b")
    by_int = _round(files, tmp_path / "c", random_state=seed)
    assert by_int.file_name.tolist() == a.file_name.tolist()
    assert _record(tmp_path / "c") == _record(tmp_path / "a")
    # again in the same folder with a RandomState of the same seed: resumed
    fits = []
    monkeypatch.setattr(HourglassRegressor, "fit", lambda *a, **k: fits.append(1))
    again = _round(files, tmp_path / "a", random_state=np.random.RandomState(7))
    assert fits == [] and again.file_name.tolist() == a.file_name.tolist()


def test_random_state_none_draws_a_seed_and_records_it(demo, tmp_path):
    _, files = demo
    _round(files, tmp_path / "r", random_state=None)
    seed = _record(tmp_path / "r")["random_state"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    # an int seed is recorded as given
    _round(files, tmp_path / "s", random_state=5)
    assert _record(tmp_path / "s")["random_state"] == 5
