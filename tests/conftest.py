"""Shared fixtures: seeds, thread limits, tiny pose and tabular problems, tiny
hourglass networks, a strict-numerics guard, the strategies at sizes that fit
the tiny problems, tiny LSP / LSPET / MPII folders, the pose loaders' cache
folder and the optional modAL 0.4.2.1 copy."""

import contextlib
import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

# Two cores on CI: one torch thread per process keeps tests from oversubscribing.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def pose_cache_dir(tmp_path_factory, monkeypatch):
    """The pose loaders' default cache folder, a fresh one outside ``tmp_path``
    for every test: the suite never writes the user's cache, and no test reads
    an entry another one wrote."""
    folder = tmp_path_factory.mktemp("sk_eglpp_cache")
    monkeypatch.setenv("SK_EGLPP_CACHE", str(folder))
    return folder


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


def _write_pose_folder(folder, kind, n_images, rng):
    """JPEGs under ``images/`` and the annotation file, as the releases store
    them (1-based MATLAB coordinates); MPII's first image holds two people, of
    whom the second is listed in ``single_person``."""
    import scipy.io
    from PIL import Image

    sizes = rng.integers(40, 90, size=(n_images, 2))  # (h, w)
    names = []
    for n, (h, w) in enumerate(sizes):
        name = {"lsp": f"im{n + 1:04d}.jpg", "lspet": f"im{n + 1:05d}.jpg"}.get(
            kind, f"{n:03d}.jpg"
        )
        (folder / "images").mkdir(exist_ok=True)
        pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "images" / name, quality=90)
        names.append(name)
    xy = np.stack([rng.uniform(3, (w - 3, h - 3), size=(14, 2)) for h, w in sizes])
    if kind == "lsp":  # 3 x 14 x n, third row 1 = occluded
        joints = np.concatenate([xy.transpose(2, 1, 0), np.zeros((1, 14, n_images))])
        joints[2, [1, 6], 0] = 1
        scipy.io.savemat(folder / "joints.mat", {"joints": joints})
        return
    if kind == "lspet":  # 14 x 3 x n, third column 1 = visible
        joints = np.concatenate([xy.transpose(1, 2, 0), np.ones((14, 1, n_images))], 1)
        joints[[0, 5], 2, 0] = 0
        scipy.io.savemat(folder / "joints.mat", {"joints": joints})
        return
    point_dtype = [("id", "O"), ("x", "O"), ("y", "O"), ("is_visible", "O")]
    annolist = np.empty(n_images, dtype=[("image", "O"), ("annorect", "O")])
    for n, (name, (h, w)) in enumerate(zip(names, sizes, strict=True)):
        rects = []
        for _ in range(2 if n == 0 else 1):
            points = [(j, *rng.uniform(3, (w - 3, h - 3)).round(1), j % 3 != 0)
                      for j in range(16)]
            rects.append({
                "x1": 5.0, "y1": 5.0, "x2": 15.0, "y2": 12.0,
                "scale": rng.uniform(0.15, 0.3),
                "objpos": {"x": w / 2, "y": h / 2},
                "annopoints": {"point": np.array(points, dtype=point_dtype)},
            })
        annolist[n] = ({"name": name}, np.array(rects, dtype=object))
    single = np.empty(n_images, dtype=object)  # the second person of image 0
    single[:] = [np.array([[2 if n == 0 else 1]]) for n in range(n_images)]
    release = {"annolist": annolist, "img_train": np.ones(n_images),
               "single_person": single}
    scipy.io.savemat(folder / "mpii_human_pose_v1_u12_1.mat", {"RELEASE": release})


@pytest.fixture
def pose_folder(tmp_path_factory):
    """Factory of tiny LSP / LSPET / MPII folders in their releases' formats:
    ``pose_folder(kind, n_images=4)`` with ``kind`` in ``"lsp"``, ``"lspet"``,
    ``"mpii"`` returns a fresh folder, the same for the same arguments."""

    def make(kind, n_images=4):
        folder = tmp_path_factory.mktemp(kind)
        _write_pose_folder(folder, kind, n_images, np.random.default_rng(0))
        return folder

    return make


def _small_hourglass(**params):
    from sk_eglpp import HourglassRegressor

    defaults = dict(
        module__n_features=8, module__n_stacks=1, module__depth=1, max_epochs=1,
        batch_size=8, random_state=0,
    )
    return HourglassRegressor(**{**defaults, **params})


@pytest.fixture(scope="session")
def small_hourglass():
    """Factory of a one-stack hourglass that trains in a second on ``small_pose``:
    ``small_hourglass(**params)`` overrides its settings (``module__depth=2``,
    ``module__dropout=0.2``, ...)."""
    return _small_hourglass


@pytest.fixture(scope="module")
def fitted_small_hourglass(small_pose):
    """``small_hourglass()`` fitted on the first 8 images of ``small_pose``."""
    X, y = small_pose
    return _small_hourglass().fit(X[:8], y[:8])


@pytest.fixture(scope="module")
def occluded_pose():
    """24 synthetic 32x32 pose images (X, y) with the generator's default
    occlusion and truncation, so that some joints are not annotated (NaN)."""
    from sk_eglpp import make_pose_dataset

    return make_pose_dataset(24, image_size=32, random_state=0)


@pytest.fixture(scope="module")
def fitted_query_hourglass(occluded_pose):
    """A two-level hourglass with dropout and a loss-prediction head, fitted on
    the first 12 images of ``occluded_pose``: every network strategy can query
    it (MC dropout needs the dropout, Learning Loss the head). ``clone`` it for
    an unfitted network of the same settings."""
    X, y = occluded_pose
    net = _small_hourglass(module__depth=2, module__dropout=0.2, loss_prediction=True)
    return net.fit(X[:12], y[:12])


@pytest.fixture(scope="module")
def tabular():
    """30 samples (X, y) of a noisy linear function of 3 features."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=30)
    return X, y


@pytest.fixture(scope="session")
def small_strategy():
    """Factory of registered strategies sized for the tiny problems:
    ``small_strategy(name, **params)`` is ``get_strategy(name)`` with
    ``random_state=0`` where it has one, EGL++ with 4 neighbours and perplexity
    2, MC dropout with 3 samples, then ``params`` set."""
    from sk_eglpp.query import get_strategy

    def make(name, **params):
        strategy = get_strategy(name)
        if name == "egl_pp":
            strategy.set_params(n_neighbors=4, perplexity=2.0)
        if name == "mc_dropout":
            strategy.set_params(n_samples=3)
        if "random_state" in strategy.get_params():
            strategy.set_params(random_state=0)
        return strategy.set_params(**params)

    return make


@pytest.fixture(scope="session")
def strict_numerics():
    """Factory of a context manager inside which numpy's RuntimeWarnings are
    errors and floating-point errors other than underflow raise:
    ``with strict_numerics(): ...``."""

    @contextlib.contextmanager
    def strict():
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            with np.errstate(divide="raise", over="raise", invalid="raise"):
                yield

    return strict


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


# -- the gradient engines --------------------------------------------------


@pytest.fixture(scope="module")
def mlp_problem():
    """``(module, X, bank, idx)``: an MLP with dropout, 7 inputs, K = 4."""
    gen = torch.Generator().manual_seed(0)
    module = nn.Sequential(
        nn.Linear(5, 16),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(16, 8),
        nn.ReLU(),
        nn.Linear(8, 2),
    )
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    X = torch.randn(7, 5, generator=gen)
    bank = torch.randn(6, 2, generator=gen)
    idx = torch.randint(0, 6, (7, 4), generator=gen).numpy()
    return module, X, bank, idx


@pytest.fixture(scope="module")
def conv_problem():
    """``(module, X, bank, weights, idx)``: :class:`TwoStackNet`, 5 inputs, K = 3."""
    from sk_eglpp._testing import TwoStackNet

    gen = torch.Generator().manual_seed(1)
    module = TwoStackNet()
    # Give BatchNorm non-trivial statistics, then leave the module in train mode
    # (the computation must use eval mode anyway).
    module.train()
    with torch.no_grad():
        for _ in range(3):
            module(torch.randn(8, 1, 8, 8, generator=gen))
    X = torch.randn(5, 1, 8, 8, generator=gen)
    bank = torch.randn(6, 3, 8, 8, generator=gen)
    weights = torch.ones(6, 3, 1, 1)
    weights[1, 2] = 0.0  # unannotated joints
    weights[4, 0] = 0.0
    idx = torch.randint(0, 6, (5, 3), generator=gen).numpy()
    return module, X, bank, weights, idx


@pytest.fixture(scope="session")
def assert_rel():
    """``assert_rel(actual, expected, rtol=1e-4)``: equal to ``rtol`` of the
    largest expected value."""

    def check(actual, expected, rtol=1e-4):
        np.testing.assert_allclose(
            actual, expected, rtol=rtol, atol=rtol * np.max(expected)
        )

    return check


# -- the labelling round ----------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """70 synthetic 32-px images, 30 of them annotated: ``(root, files)`` with
    ``files`` as :func:`~sk_eglpp.datasets.make_synthetic_coco` returns them."""
    root = tmp_path_factory.mktemp("demo")
    from sk_eglpp.datasets import make_synthetic_coco

    files = make_synthetic_coco(root / "data", n_images=70, n_annotated=30,
                                image_size=32, random_state=0)
    return root, files
