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
(e) exact mode with ``n_jobs=2`` against ``n_jobs=1``;
(f) a plain forward + backward over the U x K (input, target) clones with no
    per-sample separation at all (the cost floor of any clone-based route),
    timed alternately with (c) on the same pool; the median of the paired
    ratios c / f is reported.

Neighbour stage: ``top_k_neighbors`` against scikit-learn's route
(``pairwise_distances`` + ``sklearn.manifold._utils._binary_search_perplexity``)
with the largest absolute difference, and the peak memory of the neighbour
stage on a large pool (``tracemalloc``).

End-to-end ``EGLPlusPlusQuery.score`` on a fitted ``HourglassRegressor`` (a
tiny hourglass on 32 x 32 pose images, fixed labelled set) for growing pools,
with the scaling exponent fitted by least squares on log time vs log n_pool.

Linear strategies: ``emcm`` and ``egl_linear`` against scikit-activeml's
``ExpectedModelChangeMaximization`` (extra ``bench``; skipped when it is not
installed) on the same data, K = 10 bootstrap linear models.

``--only gradients,neighbors,scaling,linear`` runs a subset; the other
sections of an existing ``--output`` file are then kept.
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

from benchmarks._gradient_refs import (  # noqa: E402
    k_clones_forward_backward,
    k_clones_torch_func,
    per_pair_loop,
)
from sk_eglpp.datasets import keypoints_to_heatmaps, make_pose_dataset  # noqa: E402
from sk_eglpp.gradients import (  # noqa: E402
    expected_gradient_norms,
    squared_gradient_norms,
)
from sk_eglpp.models._hourglass import StackedHourglass  # noqa: E402
from sk_eglpp.neighbors import top_k_neighbors  # noqa: E402

_SECTIONS = ("gradients", "neighbors", "scaling", "linear")


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

    # (f) the cost floor of any clone-based route: a plain forward + backward
    # over the U x K clones of the whole pool, one input's K clones per pass
    # (its fastest setting on these models), paired with the exact scoring of
    # the same pool: the two alternate, and the median of the per-pair ratios
    # is reported.
    def exact_pool():
        return squared_gradient_norms(
            module, X, bank, idx, weight_bank=weights, device=device
        )

    def clones_pool():
        return k_clones_forward_backward(
            module, X, bank, idx, weights, batch_size=1, device=device
        )

    exact_pool(), clones_pool()  # warm-up
    t_exact, t_clones = [], []
    for _ in range(max(reps, 3)):
        t_exact.append(_median_time(exact_pool, 1)[0])
        t_clones.append(_median_time(clones_pool, 1)[0])
    row["time_per_input_s"]["f_clones_forward_backward"] = (
        float(np.median(t_clones)) / n_pool
    )
    row["time_per_input_s"]["c_exact_pool_paired"] = float(np.median(t_exact)) / n_pool
    row["exact_over_clones_fb_paired"] = [
        e / c for e, c in zip(t_exact, t_clones, strict=True)
    ]

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
        # n_jobs=2 against n_jobs=1 with the same batches, at least 4 of them
        # so that each of the 2 workers gets 2 (with the default batch_size
        # a small pool is 1 batch, i.e. 1 task, and nothing runs in parallel).
        jobs = dict(batch_size=max(1, n_pool // 4), **common)
        row["n_jobs_batch_size"] = jobs["batch_size"]
        # Start the joblib workers before timing (process start-up and the
        # torch import are a one-off cost per session).
        expected_gradient_norms(
            module, X[:2], bank, idx[:2], q[:2], n_jobs=2, batch_size=1, **common
        )
        t_1, one = _median_time(
            lambda: expected_gradient_norms(module, X, bank, idx, q, n_jobs=1, **jobs),
            reps,
        )
        t_j, two = _median_time(
            lambda: expected_gradient_norms(module, X, bank, idx, q, n_jobs=2, **jobs),
            reps,
        )
        row["time_per_input_s"]["c_exact_pool_n_jobs_1"] = t_1 / n_pool
        row["time_per_input_s"]["c_exact_pool_n_jobs_2"] = t_j / n_pool
        row["n_jobs_2_identical"] = bool(np.array_equal(two, one))
        # Other processes on the machine make the parallel timing meaningless.
        row["load_average_1min"] = os.getloadavg()[0]
    t = row["time_per_input_s"]
    row["ratios"] = {
        "loop_over_exact": t["a_per_pair_loop"] / t["c_exact"],
        "clones_over_exact": t["b_k_clones_torch_func"] / t["c_exact"],
        "clones_over_lowrank": t["b_k_clones_torch_func"] / t["d_lowrank_pool"],
        "exact_over_lowrank": t["c_exact_pool"] / t["d_lowrank_pool"],
        "exact_over_clones_fb": float(np.median(row["exact_over_clones_fb_paired"])),
    }
    if "c_exact_pool_n_jobs_2" in t:
        row["ratios"]["n_jobs_1_over_2"] = (
            t["c_exact_pool_n_jobs_1"] / t["c_exact_pool_n_jobs_2"]
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


def bench_egl_pp_scaling(args):
    """End-to-end EGL++ query time for growing pools (fitted exponent)."""
    from sk_eglpp import EGLPlusPlusQuery
    from sk_eglpp.models import HourglassRegressor

    sizes = (125, 250, 500, 1000) if args.quick else (1000, 2000, 4000, 8000)
    n_lab, image_size = 200, 32
    model = {"n_features": 8, "n_stacks": 1, "depth": 1}
    X, y = make_pose_dataset(max(sizes) + n_lab, image_size=image_size, random_state=0)
    X_lab, y_lab, X_pool = X[:n_lab], y[:n_lab], X[n_lab:]
    net = HourglassRegressor(
        **{f"module__{k}": v for k, v in model.items()},
        max_epochs=1,
        random_state=0,
    ).fit(X_lab, y_lab)
    strategy = EGLPlusPlusQuery(n_neighbors=30, batch_size=32, device=args.device)

    def query(n):
        return strategy.score(net, X_pool[:n], X_labelled=X_lab, y_labelled=y_lab)

    query(64)  # warm-up (allocator, lazy imports)
    times = []
    for n in sizes:
        # The largest pools take long: at most 2 repeats there, 1 with --quick.
        reps = args.repeats if n <= sizes[1] else min(args.repeats, 2)
        reps = 1 if args.quick else reps
        times.append(_median_time(lambda n=n: query(n), reps)[0])
    slope, _ = np.polyfit(np.log(sizes), np.log(times), 1)
    return {
        "model": {"image_size": image_size, **model},
        "n_labelled": n_lab,
        "n_neighbors": 30,
        "n_pool": list(sizes),
        "time_s": times,
        "time_per_input_s": [t / n for t, n in zip(times, sizes, strict=True)],
        "scaling_exponent": float(slope),
    }


def bench_linear(args):
    """``emcm`` / ``egl_linear`` against scikit-activeml's EMCM, same data."""
    from scipy.stats import spearmanr
    from sklearn.linear_model import LinearRegression

    from sk_eglpp import EMCMQuery, LinearEGLQuery

    n_pool, n_lab, d, K = (20000, 500, 50, 10) if args.quick else (100000, 1000, 50, 10)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_pool + n_lab, d))
    y = X @ rng.normal(size=d) + 0.5 * rng.normal(size=n_pool + n_lab)
    X_lab, y_lab, X_pool = X[:n_lab], y[:n_lab], X[n_lab:]
    model = LinearRegression().fit(X_lab, y_lab)
    data = dict(X_labelled=X_lab, y_labelled=y_lab)

    def ours(cls, seed=0):
        return cls(n_estimators=K, random_state=seed).score(model, X_pool, **data)

    t_emcm, s_emcm = _median_time(lambda: ours(EMCMQuery), args.repeats)
    t_egl, _ = _median_time(lambda: ours(LinearEGLQuery), args.repeats)
    row = {
        "n_pool": n_pool,
        "n_labelled": n_lab,
        "d": d,
        "K": K,
        "time_s": {"emcm": t_emcm, "egl_linear": t_egl},
        "ratios": {"egl_linear_over_emcm": t_egl / t_emcm},
        # Bootstrap noise: the same strategy with another seed.
        "emcm_spearman_other_seed": float(
            spearmanr(s_emcm, ours(EMCMQuery, seed=1)).statistic
        ),
    }
    try:
        from skactiveml.pool import ExpectedModelChangeMaximization
        from skactiveml.regressor import SklearnRegressor
    except ImportError:
        row["skactiveml"] = "not installed (pip install scikit-activeml)"
        return row
    reg = SklearnRegressor(LinearRegression()).fit(X_lab, y_lab)

    def skal(seed=0):
        # Same K; n_train=1 (int) draws len(X_lab) + 1 rows with replacement
        # from the labelled set, the nearest to our n_labelled-row resamples.
        qs = ExpectedModelChangeMaximization(
            bootstrap_size=K, n_train=1, random_state=seed
        )
        return qs.query(
            X_lab,
            y_lab,
            reg,
            fit_reg=False,
            candidates=X_pool,
            batch_size=1,
            return_utilities=True,
        )[1][0]

    t_sk, s_sk = _median_time(skal, args.repeats)
    row["time_s"]["skactiveml_emcm"] = t_sk
    row["ratios"]["skactiveml_over_emcm"] = t_sk / t_emcm
    row["ratios"]["skactiveml_over_egl_linear"] = t_sk / t_egl
    row["emcm_spearman_skactiveml"] = float(spearmanr(s_emcm, s_sk).statistic)
    row["skactiveml_spearman_other_seed"] = float(
        spearmanr(s_sk, skal(seed=1)).statistic
    )
    return row


def _print_table(results):
    if results.get("gradients"):
        _print_gradients(results)
    if "neighbors" in results:
        _print_neighbors(results["neighbors"])
    if "egl_pp_scaling" in results:
        sc = results["egl_pp_scaling"]
        print(f"\n{'EGL++ query (tiny hourglass)':<30}{'time (s)':>12}{'s/input':>12}")
        for n, t, per in zip(
            sc["n_pool"], sc["time_s"], sc["time_per_input_s"], strict=True
        ):
            print(f"{'n_pool = ' + str(n):<30}{t:>12.4g}{per:>12.3g}")
        print(f"{'scaling exponent':<30}{sc['scaling_exponent']:>12.3f}")
    if "linear" in results:
        li = results["linear"]
        print(
            f"\nlinear strategies {li['n_pool']} x {li['d']}, K={li['K']}, "
            f"n_labelled={li['n_labelled']}"
        )
        for name, t in li["time_s"].items():
            print(f"  {name:<28}{t:>10.4g} s")
        for name, r in li["ratios"].items():
            print(f"  {name:<28}{r:>10.3g}")
        for key in (
            "emcm_spearman_skactiveml",
            "emcm_spearman_other_seed",
            "skactiveml_spearman_other_seed",
        ):
            if key in li:
                print(f"  {key:<28}{li[key]:>10.3f}")
        if "skactiveml" in li:
            print(f"  skactiveml: {li['skactiveml']}")


def _print_gradients(results):
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
        (
            "f K clones, forward+backward (s/input)",
            lambda r: r["time_per_input_s"]["f_clones_forward_backward"],
        ),
        ("a / c", lambda r: r["ratios"]["loop_over_exact"]),
        ("b / c", lambda r: r["ratios"]["clones_over_exact"]),
        ("b / d", lambda r: r["ratios"]["clones_over_lowrank"]),
        ("c / d", lambda r: r["ratios"]["exact_over_lowrank"]),
        ("c / f (paired, median)", lambda r: r["ratios"]["exact_over_clones_fb"]),
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


def _print_neighbors(nb):
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
    parser.add_argument(
        "--only",
        default="gradients,neighbors,scaling,linear",
        help="comma-separated sections to run (default: all)",
    )
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    unknown = sections - set(_SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {_SECTIONS}")
    torch.set_num_threads(args.threads)
    results = {}
    if sections != set(_SECTIONS) and os.path.exists(args.output):
        with open(args.output) as fh:
            results = json.load(fh)  # keep the sections not run now
    results.update(
        {
            "command": " ".join(["python -m benchmarks", *(argv or sys.argv[1:])]),
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "torch": torch.__version__,
                "numpy": np.__version__,
                "torch_threads": torch.get_num_threads(),
                "device": args.device,
            },
        }
    )
    if "gradients" in sections:
        results["gradients"] = []
    models = [("default", {}, 2, 8 if args.quick else 32)]
    models.append(
        (
            "paper-sized",
            {"n_features": 256, "n_stacks": 2, "depth": 4},
            1,
            4 if args.quick else 8,
        )
    )
    for name, kwargs, n_ref, n_pool in models if "gradients" in sections else ():
        print(f"gradient stage: {name} hourglass ...", flush=True)
        results["gradients"].append(bench_gradients(name, kwargs, args, n_ref, n_pool))
    if "neighbors" in sections:
        print("neighbour stage ...", flush=True)
        results["neighbors"] = bench_neighbors(args)
    if "scaling" in sections:
        print("end-to-end EGL++ query scaling ...", flush=True)
        results["egl_pp_scaling"] = bench_egl_pp_scaling(args)
    if "linear" in sections:
        print("linear strategies ...", flush=True)
        results["linear"] = bench_linear(args)
    _print_table(results)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(results, fh, indent=2)
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
