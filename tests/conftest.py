"""Shared fixtures: seeds, thread limits and the optional modAL 0.4.2.1 copy."""

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
