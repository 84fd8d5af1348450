"""Learning curves on LSPET that choose the real-data benchmark's regime.

Run from the repository root (needs the LSPET release, never committed)::

    python -m benchmarks.lspet_regime --data-dir ../shared/data/lspet
        [--n-jobs 2] [--output benchmarks/lspet_regime.json]

Before any strategy is compared, this measures what a random labelled set
gives on real photographs, for each setting of the list :data:`CONFIGS`
(fixed before it ran): training-set size, image size, grey level or colour,
network width, with and without the hourglass' augmentation (flips with the
LSP joint swap, rotation of up to 30 degrees, scale 0.75-1.25); the augmented
networks are also scored with flip-averaged prediction.

The split is the benchmark's: 1,000 test images drawn with seed 0 from the
10,000 (``sk_eglpp.simulation.pose_problem``); the training images are drawn
from the rest with seed 0. Each network is ``pose_estimator`` (2 stacks, Adam
3e-3, batch 8), trained in steps of ``--step`` epochs. After every step its
PCK@0.2 on the test images and its seconds per epoch (one torch thread per
process) are recorded. Results are written after every configuration; a rerun
skips those done. Grey images are the colour images' ITU-R BT.601 luma;
32-pixel images are the 64-pixel ones averaged over 2 x 2 blocks. ``--plot
FILE`` draws the curves.

The seconds per epoch of the curves were measured while other jobs shared the
machine; ``--timing`` measures the training cost of each network and image
size side by side in one process instead (random images, 300 per epoch, the
second of two epochs), and reports it relative to the baseline's.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from joblib import Parallel, delayed  # noqa: E402

#: (name, settings) fixed before the study ran; every setting not given is
#: the baseline's
BASELINE = dict(n=1000, image_size=64, gray=False, n_features=16, augment=False)
CONFIGS = [
    ("baseline", {}),
    ("grey", dict(gray=True)),
    ("augment", dict(augment=True)),
    ("augment, 2000 images", dict(augment=True, n=2000)),
    ("augment, width 32", dict(augment=True, n_features=32)),
    ("augment, 32 px", dict(augment=True, image_size=32)),
]


def _curve(name, settings, X, y, X_test, y_test, epochs, step, seed):
    import torch

    from sk_eglpp.models import LSP_FLIP_PAIRS
    from sk_eglpp.simulation import pose_estimator

    torch.set_num_threads(1)
    cfg = dict(BASELINE, **settings)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(X.shape[0])[: cfg["n"]]
    X, X_test = X[idx], X_test
    if cfg["image_size"] != X.shape[-1]:
        k = X.shape[-1] // cfg["image_size"]  # block average (64 -> 32)
        X = X.reshape(*X.shape[:2], cfg["image_size"], k, cfg["image_size"], k)
        X = X.mean(axis=(3, 5))
        X_test = X_test.reshape(*X_test.shape[:2], cfg["image_size"], k,
                                cfg["image_size"], k).mean(axis=(3, 5))
        scale = 1.0 / k
        y_tr = (y[idx] + 0.5) * scale - 0.5
        y_te = (y_test + 0.5) * scale - 0.5
    else:
        y_tr, y_te = y[idx], y_test
    if cfg["gray"]:
        w = np.array([0.299, 0.587, 0.114], np.float32)[None, :, None, None]
        X = (X * w).sum(axis=1, keepdims=True)
        X_test = (X_test * w).sum(axis=1, keepdims=True)
    net = pose_estimator(
        14, in_channels=X.shape[1], depth=3, n_features=cfg["n_features"],
        max_epochs=step,
    )
    extra = dict(warm_start=True, random_state=seed)
    if cfg["augment"]:
        extra.update(flip_pairs=LSP_FLIP_PAIRS, max_rotation=30.0,
                     scale_range=(0.75, 1.25))
    net.set_params(**extra)
    rows, elapsed = [], 0.0
    for done in range(step, epochs + 1, step):
        start = time.perf_counter()
        net.partial_fit(X, y_tr)
        elapsed += time.perf_counter() - start
        score = float(net.score(X_test, y_te))
        row = {"epochs": done, "pck": score, "seconds_per_epoch": elapsed / done}
        if cfg["augment"]:  # the same network, flip-averaged prediction
            row["pck_flip_test"] = float(
                net.set_params(flip_test=True).score(X_test, y_te))
            net.set_params(flip_test=False)
        rows.append(row)
        print(f"{name:>24} {done:>4} {score:>7.3f} {elapsed / done:>7.2f} "
              f"{row.get('pck_flip_test', float('nan')):>7.3f}", flush=True)
    return name, cfg, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data/lspet")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--step", type=int, default=5)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--output", default="benchmarks/lspet_regime.json")
    parser.add_argument("--plot", default=None,
                        help="also draw the learning curves into this PNG file")
    parser.add_argument("--timing", action="store_true",
                        help="only time one epoch of every setting, side by side")
    args = parser.parse_args(argv)
    if args.timing:
        _timing()
        return
    if not os.path.isdir(args.data_dir):
        sys.exit(f"LSPET folder {args.data_dir!r} not found; pass --data-dir.")

    from sk_eglpp.datasets import load_lspet

    done = {}
    if os.path.exists(args.output):
        with open(args.output) as f:
            done = {r["name"]: r for r in json.load(f)["results"]}
    todo = [(n, s) for n, s in CONFIGS if n not in done]
    if todo:
        start = time.perf_counter()
        X, y = load_lspet(args.data_dir, image_size=64)
        print(f"loaded {X.shape} in {time.perf_counter() - start:.0f} s", flush=True)
        order = np.random.default_rng(args.seed).permutation(len(X))
        test, rest = order[: args.n_test], order[args.n_test :]
        X_test, y_test = X[test], y[test]
        X, y = X[rest], y[rest]
        print(f"{'setting':>24} {'ep':>4} {'PCK':>7} {'s/epoch':>7} {'flip':>7}",
          flush=True)
        jobs = (
            delayed(_curve)(n, s, X, y, X_test, y_test, args.epochs, args.step,
                            args.seed)
            for n, s in todo
        )
        for name, cfg, rows in Parallel(n_jobs=args.n_jobs, return_as="generator")(
            jobs
        ):
            done[name] = {"name": name, "settings": cfg, "curve": rows}
            with open(args.output + ".tmp", "w") as f:
                json.dump({"arguments": vars(args), "results": list(done.values())},
                          f, indent=1)
            os.replace(args.output + ".tmp", args.output)
    print(f"{'setting':>24} " + " ".join(
        f"{r['epochs']:>6}" for r in next(iter(done.values()))["curve"]))
    for name, _ in CONFIGS:
        if name in done:
            curve = done[name]["curve"]
            print(f"{name:>24} " + " ".join(f"{r['pck']:>6.3f}" for r in curve)
                  + f"   {curve[-1]['seconds_per_epoch']:.2f} s/epoch")
    if args.plot:
        _plot(done, args.plot)


#: (name, image size, width, augmented) of the side-by-side timing
TIMED = [
    ("64 px, width 16", 64, 16, False),
    ("64 px, width 16, augment", 64, 16, True),
    ("64 px, width 32, augment", 64, 32, True),
    ("32 px, width 16, augment", 32, 16, True),
    ("96 px, width 16, augment", 96, 16, True),
    ("128 px, width 16, augment", 128, 16, True),
]


def _timing(n=300):
    import torch

    from sk_eglpp.models import LSP_FLIP_PAIRS
    from sk_eglpp.simulation import pose_estimator

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    base = None
    print(f"{'setting':>26} {'ms/image':>9} {'ratio':>6}")
    for name, size, width, augment in TIMED:
        X = rng.random((n, 3, size, size), dtype=np.float32)
        y = rng.uniform(0.1 * size, 0.9 * size, (n, 28))
        net = pose_estimator(14, in_channels=3, depth=3, n_features=width,
                             max_epochs=1, augment=augment,
                             flip_pairs=LSP_FLIP_PAIRS)
        net.set_params(warm_start=True, random_state=0)
        net.fit(X, y)  # the first epoch pays the start-up costs
        start = time.perf_counter()
        net.partial_fit(X, y)
        ms = (time.perf_counter() - start) / n * 1000
        base = base or ms
        print(f"{name:>26} {ms:>9.2f} {ms / base:>6.2f}", flush=True)


def _plot(done, file):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 4.2))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for name, _ in CONFIGS:
        if name not in done:
            continue
        curve = done[name]["curve"]
        ax.plot([r["epochs"] for r in curve], [r["pck"] for r in curve],
                marker="o", label=name)
    ax.set_xlabel("training epochs")
    ax.set_ylabel("PCK@0.2 on 1,000 LSPET test images")
    ax.set_title("LSPET learning curves (random labelled sets)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(file, dpi=110)


if __name__ == "__main__":
    main()
