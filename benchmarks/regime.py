"""Learning curves that choose the selection benchmark's regime.

Run from the repository root::

    python -m benchmarks.regime [--sizes 100,200,400,800] [--epochs 60]
        [--step 10] [--image-size 32] [--features 16] [--depth 1]
        [--output benchmarks/regime.json]

Before any strategy is compared, this measures what a random labelled set of
each size gives: a fresh ``HourglassRegressor`` is trained on ``n`` random
synthetic images (``make_pose_dataset``, default data settings) for ``--step``
epochs at a time up to ``--epochs``, and its PCK@0.2 on 300 held-out images is
recorded after every step, with the training time. The table (labelled size x
epochs) shows where the base model reaches PCK@0.2 >= 0.5, how many epochs a
size needs to converge, and whether PCK still rises with more labels: the
regime of ``sk-eglpp simulate --preset benchmark`` is read from it.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sk_eglpp.datasets import make_pose_dataset  # noqa: E402
from sk_eglpp.models import HourglassRegressor  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,200,400,800")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--step", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--stacks", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="benchmarks/regime.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    X, y = make_pose_dataset(
        max(sizes) + args.n_test, image_size=args.image_size, random_state=args.seed
    )
    X_test, y_test = X[-args.n_test :], y[-args.n_test :]
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(X.shape[0] - args.n_test)
    results = []
    print(f"{'n':>6} {'epochs':>7} {'PCK@0.2':>8} {'seconds':>8}", flush=True)
    for n in sizes:
        idx = order[:n]
        net = HourglassRegressor(
            module__n_stacks=args.stacks,
            module__n_features=args.features,
            module__depth=args.depth,
            max_epochs=args.step,
            lr=args.lr,
            batch_size=8,
            warm_start=True,
            random_state=args.seed,
        )
        elapsed = 0.0
        for epochs in range(args.step, args.epochs + 1, args.step):
            start = time.perf_counter()
            net.partial_fit(X[idx], y[idx])
            elapsed += time.perf_counter() - start
            score = float(net.score(X_test, y_test))
            results.append(
                {"n": n, "epochs": epochs, "pck": score, "seconds": elapsed}
            )
            print(f"{n:>6} {epochs:>7} {score:>8.3f} {elapsed:>8.1f}", flush=True)
    with open(args.output, "w") as f:
        json.dump({"settings": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
