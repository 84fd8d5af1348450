"""The output folder of a round: what it may write, and what it owns."""

import os
from pathlib import Path

from .._files import (
    FolderLock,
    atomic_write_bytes,
    is_lock_file,
    remove_leftovers,
    writing,
)
from ._formats import OUTPUTS, ROUND_FORMAT, WRITER, json_text, read_object
from ._model import MODEL_INFO, load_model, owns_model_file, read_model_info, save_model

__all__ = []

#: the selection files a round writes (replaced with ``overwrite``)
SELECTION_FILES = ("selection.csv", "selection.json", "contact_sheet.png")


def _resolved(path):
    return Path(os.path.abspath(path)).resolve()


class RoundFolder:
    """The output folder of a round and its model folder ``model/``.

    Nothing is written until :meth:`open`; the checks before it read only.
    The folder's own files are ``OUTPUTS``; in ``model/``, the files of
    either model layout and ``model.json`` (``owns_model_file``).

    Parameters
    ----------
    path : str or os.PathLike
        The round's ``output_dir``.
    """

    def __init__(self, path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"output_dir {str(self.path)!r} is a file, not a folder.")
        self.model = self.path / "model"
        self._lock = None

    def check_apart_from(self, inputs):
        """Refuse when an output is, contains or lies inside an input.

        ``inputs`` are ``(what, path)`` pairs: the images folder, the
        annotation files, the list of unannotated images, the previous round.
        """
        for what, given in inputs:
            if _resolved(self.path) == _resolved(given):
                raise ValueError(
                    f"output_dir {str(self.path)!r} is the {what}; write the round "
                    "to a folder of its own (nothing given is modified)."
                )
        for name in OUTPUTS:
            out = _resolved(self.path / name)
            for what, given in inputs:
                inp = _resolved(given)
                if out == inp:
                    how = "is"
                elif out in inp.parents:
                    how = "contains"
                elif inp in out.parents:
                    how = "lies inside"
                else:
                    continue
                raise ValueError(
                    f"output_dir {str(self.path)!r}: the round's {name} {how} the "
                    f"{what} {str(given)!r}; choose an output folder apart from the "
                    "inputs (nothing given is modified)."
                )

    def saved_round(self):
        """The round.json of an earlier round here, checked; None when absent.

        Named outputs in a folder without a round's ``round.json``, a
        ``round.json`` that no round wrote, or a ``model/`` that is not a
        round's model are refused: they are someone else's files.
        """
        round_file = self.path / "round.json"
        saved = None
        if round_file.exists() or round_file.is_symlink():
            try:
                saved = read_object(round_file, "the record of an sk_eglpp round")
                if saved.get("format") != ROUND_FORMAT or not isinstance(
                    saved.get("fingerprint"), str
                ):
                    raise ValueError(f"{str(round_file)!r} is not the record of an "
                                     "sk_eglpp round.")
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"{exc} Nothing in {str(self.path)!r} is replaced; choose another "
                    "output folder."
                ) from None
        else:
            paths = [self.path / n for n in OUTPUTS]
            present = [p.name for p in paths if (p.exists() or p.is_symlink())
                       and not is_lock_file(p)]
            if present:
                raise ValueError(
                    f"output_dir {str(self.path)!r} holds {', '.join(present)} but "
                    "no round.json: they were not written by a round of sk_eglpp and "
                    "are not replaced; choose another output folder."
                )
        if self.model.exists() or self.model.is_symlink():
            self._check_model_folder()
        return saved

    def _check_model_folder(self):
        folder = self.model
        if folder.is_symlink() or not folder.is_dir():
            kind = "symbolic link" if folder.is_symlink() else "file"
            raise ValueError(
                f"{str(folder)!r} is a {kind}, not the model folder of a round; it "
                "is not replaced. Remove it or choose another output folder."
            )
        try:
            read_model_info(folder / MODEL_INFO)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"{str(folder)!r} is not the model folder of an sk_eglpp round "
                f"({exc}); it is not replaced. Remove it or choose another output "
                "folder."
            ) from None
        foreign = sorted(p.name for p in folder.iterdir()
                         if not owns_model_file(p.name))
        if foreign:
            raise ValueError(
                f"{str(folder)!r} holds files that no round wrote "
                f"({', '.join(foreign[:3])}); it is not replaced. Move them away or "
                "choose another output folder."
            )

    def open(self):
        """Create the folder, take its lock and remove killed writes' leftovers."""
        with writing(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
        self._lock = FolderLock(self.path, "round").acquire()
        remove_leftovers(self.path, OUTPUTS)

    def close(self):
        """Release the lock (when :meth:`open` took it)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def write_round(self, record):
        """Write ``round.json``: ``record`` with the format and the writer."""
        atomic_write_bytes(self.path / "round.json", json_text(
            {"format": ROUND_FORMAT, "written_by": WRITER, **record}))

    def drop_outputs(self):
        """Remove the selection files of an earlier round (``overwrite``)."""
        for stale in SELECTION_FILES:
            (self.path / stale).unlink(missing_ok=True)

    def saved_model_info(self):
        """The ``model.json`` of the model saved here, checked; None when absent."""
        file = self.model / MODEL_INFO
        return read_model_info(file) if file.is_file() else None

    def save_model(self, net, info):
        """Write ``model/``: the checkpoint and ``model.json`` (``save_model``)."""
        save_model(net, self.model, info)

    def load_model(self, net, info, shape):
        """``net`` initialised with the model saved here."""
        return load_model(net, self.model, info, shape)
