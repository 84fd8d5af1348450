"""Side-by-side benchmarks of the EGL++ neighbour and gradient stages.

Run from the repository root::

    python -m benchmarks [--quick] [--device cpu|cuda] [--repeats 3]
        [--output benchmarks/results.json]

Every comparison runs its alternatives in the same process on the same data;
the machines are noisy, so medians of ``--repeats`` runs and ratios are
reported. The table is printed and everything is written to a JSON file.

Gradient stage (K = 30 neighbours, synthetic pose data, stacked hourglass):

(a) per-pair loop, batch size 1, one ``loss.backward()`` per pair;
(b) the published algorithm: K clones of each input in one batch, forward and
    backward, per-sample gradients with ``torch.func``;
(c) ``squared_gradient_norms`` (exact);
(d) ``expected_gradient_norms(method="lowrank")`` with its agreement to exact
    (relative error of the scores, overlap of the top-B selections);
(e) exact mode with ``n_jobs=2`` against ``n_jobs=1``.

Neighbour stage: ``top_k_neighbors`` against scikit-learn's route
(``pairwise_distances`` + ``sklearn.manifold._utils._binary_search_perplexity``)
with the largest absolute difference, and the peak memory of the neighbour
stage on a large pool (``tracemalloc``).
"""

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._gradient_refs import k_clones_torch_func, per_pair_loop  # noqa: E402
from sk_eglpp.datasets import keypoints_to_heatmaps, make_pose_dataset  # noqa: E402
from sk_eglpp.gradients import (  # noqa: E402
    expected_gradient_norms,
    squared_gradient_norms,
)
from sk_eglpp.models._hourglass import StackedHourglass  # noqa: E402
from sk_eglpp.neighbors import top_k_neighbors  # noqa: E402


def _median_time(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _pose_problem(model_kwargs, n_pool, n_labelled, image_size, K, seed):
    """Pool inputs, labelled heatmaps and EGL++ neighbours on synthetic poses."""
    X, y = make_pose_dataset(
        n_pool + n_labelled, image_size=image_size, random_state=seed
    )
    torch.manual_seed(seed)
    module = StackedHourglass(in_channels=X.shape[1], **model_kwargs)
    module.train()
    with torch.no_grad():  # realistic BatchNorm statistics
        module(torch.as_tensor(X[: min(32, len(X))]))
    module.eval()
    X_pool, X_lab = torch.as_tensor(X[:n_pool]), torch.as_tensor(X[n_pool:])
    with torch.no_grad():
        H_pool = module.embed(X_pool).double().numpy()
        H_lab = module.embed(X_lab).double().numpy()
    size = image_size // module.stride
    bank = torch.as_tensor(
        keypoints_to_heatmaps(y[n_pool:], size, stride=module.stride)
    )
    weights = torch.as_tensor(np.isfinite(y[n_pool:, 0::2]), dtype=torch.float32)
    weights = weights[:, :, None, None]
    bank = torch.nan_to_num(bank)
    K = min(K, n_labelled)
    idx, q = top_k_neighbors(H_pool, H_lab, K, perplexity=min(20.0, n_labelled))
    return module, X_pool, bank, weights, idx, q


def bench_gradients(name, model_kwargs, args, n_ref_inputs, n_pool):
    K = 30
    module, X, bank, weights, idx, q = _pose_problem(
        model_kwargs, n_pool, 60, args.image_size, K, seed=0
    )
    device = args.device
    sub = slice(0, n_ref_inputs)
    row = {"model": name, "n_params": sum(p.numel() for p in module.parameters())}
    row.update(K=idx.shape[1], n_inputs_ref=n_ref_inputs, n_pool=n_pool)
    reps = args.repeats

    t_a, a = _median_time(
        lambda: per_pair_loop(module, X[sub], bank, idx[sub], weights), 1
    )
    t_b, b = _median_time(
        lambda: k_clones_torch_func(module, X[sub], bank, idx[sub], weights), 1
    )
    t_c_sub, c_sub = _median_time(
        lambda: squared_gradient_norms(
            module, X[sub], bank, idx[sub], weight_bank=weights, device=device
        ),
        reps,
    )
    row["time_per_input_s"] = {
        "a_per_pair_loop": t_a / n_ref_inputs,
        "b_k_clones_torch_func": t_b / n_ref_inputs,
        "c_exact": t_c_sub / n_ref_inputs,
    }
    row["exact_vs_loop_max_rel_err"] = float(np.max(np.abs(c_sub / a - 1)))
    row["clones_vs_loop_max_rel_err"] = float(np.max(np.abs(b / a - 1)))

    # Whole pool: exact, low-rank, n_jobs=2.
    common = dict(weight_bank=weights, device=device)
    t_c, exact = _median_time(
        lambda: expected_gradient_norms(module, X, bank, idx, q, **common), reps
    )
    t_d, low = _median_time(
        lambda: expected_gradient_norms(
            module, X, bank, idx, q, method="lowrank", **common
        ),
        reps,
    )
    B = max(1, n_pool // 4)
    top_exact = set(np.argsort(-exact, kind="stable")[:B])
    top_low = set(np.argsort(-low, kind="stable")[:B])
    row["time_per_input_s"]["c_exact_pool"] = t_c / n_pool
    row["time_per_input_s"]["d_lowrank_pool"] = t_d / n_pool
    row["lowrank_max_rel_err"] = float(np.max(np.abs(low / exact - 1)))
    row["lowrank_top_b_overlap"] = len(top_exact & top_low) / B
    row["top_b"] = B
    if device == "cpu":
        # Start the joblib workers before timing (process start-up and the
        # torch import are a one-off cost per session).
        expected_gradient_norms(
            module, X[:2], bank, idx[:2], q[:2], n_jobs=2, batch_size=1, **common
        )
        t_j, two = _median_time(
            lambda: expected_gradient_norms(
                module, X, bank, idx, q, n_jobs=2, **common
            ),
            reps,
        )
        row["time_per_input_s"]["c_exact_pool_n_jobs_2"] = t_j / n_pool
        row["n_jobs_2_identical"] = bool(np.array_equal(two, exact))
    t = row["time_per_input_s"]
    row["ratios"] = {
        "loop_over_exact": t["a_per_pair_loop"] / t["c_exact"],
        "clones_over_exact": t["b_k_clones_torch_func"] / t["c_exact"],
        "clones_over_lowrank": t["b_k_clones_torch_func"] / t["d_lowrank_pool"],
        "exact_over_lowrank": t["c_exact_pool"] / t["d_lowrank_pool"],
    }
    if "c_exact_pool_n_jobs_2" in t:
        row["ratios"]["n_jobs_1_over_2"] = (
            t["c_exact_pool"] / t["c_exact_pool_n_jobs_2"]
        )
    return row


def bench_neighbors(args):
    from sklearn.manifold._utils import _binary_search_perplexity
    from sklearn.metrics import pairwise_distances

    n_pool, n_lab, d = (2000, 500, 64) if args.quick else (10000, 2000, 256)
    rng = np.random.default_rng(0)
    H_pool = rng.normal(size=(n_pool, d)).astype(np.float32)
    H_lab = rng.normal(size=(n_lab, d)).astype(np.float32)
    K = 30

    def sklearn_route():
        D = pairwise_distances(H_pool, H_lab, metric="sqeuclidean", n_jobs=1)
        P = _binary_search_perplexity(D.astype(np.float32), 20.0, 0)
        idx = np.argsort(-P, axis=1, kind="stable")[:, :K]
        return idx, np.take_along_axis(P, idx, axis=1)

    t_sk, (idx_sk, p_sk) = _median_time(sklearn_route, args.repeats)
    t_ours, (idx, p) = _median_time(
        lambda: top_k_neighbors(H_pool, H_lab, K, perplexity=20.0), args.repeats
    )
    P_sk = _binary_search_perplexity(
        pairwise_distances(H_pool, H_lab, metric="sqeuclidean").astype(np.float32),
        20.0,
        0,
    )
    row = {
        "n_pool": n_pool,
        "n_labelled": n_lab,
        "d": d,
        "time_s": {"sklearn_route": t_sk, "top_k_neighbors": t_ours},
        "speedup": t_sk / t_ours,
        "max_abs_diff": float(np.max(np.abs(np.take_along_axis(P_sk, idx, 1) - p))),
        "same_neighbours": float(np.mean(idx == idx_sk)),
    }
    # Peak memory of the neighbour stage on a large pool (inputs excluded).
    n_big, n_lab_big = (20000, 2000) if args.quick else (100000, 6000)
    H_big = rng.normal(size=(n_big, d))
    H_lab_big = rng.normal(size=(n_lab_big, d))
    tracemalloc.start()
    start = time.perf_counter()
    top_k_neighbors(H_big, H_lab_big, K, perplexity=20.0)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    row["peak_memory"] = {
        "n_pool": n_big,
        "n_labelled": n_lab_big,
        "d": d,
        "peak_MiB": peak / 2**20,
        "time_s": elapsed,
    }
    return row


def _print_table(results):
    print(
        f"\n{'gradient stage':<42}"
        + "".join(f"{r['model']:>16}" for r in results["gradients"])
    )
    keys = [
        (
            "a per-pair loop (s/input)",
            lambda r: r["time_per_input_s"]["a_per_pair_loop"],
        ),
        (
            "b K clones + torch.func (s/input)",
            lambda r: r["time_per_input_s"]["b_k_clones_torch_func"],
        ),
        ("c exact (s/input)", lambda r: r["time_per_input_s"]["c_exact"]),
        (
            "d lowrank, pool (s/input)",
            lambda r: r["time_per_input_s"]["d_lowrank_pool"],
        ),
        ("c exact, pool (s/input)", lambda r: r["time_per_input_s"]["c_exact_pool"]),
        ("a / c", lambda r: r["ratios"]["loop_over_exact"]),
        ("b / c", lambda r: r["ratios"]["clones_over_exact"]),
        ("b / d", lambda r: r["ratios"]["clones_over_lowrank"]),
        ("c / d", lambda r: r["ratios"]["exact_over_lowrank"]),
        (
            "n_jobs=1 / n_jobs=2",
            lambda r: r["ratios"].get("n_jobs_1_over_2", float("nan")),
        ),
        ("exact vs loop, max rel err", lambda r: r["exact_vs_loop_max_rel_err"]),
        ("lowrank vs exact, max rel err", lambda r: r["lowrank_max_rel_err"]),
        ("lowrank top-B overlap", lambda r: r["lowrank_top_b_overlap"]),
    ]
    for label, get in keys:
        print(
            f"{label:<42}" + "".join(f"{get(r):>16.4g}" for r in results["gradients"])
        )
    nb = results["neighbors"]
    print(
        f"\nneighbour stage {nb['n_pool']} x {nb['n_labelled']} x {nb['d']}: "
        f"sklearn route {nb['time_s']['sklearn_route']:.3g} s, top_k_neighbors "
        f"{nb['time_s']['top_k_neighbors']:.3g} s, speed-up {nb['speedup']:.3g}x, "
        f"max abs diff {nb['max_abs_diff']:.2g}"
    )
    pm = nb["peak_memory"]
    print(
        f"neighbour stage peak memory {pm['n_pool']} x {pm['n_labelled']} x "
        f"{pm['d']}: {pm['peak_MiB']:.0f} MiB ({pm['time_s']:.3g} s)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--output", default="benchmarks/results.json")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {
        "command": " ".join(["python -m benchmarks", *(argv or sys.argv[1:])]),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "torch_threads": torch.get_num_threads(),
            "device": args.device,
        },
        "gradients": [],
    }
    models = [("default", {}, 2, 8 if args.quick else 32)]
    models.append(
        (
            "paper-sized",
            {"n_features": 256, "n_stacks": 2, "depth": 4},
            1,
            4 if args.quick else 8,
        )
    )
    for name, kwargs, n_ref, n_pool in models:
        print(f"gradient stage: {name} hourglass ...", flush=True)
        results["gradients"].append(bench_gradients(name, kwargs, args, n_ref, n_pool))
    print("neighbour stage ...", flush=True)
    results["neighbors"] = bench_neighbors(args)
    _print_table(results)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(results, fh, indent=2)
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
