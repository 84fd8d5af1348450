"""The errors of the simulation and its store, one type per situation.

Each is a subclass of the built-in exception raised before it had its own
type, so ``except ValueError`` / ``except RuntimeError`` keep catching them.
"""

from .._files import OutputDirInUseError

__all__ = [
    "OutputDirInUseError",
    "ResumeMismatchError",
    "StoreError",
    "StoreFormatError",
    "CorruptStoreError",
]


class StoreError(ValueError):
    """The folder cannot be used as the store of a simulation.

    The base of :class:`ResumeMismatchError`, :class:`StoreFormatError` and
    :class:`CorruptStoreError`; :func:`open_store`, :func:`simulate` and
    :func:`delete_store` raise it themselves for a folder that holds no
    simulation, or a ``config.json`` that is not a store's (such a folder
    is never written to or deleted). A ``ValueError``.

    Examples
    --------
    >>> issubclass(StoreError, ValueError)
    True
    """


class ResumeMismatchError(StoreError):
    """``output_dir`` holds a simulation run with other parameters.

    Raised by :func:`simulate` instead of resuming; the message lists what
    differs. Also raised by :meth:`SimulationStore.load_model` for an
    estimator other than the run's. A ``ValueError``, so ``except
    ValueError`` catches it too.

    Examples
    --------
    >>> issubclass(ResumeMismatchError, ValueError)
    True
    """


class StoreFormatError(StoreError):
    """The store was written in a format this version does not read.

    The message names the folder, its format and the one this version of
    sk_eglpp writes; such a folder cannot be resumed: use another
    ``output_dir`` (or delete this one). A ``ValueError``.

    Examples
    --------
    >>> issubclass(StoreFormatError, StoreError)
    True
    """


class CorruptStoreError(StoreError):
    """A file of the store is damaged or inconsistent with the others.

    The message names the file and what to delete to recompute the part of
    the simulation it holds. A ``ValueError``.

    Examples
    --------
    >>> issubclass(CorruptStoreError, ValueError)
    True
    """


# shown (and pickled) under the package that exports them
for _error in (
    OutputDirInUseError,
    StoreError,
    ResumeMismatchError,
    StoreFormatError,
    CorruptStoreError,
):
    _error.__module__ = "sk_eglpp.simulation"
del _error
