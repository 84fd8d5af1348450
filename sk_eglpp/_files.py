"""Files a job owns: whole-or-absent writes, one writer per folder, leftovers.

Shared by the simulation store and the labelling round, whose folders sit
among the user's own files. The rules:

- a file or folder is written through a temporary sibling
  (``.<name>.<random>.tmp``) and a rename, so readers see the old version or
  the new one; the temporary is removed when the write fails, and what a
  killed process left is removed by :func:`remove_leftovers` on the next run
  (under the folder's lock);
- what is written follows the user's umask (``tempfile`` alone creates files
  0600 and folders 0700);
- an existing folder is replaced only when every entry of it is one the job
  writes (``owns``), and never through a symbolic link;
- a failed write names its target, never the temporary file, and a full disk
  says so.
"""

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "OutputDirInUseError",
    "FolderLock",
    "atomic_write_bytes",
    "atomic_folder",
    "is_lock_file",
    "remove_leftovers",
    "writing",
]

#: below this many free bytes, a failed write is reported as a full disk
_NEARLY_FULL = 1 << 20


class OutputDirInUseError(RuntimeError):
    """Another process is writing the same output folder.

    Raised by :func:`~sk_eglpp.simulation.simulate`,
    :func:`~sk_eglpp.simulation.delete_store` and
    :func:`~sk_eglpp.select_for_annotation` when the folder's lock is held;
    the message names the folder and the pid of the process that holds it.

    Examples
    --------
    >>> issubclass(OutputDirInUseError, RuntimeError)
    True
    """


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _no_space(path, exc):
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        stat = os.statvfs(Path(path).parent)
    except (OSError, AttributeError):  # pragma: no cover - Windows
        return False
    return stat.f_bavail * stat.f_frsize < _NEARLY_FULL


@contextlib.contextmanager
def writing(target):
    """Report a failed write in the block as an ``OSError`` naming ``target``.

    A full disk (``ENOSPC``, or torch's "file write failed" with less than
    1 MiB free) becomes ``OSError(ENOSPC, "No space left on device",
    target)``; another ``OSError`` keeps its errno and message but names
    ``target`` instead of a temporary file. Errors of other kinds pass.

    Examples
    --------
    >>> try:
    ...     with writing("out/model"):
    ...         raise OSError(28, "No space left on device", "out/.model.x.tmp")
    ... except OSError as exc:
    ...     print(exc)
    [Errno 28] No space left on device: 'out/model'
    """
    try:
        yield
    except OSError as exc:
        if _no_space(target, exc):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from exc
        raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
    except RuntimeError as exc:  # torch's writer: "enforce fail ... write failed"
        if _no_space(target, exc):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from exc
        text = str(exc)
        if "write" in text.lower() or "iostream" in text:
            raise OSError(errno.EIO, f"write failed ({text.splitlines()[0]})",
                          str(target)) from exc
        raise


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` through ``os.replace``.

    Readers see the old file or the new one, never a part of it; the
    temporary file (a unique ``.<name>.*.tmp`` beside ``path``) is removed
    when the write fails (a full disk, say), and the error names ``path``.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with writing(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                   suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _check_replaceable(target, owns):
    if target.is_symlink():
        raise ValueError(
            f"{str(target)!r} is a symbolic link; it is not replaced (remove the "
            "link, or write to another folder)."
        )
    if not target.is_dir():
        raise ValueError(f"{str(target)!r} is a file, not a folder written by "
                         "sk_eglpp; it is not replaced.")
    foreign = sorted(p.name for p in target.iterdir() if not owns(p.name))
    if foreign:
        raise ValueError(
            f"{str(target)!r} holds files that sk_eglpp did not write "
            f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); "
            "it is not replaced. Move them away, or write to another folder."
        )


@contextlib.contextmanager
def atomic_folder(target, owns=None):
    """Yield a temporary sibling of ``target``; when the block ends, it becomes
    ``target``, or is deleted if the block raised.

    An existing ``target`` is replaced only when every entry of it is a name
    that ``owns`` (a predicate on names) accepts; otherwise, or when it is a
    symbolic link, a ``ValueError`` is raised before the block runs and
    nothing is touched. ``owns=None`` accepts no existing entry (the target
    must be absent or empty).
    """
    target = Path(target)
    owns = owns or (lambda name: False)
    if target.exists() or target.is_symlink():
        _check_replaceable(target, owns)
    with writing(target):
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.",
                                     suffix=".tmp"))
    try:
        os.chmod(work, 0o777 & ~_umask())
        with writing(target):
            yield work
        old = None
        if target.exists():
            _check_replaceable(target, owns)  # still ours after the block
            old = Path(tempfile.mkdtemp(dir=target.parent,
                                        prefix=f".{target.name}.", suffix=".tmp"))
            os.replace(target, old / target.name)
        os.replace(work, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def remove_leftovers(folder, names):
    """Remove what a killed write of one of ``names`` left in ``folder``.

    Only call this while holding the folder's :class:`FolderLock`: the
    temporary siblings of a running writer look the same.
    """
    folder = Path(folder)
    for name in names:
        for path in folder.glob(f".{name}.*.tmp"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()


def _lock_file(f):
    """Try to take an exclusive OS lock on the open file ``f``; True on success."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def is_lock_file(path):
    """Whether ``path`` is the lock file of a :class:`FolderLock`: a file named
    ``lock`` that is empty or holds a pid (what a lock leaves behind).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> with FolderLock(folder):
    ...     pass
    >>> is_lock_file(folder / "lock")
    True
    >>> _ = (folder / "lock").write_text("my notes")
    >>> is_lock_file(folder / "lock")
    False
    """
    path = Path(path)
    if path.name != "lock" or path.is_symlink() or not path.is_file():
        return False
    try:
        text = path.read_bytes()[:64] if path.stat().st_size <= 64 else b"x"
    except OSError:
        return False
    return text.strip() == b"" or text.strip().isdigit()


class FolderLock:
    """One writing process per folder: an OS lock on ``<folder>/lock``.

    The lock file holds the pid of the holder; the OS releases the lock when
    the process ends, however it ends.

    Parameters
    ----------
    folder : path-like
        The folder (it must exist).
    what : str, default="simulation"
        What writes the folder, for the message of
        :class:`OutputDirInUseError`.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with FolderLock(folder, "round"):
    ...     try:
    ...         FolderLock(folder, "round").acquire()
    ...     except OutputDirInUseError as exc:
    ...         print(exc)
    output_dir '...' is in use by another round (pid ...); wait for it ...
    """

    def __init__(self, folder, what="simulation"):
        self.folder = Path(folder)
        self.what = what
        self._file = None

    def acquire(self):
        path = self.folder / "lock"
        if path.is_symlink():
            raise ValueError(f"{str(path)!r} is a symbolic link, not the lock file "
                             "of sk_eglpp; use another output_dir.")
        f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the job
        if not _lock_file(f):
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise OutputDirInUseError(
                f"output_dir {str(self.folder)!r} is in use by another {self.what} "
                f"(pid {holder}); wait for it to finish or use another output_dir."
            )
        with contextlib.suppress(OSError):
            os.chmod(path, 0o666 & ~_umask())
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def release(self):
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.seek(0)
                self._file.truncate()
            self._file.close()  # closing the file releases the OS lock
            self._file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
