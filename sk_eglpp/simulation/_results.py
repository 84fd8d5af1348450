"""The tidy results of a simulation and their CSV form.

Besides the public :class:`SimulationResults`, the helpers :func:`write_csv`,
:func:`rows_of`, :func:`check_rows` and :func:`split_stored` are shared by the
modules of the simulation package (public within it, not exported).
"""

import csv
import io
from pathlib import Path

import numpy as np

from ..diagnostics import FIDELITY_COLUMNS
from ._environment import report

__all__ = ["COLUMNS", "SimulationResults"]

#: the columns of :class:`SimulationResults`, in order
COLUMNS = (
    "run",
    "strategy",
    "cycle",
    "n_labelled",
    "score",
    "query_time",
    "fit_time",
    "seed",
)
_INT_COLUMNS = {"run", "cycle", "n_labelled", "seed"}
_FLOAT_COLUMNS = {"score", "query_time", "fit_time", *FIDELITY_COLUMNS}


class SimulationResults:
    """Tidy results of :func:`simulate`: one row per run x strategy x cycle.

    A light table that needs no pandas: rows are dicts, a column is a NumPy
    array (``results["score"]``), and :meth:`to_dataframe`,
    :meth:`to_records` and :meth:`to_csv` convert it.

    Parameters
    ----------
    rows : iterable of dict
        One dict per row with at least the keys of :data:`COLUMNS`
        (``run``, ``strategy``, ``cycle``, ``n_labelled``, ``score``,
        ``query_time``, ``fit_time``, ``seed``); extra keys become extra
        columns.
    selected : dict, default=None
        ``(run, strategy, cycle) -> indices into X`` of the samples labelled
        at that cycle (cycle 0: the initial labelled set).
    environments : list of dict, default=None
        The environments the rows were computed in (see the attribute).

    Attributes
    ----------
    rows : list of dict
        The rows, in the order given.
    columns : list of str
        Column names: :data:`COLUMNS` followed by any extra keys.
    selected : dict
        See the parameter.
    environments : list of dict
        The environments the rows were computed in, as :func:`simulate`
        records them: one dict per environment with the versions of Python,
        sk_eglpp, numpy, scipy, scikit-learn, torch and skorch, the
        platform, the processor's name (``processor``), torch's CPU
        capability (``cpu_capability``: ``"AVX2"``, ``"AVX512"``, ...), the
        BLAS libraries, ``cpu_count``, the thread settings
        (``torch_threads``, ``omp_num_threads``, ``n_threads``, ``n_jobs``),
        ``device``, and ``runs``, the runs with a row computed there. A
        resumed simulation lists each environment it ran in (a run may
        appear under several); an entry holding only ``runs`` stands for
        rows written by a version that did not record the environment.
        Empty when unknown (results built from rows, or read from CSV).
        :meth:`environment_report` prints them.

    See Also
    --------
    simulate : produces these results.
    compare : the paper's Table 1 from them.

    Examples
    --------
    >>> res = SimulationResults([
    ...     {"run": 0, "strategy": "a", "cycle": 0, "n_labelled": 5, "score": 0.5,
    ...      "query_time": 0.0, "fit_time": 0.1, "seed": 1}])
    >>> len(res), res["score"]
    (1, array([0.5]))
    >>> print(res.to_csv(), end="")
    run,strategy,cycle,n_labelled,score,query_time,fit_time,seed
    0,a,0,5,0.5,0.0,0.1,1
    """

    def __init__(self, rows, selected=None, environments=None):
        rows = [dict(row) for row in rows]
        for i, row in enumerate(rows):
            missing = [c for c in COLUMNS if c not in row]
            if missing:
                raise ValueError(
                    f"Every row of the results needs the columns {list(COLUMNS)}; "
                    f"row {i} lacks {missing}."
                )
        self.rows = rows
        extra = []
        for row in rows:
            extra.extend(k for k in row if k not in COLUMNS and k not in extra)
        self.columns = list(COLUMNS) + extra
        self.selected = dict(selected or {})
        environments = [] if environments is None else environments
        if not isinstance(environments, list | tuple) or not all(
            isinstance(env, dict) and "runs" in env for env in environments
        ):
            raise TypeError(
                "environments must be a list of dicts with the key 'runs', got "
                f"{environments!r}."
            )
        self.environments = [dict(env) for env in environments]

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, column):
        if column not in self.columns:
            raise KeyError(
                f"Unknown column {column!r}; expected one of {self.columns}."
            )
        values = [row.get(column) for row in self.rows]
        if column in _INT_COLUMNS:
            return np.asarray(values, dtype=np.int64)
        if column in _FLOAT_COLUMNS:
            return np.asarray(values, dtype=np.float64)
        return np.asarray(values, dtype=object)

    def __repr__(self):
        return (
            f"SimulationResults({len(self)} rows, strategies={self.strategies}, "
            f"runs={len(self.runs)})"
        )

    @property
    def strategies(self):
        """Strategy names, in order of first appearance."""
        return list(dict.fromkeys(row["strategy"] for row in self.rows))

    @property
    def runs(self):
        """Run numbers, sorted."""
        return sorted({int(row["run"]) for row in self.rows})

    def labelled_indices(self, run, strategy, cycle=None):
        """Indices into ``X`` labelled by ``strategy`` up to ``cycle`` in ``run``.

        Parameters
        ----------
        run : int
        strategy : str
        cycle : int, default=None
            Last cycle to include; ``None`` means the last one recorded.

        Returns
        -------
        indices : ndarray of int
            The initial labelled set followed by each cycle's selection.
        """
        cycles = sorted(c for (r, s, c) in self.selected if r == run and s == strategy)
        if not cycles:
            raise ValueError(
                f"No selections recorded for run {run} and strategy {strategy!r}."
            )
        if cycle is not None:
            cycles = [c for c in cycles if c <= cycle]
        parts = [np.asarray(self.selected[(run, strategy, c)]) for c in cycles]
        return np.concatenate(parts).astype(np.int64)

    def environment_report(self):
        """The environments the results were computed in, as text.

        Printed under the report of ``sk-eglpp simulate``: results are
        reproducible for a seed and thread count on the same kind of
        processor with the same versions, and differ a little elsewhere.

        Returns
        -------
        text : str
            A line of versions, one of platform, processor and CPU
            capability, and one of thread settings per environment (each
            headed with its runs when there are several).

        Examples
        --------
        >>> res = SimulationResults([
        ...     {"run": 0, "strategy": "a", "cycle": 0, "n_labelled": 5,
        ...      "score": 0.5, "query_time": 0.0, "fit_time": 0.1, "seed": 1}])
        >>> res.environment_report()
        'environment: not recorded'
        """
        return report(self.environments)

    def phase_times(self):
        """Seconds spent in each phase, summed over the runs.

        Read from the ``fit_time`` and ``query_time`` columns. The base model
        of a run is fitted once and shared by its strategies, so it counts
        once per run (the largest ``fit_time`` of the run's cycle-0 rows: a
        strategy added to a saved run reuses the stored base model and
        records 0). Scoring, the fidelity measures and the writing of
        checkpoints are not included.

        Returns
        -------
        times : dict
            ``{"base_fit": float, "query": {strategy: float}, "fit":
            {strategy: float}}``, the last two over the cycles after the
            base model (cycle >= 1).

        Examples
        --------
        >>> res = SimulationResults([
        ...     {"run": 0, "strategy": "a", "cycle": 0, "n_labelled": 5,
        ...      "score": 0.5, "query_time": 0.0, "fit_time": 2.0, "seed": 1},
        ...     {"run": 0, "strategy": "a", "cycle": 1, "n_labelled": 10,
        ...      "score": 0.6, "query_time": 0.25, "fit_time": 3.0, "seed": 2},
        ...     {"run": 0, "strategy": "b", "cycle": 0, "n_labelled": 5,
        ...      "score": 0.5, "query_time": 0.0, "fit_time": 2.0, "seed": 1},
        ...     {"run": 0, "strategy": "b", "cycle": 1, "n_labelled": 10,
        ...      "score": 0.7, "query_time": 0.5, "fit_time": 3.5, "seed": 3}])
        >>> res.phase_times()
        {'base_fit': 2.0, 'query': {'a': 0.25, 'b': 0.5}, 'fit': {'a': 3.0, 'b': 3.5}}
        """
        base = {}
        query = dict.fromkeys(self.strategies, 0.0)
        fit = dict.fromkeys(self.strategies, 0.0)
        for row in self.rows:
            run, strategy = int(row["run"]), row["strategy"]
            if int(row["cycle"]) == 0:
                base[run] = max(base.get(run, 0.0), float(row["fit_time"]))
            else:
                query[strategy] += float(row["query_time"])
                fit[strategy] += float(row["fit_time"])
        return {"base_fit": float(sum(base.values())), "query": query, "fit": fit}

    def to_records(self):
        """The table as a NumPy structured array."""
        dtypes = []
        for column in self.columns:
            if column in _INT_COLUMNS:
                dtypes.append((column, np.int64))
            elif column in _FLOAT_COLUMNS:
                dtypes.append((column, np.float64))
            else:
                values = [str(row.get(column, "")) for row in self.rows]
                width = max([len(v) for v in values] + [1])
                dtypes.append((column, f"U{width}"))
        records = np.zeros(len(self.rows), dtype=dtypes)
        for column, _ in dtypes:
            if column in _INT_COLUMNS or column in _FLOAT_COLUMNS:
                records[column] = [row[column] for row in self.rows]
            else:
                records[column] = [str(row.get(column, "")) for row in self.rows]
        return records

    def to_dataframe(self):
        """The table as a :class:`pandas.DataFrame` (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test extra
            raise ImportError(
                "to_dataframe needs pandas; install it or use to_records()."
            ) from exc
        return pd.DataFrame(self.rows, columns=self.columns)

    def to_csv(self, path=None):
        """Write the table as CSV to ``path``, or return it as a string."""
        return write_csv(self.columns, self.rows, path)

    @classmethod
    def read_csv(cls, path):
        """Read a table written by :meth:`to_csv` (selections are not in it)."""
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            for column in list(row):
                if column in _INT_COLUMNS:
                    row[column] = int(row[column])
                elif column in _FLOAT_COLUMNS:
                    row[column] = float(row[column])
        return cls(rows)


def write_csv(columns, rows, path):
    """Write ``rows`` (dicts) as CSV with ``columns`` to ``path``, or return it.

    Floats are written in their shortest round-tripping form.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _csv_value(row.get(c, "")) for c in columns})
    text = buffer.getvalue()
    if path is None:
        return text
    Path(path).write_text(text, encoding="utf-8")
    return None


def _csv_value(value):
    if isinstance(value, float):
        return repr(value)  # shortest round-tripping form
    return value


def rows_of(results):
    """Rows (list of dict) from results in any of the accepted forms."""
    if isinstance(results, SimulationResults):
        return results.rows
    if hasattr(results, "to_dict") and hasattr(results, "columns"):  # DataFrame
        return results.to_dict("records")
    if isinstance(results, np.ndarray) and results.dtype.names:
        names = results.dtype.names
        return [dict(zip(names, rec.tolist(), strict=True)) for rec in results]
    if isinstance(results, list | tuple) and all(isinstance(r, dict) for r in results):
        return list(results)
    raise TypeError(
        "results must be SimulationResults, a pandas DataFrame, a structured array "
        f"or a list of dicts, got {type(results).__name__}."
    )


def check_rows(rows, needed=("run", "strategy", "n_labelled", "score")):
    """``rows`` when there is one and the first has the ``needed`` columns."""
    if not rows:
        raise ValueError("results must contain at least one row, got none.")
    missing = [c for c in needed if c not in rows[0]]
    if missing:
        raise ValueError(
            f"results must have the columns {list(needed)}; lacks {missing}."
        )
    return rows


def split_stored(stored, columns):
    """Result rows, selections and environments from rows as stored.

    Parameters
    ----------
    stored : iterable of dict
        Rows of a store's run files: the result columns plus ``selected``,
        the indices into ``X`` labelled at that cycle, and ``environment``,
        the id of the environment that computed the row (absent from rows
        written before environments were recorded).
    columns : sequence of str
        The result columns to keep (NaN where a row lacks one).

    Returns
    -------
    rows : list of dict
    selected : dict
        ``(run, strategy, cycle) -> ndarray of int``.
    computed_on : dict
        ``(run, strategy, cycle) -> environment id`` (None: not recorded).
    """
    rows, selected, computed_on = [], {}, {}
    for row in stored:
        key = (int(row["run"]), row["strategy"], int(row["cycle"]))
        selected[key] = np.asarray(row["selected"], dtype=np.int64)
        computed_on[key] = row.get("environment")
        rows.append({k: row.get(k, np.nan) for k in columns})
    return rows, selected, computed_on
