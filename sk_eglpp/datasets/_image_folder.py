"""The images folder: names inside it, checked, and the files they name.

One object for the folder that COCO ``file_name`` values, lists of
unannotated images and folder scans are relative to, so that every name is
read the same way:

- a name is *normalised* to its canonical relative POSIX form (``./a.png``
  and ``a.png`` are one image; ``sub//a.png`` is ``sub/a.png``); subfolders
  are fine (``images/00000.png``), backslashes are kept as they are (they are
  no separator on POSIX);
- a name never leaves the folder: absolute names (``/x.png``, ``C:\\x.png``,
  ``C:/x.png``, ``\\\\server\\x.png``) and names with a ``..`` component (split
  at ``/`` or ``\\``, so that a file written on Windows cannot climb out
  either) are refused before anything is looked up, and a name whose file
  resolves outside the folder through a symbolic link is refused before it
  is read. Names refused this way get the same error whether or not the
  target exists, so errors reveal nothing about files outside the folder.
"""

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from ._dataset_files import check_folder

__all__ = ["IMAGE_EXTENSIONS", "ImageFolder"]

#: file name extensions taken as images when a folder is scanned (compared
#: case-insensitively)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _in(where):
    return f" ({where})" if where else ""


class ImageFolder:
    """A folder of images, and the checked names of the files inside it.

    Parameters
    ----------
    path : str or os.PathLike
        An existing folder.

    Attributes
    ----------
    root : pathlib.Path
        The folder, as given.
    resolved : pathlib.Path
        The folder with symbolic links resolved: every file read through
        :meth:`path` lies inside it.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileNotFoundError
        ``path`` does not exist or is not a folder.

    See Also
    --------
    sk_eglpp.datasets.load_coco_keypoints

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> (Path(tmp.name) / "images").mkdir()
    >>> _ = (Path(tmp.name) / "images" / "b.PNG").write_bytes(b"")
    >>> _ = (Path(tmp.name) / "a.jpg").write_bytes(b"")
    >>> folder = ImageFolder(tmp.name)
    >>> folder.scan()
    ['a.jpg', 'images/b.PNG']
    >>> folder.normalise("./images//b.PNG")
    'images/b.PNG'
    >>> folder.path("images/b.PNG").name
    'b.PNG'
    >>> folder.normalise("../secret.png", "images[0] in 'ann.json'")
    Traceback (most recent call last):
    ...
    ValueError: image '../secret.png' (images[0] in 'ann.json') has a '..' ...
    >>> tmp.cleanup()
    """

    def __init__(self, path):
        self.root = check_folder(path, "images", "images_dir")
        self.resolved = self.root.resolve()

    def __repr__(self):
        return f"ImageFolder({str(self.root)!r})"

    @staticmethod
    def normalise(name, where=None):
        """The canonical relative POSIX form of an image name.

        A static method: names are checked without the folder (COCO files
        are merged without one).

        Parameters
        ----------
        name : str
            A file name relative to the folder, e.g. ``./sub/a.png``.
        where : str, default=None
            Where the name was read, for the messages (e.g.
            ``"images[3] in 'ann.json'"``).

        Returns
        -------
        name : str
            E.g. ``sub/a.png``.

        Raises
        ------
        TypeError
            ``name`` is not a str.
        ValueError
            ``name`` is empty, holds a NUL character, is absolute (a POSIX
            or Windows root or drive) or has a ``..`` component.
        """
        if not isinstance(name, str):
            raise TypeError(
                f"an image name{_in(where)} must be a str, got {type(name).__name__}."
            )
        if "\0" in name:
            raise ValueError(f"image {name!r}{_in(where)} holds a NUL character.")
        windows = PureWindowsPath(name)
        if name.startswith("/") or windows.drive or windows.root:
            raise ValueError(
                f"image {name!r}{_in(where)} is an absolute path; image names must "
                "be relative to the images folder."
            )
        if ".." in name.replace("\\", "/").split("/"):
            raise ValueError(
                f"image {name!r}{_in(where)} has a '..' component; image names must "
                "stay inside the images folder."
            )
        canonical = str(PurePosixPath(name))
        if canonical == ".":
            raise ValueError(
                f"image name {name!r}{_in(where)} is empty; it must name a file in "
                "the images folder."
            )
        return canonical

    def path(self, name, where=None):
        """The file that ``name`` names, checked to lie inside the folder.

        Nothing is opened: the name is normalised (:meth:`normalise`), its
        symbolic links are resolved, and the file must exist.

        Parameters
        ----------
        name : str
            A file name relative to the folder.
        where : str, default=None
            Where the name was read, for the messages.

        Returns
        -------
        path : pathlib.Path
            ``root / normalise(name)``.

        Raises
        ------
        TypeError, ValueError
            As :meth:`normalise`; or the name resolves (through a symbolic
            link) outside the folder.
        FileNotFoundError
            No such file in the folder. When the folder's parent holds the
            name (an annotation tool's export naming ``images/a.png`` with
            the ``images`` folder given), the message says to pass the parent.
        """
        relative = self.normalise(name, where)
        file = self.root / relative
        try:
            inside = file.resolve().is_relative_to(self.resolved)
        except (OSError, RuntimeError):  # a symbolic link loop
            inside = False
        if not inside:
            raise ValueError(
                f"image {name!r}{_in(where)} resolves outside the images folder "
                f"{str(self.root)!r} (through a symbolic link); it is not read."
            )
        if file.is_file():
            return file
        hint = ""
        parent = self.root.parent
        above = parent / relative
        try:
            holds = (
                bool(self.root.name)
                and above.resolve().is_relative_to(parent.resolve())
                and above.is_file()
            )
        except (OSError, RuntimeError):
            holds = False
        if holds:
            hint = (
                f"; {str(parent)!r} holds it: pass that folder, the one the image "
                "names are relative to"
            )
        raise FileNotFoundError(
            f"image {name!r}{_in(where)} not found in {str(self.root)!r}{hint}."
        )

    def scan(self):
        """Relative names of the image files in the folder and its subfolders.

        Files whose extension is one of ``IMAGE_EXTENSIONS`` (in any case);
        hidden files and folders (names starting with ``.``) are skipped,
        and symbolic links to folders are not followed. A symbolic link to a
        file is listed (and refused by :meth:`path` if it leads outside).

        Returns
        -------
        names : list of str
            Sorted, in the form of :meth:`normalise` (``sub/a.png``).
        """
        names = []
        for top, folders, files in os.walk(self.root, followlinks=False):
            folders[:] = [f for f in folders if not f.startswith(".")]
            relative = Path(top).relative_to(self.root)
            for file in files:
                if file.startswith(".") or not file.lower().endswith(
                    IMAGE_EXTENSIONS
                ):
                    continue
                try:
                    mode = os.stat(os.path.join(top, file)).st_mode
                except OSError:
                    continue  # a broken link
                if stat.S_ISREG(mode):
                    names.append((relative / file).as_posix())
        return sorted(names)
