"""Shared fixtures: seeds, thread limits, a tiny pose problem and the optional
modAL 0.4.2.1 copy."""

import os

import numpy as np
import pytest
import torch

# Two cores on CI: one torch thread per process keeps tests from oversubscribing.
torch.set_num_threads(1)


@pytest.fixture
def rng():
    """A seeded NumPy generator, fresh for every test."""
    return np.random.default_rng(0)


@pytest.fixture(scope="module")
def small_pose():
    """40 synthetic 32x32 pose images with every joint annotated (X, y)."""
    from sk_eglpp import make_pose_dataset

    return make_pose_dataset(
        40, image_size=32, occlusion=0.0, truncation=0.0, random_state=0
    )


def _small_hourglass(**params):
    from sk_eglpp import HourglassRegressor

    defaults = dict(
        module__n_features=8, module__n_stacks=1, module__depth=1, max_epochs=1,
        batch_size=8, random_state=0,
    )
    return HourglassRegressor(**{**defaults, **params})


@pytest.fixture(scope="session")
def small_hourglass():
    """Factory of a one-stack hourglass that trains in a second on ``small_pose``."""
    return _small_hourglass


@pytest.fixture(scope="module")
def fitted_small_hourglass(small_pose):
    """``small_hourglass()`` fitted on the first 8 images of ``small_pose``."""
    X, y = small_pose
    return _small_hourglass().fit(X[:8], y[:8])


@pytest.fixture(scope="session")
def modal_0421_path():
    """Folder holding modAL-python 0.4.2.1 (installed with --no-deps by make test)."""
    path = os.environ.get("SK_EGLPP_MODAL_0421")
    if not path or not os.path.isdir(os.path.join(path, "modAL")):
        pytest.skip(
            "modAL-python 0.4.2.1 not installed; `make test` installs it into "
            ".venv/modal-0.4.2.1 and sets SK_EGLPP_MODAL_0421"
        )
    return path


def pytest_addoption(parser):
    parser.addoption(
        "--random-order",
        metavar="SEED",
        type=int,
        default=None,
        help="run the collected tests in an order shuffled by SEED, to show "
        "that no test depends on another having run first",
    )


def pytest_collection_modifyitems(config, items):
    seed = config.getoption("--random-order")
    if seed is not None:
        np.random.default_rng(seed).shuffle(items)


def pytest_report_header(config):
    seed = config.getoption("--random-order")
    return None if seed is None else f"random test order, seed {seed}"
