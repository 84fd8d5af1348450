"""The strategy of a round: a copy set up from the round's settings, and the
name it is recorded under."""

from sklearn.base import clone

from ..query import STRATEGIES, get_query_tags, get_strategy
from ..query._resolve import strategy_name

__all__ = []


def network_strategy_names():
    """The built-in strategies that can score the round's network, sorted."""
    return sorted(n for n in STRATEGIES if get_query_tags(n).model != "linear")


def resolve_strategy(strategy, n_jobs, device, random_state, verbose):
    """The strategy to score with (a copy), and its name as the user gave it.

    ``strategy`` is a name or a query strategy object (the types are checked
    by ``select_for_annotation``); a strategy for linear models is refused.
    Its ``random_state`` and ``device`` (when None), ``n_jobs`` (when given)
    and ``verbose`` are set from the round's.
    """
    networks = network_strategy_names()
    if isinstance(strategy, str):
        if strategy not in networks:
            linear = strategy in STRATEGIES
            raise ValueError(
                f"{'strategy' if linear else 'unknown strategy'} {strategy!r}"
                f"{' scores linear models' if linear else ''}; the keypoint "
                f"regressor of an annotation round takes one of {', '.join(networks)}"
                " or a strategy object."
            )
        name, strategy = strategy, get_strategy(strategy)
    else:
        if get_query_tags(strategy).model == "linear":
            raise ValueError(
                f"{type(strategy).__name__} scores linear models; the keypoint "
                "regressor of an annotation round takes one of "
                f"{', '.join(networks)}."
            )
        name, strategy = strategy_name(strategy), clone(strategy)
        name = _describe_changes(name, strategy)
    params = strategy.get_params(deep=False)
    update = {}
    if "random_state" in params and params["random_state"] is None:
        update["random_state"] = random_state
    if "n_jobs" in params and n_jobs is not None:
        update["n_jobs"] = n_jobs
    if "device" in params and params["device"] is None:
        update["device"] = device
    if "verbose" in params and verbose:
        update["verbose"] = True
    return strategy.set_params(**update), name


def _describe_changes(name, strategy):
    """``egl_pp (batch='diverse')``: the registry name and the changed options."""
    default = next((s for s in STRATEGIES.values() if type(s) is type(strategy)),
                   None)
    if default is None:
        return name
    mine, base = strategy.get_params(deep=False), default.get_params(deep=False)
    changed = [f"{k}={v!r}" for k, v in sorted(mine.items())
               if k not in ("random_state", "n_jobs", "device", "verbose")
               and repr(v) != repr(base.get(k))]
    base_name = next(n for n, s in STRATEGIES.items() if s is default)
    return f"{base_name} ({', '.join(changed)})" if changed else base_name
