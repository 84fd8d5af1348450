"""benchmarks.device_check: the projection's arithmetic and its refusal without
CUDA (the CPU smoke run itself is ``--device cpu --quick``, about 20 s)."""

import importlib.util
from pathlib import Path

import pytest
import torch

# benchmarks/ is not a package of the distribution: load the script by its path
_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "device_check.py"
_SPEC = importlib.util.spec_from_file_location("device_check", _PATH)
device_check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(device_check)


def test_projection_counts_the_protocol_by_hand():
    # 1 s per image-epoch, 1 s per EGL++ pool image, 1 s per inference image
    out = device_check.projection(1.0, 1.0, 1.0)
    pools = 10000 + 9000 + 8000 + 7000 + 6000
    labelled_before = 1000 + 2000 + 3000 + 4000 + 5000
    labelled_after = 2000 + 3000 + 4000 + 5000 + 6000
    expected_s = {
        "train_base": 5 * 80 * 1000,
        "train_cycles": 5 * 5 * 80 * labelled_after,
        "query_egl_pp": 5 * pools,
        "query_others": 5 * (3 * pools + labelled_before),
        "evaluation": 5 * (1 + 5 * 5) * 1000,
    }
    assert out["gpu_hours"] == pytest.approx(
        {k: v / 3600 for k, v in expected_s.items()}
    )
    assert out["gpu_hours_total"] == pytest.approx(sum(expected_s.values()) / 3600)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_exits_with_one_line(tmp_path):
    with pytest.raises(SystemExit, match="CUDA is not available") as info:
        device_check.main(["--output", str(tmp_path / "out.json")])
    assert "\n" not in str(info.value.code)
    assert "--device cpu --quick" in str(info.value.code)
    assert not (tmp_path / "out.json").exists()


def test_random_images_when_no_lspet():
    X, y, source = device_check.load_images(3, 16, lspet=None)
    assert source == "random"
    assert X.shape == (3, 3, 16, 16) and y.shape == (3, 28)
