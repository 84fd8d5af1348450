"""One EGL++ query at the pool sizes of the paper, on 1 core, 2 loky workers
and a 2-worker Dask cluster: time, peak memory and the scaling exponent.

Run from the repository root (``pip install -e ".[dask]"`` first)::

    python -m benchmarks.paper_scale [--sizes 2500,5000,10000]
        [--configs serial,loky2,dask2] [--n-labelled 1000]
        [--output benchmarks/paper_scale.json]

Protocol: ``make_pose_dataset`` draws ``n_labelled + max(sizes)`` synthetic
64 x 64 pose images (``random_state=0``). The default ``HourglassRegressor``
is fitted for one epoch on the first ``n_labelled`` of them, once, and
pickled to ``<output>.model.pkl``; every measurement loads that same model.
One measurement is one call of ``EGLPlusPlusQuery(n_neighbors=30).score`` on
the first ``n`` pool images (embeddings, Eq. 8 neighbours, the gradient
stage), timed end to end, in a fresh Python process:

* ``serial``: ``n_jobs=1``, one torch thread, the process pinned to one core;
* ``loky2``: ``n_jobs=2`` (joblib's default backend, one torch thread per
  worker);
* ``dask2``: ``joblib.parallel_config(backend="dask")`` on a
  ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)`` of worker
  processes, started before the clock;
* ``dask2_glibc``: the same without the ``MALLOC_TRIM_THRESHOLD_=65536`` that
  ``distributed`` sets in its workers' environment by default
  (``distributed.nanny.pre-spawn-environ``). Not in the default ``--configs``:
  it explains the ``dask2`` figures (see ``docs/performance.rst``).

The peak memory is the largest sum of the resident set sizes of the process
and all its descendants (the loky and dask workers), sampled every 0.1 s with
psutil, minus the resident size before the data were made: what the query
and its workers added. Each result is written to ``--output`` when it is
done; a run that is interrupted resumes with the measurements that are not
there yet. The scaling exponent is the least-squares slope of log time on
log pool size for each configuration.
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import threading
import time

import numpy as np

if __package__ in (None, ""):  # run as a script: python benchmarks/paper_scale.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIGS = ("serial", "loky2", "dask2", "dask2_glibc")
_N_NEIGHBORS = 30
_IMAGE_SIZE = 64


def _data(n_labelled, n_pool):
    from sk_eglpp.datasets import make_pose_dataset

    X, y = make_pose_dataset(
        n_labelled + n_pool, image_size=_IMAGE_SIZE, random_state=0
    )
    return X[:n_labelled], y[:n_labelled], X[n_labelled:]


def _fit_model(path, n_labelled):
    import torch

    from sk_eglpp.models import HourglassRegressor

    torch.set_num_threads(1)
    X_lab, y_lab, _ = _data(n_labelled, 0)
    net = HourglassRegressor(max_epochs=1, random_state=0).fit(X_lab, y_lab)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(net, fh)
    os.replace(tmp, path)


class _PeakRSS:
    """Largest total resident memory of this process and its descendants."""

    def __init__(self, interval=0.1):
        import psutil

        self._proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def total(self):
        import psutil

        procs = [self._proc]
        try:
            procs += self._proc.children(recursive=True)
        except psutil.Error:
            pass
        rss = 0
        for p in procs:
            try:
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        return rss

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.total())
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.total())


def _measure(config, n_pool, n_labelled, model_path):
    """One timed query in this process; returns the result row."""
    import torch

    if config == "serial" and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    torch.set_num_threads(1)
    from joblib import parallel_config

    from sk_eglpp import EGLPlusPlusQuery

    meter = _PeakRSS()
    base_rss = meter.total()
    with open(model_path, "rb") as fh:
        net = pickle.load(fh)
    X_lab, y_lab, X_pool = _data(n_labelled, n_pool)
    n_jobs = {"serial": 1, "loky2": 2}.get(config)
    strategy = EGLPlusPlusQuery(n_neighbors=_N_NEIGHBORS, n_jobs=n_jobs)

    def query(X):
        return strategy.score(net, X, X_labelled=X_lab, y_labelled=y_lab)

    cluster = client = None
    if config.startswith("dask2"):
        import dask
        import distributed

        if config == "dask2_glibc":
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            dask.config.set({"distributed.nanny.pre-spawn-environ": environ})
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
    try:
        backend = parallel_config(backend="dask") if client else parallel_config()
        with backend:
            query(X_pool[:64])  # workers started and warmed, outside the clock
            with meter:
                start = time.perf_counter()
                scores = query(X_pool)
                elapsed = time.perf_counter() - start
    finally:
        if client is not None:
            client.close()
            cluster.close()
    return {
        "config": config,
        "n_pool": n_pool,
        "time_s": elapsed,
        "time_per_input_s": elapsed / n_pool,
        "peak_rss_added_MiB": (meter.peak - base_rss) / 2**20,
        "peak_rss_MiB": meter.peak / 2**20,
        "pool_images_MiB": X_pool.nbytes / 2**20,
        "scores_finite": bool(np.all(np.isfinite(scores))),
        "load_average_1min": os.getloadavg()[0],
    }


def _load(path):
    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    return {"rows": []}


def _save(path, results):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(results, fh, indent=2)
    os.replace(tmp, path)


def _exponents(rows):
    out = {}
    for config in CONFIGS:
        pts = sorted((r["n_pool"], r["time_s"]) for r in rows if r["config"] == config)
        if len(pts) >= 2:
            n, t = np.array(pts).T
            out[config] = float(np.polyfit(np.log(n), np.log(t), 1)[0])
    return out


def _print_table(results):
    rows = results["rows"]
    print(f"\n{'config':<8}{'n_pool':>8}{'time (s)':>11}{'s/input':>10}"
          f"{'peak MiB':>10}{'load':>6}")
    for r in sorted(rows, key=lambda r: (CONFIGS.index(r["config"]), r["n_pool"])):
        print(
            f"{r['config']:<8}{r['n_pool']:>8}{r['time_s']:>11.1f}"
            f"{r['time_per_input_s']:>10.4f}{r['peak_rss_added_MiB']:>10.0f}"
            f"{r['load_average_1min']:>6.1f}"
        )
    for config, slope in results.get("scaling_exponent", {}).items():
        print(f"scaling exponent {config}: {slope:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.paper_scale", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sizes", default="2500,5000,10000")
    parser.add_argument("--configs", default=",".join(CONFIGS[:3]))
    parser.add_argument("--n-labelled", type=int, default=1000)
    parser.add_argument("--output", default="benchmarks/paper_scale.json")
    parser.add_argument("--one", nargs=2, metavar=("CONFIG", "N_POOL"),
                        help=argparse.SUPPRESS)  # a child process's measurement
    args = parser.parse_args(argv)
    model_path = args.output + ".model.pkl"
    if args.one:
        row = _measure(args.one[0], int(args.one[1]), args.n_labelled, model_path)
        print("ROW " + json.dumps(row))
        return row
    sizes = [int(s) for s in args.sizes.split(",")]
    configs = args.configs.split(",")
    unknown = set(configs) - set(CONFIGS)
    if unknown or any(n < 1 for n in sizes):
        parser.error(f"configs must be among {CONFIGS} and sizes positive integers")
    results = _load(args.output)
    if results.get("n_labelled", args.n_labelled) != args.n_labelled:
        parser.error(
            f"{args.output} holds n_labelled={results['n_labelled']}; "
            "use another --output"
        )
    results["n_labelled"] = args.n_labelled
    results["protocol"] = {"n_neighbors": _N_NEIGHBORS, "image_size": _IMAGE_SIZE,
                           "model": "HourglassRegressor() defaults, 1 epoch"}
    results["cpu_count"] = os.cpu_count()
    if not os.path.exists(model_path):
        print(f"fitting the model on {args.n_labelled} images ...", flush=True)
        _fit_model(model_path, args.n_labelled)
    done = {(r["config"], r["n_pool"]) for r in results["rows"]}
    for config in configs:
        for n in sizes:
            if (config, n) in done:
                continue
            print(f"{config}, n_pool={n} ...", flush=True)
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.paper_scale", "--one", config,
                 str(n), "--n-labelled", str(args.n_labelled),
                 "--output", args.output],
                capture_output=True, text=True, check=False,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ROW ")]
            if proc.returncode != 0 or not lines:
                sys.stderr.write(proc.stderr[-4000:])
                raise SystemExit(f"the {config} measurement at {n} failed")
            results["rows"].append(json.loads(lines[-1][4:]))
            results["scaling_exponent"] = _exponents(results["rows"])
            _save(args.output, results)
    _print_table(results)
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
