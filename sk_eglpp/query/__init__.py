"""Query strategies: one module per strategy, callables in modAL's convention.

Each strategy class has a module-level default instance (``egl_pp`` for
:class:`EGLPlusPlusQuery`, ...). Add a strategy by importing it here and listing
its class and default instance in ``__all__`` and ``STRATEGIES``.
"""

from ._base import (
    BaseQueryStrategy,
    QueryTags,
    get_query_tags,
    select_with_utilities,
    shared_default,
)
from ._batch import BATCH_MODES, information_density, select_batch
from ._coreset import CoreSetQuery, coreset
from ._egl_pp import EGLPlusPlusQuery, egl_pp
from ._greedy import GreedySamplingQuery, greedy_sampling
from ._learning_loss import LearningLossQuery, learning_loss
from ._linear import EMCMQuery, LinearEGLQuery, egl_linear, emcm
from ._mc_dropout import MCDropoutQuery, mc_dropout
from ._multipeak import MultiPeakEntropyQuery, multipeak_entropy
from ._random import RandomQuery, random_query

#: name -> default instance of every built-in strategy
STRATEGIES = {
    "egl_pp": egl_pp,
    "egl_linear": egl_linear,
    "emcm": emcm,
    "random_query": random_query,
    "coreset": coreset,
    "multipeak_entropy": multipeak_entropy,
    "learning_loss": learning_loss,
    "mc_dropout": mc_dropout,
    "greedy_sampling": greedy_sampling,
    "greedy_sampling_x": shared_default(GreedySamplingQuery(mode="x")),
    "greedy_sampling_y": shared_default(GreedySamplingQuery(mode="y")),
}

__all__ = [
    "BaseQueryStrategy",
    "QueryTags",
    "STRATEGIES",
    "get_query_tags",
    "get_strategy",
    "select_with_utilities",
    "EGLPlusPlusQuery",
    "egl_pp",
    "LinearEGLQuery",
    "egl_linear",
    "EMCMQuery",
    "emcm",
    "RandomQuery",
    "random_query",
    "CoreSetQuery",
    "coreset",
    "MultiPeakEntropyQuery",
    "multipeak_entropy",
    "LearningLossQuery",
    "learning_loss",
    "MCDropoutQuery",
    "mc_dropout",
    "GreedySamplingQuery",
    "greedy_sampling",
    "BATCH_MODES",
    "select_batch",
    "information_density",
]


def get_strategy(name):
    """Return a fresh copy of the built-in strategy called ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`STRATEGIES`.

    Returns
    -------
    strategy : BaseQueryStrategy
        An unfitted clone, safe to configure with ``set_params``.

    Examples
    --------
    >>> get_strategy("random_query")
    RandomQuery()
    """
    from sklearn.base import clone

    if not isinstance(name, str):
        raise TypeError(
            f"get_strategy: name must be a str, got {name!r} ({type(name).__name__})."
        )
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; expected one of {sorted(STRATEGIES)}."
        )
    return clone(STRATEGIES[name])
