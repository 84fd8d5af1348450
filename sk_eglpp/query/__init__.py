"""Query strategies: one module per strategy, callables in modAL's convention.

Each strategy class has a module-level default instance (``egl_pp`` for
:class:`EGLPlusPlusQuery`, ...). Add a strategy by importing it here and listing
its class and default instance in ``__all__`` and ``STRATEGIES``.
"""

from ._base import BaseQueryStrategy

__all__ = ["BaseQueryStrategy", "STRATEGIES", "get_strategy"]

#: name -> default instance of every built-in strategy
STRATEGIES = {}


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
        raise TypeError(f"strategy name must be a str, got {type(name).__name__}.")
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; expected one of {sorted(STRATEGIES)}."
        )
    return clone(STRATEGIES[name])
