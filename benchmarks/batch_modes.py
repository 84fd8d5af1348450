"""EGL++'s batch modes on the selection benchmark, at a small and a large budget.

Run from the repository root (one process per budget; they can run side by
side, one per core)::

    OMP_NUM_THREADS=1 python -m benchmarks.batch_modes --budget 200 [--runs 5]
    OMP_NUM_THREADS=1 python -m benchmarks.batch_modes --budget 50 [--runs 5]

The data, network, base models, seeds and protocol are those of
``sk-eglpp simulate --preset benchmark`` (400 random initial images, 3 cycles,
5 runs, fidelity measures on; the network keeps the Learning Loss head and
dropout of the preset, so the base models are the benchmark's), with the
budget per cycle given by ``--budget``. The strategies are EGL++ with
``batch="top"`` (the paper, the reference of the t-tests), ``"diverse"`` and
``"kmeans++"``, random sampling and Core-set. Resumable: rerun the same
command (the state is in ``--output-dir/B<budget>/state``).

Writes to ``--output-dir/B<budget>/``: ``table.txt`` (PCK@0.2, Table-1
layout, and the fidelity precision), ``results.csv`` (every cycle's row),
``spread.txt`` (distinct synthetic sequences per batch, mean +- std over
runs, and the largest share of one batch taken from a single sequence),
``selection_map.png`` (run 0) and ``learning_curves.png``.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sk_eglpp.query import CoreSetQuery, EGLPlusPlusQuery, RandomQuery  # noqa: E402
from sk_eglpp.simulation import compare, pose_problem, simulate  # noqa: E402

STRATEGIES = {
    "egl_pp": EGLPlusPlusQuery(),
    "egl_pp_diverse": EGLPlusPlusQuery(batch="diverse"),
    "egl_pp_kmeans++": EGLPlusPlusQuery(batch="kmeans++"),
    "random_query": RandomQuery(),
    "coreset": CoreSetQuery(),
}


def spread_table(results, sequences):
    """Distinct sequences per batch and the largest one-sequence share."""
    lines = [
        "distinct synthetic sequences per batch (mean +- std over runs) | "
        "largest share of one batch from a single sequence",
        f"{'strategy':<18}"
        + "".join(f"{'cycle ' + str(c):>26}" for c in range(1, 4)),
    ]
    summary = {}
    for strategy in results.strategies:
        cells = []
        for cycle in range(1, 4):
            distinct, share = [], []
            for run in sorted({r for (r, s, c) in results.selected if s == strategy}):
                picked = results.selected.get((run, strategy, cycle))
                if picked is None:
                    continue
                counts = np.bincount(sequences[picked])
                distinct.append(np.count_nonzero(counts))
                share.append(counts.max() / len(picked))
            if not distinct:
                cells.append(f"{'-':>26}")
                continue
            summary[(strategy, cycle)] = (np.mean(distinct), np.mean(share))
            cells.append(
                f"{np.mean(distinct):>9.1f} +- {np.std(distinct, ddof=1):4.1f}"
                f"   {np.mean(share):6.3f}"
            )
        lines.append(f"{strategy:<18}" + "".join(cells))
    return "\n".join(lines), summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--output-dir", type=Path, default=Path("benchmark_batch"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=None,
                        help="runs to compute or report (default: the preset's 5)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="runs computed in parallel (joblib)")
    args = parser.parse_args(argv)
    overrides = {"budget": args.budget}
    if args.runs is not None:
        overrides["n_runs"] = args.runs
    # the preset's own strategies decide the network (Learning Loss head), so
    # the base models are the benchmark's; then only ours run
    problem, sequences = pose_problem("benchmark", random_state=args.seed, **overrides)
    problem["strategies"] = STRATEGIES
    out = args.output_dir / f"B{args.budget}"
    out.mkdir(parents=True, exist_ok=True)
    results = simulate(
        **problem, output_dir=out / "state", random_state=args.seed,
        n_jobs=args.n_jobs, verbose=1,
    )
    parts = [
        f"budget {args.budget} per cycle",
        compare(results, reference="egl_pp").to_string(score_name="PCK@0.2"),
        compare(results, reference="egl_pp", column="precision").to_string(
            precision=3, score_name="precision against the true top-B"
        ),
    ]
    spread, _ = spread_table(results, np.asarray(sequences))
    (out / "table.txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    (out / "spread.txt").write_text(spread + "\n", encoding="utf-8")
    results.to_csv(out / "results.csv")
    print("\n\n".join(parts + [spread]))

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from sk_eglpp.simulation import plot_learning_curves
    from sk_eglpp.simulation._report import selection_map_figure

    figure = Figure(figsize=(6.4, 4.2))
    FigureCanvasAgg(figure)
    plot_learning_curves(
        results, ax=figure.add_subplot(), ylabel="PCK@0.2",
        title=f"selection benchmark, B = {args.budget}",
    )
    figure.tight_layout()
    figure.savefig(out / "learning_curves.png", dpi=90)
    selection_map = selection_map_figure(
        results, problem["X"], groups=sequences, estimator=problem["estimator"],
        store_path=out / "state",
    )
    if selection_map is not None:
        selection_map.savefig(out / "selection_map.png", dpi=90)


if __name__ == "__main__":
    main()
