"""The real-data path of the pose simulation: split, colour, augmentation and
the ``lspet`` preset."""

from pathlib import Path

import numpy as np
import pytest

from sk_eglpp.cli import main
from sk_eglpp.datasets import load_lspet
from sk_eglpp.models import LSP_FLIP_PAIRS
from sk_eglpp.simulation import POSE_PRESETS, pose_problem

LSPET = Path(__file__).resolve().parents[3] / "shared" / "data" / "lspet"


@pytest.fixture
def lspet_folder(pose_folder):
    return pose_folder("lspet", n_images=12)


def test_real_data_split_is_a_seeded_permutation(lspet_folder):
    problem, sequences = pose_problem(
        "quick", data="lspet", data_dir=lspet_folder, n_test=4, n_pool=5,
        random_state=3,
    )
    X, y = load_lspet(lspet_folder, image_size=32, as_gray=True)
    order = np.random.default_rng(3).permutation(12)
    np.testing.assert_array_equal(problem["X_test"], X[order[:4]])
    np.testing.assert_array_equal(problem["X"], X[order[4:9]])
    np.testing.assert_array_equal(problem["y"], y[order[4:9]])
    assert sequences is None


def test_test_size_keeps_the_fraction_split(lspet_folder):
    problem, _ = pose_problem("quick", data="lspet", data_dir=lspet_folder,
                              test_size=0.25)
    assert len(problem["X_test"]) == 3 and len(problem["X"]) == 9


def test_colour_and_augmentation_reach_the_estimator(lspet_folder):
    problem, _ = pose_problem("quick", data="lspet", data_dir=lspet_folder,
                              n_test=4, gray=False, augment=True)
    assert problem["X"].shape[1:] == (3, 32, 32)
    params = problem["estimator"].get_params()
    assert params["module__in_channels"] == 3
    assert params["flip_pairs"] == LSP_FLIP_PAIRS
    assert params["max_rotation"] == 30.0
    assert params["scale_range"] == (0.75, 1.25)


def test_synthetic_augmentation_does_not_flip():
    problem, _ = pose_problem("quick", n_pool=40, n_test=10, augment=True)
    params = problem["estimator"].get_params()
    assert params["flip_pairs"] is None and params["max_rotation"] == 30.0


def test_presets_without_augmentation_keep_the_estimator():
    # the older presets' estimators (and their stores' fingerprints) unchanged
    problem, _ = pose_problem("quick", n_pool=40, n_test=10)
    params = problem["estimator"].get_params()
    assert params["max_rotation"] == 0.0 and params["flip_pairs"] is None


def test_lspet_preset_is_the_paper_protocol_on_real_colour_images():
    preset = POSE_PRESETS["lspet"]
    assert preset["n_test"] == 1000 and preset["n_runs"] == 5
    assert not preset["gray"] and preset["fidelity"]
    assert set(preset["strategies"]) >= {
        "egl_pp", "random_query", "coreset", "multipeak_entropy", "learning_loss",
    }


@pytest.mark.parametrize(
    "overrides, error, match",
    [
        (dict(n_test=12), ValueError, "n_test must leave images for the pool"),
        (dict(gray="no"), TypeError, "gray must be a bool"),
        (dict(augment=1), TypeError, "augment must be a bool"),
    ],
)
def test_bad_real_data_settings(lspet_folder, overrides, error, match):
    with pytest.raises(error, match=match):
        pose_problem("quick", data="lspet", data_dir=lspet_folder, **overrides)


def test_cli_lspet_preset_needs_real_data(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--preset", "lspet"])
    assert "--preset lspet is the real-data benchmark" in capsys.readouterr().err


@pytest.mark.skipif(not LSPET.is_dir(), reason="LSPET not in ../shared/data")
def test_lspet_preset_reads_the_real_release():
    problem, _ = pose_problem("lspet", data="lspet", data_dir=LSPET,
                              max_samples=120, n_test=40, n_pool=60)
    assert problem["X"].shape == (60, 3, 64, 64)
    assert problem["X_test"].shape == (40, 3, 64, 64)
    y = problem["y"].reshape(-1, 14, 2)
    assert 0.5 < np.isfinite(y).all(axis=2).mean() < 1.0  # some joints missing
    assert np.nanmin(y) >= -0.5 and np.nanmax(y) < 63.5
