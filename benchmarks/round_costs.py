"""What a labelling round's steps cost: decoding large photographs, and
MC-dropout scoring at several thread counts.

Run from the repository root::

    python -m benchmarks.round_costs [--busy]

1. Decoding: a 4032 x 3024 JPEG (a 12-megapixel phone photo) and a
   9400 x 9400 PNG (mostly black, small on disk) are written to a temporary
   folder and cropped whole to 64 px, side by side, (a) as before the
   labelling-round fixes: the full image decoded to float, blurred and
   sampled (``crop_array`` on ``SourceImage.pixels()``), and (b) as now
   (``SourceImage.crop``: shrunk while decoding, then blurred).
2. MC dropout: ``MCDropoutQuery`` (20 passes) scores 40 synthetic 64-px
   images with the round's default hourglass, at 1, 2 and 4 torch threads
   (the median of 3 calls).

``--busy`` keeps one other CPU-bound process running meanwhile (what a
shared machine looks like). The decoding figures are one measurement; all are wall
times on whatever machine runs this, so compare them within one run.
"""

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np


def _spin():  # pragma: no cover - the other process of --busy
    while True:
        pass


def _photos(folder):
    from PIL import Image

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (189, 252, 3), dtype=np.uint8)
    jpeg = folder / "phone.jpg"
    Image.fromarray(small).resize((4032, 3024), Image.BILINEAR).save(jpeg, quality=90)
    png = folder / "huge.png"
    big = np.zeros((9400, 9400), dtype=np.uint8)
    big[4000:5000, 4000:5000] = 255
    Image.fromarray(big).convert("RGB").save(png)
    return [("12-megapixel JPEG", jpeg), ("9400 x 9400 PNG", png)]


def decoding(folder, size=64):
    from sk_eglpp.datasets._images import SourceImage, crop_array

    rows = []
    for name, path in _photos(folder):
        image = SourceImage(path)
        centre = ((image.width - 1) / 2, (image.height - 1) / 2)
        side = float(max(image.width, image.height))
        start = time.perf_counter()
        full, _ = SourceImage(path).pixels()
        crop_array(full, centre, side, size)
        before = time.perf_counter() - start
        del full
        start = time.perf_counter()
        SourceImage(path).crop(centre, side, size)
        after = time.perf_counter() - start
        rows.append((name, before, after))
    return rows


def mc_dropout(threads=(1, 2, 4)):
    import torch

    from sk_eglpp import make_pose_dataset
    from sk_eglpp.annotation._model import default_estimator
    from sk_eglpp.query import MCDropoutQuery

    X, y = make_pose_dataset(60, image_size=64, random_state=0)
    X = np.repeat(X, 3, axis=1)
    strategy = MCDropoutQuery(random_state=0)
    torch.set_num_threads(1)
    net = default_estimator(14, 3, 64, 1, strategy, "cpu", 0).fit(X[:20], y[:20])
    rows = []
    for n in threads:
        torch.set_num_threads(n)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            strategy.select(net, X[20:], 5)
            times.append(time.perf_counter() - start)
        rows.append((n, float(np.median(times))))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", action="store_true",
                        help="keep one CPU-bound process running meanwhile")
    args = parser.parse_args(argv)
    other = None
    if args.busy:
        other = multiprocessing.Process(target=_spin, daemon=True)
        other.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print("crop a whole image to 64 px    before (s)  now (s)  ratio")
            for name, before, after in decoding(Path(tmp)):
                print(f"{name:<30} {before:10.2f} {after:8.2f} {before / after:6.0f}x")
        print("\nMC dropout, 40 images, 20 passes: torch threads, median seconds")
        for n, seconds in mc_dropout():
            print(f"{n:>2} threads  {seconds:6.2f}")
    finally:
        if other is not None:
            other.terminate()


if __name__ == "__main__":
    main()
