"""EGL++ configurations on the selection benchmark, beside its strategies.

Run from the repository root, after (or instead of) the benchmark itself::

    OMP_NUM_THREADS=1 sk-eglpp simulate --preset benchmark --output-dir benchmark
    OMP_NUM_THREADS=1 python -m benchmarks.variants --output-dir benchmark

Adds EGL++ in the EGL++ authors' default configuration as far as a strategy
can express it (``target="output"``, perplexity 20 ** (1 / ln 2) = 75.33;
their head embedding is a parameter of the network, which all strategies of a
run share, so it stays the bottleneck here) to the benchmark's output folder:
the base models and every finished strategy are read back, only the new
strategy runs (same seeds, same base models). Prints the PCK@0.2 table and the
fidelity table (Spearman rho with the true gradient lengths) against
``egl_pp``, and writes them to ``variants.txt`` in the folder.
"""

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.fidelity import PAPER_PERPLEXITY  # noqa: E402
from sk_eglpp.query import EGLPlusPlusQuery  # noqa: E402
from sk_eglpp.simulation import compare, pose_problem, simulate  # noqa: E402

VARIANTS = {
    "egl_pp_authors": EGLPlusPlusQuery(target="output", perplexity=PAPER_PERPLEXITY),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmark"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    problem, _ = pose_problem("benchmark", random_state=args.seed)
    names = list(problem["strategies"])
    problem["strategies"] = {**{n: n for n in names}, **VARIANTS}
    results = simulate(
        **problem,
        output_dir=args.output_dir / "state",
        random_state=args.seed,
        verbose=1,
    )
    keep = {"egl_pp", "random_query", *VARIANTS}
    rows = [r for r in results.rows if r["strategy"] in keep]
    parts = [
        compare(rows, reference="egl_pp").to_string(score_name="PCK@0.2"),
        compare(rows, reference="egl_pp", column="spearman_gradient").to_string(
            precision=3, score_name="spearman_gradient"
        ),
    ]
    text = "\n\n".join(parts)
    (args.output_dir / "variants.txt").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
