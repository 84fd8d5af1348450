"""Fixtures of the annotation round's tests: a synthetic images folder."""

import pytest

from sk_eglpp.datasets import make_synthetic_coco


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """70 synthetic 32-px images, 30 of them annotated: ``(root, files)`` with
    ``files`` as :func:`~sk_eglpp.datasets.make_synthetic_coco` returns them."""
    root = tmp_path_factory.mktemp("demo")
    files = make_synthetic_coco(root / "data", n_images=70, n_annotated=30,
                                image_size=32, random_state=0)
    return root, files
