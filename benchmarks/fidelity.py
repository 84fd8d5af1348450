"""EGL++ configurations compared on the fidelity diagnostic (no retraining).

Run from the repository root::

    python -m benchmarks.fidelity [--seeds 0,1,2] [--n-labelled 400]
        [--only NAME,...] [--output benchmarks/fidelity.json]

For each seed, a base model of the selection benchmark
(``pose_problem("benchmark")``: 32 px synthetic images, depth-1 hourglass) is
trained on ``--n-labelled`` random pool images; then every configuration of
EGL++ (embedding ``bottleneck`` / ``head`` x target ``label`` / ``prediction``
/ ``output`` x perplexity 20 / 75.33 x ``renormalize``) and every baseline
scores the rest of the pool, and :func:`sk_eglpp.diagnostics.utility_fidelity`
compares the utilities with the true squared gradient lengths (Eq. 4 at the
real labels) and the true per-sample errors. Printed: the mean over seeds.

``--small`` instead studies small labelled sets (``--n-labelled`` of 20, 30,
50 and 100 with perplexity 20 and 75.33): where the perplexity is not well
below the labelled-set size the neighbour probabilities flatten.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sk_eglpp.diagnostics import FIDELITY_COLUMNS, utility_fidelity  # noqa: E402
from sk_eglpp.query import EGLPlusPlusQuery  # noqa: E402
from sk_eglpp.simulation import pose_problem  # noqa: E402

PAPER_PERPLEXITY = 20 ** (1 / np.log(2))  # the reference code's "20" (75.33)


def configurations(perplexities=(20.0, PAPER_PERPLEXITY)):
    out = {}
    for target in ("label", "prediction", "output"):
        for perplexity in perplexities:
            for renormalize in (False, True):
                name = f"egl_pp[{target},P={perplexity:.0f}" + (
                    ",renorm]" if renormalize else "]"
                )
                out[name] = EGLPlusPlusQuery(
                    target=target, perplexity=perplexity, renormalize=renormalize
                )
    return out


def one_seed(seed, n_labelled, strategies, embeddings, n_instances):
    problem, _ = pose_problem("benchmark", random_state=seed)
    X, y = problem["X"], problem["y"]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    lab, pool = order[:n_labelled], order[n_labelled:]
    net = problem["estimator"].set_params(random_state=seed)
    start = time.perf_counter()
    net.fit(X[lab], y[lab])
    fit_time = time.perf_counter() - start
    pck = float(net.score(problem["X_test"], problem["y_test"]))
    rows = []
    for layer in embeddings:
        net.set_params(embedding_layer=layer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fid = utility_fidelity(
                net, X[pool], y[pool], strategies, X_labelled=X[lab],
                y_labelled=y[lab], n_instances=n_instances, random_state=seed,
            )
        for name, m in fid.items():
            rows.append({"seed": seed, "n_labelled": n_labelled, "embedding": layer,
                         "strategy": name, "base_pck": pck, **m})
        print(f"seed {seed} n_labelled {n_labelled} {layer}: base PCK@0.2 {pck:.3f} "
              f"(fit {fit_time:.0f} s)", flush=True)
    return rows


def print_table(rows, keys=("n_labelled", "embedding", "strategy")):
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    head = " ".join(f"{k:>12}" for k in keys[:-1]) + f" {'strategy':<32}"
    print(head + "".join(f" {c:>18}" for c in FIDELITY_COLUMNS))
    for key, rs in groups.items():
        line = " ".join(f"{str(v):>12}" for v in key[:-1]) + f" {key[-1]:<32}"
        for c in FIDELITY_COLUMNS:
            v = np.array([r[c] for r in rs], dtype=float)
            line += f" {np.nanmean(v):>8.3f} +- {np.nanstd(v):<6.3f}"
        print(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--n-labelled", type=int, default=400)
    parser.add_argument("--n-instances", type=int, default=200)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--only", default=None,
                        help="comma-separated names of the rows to compute (default: "
                             "all), e.g. coreset to redo one baseline")
    parser.add_argument("--output", default="benchmarks/fidelity.json")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    if args.small:
        for n in (20, 30, 50, 100):
            strategies = {
                "egl_pp[P=20]": EGLPlusPlusQuery(perplexity=20.0),
                "egl_pp[P=75]": EGLPlusPlusQuery(perplexity=PAPER_PERPLEXITY),
                "egl_pp[P=5]": EGLPlusPlusQuery(perplexity=5.0),
                "random_query": "random_query",
            }
            for seed in seeds:
                rows += one_seed(seed, n, strategies, ("bottleneck",), 50)
    else:
        strategies = {**configurations(), "random_query": "random_query",
                      "coreset": "coreset", "multipeak_entropy": "multipeak_entropy",
                      "learning_loss": "learning_loss", "mc_dropout": "mc_dropout"}
        if args.only:
            strategies = {k: strategies[k] for k in args.only.split(",")}
        for seed in seeds:
            rows += one_seed(seed, args.n_labelled, strategies,
                             ("bottleneck", "head"), args.n_instances)
    print_table(rows)
    with open(args.output, "w") as f:
        json.dump({"settings": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
