"""A stored simulation as one JSON file: its rows, Table 1 and the environment.

Run from the repository root on the output folder of ``sk-eglpp simulate``::

    python -m benchmarks.export_results benchmark_lspet \\
        benchmarks/lspet_benchmark.json [--reference egl_pp]
        [--command "the command that produced the folder"]

Writes ``{"command", "environments", "table", "area", "fidelity", "rows"}``:
``table`` holds every row of :func:`sk_eglpp.simulation.compare` (mean, std,
p-value and minimal detectable difference per strategy and labelled-set
size, one-tailed paired t-tests against the reference at 90 %), ``area``
each strategy's mean score over the cycles after the base model (the area
under its learning curve, per run) with two-sided paired t-tests against the
reference and their minimal detectable difference at p < 0.1, ``fidelity``
the mean of each fidelity measure per strategy and cycle (``n_labelled``:
the labelled-set size the measured query led to), and ``rows`` the
stored per-run rows. Nothing of the data set itself is written.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
from scipy import stats

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sk_eglpp.diagnostics import FIDELITY_COLUMNS  # noqa: E402
from sk_eglpp.simulation import compare, open_store  # noqa: E402


def _clean(value):
    """JSON-able: NaN and infinities become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def area_table(rows, reference):
    """Mean score over the cycles after the base model, per strategy and run,
    tested against ``reference`` (two-sided paired t-test)."""
    per_run = {}
    for row in rows:
        if row["cycle"] > 0:
            per_run.setdefault(row["strategy"], {}).setdefault(
                row["run"], []).append(row["score"])
    area = {s: {r: float(np.mean(v)) for r, v in runs.items()}
            for s, runs in per_run.items()}
    out = []
    for strategy, runs in area.items():
        common = sorted(set(runs) & set(area[reference]))
        a = np.array([runs[r] for r in common])
        b = np.array([area[reference][r] for r in common])
        entry = {"strategy": strategy, "runs": len(common), "mean": float(a.mean()),
                 "minus_reference": float((a - b).mean())}
        if strategy != reference and len(common) > 1:
            sd = float(np.std(a - b, ddof=1))
            entry["p_two_sided"] = float(stats.ttest_rel(a, b).pvalue)
            entry["mdd"] = float(stats.t.ppf(0.95, len(common) - 1) * sd
                                 / np.sqrt(len(common)))
        out.append(entry)
    return out


def export(folder, reference="egl_pp", command=None):
    """The JSON document of the simulation stored in ``folder``."""
    state = os.path.join(folder, "state")
    results = open_store(state if os.path.isdir(state) else folder).results()
    table = compare(results, reference=reference)
    fidelity = {}
    for row in results.rows:
        values = {c: row[c] for c in FIDELITY_COLUMNS if c in row}
        if row["cycle"] == 0 or not values:
            continue
        key = (row["strategy"], row["n_labelled"])
        fidelity.setdefault(key, []).append(values)
    summary = []
    for (strategy, n_labelled), values in sorted(fidelity.items()):
        means = {
            c: sum(v[c] for v in values) / len(values)
            for c in values[0]
            if all(isinstance(v[c], int | float) and math.isfinite(v[c])
                   for v in values)
        }
        summary.append({"strategy": strategy, "n_labelled": n_labelled,
                        "runs": len(values), **means})
    return _clean({
        "command": command,
        "environments": results.environments,
        "table": list(table.rows),
        "area": area_table(results.rows, reference),
        "fidelity": summary,
        "rows": list(results.rows),
    })


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("output")
    parser.add_argument("--reference", default="egl_pp")
    parser.add_argument("--command", default=None)
    args = parser.parse_args(argv)
    document = export(args.folder, args.reference, args.command)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    print(f"wrote {args.output}: {len(document['rows'])} rows")


if __name__ == "__main__":
    main()
