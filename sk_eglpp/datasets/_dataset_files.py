"""What the data set readers share: the folder, its MATLAB file, the selection.

The LSP / LSPET / MPII loaders, :func:`leeds_to_coco` and :class:`ImageFolder`
open a local folder the same way: :func:`check_folder` is the one check that
a folder exists, :func:`read_mat` the one reader of a release's MATLAB
annotation file, and :func:`select_indices` picks the samples to read. The
constraints of the parameters that readers share (:data:`OCCLUDED`,
:data:`MARGIN`) are declared here once, so that the same mistake raises the
same error in every reader.
"""

import io
import os
from numbers import Real
from pathlib import Path

import numpy as np
import scipy.io

from .._param_validation import Interval, StrOptions
from ._cache import annotation_identity

__all__ = ["MARGIN", "OCCLUDED", "check_folder", "read_mat", "select_indices"]

#: ``occluded``: keep the position of a joint labelled but not visible, or NaN
OCCLUDED = [StrOptions(["keep", "nan"])]
#: ``margin`` of a crop around a person, in units of its box's larger side
MARGIN = [Interval(Real, 0, None, closed="left")]


def check_folder(path, what, name="path"):
    """``path`` as a :class:`pathlib.Path` to an existing folder.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    what : str
        What the folder holds, for the message (``"LSPET"``, ``"images"``).
    name : str, default="path"
        The parameter's name, for the message.

    Returns
    -------
    folder : pathlib.Path

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileNotFoundError
        ``path`` does not exist or is not a folder.

    Examples
    --------
    >>> check_folder("/no/such/folder", "LSP")
    Traceback (most recent call last):
    ...
    FileNotFoundError: LSP folder '/no/such/folder' does not exist or is not a folder.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"{name} must be a str or os.PathLike, got {type(path).__name__}."
        )
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{what} folder {str(folder)!r} does not exist or is not a folder."
        )
    return folder


def read_mat(file, name, dataset, **kwargs):
    """The variables of the MATLAB file ``file`` and its identity.

    The bytes are read once, so that the content hash of the identity
    (:func:`annotation_identity`, the loaders' cache key) is that of the bytes
    parsed; ``name`` is the file's name in the data folder and ``kwargs`` go
    to :func:`scipy.io.loadmat`. Errors are one line and name the file.

    Returns
    -------
    mat : dict
        The variables.
    identity : dict
        The file's name, size, modification time and content hash.

    Raises
    ------
    FileNotFoundError
        ``file`` does not exist.
    ValueError
        ``file`` is not a MATLAB v5 file (a v7.3 / HDF5 file, or not MATLAB).
    """
    if not file.is_file():
        raise FileNotFoundError(f"{dataset} annotation file {str(file)!r} not found.")
    try:
        stat = file.stat()
        data = file.read_bytes()
        mat = scipy.io.loadmat(io.BytesIO(data), **kwargs)
        return mat, annotation_identity(name, stat, data)
    except NotImplementedError as exc:  # MATLAB v7.3 (HDF5) files
        raise ValueError(
            f"{str(file)!r} is a MATLAB v7.3 (HDF5) file; expected the original "
            f"{dataset} release (MATLAB v5 format), which scipy.io.loadmat reads."
        ) from exc
    except Exception as exc:  # scipy raises several types for corrupt files
        raise ValueError(
            f"could not read {str(file)!r} as a MATLAB .mat file "
            f"({type(exc).__name__}: {exc})."
        ) from exc


def select_indices(n_available, indices, max_samples, unit):
    """Positions to read: ``indices`` (checked) then the first ``max_samples``.

    Parameters
    ----------
    n_available : int
        The number of samples the file lists.
    indices : array-like of int or None
        0-based positions, in the order to read; ``None`` is all of them.
    max_samples : int or None
        Keep at most this many (the first).
    unit : str
        What a sample is, for the messages (``"images"``, ``"people"``).

    Returns
    -------
    selected : ndarray of shape (n_selected,), dtype int64

    Raises
    ------
    TypeError
        ``indices`` are not integers.
    ValueError
        ``indices`` are not 1-D or out of range, or nothing is selected.

    Examples
    --------
    >>> select_indices(5, [3, 0, 1], 2, "images")
    array([3, 0])
    >>> select_indices(5, [5], None, "images")
    Traceback (most recent call last):
    ...
    ValueError: indices must be in [0, 5) (5 images), got [5].
    """
    if indices is None:
        selected = np.arange(n_available)
    else:
        selected = np.asarray(indices)
        if selected.ndim != 1:
            raise ValueError(
                f"indices must be a 1-D sequence of integers, got an array of "
                f"shape {selected.shape}."
            )
        if selected.size and not np.issubdtype(selected.dtype, np.integer):
            raise TypeError(f"indices must be integers, got dtype {selected.dtype}.")
        selected = selected.astype(np.int64)
        bad = (selected < 0) | (selected >= n_available)
        if bad.any():
            raise ValueError(
                f"indices must be in [0, {n_available}) ({n_available} {unit}), "
                f"got {selected[bad][:5].tolist()}."
            )
    if max_samples is not None:
        selected = selected[:max_samples]
    if selected.size == 0:
        raise ValueError(f"no {unit} selected: the selection is empty.")
    return selected
