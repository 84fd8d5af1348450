"""On-disk cache of the pose loaders' arrays (LSP, LSPET, MPII).

Decoding and cropping 10,000 JPEG files takes tens of seconds; a loader
called again with the same arguments on the same files reads its arrays back
from a cache entry instead, in a fraction of a second.

Conventions
-----------
Where
    ``cache_dir=None`` is the user's cache folder, :func:`get_cache_dir`
    (``$SK_EGLPP_CACHE``, else ``$XDG_CACHE_HOME/sk_eglpp``, else
    ``~/.cache/sk_eglpp``); ``False`` turns the cache off; a path is used as
    given. The data set's folder is never written, unless it is the path
    given.
Entries
    One folder per call signature, ``<loader>-<key>`` (``load_lspet-3f0c...``),
    holding one ``.npy`` file per returned array and ``manifest.json``: the
    key, what it was computed from, and the shape, dtype and CRC-32 of each
    array. The manifest's first line names this module; :func:`clear_cache`
    removes the folders whose manifest does, and nothing else.
Key
    A hash of the loader's name, :data:`CACHE_FORMAT`, the versions of
    sk_eglpp, NumPy, SciPy and Pillow, every parameter that changes the
    arrays (the loader passes them, the selected indices included), the
    annotation file (its name, size, modification time in nanoseconds and a
    BLAKE2b hash of its bytes) and each image read (its name relative to the
    data folder, size and modification time). Editing, replacing or touching
    one of those files gives another key, so a stale entry is never read; it
    stays on disk until :func:`clear_cache`. The data folder's own path is not
    part of the key: a moved copy of a data set keeps its entries.
Reading
    An entry is read only when its manifest names the expected key and
    arrays, and every array has the manifest's shape, dtype and checksum. A
    missing, truncated, altered or unreadable file makes the entry damaged:
    it is rebuilt from the data set's files and replaced, with one
    ``UserWarning``.
Writing
    Under the cache folder's lock (:class:`~sk_eglpp._files.FolderLock`, a file
    named ``lock``), through a temporary sibling folder renamed into place
    (:func:`~sk_eglpp._files.atomic_folder`): a killed write leaves no entry
    that could be read, and concurrent loaders do not mix their files. A
    write that fails (a full disk, a read-only folder, the lock held for more
    than a minute) is reported with a ``UserWarning`` and the arrays are
    returned all the same; so are arrays whose files changed while they were
    read, which are not stored.
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import zlib
from pathlib import Path

import numpy as np

from .._files import (
    FolderLock,
    OutputDirInUseError,
    atomic_folder,
    is_lock_file,
    remove_leftovers,
)
from .._fingerprints import describe, fingerprint
from .._param_validation import validate_params
from .._warnings import warn

__all__ = [
    "CACHE_FORMAT",
    "get_cache_dir",
    "clear_cache",
    "check_cache_dir",
    "annotation_identity",
    "cached_arrays",
]

#: Version of the entries' layout and of the loaders' output: raise it when
#: either changes, so that older entries are no longer read.
CACHE_FORMAT = 1

_WRITTEN_BY = "sk_eglpp.datasets cache entry"
_MANIFEST = "manifest.json"
#: the first bytes of every manifest (``json.dumps(..., indent=1)`` with
#: ``written_by`` first), by which clear_cache recognises an entry
_MANIFEST_HEAD = f'{{\n "written_by": "{_WRITTEN_BY}",'.encode()
_ARRAY_FILES = ("X.npy", "y.npy", "heads.npy")
_ENTRY = re.compile(r"load_[a-z]+-[0-9a-f]{32}")
_LEFTOVER = re.compile(r"\.(load_[a-z]+-[0-9a-f]{32})\..+\.tmp")
_LOCK_WAIT = 60.0  # seconds a writer waits for another one to finish


class _Damaged(Exception):
    """An entry that exists but cannot be read as what its key promises."""


@validate_params({})
def get_cache_dir():
    """The folder where the pose loaders cache their arrays by default.

    ``$SK_EGLPP_CACHE`` when that variable is set and not empty, else
    ``$XDG_CACHE_HOME/sk_eglpp`` when that variable holds an absolute path,
    else ``~/.cache/sk_eglpp``. The folder is not created here: the first
    cached load creates it.

    Returns
    -------
    cache_dir : pathlib.Path

    See Also
    --------
    clear_cache : Remove the entries of a cache folder.
    load_lsp, load_lspet, load_mpii : The loaders, whose ``cache_dir=None``
        means this folder.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> from sk_eglpp.datasets import get_cache_dir
    >>> with mock.patch.dict(os.environ, {"SK_EGLPP_CACHE": "/data/cache"}):
    ...     print(get_cache_dir())
    /data/cache
    >>> with mock.patch.dict(os.environ, {"SK_EGLPP_CACHE": "",
    ...                                   "XDG_CACHE_HOME": "/var/cache/me"}):
    ...     print(get_cache_dir())
    /var/cache/me/sk_eglpp
    """
    own = os.environ.get("SK_EGLPP_CACHE")
    if own:
        return Path(own)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG specification ignores relative ones
        return Path(xdg) / "sk_eglpp"
    return Path.home() / ".cache" / "sk_eglpp"


def check_cache_dir(cache_dir, caller=None):
    """The cache folder of a loader's ``cache_dir``; ``None`` when it is off.

    ``caller`` (the loader's name) begins the messages.

    Examples
    --------
    >>> check_cache_dir("my_cache").name, check_cache_dir(False)
    ('my_cache', None)
    >>> check_cache_dir(True, "load_lsp")
    Traceback (most recent call last):
    ...
    TypeError: load_lsp: cache_dir must be a path ..., False or None, got True (bool).
    """
    if cache_dir is None:
        return get_cache_dir()
    if cache_dir is False or isinstance(cache_dir, np.bool_) and not cache_dir:
        return None
    return _as_folder(cache_dir, "a path (str or os.PathLike), False or None", caller)


def _as_folder(cache_dir, expected, caller):
    prefix = f"{caller}: " if caller else ""
    if isinstance(cache_dir, bool | np.bool_) or not isinstance(
        cache_dir, str | os.PathLike
    ):
        raise TypeError(
            f"{prefix}cache_dir must be {expected}, got {cache_dir!r} "
            f"({type(cache_dir).__name__})."
        )
    if not os.fspath(cache_dir):
        raise ValueError(f"{prefix}cache_dir must not be an empty path, got ''.")
    return Path(cache_dir)


# --------------------------------------------------------------------------
# the key
# --------------------------------------------------------------------------


def annotation_identity(name, stat, data):
    """What the key holds of an annotation file: name, size, mtime, hash.

    ``stat`` is the file's ``os.stat_result`` taken before ``data`` (its
    bytes) were read.

    Examples
    --------
    >>> import os, tempfile
    >>> file = os.path.join(tempfile.mkdtemp(), "joints.mat")
    >>> with open(file, "wb") as f:
    ...     _ = f.write(b"abc")
    >>> identity = annotation_identity("joints.mat", os.stat(file), b"abc")
    >>> identity["name"], identity["size"], len(identity["blake2b"])
    ('joints.mat', 3, 32)
    >>> os.remove(file)
    """
    return {
        "name": str(name),
        "size": int(stat.st_size),
        "mtime_ns": int(stat.st_mtime_ns),
        "blake2b": hashlib.blake2b(data, digest_size=16).hexdigest(),
    }


def _file_identities(root, names):
    """``[name, size, mtime_ns]`` of each file (``None`` for a missing one)."""
    out = []
    for name in names:
        try:
            stat = os.stat(root / name)
        except OSError:  # the decoder reports a missing file, with its name
            out.append([name, None, None])
        else:
            out.append([name, stat.st_size, stat.st_mtime_ns])
    return out


def _versions():
    import PIL
    import scipy

    from .._version import __version__

    return {
        "sk_eglpp": __version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "Pillow": PIL.__version__,
    }


# --------------------------------------------------------------------------
# reading and writing an entry
# --------------------------------------------------------------------------


def _regular_file(path):
    if path.is_symlink() or not path.is_file():
        raise _Damaged(f"{path.name} is missing or not a regular file")
    return path


def _read_entry(entry, key, expected):
    """The arrays of ``entry``; ``None`` when absent; ``_Damaged`` when unusable."""
    if not (entry.exists() or entry.is_symlink()):
        return None
    if entry.is_symlink() or not entry.is_dir():
        raise _Damaged("it is not a folder")
    try:
        manifest = json.loads(_regular_file(entry / _MANIFEST).read_text("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("written_by") != _WRITTEN_BY:
            raise _Damaged(f"{_MANIFEST} is not one of sk_eglpp")
        if manifest.get("format") != CACHE_FORMAT or manifest.get("key") != key:
            raise _Damaged(f"{_MANIFEST} describes another entry")
        listed = manifest.get("arrays")
        if not isinstance(listed, dict) or sorted(listed) != sorted(expected):
            raise _Damaged(f"{_MANIFEST} lists other arrays")
        arrays = {}
        for name, (shape, dtype) in expected.items():
            meta = listed[name]
            array = np.load(_regular_file(entry / f"{name}.npy"), allow_pickle=False)
            if (
                not isinstance(meta, dict)
                or array.shape != tuple(shape)
                or array.dtype != np.dtype(dtype)
                or meta.get("shape") != list(shape)
                or meta.get("dtype") != np.dtype(dtype).str
                or not array.flags.c_contiguous
            ):
                raise _Damaged(f"{name}.npy does not have the expected shape or dtype")
            if zlib.crc32(array) != meta.get("crc32"):
                raise _Damaged(f"{name}.npy does not match its checksum")
            arrays[name] = array
    except (OSError, ValueError, EOFError, TypeError, KeyError) as exc:
        # truncated or altered .npy files, unreadable or invalid JSON
        raise _Damaged(f"{type(exc).__name__}: {exc}") from exc
    return arrays


def _owns(name):
    return name == _MANIFEST or name in _ARRAY_FILES


@contextlib.contextmanager
def _locked(folder):
    """The cache folder's lock, waited for up to ``_LOCK_WAIT`` seconds."""
    lock_file = folder / "lock"
    if (lock_file.exists() or lock_file.is_symlink()) and not is_lock_file(lock_file):
        raise ValueError(
            f"{str(lock_file)!r} is not a lock file of sk_eglpp; it is not "
            "overwritten. Move it away, or use another cache_dir."
        )
    deadline = time.monotonic() + _LOCK_WAIT
    lock = FolderLock(folder, "pose-data loader")
    while True:
        try:
            lock.acquire()
            break
        except OutputDirInUseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield
    finally:
        lock.release()


def _write_entry(folder, name, arrays, manifest, replace):
    """Write the entry ``name``; an existing one only when ``replace``."""
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        remove_leftovers(folder, [name])  # of a killed write of this entry
        if not replace and (folder / name).exists():
            return  # written by a concurrent loader since it was looked up
        with atomic_folder(folder / name, owns=_owns) as work:
            for array_name, array in arrays.items():
                with open(work / f"{array_name}.npy", "wb") as f:
                    np.save(f, array, allow_pickle=False)
            (work / _MANIFEST).write_text(
                json.dumps(manifest, indent=1) + "\n", encoding="utf-8"
            )


def cached_arrays(cache_dir, loader, params, *, root, annotation, images,
                  expected, build):
    """The arrays of a loader's call, from its cache entry or ``build()``.

    Parameters
    ----------
    cache_dir : pathlib.Path or None
        From :func:`check_cache_dir`; ``None`` calls ``build()`` and writes
        nothing.
    loader : str
        The loader's name (``"load_lspet"``).
    params : dict
        Every parameter that changes the arrays (values that
        :func:`~sk_eglpp._fingerprints.describe` reads: numbers, strings,
        arrays).
    root : pathlib.Path
        The data folder; ``images`` are relative to it.
    annotation : dict
        From :func:`annotation_identity`, its name relative to ``root``.
    images : list of str
        The images read, relative to ``root``, each once.
    expected : dict
        ``{name: (shape, dtype)}`` of the arrays ``build`` returns.
    build : callable
        ``build() -> {name: array}``, the loader's own work.

    Returns
    -------
    arrays : dict
        ``{name: array}`` for the names of ``expected``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> tmp = Path(folder.name)
    >>> _ = (tmp / "a.txt").write_text("1 2 3")
    >>> annotation = annotation_identity(
    ...     "a.txt", (tmp / "a.txt").stat(), (tmp / "a.txt").read_bytes())
    >>> def build():
    ...     print("built")
    ...     return {"X": np.arange(3.0)}
    >>> args = dict(root=tmp, annotation=annotation, images=[],
    ...             expected={"X": ((3,), np.float64)}, build=build)
    >>> cached_arrays(tmp / "cache", "load_demo", {"size": 3}, **args)["X"]
    built
    array([0., 1., 2.])
    >>> cached_arrays(tmp / "cache", "load_demo", {"size": 3}, **args)["X"]
    array([0., 1., 2.])
    >>> folder.cleanup()
    """
    if cache_dir is None:
        return build()
    identities = _file_identities(root, images)
    description = {
        "format": CACHE_FORMAT,
        "loader": loader,
        "versions": _versions(),
        "params": describe(params),
        "annotation": annotation,
        "images": {"count": len(identities), "hash": fingerprint(identities)},
    }
    key = fingerprint(description)
    entry = cache_dir / f"{loader}-{key}"
    damage = None
    try:
        arrays = _read_entry(entry, key, expected)
    except _Damaged as exc:
        arrays, damage = None, str(exc)
    if arrays is not None:
        return arrays

    arrays = build()
    if _changed(root, annotation, images, identities):
        warn(
            f"the files of {str(root)!r} changed while {loader} read them; its "
            "arrays are returned without being cached."
        )
        return arrays
    manifest = {
        "written_by": _WRITTEN_BY,  # first: clear_cache recognises it there
        "format": CACHE_FORMAT,
        "loader": loader,
        "key": key,
        "description": description,
        "arrays": {
            name: {
                "shape": list(array.shape),
                "dtype": array.dtype.str,
                "crc32": zlib.crc32(np.ascontiguousarray(array)),
            }
            for name, array in arrays.items()
        },
    }
    try:
        _write_entry(cache_dir, entry.name, arrays, manifest, damage is not None)
    except (OSError, ValueError, OutputDirInUseError) as exc:
        what = f" is damaged ({damage}) and" if damage else ""
        warn(
            f"the cache entry {str(entry)!r}{what} could not be written "
            f"({type(exc).__name__}: {exc}); the arrays are returned without "
            "being cached (cache_dir=False turns the cache off)."
        )
    else:
        if damage:
            warn(
                f"the cache entry {str(entry)!r} was damaged ({damage}); it was "
                "rebuilt from the data set's files."
            )
    return arrays


def _changed(root, annotation, images, identities):
    """Whether a file read changed since the key was computed."""
    try:
        stat = os.stat(root / annotation["name"])
    except OSError:
        return True
    if (stat.st_size, stat.st_mtime_ns) != (annotation["size"], annotation["mtime_ns"]):
        return True
    return _file_identities(root, images) != identities


# --------------------------------------------------------------------------
# clearing
# --------------------------------------------------------------------------


def _is_entry(path):
    """Whether ``path`` is an entry folder written by this module."""
    if not _ENTRY.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
        return False
    manifest = path / _MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        return False
    try:
        with open(manifest, "rb") as f:
            if f.read(len(_MANIFEST_HEAD)) != _MANIFEST_HEAD:
                return False
        children = list(path.iterdir())
    except OSError:
        return False
    return all(
        _owns(child.name) and not child.is_symlink() and child.is_file()
        for child in children
    )


@validate_params({"cache_dir": [None, "path"]})
def clear_cache(cache_dir=None):
    """Remove the cache entries of the pose loaders from a folder.

    Only the entry folders written by the loaders (recognised by their
    manifest, see :mod:`sk_eglpp.datasets._cache`) and what an interrupted
    write of one left are removed; any other file or folder, and the folder
    itself, stay. Entries are never removed otherwise: the cache grows with
    every new set of arguments, and keeps the entries of files since changed.

    Parameters
    ----------
    cache_dir : str or os.PathLike, default=None
        The cache folder; ``None`` is :func:`get_cache_dir`.

    Returns
    -------
    n_removed : int
        Number of entries removed (0 when the folder does not exist).

    Raises
    ------
    OutputDirInUseError
        A loader has been writing an entry for more than a minute.
    ValueError
        The folder holds a file named ``lock`` that sk_eglpp did not write.

    See Also
    --------
    get_cache_dir : The default cache folder.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, pathlib
    >>> from matplotlib.image import imsave
    >>> from sk_eglpp.datasets import clear_cache, load_lspet
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data, cache = pathlib.Path(tmp.name, "lspet"), pathlib.Path(tmp.name, "cache")
    >>> (data / "images").mkdir(parents=True)
    >>> imsave(data / "images" / "im00001.jpg", np.zeros((40, 30, 3), np.uint8))
    >>> joints = np.ones((14, 3, 1))
    >>> joints[:, 0, 0] = np.linspace(6, 25, 14)
    >>> joints[:, 1, 0] = np.linspace(5, 36, 14)
    >>> scipy.io.savemat(data / "joints.mat", {"joints": joints})
    >>> X, y = load_lspet(data, image_size=32, cache_dir=cache)  # decoded
    >>> X2, y2 = load_lspet(data, image_size=32, cache_dir=cache)  # read back
    >>> np.array_equal(X, X2)
    True
    >>> _ = (cache / "notes.txt").write_text("mine")
    >>> clear_cache(cache)
    1
    >>> sorted(p.name for p in cache.iterdir())
    ['lock', 'notes.txt']
    >>> tmp.cleanup()
    """
    folder = get_cache_dir() if cache_dir is None else _as_folder(
        cache_dir, "a path (str or os.PathLike) or None", "clear_cache"
    )
    if not folder.is_dir():
        return 0

    def ours():
        entries, leftovers = [], set()
        for path in folder.iterdir():
            match = _LEFTOVER.fullmatch(path.name)
            if match:
                leftovers.add(match.group(1))
            elif _is_entry(path):
                entries.append(path)
        return entries, leftovers

    if ours() == ([], set()):
        return 0  # nothing to remove: the folder is not even locked
    with _locked(folder):
        entries, leftovers = ours()  # again, now that no loader writes
        for path in entries:
            shutil.rmtree(path)
        remove_leftovers(folder, sorted(leftovers))
    return len(entries)
