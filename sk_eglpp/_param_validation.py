"""The one parameter-validation mechanism of the package.

Every public callable declares what each of its parameters may be, and the
check runs before the body:

- a **function** is decorated with :func:`validate_params`, whose table must
  name exactly the parameters of the signature (a table that misses one, or
  names one the function lacks, fails at import time)::

      @validate_params({"X": ["array-like"], "alpha": [Interval(Real, 0, None,
                        closed="neither")], "verbose": VERBOSE})
      def f(X, alpha=0.2, verbose=0): ...

- a **class** declares ``_parameter_constraints`` (its constructor
  parameters, stored as given and never checked in ``__init__``), inherits
  :class:`ParamValidationMixin`, and decorates the methods that use them
  (``fit``, ``score``, ``select``, ``__call__``, ...) with
  :func:`validate_call`, in the spirit of scikit-learn's ``_fit_context``.

A value is valid when it satisfies **any** of its constraints. One rule decides
the exception type:

- ``ValueError`` when the value has the right *type* for one of the
  constraints but not an allowed value (``0`` for an int >= 1, NaN for a real
  interval, ``"fast"`` for a set of strings, ``-1`` as a seed, ``"cuda"`` on a
  machine without CUDA);
- ``TypeError`` otherwise (``2.5`` for an int, ``None`` or ``3`` for a set of
  strings, a string for a number). ``bool`` is not a number here: ``True`` for
  an int parameter is a ``TypeError``.

The message names the class or function and the parameter, what was expected
and what was got, e.g. ``"EGLPlusPlusQuery: n_neighbors must be an int in [1,
inf), got 0 (int)."``. Constraints that depend on the data (``n_neighbors``
against the labelled set, the shape of ``X``) stay in the code that sees the
data; such parameters are declared ``"array-like"`` or ``"no_validation"``.

Why our own module rather than scikit-learn's
``sklearn.utils._param_validation``: that module is private (no stability
promise across the scikit-learn releases this package supports); it raises
one ``InvalidParameterError`` (both a ``ValueError`` and a ``TypeError``) for
every mistake, where this package promises the type rule above; it accepts
``True`` for an int; and its messages do not name what was got in our form.
This module is the small subset the package needs.
"""

import functools
import inspect
from numbers import Integral, Real

import numpy as np

__all__ = [
    "N_JOBS",
    "POSITIVE_INT",
    "VERBOSE",
    "InstanceOf",
    "Interval",
    "StrOptions",
    "ParamValidationMixin",
    "available_device",
    "check_params",
    "validate_call",
    "validate_param",
    "validate_params",
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


def available_device(device):
    """Parse ``device`` and check that this machine has it: the device rule.

    Every ``device`` parameter of the package is checked by this function
    (through the ``"device"`` constraint); the command line turns its message
    into a usage error.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...

    Returns
    -------
    device : torch.device

    Raises
    ------
    TypeError
        When ``device`` is neither a string nor a ``torch.device``.
    ValueError
        When it is not a torch device, or names a device (CUDA, an index, MPS)
        this machine does not have; the message says why.

    Examples
    --------
    >>> available_device("cpu")
    device(type='cpu')
    >>> available_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device 'tpu' is not a torch device (...)
    """
    import torch  # only the callables that take a device need torch

    if not isinstance(device, str | torch.device):
        raise TypeError(
            f"device must be a torch.device or a device string such as 'cpu' or "
            f"'cuda:0', got {device!r} ({type(device).__name__})"
        )
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"device {device!r} is not a torch device ({exc})") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            build = "built without CUDA" if torch.version.cuda is None else "no GPU"
            raise ValueError(
                f"device {device!r}: CUDA is not available on this machine "
                f"(torch {torch.__version__}, {build}); use 'cpu'"
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r}: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif parsed.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {device!r}: MPS is not available on this machine")
    elif parsed.type != "cpu":
        raise ValueError(f"device {device!r}: only cpu, cuda and mps are supported")
    return parsed


class _Device(_Constraint):
    """A device this machine has (:func:`available_device`)."""

    def matches_type(self, value):
        import torch

        return isinstance(value, str | torch.device)

    def is_satisfied_by(self, value):
        return self.problem(value) is None

    def problem(self, value):
        """Why ``value`` is not an available device (``None`` when it is)."""
        try:
            available_device(value)
        except (TypeError, ValueError) as exc:
            return str(exc)
        return None

    def __str__(self):
        return "a torch.device, a device string such as 'cpu' or 'cuda:0'"


class _Path(_Constraint):
    """A file-system path: a ``str`` or an ``os.PathLike`` (``pathlib.Path``)."""

    def is_satisfied_by(self, value):
        import os

        return isinstance(value, str | os.PathLike)

    def __str__(self):
        return "a path (str or os.PathLike)"


class InstanceOf(_Constraint):
    """An instance of one of ``types`` (``str`` in ``description`` for messages).

    Examples
    --------
    >>> validate_param([1], "items", [InstanceOf(list, tuple)], "f")
    [1]
    >>> validate_param("ab", "items", [InstanceOf(list, tuple)], "f")
    Traceback (most recent call last):
    ...
    TypeError: f: items must be a list or tuple, got 'ab' (str).
    """

    def __init__(self, *types, description=None):
        self.types = types
        self.description = description or "a " + " or ".join(
            t.__name__ for t in types
        )

    def is_satisfied_by(self, value):
        return isinstance(value, self.types)

    def __str__(self):
        return self.description


class _NoValidation(_Constraint):
    """Anything: the parameter is checked by the code that sees the data."""

    def is_satisfied_by(self, value):
        return True

    def __str__(self):  # pragma: no cover - never fails
        return "anything"


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
    "path": _Path,
    "array-like": _NoValidation,
    "no_validation": _NoValidation,
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
        ``"regressor"`` (a scikit-learn regressor instance), ``"path"`` (a str
        or ``os.PathLike``), :class:`InstanceOf`, ``"array-like"``
        and ``"no_validation"`` (anything: checked where the data is seen).
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
    why = ""
    for c in constraints:
        if isinstance(c, _Device) and c.matches_type(value):
            why = f": {c.problem(value)}"
    raise error(
        f"{caller}: {name} must be {_describe(constraints)}{hint}, got {value!r} "
        f"({type(value).__name__}){why}."
    )


def check_params(params, constraints, caller):
    """Check every entry of ``params`` against ``constraints[name]``.

    Every parameter must have an entry in ``constraints`` (a missing entry is
    a programming error and raises ``KeyError``). :func:`validate_params` and
    :func:`validate_call` are built on this.

    Examples
    --------
    >>> check_params({"flag": True}, {"flag": ["boolean"]}, "f")
    >>> check_params({"flag": 1}, {"flag": ["boolean"]}, "f")
    Traceback (most recent call last):
    ...
    TypeError: f: flag must be a bool, got 1 (int).
    """
    for name, value in params.items():
        validate_param(value, name, constraints[name], caller)


def validate_params(constraints):
    """Decorator: check a function's arguments against ``constraints`` first.

    Parameters
    ----------
    constraints : dict
        ``{parameter: [constraint, ...]}`` for **every** parameter of the
        decorated function's signature (``*args`` / ``**kwargs`` excepted);
        data checked by the function itself is declared ``["array-like"]`` or
        ``["no_validation"]``. A table that does not match the signature raises
        ``TypeError`` when the function is decorated.

    Returns
    -------
    decorator : callable
        The decorated function keeps its name, docstring and signature; every
        call checks its arguments (defaults included) and raises ``TypeError``
        / ``ValueError`` naming the function and the parameter.

    Examples
    --------
    >>> @validate_params({"k": [POSITIVE_INT], "flag": ["boolean"]})
    ... def f(k, flag=False):
    ...     return k
    >>> f(3)
    3
    >>> f(0)
    Traceback (most recent call last):
    ...
    ValueError: f: k must be an int in [1, inf), got 0 (int).
    >>> f(2, flag="yes")
    Traceback (most recent call last):
    ...
    TypeError: f: flag must be a bool, got 'yes' (str).
    """

    def decorate(func):
        signature = inspect.signature(func)
        names = [
            p.name
            for p in signature.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if set(names) != set(constraints):
            raise TypeError(
                f"validate_params on {func.__qualname__}: the constraints must name "
                f"exactly the parameters {names}, got {sorted(constraints)}."
            )
        checked = {
            name: [_make_constraint(c) for c in constraints[name]] for name in names
        }

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name in names:
                validate_param(
                    bound.arguments[name], name, checked[name], func.__name__
                )
            return func(*args, **kwargs)

        return wrapper

    return decorate


def validate_call(method):
    """Decorator for a method that uses the constructor parameters.

    Checks the instance's parameters against its class's
    ``_parameter_constraints`` (:meth:`ParamValidationMixin._validate_constraints`)
    before the method runs: the one wrapper of ``fit``, ``score``, ``select``,
    ``__call__`` and the like.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> class Counter(ParamValidationMixin, BaseEstimator):
    ...     _parameter_constraints = {"step": [POSITIVE_INT]}
    ...     def __init__(self, step=1):
    ...         self.step = step
    ...     @validate_call
    ...     def advance(self, x):
    ...         return x + self.step
    >>> Counter(step=2).advance(1)
    3
    >>> Counter(step=0).advance(1)
    Traceback (most recent call last):
    ...
    ValueError: Counter: step must be an int in [1, inf), got 0 (int).
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self._validate_constraints()
        return method(self, *args, **kwargs)

    return wrapper


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
        check_params(
            {k: v for k, v in params.items() if k in constraints},
            constraints,
            type(self).__name__,
        )



#: an int >= 1 (sizes, counts, chunk and batch sizes)
POSITIVE_INT = Interval(Integral, 1, None, closed="left")
#: a verbosity: 0 silent, >= 1 progress; bools count as 0 / 1
VERBOSE = [Interval(Integral, 0, None, closed="left"), "boolean"]
#: a joblib ``n_jobs``: None (one job, or joblib's context) or a non-zero int
N_JOBS = [None, "n_jobs"]
