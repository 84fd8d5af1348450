"""Where the time of the exact gradient stage goes: forward, VJPs, unfolding
and norm reduction, next to a plain forward + backward of the K clones.

Run from the repository root::

    python -m benchmarks.gradient_phases [--models default,paper-sized]
        [--n-inputs 16] [--repeats 3] [--output benchmarks/gradient_phases.json]

``squared_gradient_norms`` (exact, default ``batch_size``) runs on synthetic
64 x 64 pose images with K = 30 neighbours, one torch thread, with timers
around the functions of each phase in :mod:`sk_eglpp.gradients`:

* **VJPs**: every ``torch.autograd.grad`` call (the batched backward pass from
  the outputs to the selected layers' outputs);
* **unfold**: ``_layer_factors`` (im2col of the layer inputs, bias sums);
* **norms**: ``_factor_norms`` and ``_squared_norms`` (the per-pair reduction);
* **forward and rest**: the remainder of the call (the forward pass with its
  hooks, cotangents, bookkeeping).

The phases of the median run are reported, and the paired ratio of the whole
call to ``k_clones_forward_backward`` (one input's K clones per pass) on the
same inputs. The timers add a few function calls per layer; the total is
within noise of an untimed call. Because only functions are wrapped, the
script also runs against older versions of the package (``PYTHONPATH``).
"""

import argparse
import json
import os
import sys
import time
from collections import Counter

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._gradient_refs import k_clones_forward_backward  # noqa: E402
from benchmarks.run import _pose_problem  # noqa: E402
from sk_eglpp import gradients  # noqa: E402

_MODELS = {
    "default": {},
    "paper-sized": {"n_features": 256, "n_stacks": 2, "depth": 4},
}
_PHASES = {
    "_layer_factors": "unfold",
    "_factor_norms": "norms",
    "_squared_norms": "norms",
}


class _Timers:
    """Wall time spent inside the wrapped functions, by phase (not nested)."""

    def __init__(self):
        self.seconds = Counter()
        self._depth = 0
        self._saved = []

    def _wrap(self, owner, name, phase):
        fn = getattr(owner, name)

        def timed(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start
                self._depth -= 1

        self._saved.append((owner, name, fn))
        setattr(owner, name, timed)

    def __enter__(self):
        self._wrap(torch.autograd, "grad", "vjps")
        for name, phase in _PHASES.items():
            if hasattr(gradients, name):
                self._wrap(gradients, name, phase)
        return self

    def __exit__(self, *exc):
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)
        self._saved = []


def bench_model(name, n_inputs, repeats):
    module, X, bank, w, idx, _ = _pose_problem(
        _MODELS[name], n_inputs, 60, 64, 30, seed=0
    )

    def exact():
        return gradients.squared_gradient_norms(module, X, bank, idx, weight_bank=w)

    def clones():
        return k_clones_forward_backward(module, X, bank, idx, w, batch_size=1)

    exact(), clones()  # warm-up
    runs = []
    for _ in range(repeats):
        with _Timers() as timers:
            start = time.perf_counter()
            exact()
            total = time.perf_counter() - start
        start = time.perf_counter()
        clones()
        t_clones = time.perf_counter() - start
        phases = dict(timers.seconds)
        phases["forward and rest"] = total - sum(phases.values())
        runs.append({"total": total, "clones": t_clones, "phases": phases})
    ratios = [r["total"] / r["clones"] for r in runs]
    median = runs[int(np.argsort(ratios)[len(ratios) // 2])]
    return {
        "model": name,
        "n_inputs": n_inputs,
        "K": int(idx.shape[1]),
        "exact_s_per_input": median["total"] / n_inputs,
        "clones_fb_s_per_input": median["clones"] / n_inputs,
        "phases_s_per_input": {k: v / n_inputs for k, v in median["phases"].items()},
        "exact_over_clones_fb": float(np.median(ratios)),
        "exact_over_clones_fb_runs": ratios,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gradient_phases",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--models", default="default,paper-sized")
    parser.add_argument("--n-inputs", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default="benchmarks/gradient_phases.json")
    args = parser.parse_args(argv)
    models = args.models.split(",")
    if set(models) - set(_MODELS):
        parser.error(f"models must be among {sorted(_MODELS)}")
    torch.set_num_threads(1)
    rows = [bench_model(m, args.n_inputs, args.repeats) for m in models]
    order = ["forward and rest", "vjps", "unfold", "norms"]
    print(f"{'s/input':<22}" + "".join(f"{r['model']:>14}" for r in rows))
    for phase in order:
        print(f"{phase:<22}" + "".join(
            f"{r['phases_s_per_input'].get(phase, 0.0):>14.4f}" for r in rows))
    print(f"{'exact, total':<22}" + "".join(
        f"{r['exact_s_per_input']:>14.4f}" for r in rows))
    print(f"{'clones fwd+bwd':<22}" + "".join(
        f"{r['clones_fb_s_per_input']:>14.4f}" for r in rows))
    print(f"{'exact / clones':<22}" + "".join(
        f"{r['exact_over_clones_fb']:>14.3f}" for r in rows))
    result = {"command": " ".join(["python -m benchmarks.gradient_phases",
                                   *(argv or sys.argv[1:])]),
              "torch": torch.__version__, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    main()
