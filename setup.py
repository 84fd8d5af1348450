"""Installation script for sk_eglpp."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"',
    (HERE / "sk_eglpp" / "_version.py").read_text(),
    re.M,
).group(1)

# Floors are the versions .ci/min-versions.txt pins and `make test-min` tests
# (on Python 3.11), each raised to the release that has what the code uses:
# numpy 1.24 (ragged sequences are a ValueError), scipy 1.10 (spearmanr's
# .statistic), scikit-learn 1.6.1 (validate_data, ensure_all_finite,
# __sklearn_tags__; with 1.6.0 HourglassRegressor's tags fail), skorch 1.2
# (NeuralNet(torch_load_kwargs=...) for weights-only checkpoints; 1.1 cannot
# unpickle a net under torch >= 2.6), joblib 1.4
# (Parallel(return_as="generator_unordered")), matplotlib 3.7 (3.6's
# fill_between fails with numpy 1.24); the others old releases with
# wheels for Python 3.11. torch's floor is not tested: the only CPU build
# reachable here is 2.13.0 (others are CUDA builds of several GB), so the job
# runs with that.
INSTALL_REQUIRES = [
    "numpy>=1.24",
    "scipy>=1.10",
    "scikit-learn>=1.6.1",
    "torch>=2.2",
    "skorch>=1.2",
    "modAL-python>=0.4.1",
    "joblib>=1.4",
    "threadpoolctl>=3.1",
    "tqdm>=4.60",
    "matplotlib>=3.7",
    # image files (COCO keypoints folders, the LSP / MPII images)
    "Pillow>=9.3",
]

EXTRAS_REQUIRE = {
    "tests": [
        "pytest>=7",
        "hypothesis>=6.80",
        "pandas>=1.5",
        "ruff>=0.5",
    ],
    "docs": [
        "sphinx>=7",
        "sphinx-gallery>=0.15",
        "numpydoc>=1.6",
        "pydata-sphinx-theme>=0.15",
    ],
    # joblib's "dask" backend on a dask.distributed cluster.
    "dask": ["dask[distributed]>=2023.1"],
    # Benchmark-only: scikit-activeml's EMCM as the emcm / egl_linear baseline,
    # and statsmodels for the real regression data sets its wheel ships
    # (benchmarks/real_data.py; nothing to download).
    "bench": ["scikit-activeml", "statsmodels>=0.14"],
}

setup(
    name="sk_eglpp",
    version=VERSION,
    description=(
        "Active learning for regression: EGL++ (expected gradient length) and "
        "baselines for scikit-learn, skorch and modAL"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["sk_eglpp", "sk_eglpp.*"]),
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["sk-eglpp = sk_eglpp.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
