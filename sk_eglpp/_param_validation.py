"""Declarative checks of constructor parameters (scikit-learn's style, our own).

A class declares what each of its parameters may be::

    _parameter_constraints = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions(["exact", "lowrank"])],
        "embedding": [None, callable],
    }

and :class:`ParamValidationMixin` checks every parameter against that table,
once, at call / fit time (never in ``__init__``). A value is valid when it
satisfies **any** of its constraints. One rule decides the exception type:

- ``ValueError`` when the value has the right *type* for one of the
  constraints but not an allowed value (``0`` for an int >= 1, NaN for a real
  interval, ``"fast"`` for a set of strings, ``-1`` as a seed);
- ``TypeError`` otherwise (``2.5`` for an int, ``None`` or ``3`` for a set of
  strings, a string for a number). ``bool`` is not a number here: ``True`` for
  an int parameter is a ``TypeError``.

The message names the class and the parameter, what was expected and what was
got, e.g. ``"EGLPlusPlusQuery: n_neighbors must be an int in [1, inf), got 0
(int)."``. Constraints that depend on the data (``n_neighbors`` against the
labelled set) stay in the code that sees the data.

Why not scikit-learn's ``sklearn.utils._param_validation``: it is private and
has changed between releases without notice (imbalanced-learn keeps its own
copy for that reason); it raises one ``InvalidParameterError`` (both a
``ValueError`` and a ``TypeError``) for every mistake, where we want the type
rule above; it accepts ``True`` for an int; and its messages do not follow
ours. This module is the small subset we use.
"""

from numbers import Integral, Real

import numpy as np

__all__ = [
    "POSITIVE_INT",
    "VERBOSE",
    "Interval",
    "StrOptions",
    "ParamValidationMixin",
    "validate_params",
    "validate_param",
]


class _Constraint:
    """One allowed kind of value; ``matches_type`` decides Type vs ValueError."""

    def is_satisfied_by(self, value):  # pragma: no cover - abstract
        raise NotImplementedError

    def matches_type(self, value):
        """Whether ``value`` has this constraint's type (then: ValueError)."""
        return False

    def __str__(self):  # pragma: no cover - abstract
        raise NotImplementedError


def _is_number(value, kind):
    return isinstance(value, kind) and not isinstance(value, bool | np.bool_)


class Interval(_Constraint):
    """An int (``Integral``) or a finite real number (``Real``) in an interval.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real}
        ``Integral`` accepts Python and numpy integers; ``Real`` accepts any
        real number (integers too) that is finite. Bools are neither.
    left, right : float or None
        The bounds; ``None`` is unbounded.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.

    Examples
    --------
    >>> from numbers import Integral, Real
    >>> str(Interval(Integral, 1, None, closed="left"))
    'an int in [1, inf)'
    >>> Interval(Real, 0, 1, closed="right").is_satisfied_by(0.0)
    False
    """

    def __init__(self, type, left, right, *, closed):
        if type not in (Integral, Real):
            raise ValueError(f"type must be Integral or Real, got {type!r}.")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(
                "closed must be 'left', 'right', 'both' or 'neither', got "
                f"{closed!r}."
            )
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def matches_type(self, value):
        return _is_number(value, self.type)

    def is_satisfied_by(self, value):
        if not self.matches_type(value):
            return False
        if self.type is Real and not np.isfinite(float(value)):
            return False
        left_in = self.closed in ("left", "both")
        right_in = self.closed in ("right", "both")
        if self.left is not None and (
            value < self.left if left_in else value <= self.left
        ):
            return False
        if self.right is not None and (
            value > self.right if right_in else value >= self.right
        ):
            return False
        return True

    def __str__(self):
        kind = "an int" if self.type is Integral else "a finite real number"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        left = "[" if self.closed in ("left", "both") and self.left is not None else "("
        right = (
            "]" if self.closed in ("right", "both") and self.right is not None else ")"
        )
        return f"{kind} in {left}{lo}, {hi}{right}"


class StrOptions(_Constraint):
    """One of a fixed set of strings (listed in the declared order).

    Examples
    --------
    >>> str(StrOptions(["exact", "lowrank"]))
    "one of ['exact', 'lowrank']"
    """

    def __init__(self, options):
        self.options = tuple(options)

    def matches_type(self, value):
        return isinstance(value, str)

    def is_satisfied_by(self, value):
        return isinstance(value, str) and value in self.options

    def __str__(self):
        return f"one of {list(self.options)}"


class _NoneConstraint(_Constraint):
    def is_satisfied_by(self, value):
        return value is None

    def __str__(self):
        return "None"


class _Boolean(_Constraint):
    def is_satisfied_by(self, value):
        return isinstance(value, bool | np.bool_)

    def __str__(self):
        return "a bool"


class _Callable(_Constraint):
    def is_satisfied_by(self, value):
        return callable(value)

    def __str__(self):
        return "a callable"


class _RandomState(_Constraint):
    """An int seed in ``[0, 2**32 - 1]`` or a ``numpy.random.RandomState``."""

    def matches_type(self, value):
        return _is_number(value, Integral)

    def is_satisfied_by(self, value):
        if isinstance(value, np.random.RandomState):
            return True
        return self.matches_type(value) and 0 <= value <= 2**32 - 1

    def __str__(self):
        return "an int in [0, 2**32 - 1], a numpy RandomState"


class _NJobs(_Constraint):
    """A joblib ``n_jobs``: a non-zero int (negative: counted from the CPUs)."""

    def matches_type(self, value):
        return _is_number(value, Integral)

    def is_satisfied_by(self, value):
        return self.matches_type(value) and value != 0

    def __str__(self):
        return "a non-zero int (-1: all CPUs)"


class _Device(_Constraint):
    """A ``torch.device`` or a string that names one (``"cpu"``, ``"cuda:0"``)."""

    def matches_type(self, value):
        return isinstance(value, str)

    def is_satisfied_by(self, value):
        import torch  # only the strategies that take a device need torch

        if isinstance(value, torch.device):
            return True
        if not isinstance(value, str):
            return False
        try:
            torch.device(value)
        except (RuntimeError, ValueError):
            return False
        return True

    def __str__(self):
        return "a torch.device, a device string such as 'cpu' or 'cuda:0'"


class _Regressor(_Constraint):
    """A scikit-learn regressor (``is_regressor``), e.g. ``LinearRegression()``."""

    def is_satisfied_by(self, value):
        from sklearn.base import is_regressor

        if isinstance(value, type) or not hasattr(value, "__sklearn_tags__"):
            return False
        return is_regressor(value)

    def __str__(self):
        return "a scikit-learn regressor such as LinearRegression()"


class _Iterable(_Constraint):
    """Any iterable that is not a string (e.g. a list of torch parameters)."""

    def is_satisfied_by(self, value):
        return hasattr(value, "__iter__") and not isinstance(value, str)

    def __str__(self):
        return "a list"


_NAMED = {
    "boolean": _Boolean,
    "random_state": _RandomState,
    "n_jobs": _NJobs,
    "device": _Device,
    "iterable": _Iterable,
    "regressor": _Regressor,
}


def _make_constraint(constraint):
    """A declared constraint (object, ``None``, ``callable`` or a name) as object."""
    if isinstance(constraint, _Constraint):
        return constraint
    if constraint is None:
        return _NoneConstraint()
    if constraint is callable:
        return _Callable()
    if isinstance(constraint, str) and constraint in _NAMED:
        return _NAMED[constraint]()
    raise ValueError(f"Unknown parameter constraint {constraint!r}.")


def _describe(constraints):
    """``"an int in [1, inf) or None"``: the alternatives, None last."""
    parts = [str(c) for c in constraints if not isinstance(c, _NoneConstraint)]
    if any(isinstance(c, _NoneConstraint) for c in constraints):
        parts.append("None")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def validate_param(value, name, constraints, caller):
    """Check one parameter against its constraints; return it unchanged.

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str
        Its name.
    constraints : list
        Alternatives: :class:`Interval`, :class:`StrOptions`, ``None``,
        ``callable`` or one of the names ``"boolean"``, ``"random_state"``
        (int seed or RandomState), ``"n_jobs"`` (non-zero int), ``"device"``
        (torch device or device string), ``"iterable"`` (non-string iterable),
        ``"regressor"`` (a scikit-learn regressor instance).
    caller : str
        The class or function the parameter belongs to, for the message.

    Returns
    -------
    value : object

    Raises
    ------
    ValueError
        When ``value`` has the type of one of the constraints but is not an
        allowed value.
    TypeError
        When it has none of their types.

    Examples
    --------
    >>> from numbers import Integral
    >>> validate_param(3, "k", [Interval(Integral, 1, None, closed="left")], "f")
    3
    >>> validate_param(0, "k", [Interval(Integral, 1, None, closed="left")], "f")
    Traceback (most recent call last):
    ...
    ValueError: f: k must be an int in [1, inf), got 0 (int).
    >>> validate_param("a", "k", [Interval(Integral, 1, None, closed="left"), None],
    ...                "f")
    Traceback (most recent call last):
    ...
    TypeError: f: k must be an int in [1, inf) or None, got 'a' (str).
    """
    constraints = [_make_constraint(c) for c in constraints]
    if any(c.is_satisfied_by(value) for c in constraints):
        return value
    error = ValueError if any(c.matches_type(value) for c in constraints) else TypeError
    hint = ""
    if isinstance(value, np.random.Generator) and any(
        isinstance(c, _RandomState) for c in constraints
    ):
        hint = " (a numpy Generator is not supported: pass an int or a RandomState)"
    raise error(
        f"{caller}: {name} must be {_describe(constraints)}{hint}, got {value!r} "
        f"({type(value).__name__})."
    )


def validate_params(params, constraints, caller):
    """Check every entry of ``params`` against ``constraints[name]``.

    Every parameter must have an entry in ``constraints`` (a missing entry is
    a programming error and raises ``KeyError``).

    Examples
    --------
    >>> validate_params({"flag": True}, {"flag": ["boolean"]}, "f")
    >>> validate_params({"flag": 1}, {"flag": ["boolean"]}, "f")
    Traceback (most recent call last):
    ...
    TypeError: f: flag must be a bool, got 1 (int).
    """
    for name, value in params.items():
        validate_param(value, name, constraints[name], caller)


class ParamValidationMixin:
    """``_validate_constraints()`` for classes with ``_parameter_constraints``.

    (Not called ``_validate_params`` as in scikit-learn: skorch's ``NeuralNet``
    has a method of that name for its own prefix checks.)

    The checked parameters are those of ``get_params(deep=False)`` that are
    declared in the class's ``_parameter_constraints`` (all of them for our
    own estimators and strategies; a skorch subclass declares only the
    parameters it adds, skorch checks its own).

    Examples
    --------
    >>> from numbers import Real
    >>> from sklearn.base import BaseEstimator
    >>> class Smoother(ParamValidationMixin, BaseEstimator):
    ...     _parameter_constraints = {"alpha": [Interval(Real, 0, 1, closed="both")]}
    ...     def __init__(self, alpha=0.5):
    ...         self.alpha = alpha
    >>> Smoother(alpha=2.0)._validate_constraints()
    Traceback (most recent call last):
    ...
    ValueError: Smoother: alpha must be a finite real number in [0, 1], got 2.0 (float).
    """

    _parameter_constraints: dict = {}

    def _validate_constraints(self):
        params = self.get_params(deep=False)
        constraints = self._parameter_constraints
        validate_params(
            {k: v for k, v in params.items() if k in constraints},
            constraints,
            type(self).__name__,
        )



#: an int >= 1 (sizes, counts, chunk and batch sizes)
POSITIVE_INT = Interval(Integral, 1, None, closed="left")
#: a verbosity: 0 silent, >= 1 progress; bools count as 0 / 1
VERBOSE = [Interval(Integral, 0, None, closed="left"), "boolean"]
