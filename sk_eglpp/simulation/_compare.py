"""The paper's Table 1 from simulation results: :func:`compare`."""

import math
import warnings
from numbers import Real

import numpy as np
from scipy import stats

from .._param_validation import InstanceOf, Interval, StrOptions, validate_params
from ._results import check_rows, rows_of, write_csv

__all__ = ["ComparisonTable", "compare"]


class ComparisonTable:
    """The paper's Table 1: per labelled-set size, mean, std and paired t-test.

    Built by :func:`compare`; not meant to be constructed directly.

    Attributes
    ----------
    rows : list of dict
        One row per labelled-set size and strategy with the keys
        ``n_labelled, strategy, n_runs, mean, std, p_value, significant,
        mdd``. ``p_value`` is NaN for the reference itself, when fewer than
        two paired runs exist, and when every paired difference is zero (the
        strategy behaved exactly like the reference); ``significant`` is
        then False. ``mdd`` is the minimal detectable difference (see
        :func:`compare`), NaN where ``p_value`` is.
    reference, alternative : str
    confidence : float
    sizes : list of int
        The labelled-set sizes (the table's column groups).
    strategies : list of str
        Strategies in display order (the reference last, as in the paper).

    Examples
    --------
    >>> rows = [{"run": r, "strategy": s, "n_labelled": 10, "score": v}
    ...         for r, (a, b) in enumerate([(0.9, 0.5), (0.8, 0.6), (0.85, 0.4)])
    ...         for s, v in (("egl_pp", a), ("random_query", b))]
    >>> table = compare(rows)
    >>> [round(r["p_value"], 4) for r in table.rows if r["strategy"] != "egl_pp"]
    [0.0222]
    >>> [round(r["mdd"], 4) for r in table.rows if r["strategy"] != "egl_pp"]
    [0.144]
    """

    def __init__(self, rows, reference, alternative, confidence, sizes, strategies):
        self.rows = rows
        self.reference = reference
        self.alternative = alternative
        self.confidence = confidence
        self.sizes = sizes
        self.strategies = strategies

    def _cell(self, strategy, size):
        for row in self.rows:
            if row["strategy"] == strategy and row["n_labelled"] == size:
                return row
        return None

    def to_string(self, precision=4, score_name="score"):
        """The table as text, in the paper's layout.

        Under it, the minimal detectable difference of every test (see
        :func:`compare`), by labelled-set size.

        Parameters
        ----------
        precision : int, default=4
            Decimals of the means, standard deviations and p-values.
        score_name : str, default="score"
            Name of the score shown in the title line.
        """
        alpha = 1.0 - self.confidence
        n_runs = max((row["n_runs"] for row in self.rows), default=0)
        direction = {
            "greater": f"{self.reference} greater",
            "less": f"{self.reference} less",
            "two-sided": "two-sided",
        }[self.alternative]
        title = (
            f"{score_name}: mean +- sigma over {n_runs} runs\n"
            f"paired t-test vs {self.reference} ({direction}), "
            f"* marks p < {alpha:.3g}"
        )
        width = precision + 4
        name_width = max([len("#labelled ->")] + [len(s) for s in self.strategies])
        group = 3 * width + 2
        head1 = "#labelled ->".ljust(name_width) + "".join(
            f"  {size:^{group}}" for size in self.sizes
        )
        head2 = "strategy".ljust(name_width) + "".join(
            f"  {'mu':>{width}} {'sigma':>{width}} {'p':>{width}}" for _ in self.sizes
        )
        lines = [title, head1.rstrip(), head2]
        for strategy in self.strategies:
            line = strategy.ljust(name_width)
            for size in self.sizes:
                row = self._cell(strategy, size)
                if row is None:
                    line += "  " + " ".join(["".rjust(width)] * 3)
                    continue
                mean = _fmt(row["mean"], precision)
                std = _fmt(row["std"], precision)
                if strategy == self.reference:
                    p = "-"
                elif math.isnan(row["p_value"]):
                    p = "n/a"
                else:
                    p = _fmt(row["p_value"], precision)
                    p += "*" if row["significant"] else " "
                line += f"  {mean:>{width}} {std:>{width}} {p:>{width}}"
            lines.append(line.rstrip())
        return "\n".join(lines + [""] + self._detectable_lines(precision))

    def _detectable_lines(self, precision):
        """The block of the minimal detectable differences."""
        alpha = 1.0 - self.confidence
        sides = "two-sided" if self.alternative == "two-sided" else "one-tailed"
        quantile = 1 - alpha / 2 if self.alternative == "two-sided" else 1 - alpha
        what = {
            "greater": f"mean of {self.reference} - strategy",
            "less": f"mean of strategy - {self.reference}",
            "two-sided": f"|mean of {self.reference} - strategy|",
        }[self.alternative]
        width = precision + 4
        others = [s for s in self.strategies if s != self.reference]
        name_width = max([len("#labelled ->")] + [len(s) for s in others])
        lines = [
            f"minimal detectable difference ({what}) at p < {alpha:.3g}, {sides}:",
            f"t_{quantile:.3g}(n - 1) * sd / sqrt(n) of the runs' n paired differences",
            "#labelled ->".ljust(name_width)
            + "".join(f"  {size:>{width}}" for size in self.sizes),
        ]
        for strategy in others:
            line = strategy.ljust(name_width)
            for size in self.sizes:
                row = self._cell(strategy, size)
                text = ""
                if row is not None:
                    text = "n/a" if math.isnan(row["mdd"]) else _fmt(
                        row["mdd"], precision
                    )
                line += f"  {text:>{width}}"
            lines.append(line.rstrip())
        return lines

    def __str__(self):
        return self.to_string()

    def __repr__(self):
        return (
            f"ComparisonTable(reference={self.reference!r}, sizes={self.sizes}, "
            f"strategies={self.strategies})"
        )

    def to_csv(self, path=None):
        """Write the rows as CSV to ``path``, or return them as a string."""
        columns = [
            "n_labelled",
            "strategy",
            "n_runs",
            "mean",
            "std",
            "p_value",
            "significant",
            "mdd",
        ]
        return write_csv(columns, self.rows, path)

    def to_dataframe(self):
        """The rows as a :class:`pandas.DataFrame` (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test extra
            raise ImportError("to_dataframe needs pandas; use .rows instead.") from exc
        return pd.DataFrame(self.rows)


def _fmt(value, precision):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.{precision}f}"


def _detectable(differences, alternative, alpha):
    """The minimal detectable difference of a paired t-test (see compare)."""
    n = differences.size
    quantile = 1 - alpha / 2 if alternative == "two-sided" else 1 - alpha
    sd = float(np.std(differences, ddof=1))
    return float(stats.t.ppf(quantile, n - 1) * sd / math.sqrt(n))


@validate_params(
    {
        "results": ["no_validation"],
        "reference": [InstanceOf(str)],
        "alternative": [StrOptions(["greater", "less", "two-sided"])],
        "confidence": [Interval(Real, 0, 1, closed="neither")],
        "column": [InstanceOf(str)],
    }
)
def compare(
    results, reference="egl_pp", alternative="greater", confidence=0.9, *,
    column="score",
):
    """The paper's Table 1: mean, std and paired t-test per labelled-set size.

    For every labelled-set size and strategy: the mean and the standard
    deviation (``ddof=1``, over runs) of the score, and the p-value of a
    paired t-test (:func:`scipy.stats.ttest_rel`) of the reference's scores
    against the strategy's, paired by run. The paper uses the one-tailed test
    ``alternative="greater"`` ("the reference scores higher") at 90 %
    confidence.

    Beside every test, its minimal detectable difference (``mdd``): the
    smallest mean paired difference that the same test (same sidedness)
    marks at ``p < 1 - confidence`` with these runs, given the observed
    standard deviation ``sd`` (``ddof=1``) of the ``n`` paired differences:
    ``t_q(n - 1) * sd / sqrt(n)``, with ``q = confidence`` for a one-tailed
    test and ``q = 1 - (1 - confidence) / 2`` for the two-sided one. It is
    a magnitude in the direction of ``alternative`` (``reference -
    strategy`` for "greater", ``strategy - reference`` for "less", either
    for "two-sided"): a gap smaller than it cannot be told from the spread
    between runs by this many runs. It is given per labelled-set size, since
    the spread changes from cycle to cycle.

    Parameters
    ----------
    results : SimulationResults, DataFrame, structured array or list of dict
        Needs the columns ``run``, ``strategy``, ``n_labelled`` and ``score``.
    reference : str, default="egl_pp"
        The strategy the others are tested against.
    alternative : {"greater", "less", "two-sided"}, default="greater"
        The alternative hypothesis about ``reference - strategy``: "greater"
        means the reference scores higher. Use "less" for a loss such as RMSE.
    confidence : float, default=0.9
        A difference is significant when ``p < 1 - confidence``.
    column : str, default="score"
        The column compared, e.g. a fidelity measure of ``simulate(...,
        fidelity=True)`` such as ``"spearman_gradient"`` (rows where it is NaN,
        like cycle 0's, are left out).

    Returns
    -------
    table : ComparisonTable
        ``str(table)`` is the text layout (the minimal detectable differences
        under it), ``table.rows`` the data, ``table.to_csv()`` /
        ``table.to_dataframe()`` convert it.

    Notes
    -----
    When all paired differences are zero (a strategy that behaves exactly
    like the reference, or the shared base model at cycle 0),
    ``ttest_rel`` is undefined (0 / 0): the p-value and the minimal
    detectable difference are reported as NaN and the difference as not
    significant. Runs missing for one of the two strategies
    are left out of the pairing.

    Examples
    --------
    >>> rows = [{"run": r, "strategy": s, "n_labelled": 10, "score": v}
    ...         for r in range(3) for s, v in (("egl_pp", 0.8 + r / 100),
    ...                                        ("random_query", 0.7))]
    >>> print(compare(rows).to_string(precision=3))
    score: mean +- sigma over 3 runs
    paired t-test vs egl_pp (egl_pp greater), * marks p < 0.1
    #labelled ->            10
    strategy           mu   sigma       p
    random_query    0.700   0.000  0.001*
    egl_pp          0.810   0.010       -
    <BLANKLINE>
    minimal detectable difference (mean of egl_pp - strategy) at p < 0.1, one-tailed:
    t_0.9(n - 1) * sd / sqrt(n) of the runs' n paired differences
    #labelled ->       10
    random_query    0.010
    """
    rows = check_rows(
        list(rows_of(results)), needed=("run", "strategy", "n_labelled", column)
    )
    strategies = list(dict.fromkeys(str(row["strategy"]) for row in rows))
    if reference not in strategies:
        raise ValueError(
            f"reference {reference!r} is not among the strategies of the results: "
            f"{strategies}."
        )
    scores = {}
    for row in rows:
        value = float(row[column])
        if math.isnan(value):
            continue
        key = (str(row["strategy"]), int(row["n_labelled"]))
        scores.setdefault(key, {})[int(row["run"])] = value
    sizes = sorted({size for (_, size) in scores})
    display = [s for s in strategies if s != reference] + [reference]
    alpha = 1.0 - confidence
    out = []
    for size in sizes:
        ref = scores.get((reference, size), {})
        for strategy in display:
            values = scores.get((strategy, size))
            if values is None:
                continue
            v = np.array(list(values.values()))
            std = float(np.std(v, ddof=1)) if v.size > 1 else math.nan
            p = mdd = math.nan
            if strategy != reference:
                runs = sorted(set(values) & set(ref))
                a = np.array([ref[r] for r in runs])
                b = np.array([values[r] for r in runs])
                if len(runs) >= 2 and np.any(a != b):
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        warnings.simplefilter("ignore", RuntimeWarning)
                        p = float(stats.ttest_rel(a, b, alternative=alternative).pvalue)
                    mdd = _detectable(a - b, alternative, alpha)
            out.append(
                {
                    "n_labelled": size,
                    "strategy": strategy,
                    "n_runs": int(v.size),
                    "mean": float(np.mean(v)),
                    "std": std,
                    "p_value": p,
                    "significant": bool(not math.isnan(p) and p < alpha),
                    "mdd": mdd,
                }
            )
    return ComparisonTable(out, reference, alternative, confidence, sizes, display)

