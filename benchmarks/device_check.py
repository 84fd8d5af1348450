"""Readiness of a GPU machine for the paper-scale protocol: the CUDA tests,
EGL++ on the GPU against the CPU, seconds per training epoch, and the
projected GPU-hours of the paper's Table 1 protocol.

Run from the repository root on a machine with one GPU (about 7 minutes:
every step has a wall-clock allowance and all of them together stay within
``--budget-s``)::

    python -m benchmarks.device_check [--output device_check.json]
        [--budget-s 420] [--lspet PATH] [--epochs 80]

Its smoke test on a CPU-only machine (tiny sizes, well under a minute)::

    OMP_NUM_THREADS=1 python -m benchmarks.device_check --device cpu --quick

Without CUDA and without ``--device cpu`` it exits at once with a one-line
message. The JSON goes to ``--output``, by default ``$OUT/device_check.json``
when ``OUT`` is set, else ``./device_check.json``; it is rewritten after
every step, so a run that is stopped keeps what it measured.

Steps (``sim`` is the simulation's network, ``pose_estimator(in_channels=3,
depth=3, n_features=16)`` at 64 px, batches of 8; ``paper`` the paper's
two-stack hourglass, ``module__n_features=256, module__depth=4`` at 256 px,
batches of 16):

1. ``tests``: pytest, in a subprocess, on the test files whose tests depend
   on ``torch.cuda.is_available()``, selected with ``-k "cuda or
   test_global_rng"`` (the global-RNG tests also check the CUDA generators
   when a GPU is present; ``--quick`` runs ``-k cuda`` only); pass, fail and
   skip counts from pytest's JUnit report.
2. ``train_sim``: seconds per epoch of ``sim`` on 1,000 RGB images (the
   paper's initial set size) on the device, the median of epochs 2-3 (the
   first carries the start-up of the CUDA libraries).
3. ``query_sim``: one ``EGLPlusPlusQuery()`` selection (K = 30, 10 % of the
   pool, the 1,000 images as the labelled set) with that fitted network on
   up to 256 pool images (fewer if a CPU probe says they would not fit the
   step's allowance), the whole query on the device, then on the CPU with a
   copy of the same weights: the time ratio, and whether the selections
   agree or the utilities agree within ``--rtol`` (convolutions on CUDA use
   TF32 by default; the query is run once more without TF32 to show what
   that accounts for).
4. ``train_sim_cpu``: one epoch of ``sim`` on 256 images on the CPU.
5. ``train_paper``: seconds per epoch of ``paper`` on 512 images on the
   device (median of epochs 2-4), and seconds per image of ``predict``.
6. ``query_paper``: EGL++ with that network on up to 128 pool images (the
   512 as the labelled set), on the device: seconds per pool image, an upper
   bound (it includes embedding the labelled set). A CUDA out-of-memory
   error retries with a smaller ``batch_size`` of the query.

Images: the first LSPET images (``load_lspet``, RGB) when the folder is there
(``--lspet``, else ``../shared/data/lspet`` or ``shared/data/lspet`` beside
the repository), otherwise uniform noise of the same shape; the timings do
not depend on the content. The JSON says which was used. With ``--device
cpu``, steps 4-6 are skipped (step 2 is then the CPU's figure; the 256-px
network is timed on CUDA only); ``--quick`` runs every step with tiny
stand-in networks and sizes, to test the script, not to measure.

Projection, from the figures of steps 5 and 6: the paper's LSP-LSPET
protocol of Table 1 -- an initial set of 1,000, the 10,000 LSPET images as
the pool, 5 cycles of +1,000 (2,000 to 6,000 labelled), 5 strategies
(EGL++, random, Core-set, multi-peak entropy, Learning Loss), 5 runs, 1,000
test images -- where every training (each run's base model, then every
strategy's model after every cycle) runs ``--epochs`` epochs over the
labelled set. The paper states neither the epochs nor the batch size: the
defaults, 80 epochs of batches of 16, are those of the authors' released
``configuration.yml``. EGL++ costs its measured seconds per pool image over
every cycle's pool; Core-set one forward pass over pool and labelled set;
multi-peak entropy and Learning Loss one over the pool; random nothing;
every model is evaluated once on the test set. Not counted: the authors'
per-epoch validation, data loading and augmentation, the Learning Loss head.
"""

import argparse
import copy
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: python benchmarks/device_check.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REPO = Path(__file__).resolve().parents[1]

#: the networks and sizes of the steps; ``QUICK`` replaces them for --quick
SIZES = {
    "sim": dict(image_size=64, depth=3, n_features=16, batch_size=8,
                n_train=1000, n_pool=256, n_cpu_train=256, epochs=3),
    "paper": dict(image_size=256, depth=4, n_features=256, batch_size=16,
                  n_train=512, n_pool=128, epochs=4),
}
QUICK = {
    "sim": dict(image_size=32, depth=1, n_features=8, batch_size=8,
                n_train=48, n_pool=16, n_cpu_train=32, epochs=2),
    "paper": dict(image_size=64, depth=2, n_features=16, batch_size=16,
                  n_train=32, n_pool=4, epochs=2),
}

#: the paper's Table 1 protocol on LSP-LSPET; epochs and batch size are the
#: authors' released configuration (the paper states neither)
PROTOCOL = dict(
    n_pool=10000, n_initial=1000, budget=1000, n_cycles=5, n_runs=5,
    n_test=1000, image_size=256, epochs=80, batch_size=16,
    strategies=("egl_pp", "random_query", "coreset", "multipeak_entropy",
                "learning_loss"),
)

#: the steps in order, with their shares of the time budget (seconds of the
#: default budget, 420 and 50 with --quick; time a step leaves goes to the next)
STEPS = ("tests", "train_sim", "query_sim", "train_sim_cpu", "train_paper",
         "query_paper")
SHARES = {
    "full": dict(tests=100, train_sim=45, query_sim=90, train_sim_cpu=35,
                 train_paper=80, query_paper=70),
    "quick": dict(tests=25, train_sim=5, query_sim=5, train_sim_cpu=5,
                  train_paper=5, query_paper=5),
}
_N_NEIGHBORS = 30


class StepTimeout(Exception):
    """A step ran past its wall-clock allowance."""


class Skipped(Exception):
    """A step that does not apply to this run (the message says why)."""


@contextmanager
def _alarm(seconds):
    """Raise StepTimeout in the main thread after ``seconds`` (POSIX only)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def handler(signum, frame):
        raise StepTimeout(f"ran past its allowance of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _sync(device):
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _timed(func, device):
    """``(seconds, result)`` of ``func()``, the device synchronised around it."""
    _sync(device)
    start = time.perf_counter()
    result = func()
    _sync(device)
    return time.perf_counter() - start, result


def _moved(net, device):
    """A copy of a fitted skorch net whose modules and criteria are on ``device``."""
    import torch

    other = copy.deepcopy(net)
    other.set_params(device=device)
    for name in other._modules + other._criteria:
        module = getattr(other, name + "_", None)
        if isinstance(module, torch.nn.Module):
            module.to(device)
    return other


def _default_lspet():
    for folder in (REPO.parent / "shared" / "data" / "lspet",
                   REPO / "shared" / "data" / "lspet"):
        if (folder / "joints.mat").is_file():
            return folder
    return None


def load_images(n, image_size, lspet=None, random_state=0):
    """``X, y, source``: ``n`` RGB images with 14 keypoints each.

    The first ``n`` LSPET images when ``lspet`` is a folder holding at least
    ``n``, else uniform noise in [0, 1] with uniform keypoints inside the
    image (``source`` says which).
    """
    if lspet is not None:
        from sk_eglpp.datasets import load_lspet

        X, y = load_lspet(lspet, image_size=image_size, max_samples=n)
        if X.shape[0] == n:
            return X, y, "lspet"
    rng = np.random.default_rng(random_state)
    X = rng.random((n, 3, image_size, image_size), dtype=np.float32)
    y = rng.uniform(0.1 * image_size, 0.9 * image_size, size=(n, 28))
    return X, y, "random"


def _network(sizes, device, epochs):
    from sk_eglpp.simulation import pose_estimator

    net = pose_estimator(
        in_channels=3, depth=sizes["depth"], n_features=sizes["n_features"],
        max_epochs=epochs, device=device,
    )
    return net.set_params(batch_size=sizes["batch_size"], random_state=0)


def epoch_seconds(sizes, X, y, device, epochs):
    """Fit a fresh network for ``epochs`` epochs; ``(net, row)`` of its timing."""
    net = _network(sizes, device, epochs).fit(X, y)
    durations = [float(d) for d in net.history_[:, "dur"]]
    timed = durations[1:] or durations  # the first carries the start-up
    per_epoch = statistics.median(timed)
    return net, {
        "device": str(device), "n_images": int(X.shape[0]),
        "image_size": int(X.shape[-1]), "batch_size": sizes["batch_size"],
        "depth": sizes["depth"], "n_features": sizes["n_features"],
        "epoch_s": durations, "s_per_epoch": per_epoch,
        "s_per_image_epoch": per_epoch / X.shape[0],
        "n_parameters": int(sum(p.numel() for p in net.module_.parameters())),
    }


def egl_query(net, X_pool, X_lab, y_lab, n_instances, batch_size=16):
    """``(seconds, indices, utilities, warnings)`` of one EGL++ selection."""
    from sk_eglpp.query import EGLPlusPlusQuery

    strategy = EGLPlusPlusQuery(n_neighbors=_N_NEIGHBORS, batch_size=batch_size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        seconds, idx = _timed(
            lambda: strategy.select(net, X_pool, n_instances, X_labelled=X_lab,
                                    y_labelled=y_lab),
            net.device,
        )
    messages = sorted({str(w.message).split(";")[0] for w in caught})
    return seconds, np.asarray(idx), np.asarray(strategy.scores_), messages


def agreement(u_device, u_cpu, idx_device, idx_cpu, rtol):
    """How far the device's utilities and selection are from the CPU's."""
    from scipy.stats import spearmanr

    scale = float(np.max(np.abs(u_cpu))) or 1.0
    overlap = len(set(idx_device.tolist()) & set(idx_cpu.tolist())) / len(idx_cpu)
    same = bool(np.array_equal(np.sort(idx_device), np.sort(idx_cpu)))
    close = bool(np.allclose(u_device, u_cpu, rtol=rtol, atol=0.0))
    rho = spearmanr(u_device, u_cpu)[0] if len(u_cpu) > 1 else 1.0
    return {
        "max_abs_diff_rel_to_max": float(np.max(np.abs(u_device - u_cpu))) / scale,
        "max_rel_diff": float(np.max(np.abs(u_device - u_cpu) /
                                     np.maximum(np.abs(u_cpu), 1e-300))),
        "spearman": float(rho), "selection_overlap": overlap,
        "same_selection": same, "utilities_within_rtol": close,
        "rtol": rtol, "agree": same or close,
    }


@contextmanager
def _no_tf32():
    import torch

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def projection(s_per_image_epoch, egl_s_per_pool_image, infer_s_per_image,
               protocol=PROTOCOL):
    """GPU-hours of the protocol from seconds per image-epoch, per EGL++ pool
    image and per inference image (see the module's docstring)."""
    p = protocol
    cycles = range(p["n_cycles"])
    pools = [p["n_pool"] - c * p["budget"] for c in cycles]  # at each query
    before = [p["n_initial"] + c * p["budget"] for c in cycles]  # labelled then
    after = [n + p["budget"] for n in before]  # trained on after the query
    n_strategies, runs = len(p["strategies"]), p["n_runs"]
    seconds = {
        "train_base": runs * p["epochs"] * p["n_initial"] * s_per_image_epoch,
        "train_cycles": runs * n_strategies * p["epochs"] * sum(after)
        * s_per_image_epoch,
        "query_egl_pp": runs * sum(pools) * egl_s_per_pool_image,
        "query_others": runs * infer_s_per_image
        * (sum(pools) + sum(before) + 2 * sum(pools)),
        "evaluation": runs * (1 + n_strategies * p["n_cycles"]) * p["n_test"]
        * infer_s_per_image,
    }
    hours = {k: v / 3600 for k, v in seconds.items()}
    return {
        "protocol": {k: list(v) if isinstance(v, tuple) else v
                     for k, v in p.items()},
        "inputs": {"s_per_image_epoch": s_per_image_epoch,
                   "egl_pp_s_per_pool_image": egl_s_per_pool_image,
                   "inference_s_per_image": infer_s_per_image},
        "gpu_hours": hours,
        "gpu_hours_total": sum(hours.values()),
    }


def run_tests(quick, timeout):
    """pytest on the CUDA tests in a subprocess; counts from its JUnit report."""
    files = sorted(str(f.relative_to(REPO)) for f in (REPO / "tests").rglob("test_*.py")
                   if "cuda.is_available()" in f.read_text(encoding="utf-8"))
    expression = "cuda or test_global_rng"
    if quick:  # the global-RNG tests check nothing more on a CPU
        files = [f for f in files if not f.endswith("test_global_rng.py")]
        expression = "cuda"
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "junit.xml")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "-k", expression, f"--junitxml={report}", *files]
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if not os.path.exists(report):
            raise RuntimeError("pytest wrote no report: " + proc.stderr[-500:])
        root = ET.parse(report).getroot()
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.iter("testsuite"):
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    failed = [f"{case.get('classname')}::{case.get('name')}"
              for case in root.iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None]
    skipped = [f"{case.get('classname')}::{case.get('name')}"
               for case in root.iter("testcase") if case.find("skipped") is not None]
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {
        "command": " ".join(command[1:]), "returncode": proc.returncode,
        "passed": passed, "failed": counts["failures"] + counts["errors"],
        "skipped": counts["skipped"], "failed_tests": failed,
        "skipped_tests": skipped,
        "output_tail": proc.stdout[-1500:] if failed or proc.returncode > 1 else "",
    }


class DeviceCheck:
    """The steps of the check, sharing their data and fitted networks."""

    def __init__(self, args):
        self.args = args
        self.device = args.device
        self.sizes = QUICK if args.quick else SIZES
        self.data, self.nets = {}, {}
        self.on_cuda = self.device.startswith("cuda")

    def images(self, key):
        """Training images then pool images of ``sizes[key]``, loaded once."""
        if key not in self.data:
            s = self.sizes[key]
            self.data[key] = load_images(s["n_train"] + s["n_pool"], s["image_size"],
                                         self.args.lspet)
        return self.data[key]

    # -- steps ----------------------------------------------------------------

    def tests(self, allowance):
        return run_tests(self.args.quick, timeout=max(allowance - 2, 1))

    def train_sim(self, allowance):
        s = self.sizes["sim"]
        X, y, source = self.images("sim")
        net, row = epoch_seconds(s, X[: s["n_train"]], y[: s["n_train"]],
                                 self.device, s["epochs"])
        self.nets["sim"] = net
        return {"images": source, **row}

    def query_sim(self, allowance):
        s = self.sizes["sim"]
        X, y, source = self.images("sim")
        start = time.monotonic()
        n_lab = s["n_train"]
        X_lab, y_lab, X_pool = X[:n_lab], y[:n_lab], X[n_lab:]
        net = self.nets.get("sim")
        if net is None:  # train_sim did not finish: a one-epoch model
            net = _network(s, self.device, 1).fit(X_lab, y_lab)
        net_cpu = _moved(net, "cpu")
        # warm the device's kernels; probe the CPU's speed to size the pool
        egl_query(net, X_pool[:4], X_lab, y_lab, 1)
        probe, *_ = egl_query(net_cpu, X_pool[:8], X_lab, y_lab, 1)
        left = allowance - (time.monotonic() - start)
        n = int(np.clip(0.35 * left / (probe / 8), 8, X_pool.shape[0]))
        pool, k = X_pool[:n], max(1, n // 10)
        t_dev, idx_dev, u_dev, msgs = egl_query(net, pool, X_lab, y_lab, k)
        t_cpu, idx_cpu, u_cpu, _ = egl_query(net_cpu, pool, X_lab, y_lab, k)
        row = {
            "images": source, "n_pool": n, "n_labelled": n_lab, "n_instances": k,
            "n_neighbors": _N_NEIGHBORS, "device_s": t_dev, "cpu_s": t_cpu,
            "cpu_over_device": t_cpu / t_dev,
            "device_s_per_pool_image": t_dev / n, "cpu_s_per_pool_image": t_cpu / n,
            **agreement(u_dev, u_cpu, idx_dev, idx_cpu, self.args.rtol),
            "warnings": msgs,
        }
        if self.on_cuda and allowance - (time.monotonic() - start) > 3 * t_dev:
            import torch

            row["tf32_convolutions"] = bool(torch.backends.cudnn.allow_tf32)
            with _no_tf32():
                _, idx_32, u_32, _ = egl_query(net, pool, X_lab, y_lab, k)
            fp32 = agreement(u_32, u_cpu, idx_32, idx_cpu, self.args.rtol)
            row["without_tf32"] = {key: fp32[key] for key in (
                "max_rel_diff", "spearman", "selection_overlap", "agree")}
        return row

    def train_sim_cpu(self, allowance):
        if not self.on_cuda and not self.args.quick:
            raise Skipped("the device is the CPU: train_sim is this figure")
        s = self.sizes["sim"]
        X, y, source = self.images("sim")
        n = s["n_cpu_train"]
        _, row = epoch_seconds(s, X[:n], y[:n], "cpu", 1)
        return {"images": source, **row}

    def train_paper(self, allowance):
        if not self.on_cuda and not self.args.quick:
            raise Skipped("the 256-px paper network is timed on CUDA only")
        s = self.sizes["paper"]
        X, y, source = self.images("paper")
        X_train = X[: s["n_train"]]
        net, row = epoch_seconds(s, X_train, y[: s["n_train"]], self.device,
                                 s["epochs"])
        self.nets["paper"] = net
        net.predict(X_train[: s["batch_size"]])  # warm
        seconds, _ = _timed(lambda: net.predict(X_train), self.device)
        return {"images": source, **row,
                "predict_s_per_image": seconds / X_train.shape[0]}

    def query_paper(self, allowance):
        if not self.on_cuda and not self.args.quick:
            raise Skipped("the 256-px paper network is timed on CUDA only")
        net = self.nets.get("paper")
        if net is None:
            raise Skipped("train_paper did not finish: no fitted paper network")
        s = self.sizes["paper"]
        X, y, source = self.images("paper")
        n_lab = s["n_train"]
        X_lab, y_lab, X_pool = X[:n_lab], y[:n_lab], X[n_lab:]
        start = time.monotonic()
        for batch_size in (16, 4, 1):
            try:
                probe, *_ = egl_query(net, X_pool[:2], X_lab, y_lab, 1, batch_size)
                break
            except RuntimeError as exc:  # torch.cuda.OutOfMemoryError included
                if "out of memory" not in str(exc).lower() or batch_size == 1:
                    raise
                import torch

                torch.cuda.empty_cache()
        left = allowance - (time.monotonic() - start)
        n = int(np.clip(0.6 * left / (probe / 2), 2, X_pool.shape[0]))
        seconds, _, u, msgs = egl_query(net, X_pool[:n], X_lab, y_lab, 1, batch_size)
        return {"images": source, "n_pool": n, "n_labelled": n_lab,
                "n_neighbors": _N_NEIGHBORS, "query_batch_size": batch_size,
                "seconds": seconds, "s_per_pool_image": seconds / n,
                "utilities_finite": bool(np.all(np.isfinite(u))), "warnings": msgs}


def _environment(device):
    import torch

    env = {
        "python": sys.version.split()[0], "torch": torch.__version__,
        "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(
            gpu=props.name, gpu_memory_GiB=props.total_memory / 2**30,
            compute_capability=f"{props.major}.{props.minor}",
            cudnn=torch.backends.cudnn.version(),
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
        )
    return env


def _save(path, results):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(results, fh, indent=2)
    os.replace(tmp, path)


def _run_step(check, name, allowance, device):
    """One step under its allowance; its row with ``status`` and ``wall_s``."""
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    start = time.monotonic()
    try:
        with _alarm(allowance):
            row = {"status": "ok", **getattr(check, name)(allowance)}
    except Skipped as exc:
        row = {"status": f"skipped: {exc}"}
    except StepTimeout as exc:
        row = {"status": f"timed out: {exc}"}
    except subprocess.TimeoutExpired as exc:
        row = {"status": f"timed out: pytest ran past {exc.timeout:.0f} s"}
    except Exception as exc:  # a readiness check reports a failure and goes on
        traceback.print_exc(limit=3)
        row = {"status": f"failed: {type(exc).__name__}: {str(exc)[:300]}"}
        if cuda:
            torch.cuda.empty_cache()
    row["wall_s"] = time.monotonic() - start
    row["allowance_s"] = allowance
    if cuda:
        row["peak_gpu_memory_GiB"] = torch.cuda.max_memory_allocated(device) / 2**30
    return row


def _project(results, args):
    steps = results["steps"]
    train, query = steps.get("train_paper", {}), steps.get("query_paper", {})
    if train.get("status") != "ok" or query.get("status") != "ok":
        return {"status": "unavailable: train_paper and query_paper must both "
                          "succeed"}
    protocol = dict(PROTOCOL, epochs=args.epochs)
    out = projection(train["s_per_image_epoch"], query["s_per_pool_image"],
                     train["predict_s_per_image"], protocol)
    out["status"] = ("quick: stand-in networks and sizes, not a projection"
                     if args.quick else "ok")
    return out


def _summary(results):
    lines = []
    for name, row in results["steps"].items():
        lines.append(f"{name:<14} {row['status'][:70]} ({row['wall_s']:.1f} s)")
        if row["status"] != "ok":
            continue
        if name == "tests":
            lines.append(f"{'':14} {row['passed']} passed, {row['failed']} failed, "
                         f"{row['skipped']} skipped")
        elif name.startswith("train"):
            extra = (f", predict {row['predict_s_per_image'] * 1e3:.2f} ms/image"
                     if "predict_s_per_image" in row else "")
            lines.append(f"{'':14} {row['device']}, {row['n_images']} x "
                         f"{row['image_size']} px ({row['images']}): "
                         f"{row['s_per_epoch']:.2f} s/epoch{extra}")
        elif name == "query_sim":
            lines.append(f"{'':14} pool {row['n_pool']}: device {row['device_s']:.2f}"
                         f" s, cpu {row['cpu_s']:.2f} s, cpu/device "
                         f"{row['cpu_over_device']:.1f}x; agree {row['agree']} "
                         f"(overlap {row['selection_overlap']:.2f}, max rel diff "
                         f"{row['max_rel_diff']:.1e})")
        elif name == "query_paper":
            lines.append(f"{'':14} pool {row['n_pool']}: "
                         f"{row['s_per_pool_image']:.3f} s per pool image")
    proj = results["projection"]
    if "gpu_hours_total" in proj:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in proj["gpu_hours"].items())
        lines.append(f"projection     {proj['gpu_hours_total']:.1f} GPU-hours "
                     f"({parts}) [{proj['status']}]")
    else:
        lines.append(f"projection     {proj['status']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.device_check", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--device", default="cuda",
                        help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: a smoke test of the script, not figures")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="wall-clock budget of all steps (420, quick 50)")
    parser.add_argument("--lspet", type=Path, default=None,
                        help="LSPET folder (default: ../shared/data/lspet if there)")
    parser.add_argument("--epochs", type=int, default=PROTOCOL["epochs"],
                        help="epochs per training in the projection (80)")
    parser.add_argument("--rtol", type=float, default=1e-2,
                        help="relative tolerance of device vs CPU utilities")
    out = os.environ.get("OUT")
    parser.add_argument("--output", default=os.path.join(out, "device_check.json")
                        if out else "device_check.json")
    args = parser.parse_args(argv)
    if not (args.device == "cpu" or args.device.startswith("cuda")):
        parser.error(f"--device must be cuda, cuda:N or cpu, got {args.device!r}")
    if args.lspet is not None and not (args.lspet / "joints.mat").is_file():
        parser.error(f"--lspet {args.lspet}: no joints.mat there")
    args.lspet = args.lspet or _default_lspet()
    budget = args.budget_s or (50.0 if args.quick else 420.0)

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(
            f"device_check: CUDA is not available here (torch {torch.__version__}); "
            "run `python -m benchmarks.device_check --device cpu --quick` for the "
            "CPU smoke test."
        )
    deadline = time.monotonic() + budget
    results = {"settings": {**vars(args), "lspet": str(args.lspet),
                            "budget_s": budget},
               "environment": _environment(args.device), "steps": {},
               "projection": {"status": "not computed yet"}}
    check = DeviceCheck(args)
    shares = SHARES["quick" if args.quick else "full"]
    shares_left = sum(shares.values())
    for name in STEPS:
        allowance = shares[name] * (deadline - time.monotonic()) / shares_left
        shares_left -= shares[name]
        print(f"{name} (allowance {allowance:.0f} s) ...", flush=True)
        results["steps"][name] = _run_step(check, name, allowance, args.device)
        print(f"  {results['steps'][name]['status']}", flush=True)
        _save(args.output, results)
    results["projection"] = _project(results, args)
    _save(args.output, results)
    print("\n" + _summary(results))
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
