"""The images folder: names normalised, kept inside the folder, scanned."""

import os

import pytest

from sk_eglpp.datasets._image_folder import IMAGE_EXTENSIONS, ImageFolder

WHERE = "images[3] in 'ann.json'"


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("a.png", "a.png"),
        ("./a.png", "a.png"),
        ("sub//a.png", "sub/a.png"),
        ("./sub/./a.png", "sub/a.png"),
        ("images/00000.png", "images/00000.png"),
        ("a\\b.png", "a\\b.png"),  # no separator on POSIX: kept
        ("a..b.png", "a..b.png"),
    ],
)
def test_names_are_normalised(name, canonical):
    assert ImageFolder.normalise(name, WHERE) == canonical


@pytest.mark.parametrize(
    "name, match",
    [
        ("", r"image name '' \(images\[3\] in 'ann.json'\) is empty"),
        ("./", r"image name './' \(images\[3\] in 'ann.json'\) is empty"),
        ("/etc/x.png", r"image '/etc/x.png' \(images\[3\] in 'ann.json'\) is an "
         "absolute path"),
        ("C:\\x.png", r"image 'C:\\\\x.png' .* is an absolute path"),
        ("C:/x.png", r"image 'C:/x.png' .* is an absolute path"),
        ("\\\\server\\x.png", "is an absolute path"),
        ("../x.png", r"image '../x.png' \(images\[3\] in 'ann.json'\) has a '..' "
         "component"),
        ("sub/../../x.png", "has a '..' component"),
        ("sub\\..\\..\\x.png", "has a '..' component"),
        ("a\0.png", "holds a NUL character"),
    ],
)
def test_names_leaving_the_folder_are_refused(name, match):
    with pytest.raises(ValueError, match=match):
        ImageFolder.normalise(name, WHERE)


def test_a_name_must_be_a_string():
    with pytest.raises(TypeError, match=r"\(images\[3\] in 'ann.json'\) must be a "
                                        "str, got int"):
        ImageFolder.normalise(3, WHERE)


def test_the_folder_is_checked(tmp_path):
    with pytest.raises(TypeError, match="images_dir must be a str or os.PathLike, "
                                        "got int"):
        ImageFolder(3)
    with pytest.raises(FileNotFoundError, match="images folder .*nope.* does not "
                                                "exist or is not a folder"):
        ImageFolder(tmp_path / "nope")
    _touch(tmp_path / "file.png")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "file.png")


def test_path_gives_files_inside_the_folder(tmp_path):
    _touch(tmp_path / "img" / "sub" / "a.png")
    folder = ImageFolder(tmp_path / "img")
    assert folder.path("./sub//a.png", WHERE) == tmp_path / "img" / "sub" / "a.png"
    # a link to a file inside the folder is fine
    os.symlink(tmp_path / "img" / "sub" / "a.png", tmp_path / "img" / "b.png")
    assert folder.path("b.png") == tmp_path / "img" / "b.png"


@pytest.mark.parametrize("target_exists", [True, False])
def test_links_out_of_the_folder_are_refused_alike(tmp_path, target_exists):
    (tmp_path / "img").mkdir()
    (tmp_path / "private").mkdir()
    if target_exists:
        _touch(tmp_path / "private" / "secret.png")
    os.symlink(tmp_path / "private" / "secret.png", tmp_path / "img" / "s.png")
    os.symlink(tmp_path / "private", tmp_path / "img" / "linked")
    folder = ImageFolder(tmp_path / "img")
    # the same error whether the target exists or not: nothing is revealed
    for name in ("s.png", "linked/secret.png"):
        with pytest.raises(ValueError, match=rf"image '{name}' \(images\[3\] in "
                           r"'ann.json'\) resolves outside the images folder"):
            folder.path(name, WHERE)


def test_a_missing_file_is_reported_with_the_folder(tmp_path):
    _touch(tmp_path / "images" / "00000.png")
    folder = ImageFolder(tmp_path / "images")
    with pytest.raises(FileNotFoundError, match=r"image 'gone.png' \(images\[3\] in "
                       r"'ann.json'\) not found in .*images'\.$"):
        folder.path("gone.png", WHERE)
    # Label Studio names "images/00000.png": the parent folder was meant
    with pytest.raises(FileNotFoundError, match=r"not found in .*images'; .* holds "
                       "it: pass that folder"):
        folder.path("images/00000.png", WHERE)
    assert ImageFolder(tmp_path).path("images/00000.png").is_file()


def test_scan_lists_images_in_subfolders(tmp_path):
    root = tmp_path / "data"
    for name in ("b.png", "a.JPG", "images/00001.png", "images/00000.jpeg",
                 "images/deep/x.Tiff", "notes.txt", ".hidden.png",
                 ".cache/c.png", "images/.thumbs/t.png"):
        _touch(root / name)
    (root / "folder.png").mkdir()  # a folder is no image
    (tmp_path / "outside").mkdir()
    _touch(tmp_path / "outside" / "o.png")
    os.symlink(tmp_path / "outside", root / "linked")  # not followed
    os.symlink(root / "b.png", root / "link.png")  # a link to a file is listed
    os.symlink(root / "gone.png", root / "broken.png")  # a broken one is not
    assert ImageFolder(root).scan() == [
        "a.JPG", "b.png", "images/00000.jpeg", "images/00001.png",
        "images/deep/x.Tiff", "link.png",
    ]
    assert ImageFolder(root / "images").scan() == [
        "00000.jpeg", "00001.png", "deep/x.Tiff"
    ]


def test_image_extensions_are_shared_with_the_coco_module():
    from sk_eglpp.datasets import _coco

    assert _coco.IMAGE_EXTENSIONS is IMAGE_EXTENSIONS
    assert ".png" in IMAGE_EXTENSIONS
