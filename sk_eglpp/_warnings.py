"""Warnings that point at the user's line, however deep the package's stack.

A fixed ``stacklevel`` breaks whenever a call path gains or loses a frame (a
validation decorator, a helper split out); :func:`warn` instead attributes the
warning to the first frame outside the package, so ``python -W error`` and
warning filters by module see the caller's code.
"""

import inspect
import pathlib
import warnings

__all__ = ["warn", "external_stacklevel"]

_PACKAGE = str(pathlib.Path(__file__).resolve().parent)


def _inside(filename):
    try:
        return str(pathlib.Path(filename).resolve()).startswith(_PACKAGE)
    except (OSError, ValueError):  # pragma: no cover - exotic frames
        return False


def external_stacklevel():
    """The ``stacklevel`` of the first frame outside the package, for our caller.

    Counted as ``warnings.warn`` counts: 1 is the function calling
    ``warnings.warn``, i.e. the caller of this function.

    Examples
    --------
    >>> external_stacklevel() >= 1
    True
    """
    frame = inspect.currentframe().f_back  # the function about to warn
    level = 1
    while frame is not None and _inside(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the first frame outside the package.

    Parameters
    ----------
    message : str
    category : type of Warning, default=UserWarning

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("careful")
    >>> str(caught[0].message), caught[0].category.__name__
    ('careful', 'UserWarning')
    """
    warnings.warn(message, category, stacklevel=external_stacklevel())
