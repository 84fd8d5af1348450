"""Active-learning simulation: the paper's protocol as a library function.

:func:`simulate` runs the experimental design of the paper (section 4,
Table 1): per run, a base model is trained on a random initial labelled set
shared by every strategy; each strategy then repeats *query ``budget``
samples -> label them -> continue training -> score on the test set* for
``n_cycles`` cycles. :func:`compare` lays the results out as the paper's
Table 1 (mean, standard deviation and one-tailed paired t-test against the
reference strategy per labelled-set size), :func:`plot_learning_curves` and
:func:`plot_selection_map` draw them.

The package's modules, by concern:

- ``_engine``: :func:`simulate` and the runs it executes;
- ``_config``: input checks, strategy names, seeds and fingerprints;
- ``_results``: :class:`SimulationResults` and its CSV form;
- ``_store``: the resumable ``output_dir`` and its read API
  (:func:`open_store`, :class:`SimulationStore`, :func:`delete_store`);
- ``_errors``: the typed errors;
- ``_compare``: :func:`compare`, :class:`ComparisonTable`;
- ``_plots``: :func:`plot_learning_curves`, :func:`plot_selection_map`;
- ``_problems``: the experiments of ``sk-eglpp simulate`` as library
  builders (:func:`pose_problem`, :func:`toy_problem` and their presets);
- ``_report``: the report of ``sk-eglpp simulate`` (the scores as reported,
  the tables, the time summary, the selection map);
- ``_environment``: the environment a simulation ran in.

What the modules share has names without a leading underscore; only the
names of ``__all__`` are the public API. Networks are checkpointed with
:mod:`sk_eglpp.models._checkpoint`.
"""

from ._compare import ComparisonTable, compare
from ._engine import simulate
from ._errors import (
    CorruptStoreError,
    OutputDirInUseError,
    ResumeMismatchError,
    StoreError,
    StoreFormatError,
)
from ._plots import plot_learning_curves, plot_selection_map
from ._problems import (
    POSE_PRESETS,
    TOY_PRESETS,
    pose_estimator,
    pose_problem,
    toy_problem,
)
from ._results import COLUMNS, SimulationResults
from ._store import SimulationStore, delete_store, open_store

__all__ = [
    "COLUMNS",
    "OutputDirInUseError",
    "ResumeMismatchError",
    "StoreError",
    "StoreFormatError",
    "CorruptStoreError",
    "SimulationResults",
    "ComparisonTable",
    "SimulationStore",
    "simulate",
    "compare",
    "plot_learning_curves",
    "plot_selection_map",
    "open_store",
    "delete_store",
    "POSE_PRESETS",
    "TOY_PRESETS",
    "pose_estimator",
    "pose_problem",
    "toy_problem",
]
