"""The linear strategies and their options on real tabular regression data.

Run from the repository root (needs the ``bench`` extra, for statsmodels'
bundled data sets)::

    OMP_NUM_THREADS=1 python -m benchmarks.real_data [--runs 30]
        [--output-dir benchmark_real]

The data sets were fixed before any result was seen, by one rule: every
regression data set shipped inside scikit-learn or statsmodels with at least
300 rows, at least 3 features and a target that is a quantity or a count (not
a class or an ordinal code). That gives scikit-learn's ``diabetes`` (442 x 10)
and statsmodels' ``star98`` (303 x 20; target the share of students above
the national median in maths), ``fair`` (6366 x 8; time spent in affairs) and
``randhie`` (20190 x 9; outpatient visits). Data sets over 3000 rows are
subsampled once to 3000 (seed 0).

Protocol, the same for every data set: a fixed random 30 % test set (seed 0),
the rest is the pool; ``Pipeline(StandardScaler(), Ridge(alpha=1.0))``; 20
random initial samples per run, 12 cycles of 10 queries, 30 runs, RMSE on
the test set. Every strategy of a run starts from the same initial set.

Reported per data set: the area under the RMSE learning curve (the mean RMSE
over the 12 cycles) relative to random sampling, as a percentage (negative is
better than random), and one-tailed paired t-tests over the runs of "worse
than random" and "better than random"; then each strategy's mean rank (by
that area, 1 = best) over the data sets. Written to ``table.txt`` and
``results.json`` in the output folder; resumable per data set.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from scipy import stats

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sk_eglpp.query import (  # noqa: E402
    EMCMQuery,
    GreedySamplingQuery,
    LinearEGLQuery,
    RandomQuery,
)
from sk_eglpp.simulation import simulate  # noqa: E402

MAX_ROWS = 3000

STRATEGIES = {
    "random_query": RandomQuery(),
    "egl_linear": LinearEGLQuery(),
    "egl_linear[diverse]": LinearEGLQuery(batch="diverse"),
    "egl_linear[kmeans++]": LinearEGLQuery(batch="kmeans++"),
    "egl_linear[density=1]": LinearEGLQuery(density=1.0),
    "emcm": EMCMQuery(),
    "emcm[diverse]": EMCMQuery(batch="diverse"),
    "emcm[kmeans++]": EMCMQuery(batch="kmeans++"),
    "emcm[density=1]": EMCMQuery(density=1.0),
    "greedy_sampling_x": GreedySamplingQuery(mode="x"),
    "greedy_sampling_y": GreedySamplingQuery(mode="y"),
    "greedy_sampling[xy]": GreedySamplingQuery(mode="xy"),
}


def load(name):
    """``X, y`` of a data set of the rule above, as float64."""
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
    else:
        import importlib

        data = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas()
        X = data.exog.to_numpy(dtype=np.float64)
        endog = data.endog
        if name == "star98":  # (NABOVE, NBELOW) -> share above the median
            y = (endog["NABOVE"] / (endog["NABOVE"] + endog["NBELOW"])).to_numpy()
        else:
            y = np.asarray(endog, dtype=np.float64)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if X.shape[0] > MAX_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(X.shape[0], MAX_ROWS, False))
        X, y = X[keep], y[keep]
    return X, y


DATASETS = ("diabetes", "star98", "fair", "randhie")


def run_dataset(name, out, n_runs):
    X, y = load(name)
    order = np.random.default_rng(0).permutation(X.shape[0])
    n_test = int(round(0.3 * X.shape[0]))
    test, pool = order[:n_test], order[n_test:]
    return simulate(
        make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
        STRATEGIES,
        X[pool],
        y[pool],
        X[test],
        y[test],
        n_initial=20,
        budget=10,
        n_cycles=12,
        n_runs=n_runs,
        scoring="neg_root_mean_squared_error",
        output_dir=out / name,
        random_state=0,
        verbose=1,
    ), X.shape


def summarise(results):
    """Per strategy: the runs' mean RMSE over the cycles (area under the curve)."""
    area = {}
    for row in results.rows:
        if row["cycle"] == 0:
            continue
        area.setdefault(row["strategy"], {}).setdefault(row["run"], []).append(
            -row["score"]
        )
    return {
        s: np.array([np.mean(v[r]) for r in sorted(v)]) for s, v in area.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--output-dir", type=Path, default=Path("benchmark_real"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args(argv)
    names = [n for n in args.datasets.split(",") if n]
    report, ranks = {}, {s: [] for s in STRATEGIES}
    lines = [
        "area under the RMSE curve vs random (%, negative = better); one-tailed "
        "paired t-test p over runs: worse / better than random",
    ]
    for name in names:
        results, shape = run_dataset(name, args.output_dir, args.runs)
        area = summarise(results)
        base = area["random_query"]
        means = {s: float(np.mean(a)) for s, a in area.items()}
        order = sorted(means, key=means.get)
        lines.append(f"\n{name} ({shape[0]} x {shape[1]}, {len(base)} runs)")
        lines.append(f"{'strategy':<24}{'vs random':>10}{'p worse':>9}{'p better':>9}"
                     f"{'rank':>6}")
        entry = {}
        for s in STRATEGIES:
            rel = 100.0 * (means[s] / means["random_query"] - 1.0)
            if s == "random_query":
                worse = better = float("nan")
            else:
                worse = float(stats.ttest_rel(area[s], base, alternative="greater")
                              .pvalue)
                better = float(stats.ttest_rel(area[s], base, alternative="less")
                               .pvalue)
            rank = order.index(s) + 1
            ranks[s].append(rank)
            entry[s] = dict(relative=rel, p_worse=worse, p_better=better, rank=rank,
                            mean_rmse=means[s])
            flag = " *" if worse < 0.05 else (" +" if better < 0.05 else "")
            lines.append(f"{s:<24}{rel:>+9.1f}%{worse:>9.3f}{better:>9.3f}"
                         f"{rank:>6}{flag}")
        report[name] = entry
    lines.append("\nmean rank over the data sets (1 = best); * worse, + better "
                 "than random at p < 0.05")
    for s in sorted(STRATEGIES, key=lambda s: np.mean(ranks[s])):
        lines.append(f"{s:<24}{np.mean(ranks[s]):>6.2f}")
    text = "\n".join(lines)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "table.txt").write_text(text + "\n", encoding="utf-8")
    with open(args.output_dir / "results.json", "w") as f:
        json.dump({"settings": vars(args) | {"output_dir": str(args.output_dir)},
                   "results": report}, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
