"""Strategies given by name, object or ``{label: strategy}``, resolved once.

:func:`simulate` and :func:`~sk_eglpp.diagnostics.utility_fidelity` take
their ``strategies`` argument in the same forms; this is where they are
checked and labelled.
"""

from sklearn.base import clone

from .._fingerprints import describe

__all__ = ["resolve_strategies", "strategy_name"]


def strategy_name(obj):
    """A readable name: the registry name of a built-in default, else the class."""
    from . import STRATEGIES

    for name, default in STRATEGIES.items():
        if obj is default:
            return name
        if type(obj) is type(default) and hasattr(obj, "get_params"):
            try:
                if describe(obj) == describe(default):
                    return name
            except Exception:  # noqa: BLE001 - naming is best effort
                pass
    if hasattr(obj, "get_params"):
        return type(obj).__name__
    return getattr(obj, "__name__", type(obj).__name__)


def resolve_strategies(strategies):
    from . import STRATEGIES, get_strategy

    if isinstance(strategies, str) or not isinstance(strategies, dict | list | tuple):
        strategies = [strategies]
    if isinstance(strategies, dict):
        items = list(strategies.items())
    else:
        items = [(None, s) for s in strategies]
    if not items:
        raise ValueError("strategies must name at least one strategy, got none.")
    labels, objects = [], []
    for label, strategy in items:
        if isinstance(strategy, str):
            if strategy not in STRATEGIES:
                raise ValueError(
                    f"Unknown strategy {strategy!r}; expected one of "
                    f"{sorted(STRATEGIES)} or a strategy object."
                )
            label = strategy if label is None else label
            strategy = get_strategy(strategy)
        elif hasattr(strategy, "select") or callable(strategy):
            label = strategy_name(strategy) if label is None else label
            if hasattr(strategy, "get_params"):
                strategy = clone(strategy)
        else:
            raise TypeError(
                "Each strategy must be a name, a strategy object with select() or a "
                f"callable, got {type(strategy).__name__}."
            )
        if not isinstance(label, str) or not label:
            raise TypeError(f"Strategy names must be non-empty str, got {label!r}.")
        labels.append(label)
        objects.append(strategy)
    duplicates = sorted({lab for lab in labels if labels.count(lab) > 1})
    if duplicates:
        raise ValueError(
            f"Strategy names must be unique, got {duplicates} more than once; pass "
            "a dict {name: strategy} to name them."
        )
    return labels, objects
