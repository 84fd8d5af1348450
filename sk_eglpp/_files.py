"""Writes that are whole or absent: a file, or a folder, replaced in one rename."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` through ``os.replace``.

    Readers see the old file or the new one, never a part of it; the
    temporary file (a unique ``.<name>.*.tmp`` beside ``path``) is removed
    when the write fails (a full disk, say).
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_folder(target):
    """Yield a temporary sibling of ``target``; when the block ends, it becomes
    ``target`` (replacing it), or is deleted if the block raised."""
    target = Path(target)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield work
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
