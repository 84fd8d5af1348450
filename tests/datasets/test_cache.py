"""The on-disk cache of the LSP / LSPET / MPII loaders, their parallel decoding
and their uint8 output.

The reference everywhere is the uncached, serial float32 load
(``cache_dir=False``): a cached, parallel or uint8 load must give the same
arrays, bit for bit (uint8: ``round(255 * x)`` of them).
"""

import json
import os
import threading
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.io

from sk_eglpp.datasets import (
    _loaders,
    clear_cache,
    get_cache_dir,
    load_lsp,
    load_lspet,
    load_mpii,
)

LOADERS = {"lsp": load_lsp, "lspet": load_lspet, "mpii": load_mpii}
REAL_LSPET = Path(__file__).resolve().parents[3] / "shared" / "data" / "lspet"


def _load(kind, folder, **kwargs):
    """The loader's arrays as a tuple (MPII's with the head boxes)."""
    if kind == "mpii":
        kwargs.setdefault("return_head_boxes", True)
    return tuple(LOADERS[kind](folder, **kwargs))


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def _entries(cache):
    return sorted(p for p in Path(cache).glob("load_*") if p.is_dir())


def _snapshot(folder):
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(Path(folder).rglob("*"))
    }


@pytest.fixture
def decodes(monkeypatch):
    """Counts the calls that decode images (cache misses)."""
    calls = []
    original = _loaders._crop_all

    def counted(tasks, *args):
        calls.append(len(tasks))
        return original(tasks, *args)

    monkeypatch.setattr(_loaders, "_crop_all", counted)
    return calls


# --------------------------------------------------------------------------
# hits and misses
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_cache_hit_equals_uncached_load(kind, pose_folder, tmp_path, decodes):
    folder = pose_folder(kind)
    expected = _load(kind, folder, image_size=16, cache_dir=False)
    first = _load(kind, folder, image_size=16, cache_dir=tmp_path)
    second = _load(kind, folder, image_size=16, cache_dir=tmp_path)
    assert len(decodes) == 2  # the uncached load and the first cached one
    _assert_same(first, expected)
    _assert_same(second, expected)
    assert len(_entries(tmp_path)) == 1
    manifest = json.loads((_entries(tmp_path)[0] / "manifest.json").read_text())
    assert manifest["loader"] == f"load_{kind}"
    assert sorted(manifest["arrays"]) == (
        ["X", "heads", "y"] if kind == "mpii" else ["X", "y"]
    )


def test_mpii_head_boxes_come_from_the_same_entry(pose_folder, decodes):
    folder = pose_folder("mpii")
    X, y, heads = load_mpii(folder, image_size=16, return_head_boxes=True)
    X2, y2 = load_mpii(folder, image_size=16)
    assert len(decodes) == 1
    _assert_same((X, y), (X2, y2))
    assert heads.shape == (5, 4)


@pytest.mark.parametrize(
    "kind, change",
    [
        ("lspet", {"image_size": 12}),
        ("lspet", {"as_gray": True}),
        ("lspet", {"occluded": "nan"}),
        ("lspet", {"margin": 0.5}),
        ("lspet", {"indices": [2, 0]}),
        ("lspet", {"max_samples": 2}),
        ("lspet", {"dtype": "uint8"}),
        ("lsp", {"occluded": "nan"}),
        ("mpii", {"scale_factor": 2.0}),
        ("mpii", {"single_person": True}),
        ("mpii", {"require_keypoints": False, "subset": "all"}),
    ],
)
def test_changing_a_parameter_gives_another_entry(kind, change, pose_folder,
                                                  tmp_path):
    folder = pose_folder(kind)
    _load(kind, folder, image_size=16, cache_dir=tmp_path)
    params = {"image_size": 16, **change}
    got = _load(kind, folder, cache_dir=tmp_path, **params)
    _assert_same(got, _load(kind, folder, cache_dir=False, **params))
    assert len(_entries(tmp_path)) == 2


def test_n_jobs_and_verbose_share_the_entry(pose_folder, tmp_path, decodes):
    folder = pose_folder("lspet")
    load_lspet(folder, image_size=16, cache_dir=tmp_path)
    load_lspet(folder, image_size=16, cache_dir=tmp_path, n_jobs=2, verbose=True)
    assert len(decodes) == 1 and len(_entries(tmp_path)) == 1


def test_equivalent_selections_share_the_entry(pose_folder, tmp_path, decodes):
    folder = pose_folder("lsp")
    load_lsp(folder, image_size=16, cache_dir=tmp_path, max_samples=3)
    load_lsp(folder, image_size=16, cache_dir=tmp_path, indices=np.arange(3))
    load_lsp(folder, image_size=16, cache_dir=tmp_path, margin=0.2, indices=[0, 1, 2])
    assert len(decodes) == 1


def test_touching_an_image_invalidates(pose_folder, tmp_path, decodes):
    folder = pose_folder("lspet")
    load_lspet(folder, image_size=16, cache_dir=tmp_path)
    image = folder / "images" / "im00002.jpg"
    stat = image.stat()
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    load_lspet(folder, image_size=16, cache_dir=tmp_path)
    assert len(decodes) == 2 and len(_entries(tmp_path)) == 2


@pytest.mark.parametrize("kind", ["lsp", "mpii"])
def test_replacing_an_image_invalidates(kind, pose_folder, tmp_path):
    folder = pose_folder(kind)
    before = _load(kind, folder, image_size=16, cache_dir=tmp_path)
    other = pose_folder(kind, n_images=6)  # other random pixels, same names
    name = "im0002.jpg" if kind == "lsp" else "001.jpg"
    (folder / "images" / name).write_bytes((other / "images" / name).read_bytes())
    after = _load(kind, folder, image_size=16, cache_dir=tmp_path)
    _assert_same(after, _load(kind, folder, image_size=16, cache_dir=False))
    assert not np.array_equal(after[0], before[0])


def test_new_annotation_with_the_same_size_and_mtime_invalidates(pose_folder,
                                                                 tmp_path):
    """The annotation file's content hash catches what size and mtime miss."""
    folder = pose_folder("lspet")
    file = folder / "joints.mat"
    before = load_lspet(folder, image_size=16, cache_dir=tmp_path)
    stat = file.stat()
    joints = scipy.io.loadmat(file)["joints"]
    joints[:, :2] += 1.0  # every joint one pixel to the right and down
    scipy.io.savemat(file, {"joints": joints})
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (file.stat().st_size, file.stat().st_mtime_ns) == (
        stat.st_size, stat.st_mtime_ns
    )
    after = load_lspet(folder, image_size=16, cache_dir=tmp_path)
    _assert_same(after, load_lspet(folder, image_size=16, cache_dir=False))
    assert not np.array_equal(after[1], before[1])


def test_files_changed_during_a_load_are_not_cached(pose_folder, tmp_path,
                                                    monkeypatch):
    folder = pose_folder("lsp")
    original = _loaders._crop_all

    def touching(*args):
        out = original(*args)
        os.utime(folder / "images" / "im0001.jpg", ns=(1, 10**18))
        return out

    monkeypatch.setattr(_loaders, "_crop_all", touching)
    with pytest.warns(UserWarning, match="changed while load_lsp read them"):
        load_lsp(folder, image_size=16, cache_dir=tmp_path)
    assert _entries(tmp_path) == []


# --------------------------------------------------------------------------
# damaged entries
# --------------------------------------------------------------------------


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _other_key(path):
    manifest = json.loads(path.read_text())
    manifest["key"] = "0" * 32
    path.write_text(json.dumps(manifest, indent=1))


def _wrong_shape(path):
    manifest = json.loads(path.read_text())
    manifest["arrays"]["X"]["shape"][0] += 1
    path.write_text(json.dumps(manifest, indent=1))


DAMAGES = {
    "truncated X.npy": ("X.npy", _truncate),
    "altered X.npy": ("X.npy", _flip_last_byte),
    "altered y.npy": ("y.npy", _flip_last_byte),
    "y.npy removed": ("y.npy", Path.unlink),
    "empty X.npy": ("X.npy", lambda p: p.write_bytes(b"")),
    "X.npy is a folder": ("X.npy", lambda p: (p.unlink(), p.mkdir())),
    "truncated manifest": ("manifest.json", _truncate),
    "manifest not JSON": ("manifest.json", lambda p: p.write_bytes(b"\xff\x00")),
    "manifest removed": ("manifest.json", Path.unlink),
    "manifest of another key": ("manifest.json", _other_key),
    "manifest with another shape": ("manifest.json", _wrong_shape),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_entry_is_rebuilt_never_returned(damage, pose_folder, tmp_path,
                                                 decodes):
    folder = pose_folder("lspet")
    expected = load_lspet(folder, image_size=16, cache_dir=False)
    load_lspet(folder, image_size=16, cache_dir=tmp_path)
    (entry,) = _entries(tmp_path)
    name, spoil = DAMAGES[damage]
    spoil(entry / name)
    with pytest.warns(UserWarning, match="was damaged .* it was rebuilt") as record:
        got = load_lspet(folder, image_size=16, cache_dir=tmp_path)
    assert len(record) == 1
    _assert_same(got, expected)
    assert len(decodes) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the entry was replaced: a clean hit
        _assert_same(load_lspet(folder, image_size=16, cache_dir=tmp_path), expected)
    assert len(decodes) == 3
    assert _entries(tmp_path) == [entry]
    assert not list(tmp_path.glob(".*.tmp"))


def test_failed_write_leaves_no_entry_and_returns_the_arrays(pose_folder, tmp_path,
                                                             monkeypatch):
    folder = pose_folder("lsp")
    expected = load_lsp(folder, image_size=16, cache_dir=False)
    calls = []

    def failing_save(file, array, allow_pickle=True):
        calls.append(array.shape)
        if len(calls) == 2:  # after X.npy: a full disk, say
            raise OSError(28, "No space left on device")
        return np.lib.format.write_array(file, array, allow_pickle=allow_pickle)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.warns(UserWarning, match="could not be written .*No space left"):
        got = load_lsp(folder, image_size=16, cache_dir=tmp_path)
    _assert_same(got, expected)
    assert _entries(tmp_path) == [] and not list(tmp_path.glob(".*"))
    monkeypatch.undo()
    load_lsp(folder, image_size=16, cache_dir=tmp_path)
    assert len(_entries(tmp_path)) == 1


def test_leftovers_of_a_killed_write_are_removed(pose_folder, tmp_path):
    folder = pose_folder("lsp")
    load_lsp(folder, image_size=16, cache_dir=tmp_path)
    (entry,) = _entries(tmp_path)
    clear_cache(tmp_path)
    leftover = tmp_path / f".{entry.name}.abc123.tmp"  # what a killed write left
    leftover.mkdir()
    (leftover / "X.npy").write_bytes(b"\x93NUMPY partial")
    load_lsp(folder, image_size=16, cache_dir=tmp_path)
    assert not leftover.exists() and _entries(tmp_path) == [entry]


def test_concurrent_loads_do_not_mix_their_files(pose_folder, tmp_path):
    folder = pose_folder("lspet")
    expected = load_lspet(folder, image_size=16, cache_dir=False)
    results, errors = [], []

    def load():
        try:
            results.append(load_lspet(folder, image_size=16, cache_dir=tmp_path))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    for got in results:
        _assert_same(got, expected)
    assert len(_entries(tmp_path)) == 1 and not list(tmp_path.glob(".*.tmp"))
    _assert_same(load_lspet(folder, image_size=16, cache_dir=tmp_path), expected)


# --------------------------------------------------------------------------
# where the cache is, and what is written
# --------------------------------------------------------------------------


def test_cache_dir_false_writes_nothing(pose_folder, pose_cache_dir, tmp_path):
    folder = pose_folder("mpii")
    before = _snapshot(folder)
    load_mpii(folder, image_size=16, cache_dir=False)
    assert list(pose_cache_dir.iterdir()) == []
    assert _snapshot(folder) == before


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_data_folder_is_never_written(kind, pose_folder, pose_cache_dir):
    folder = pose_folder(kind)
    before = _snapshot(folder)
    _load(kind, folder, image_size=16)  # miss: written to the default folder
    _load(kind, folder, image_size=16)  # hit
    assert _snapshot(folder) == before
    assert len(_entries(pose_cache_dir)) == 1


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SK_EGLPP_CACHE", str(tmp_path / "own"))
    assert get_cache_dir() == tmp_path / "own"
    monkeypatch.delenv("SK_EGLPP_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_cache_dir() == tmp_path / "xdg" / "sk_eglpp"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/xdg")  # ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_cache_dir() == tmp_path / "home" / ".cache" / "sk_eglpp"
    monkeypatch.setenv("SK_EGLPP_CACHE", "")
    assert get_cache_dir() == tmp_path / "home" / ".cache" / "sk_eglpp"


def test_default_cache_dir_is_created_on_first_load(pose_folder, monkeypatch,
                                                    tmp_path):
    monkeypatch.setenv("SK_EGLPP_CACHE", str(tmp_path / "a" / "b"))
    load_lsp(pose_folder("lsp"), image_size=16)
    assert len(_entries(tmp_path / "a" / "b")) == 1


def test_a_foreign_lock_file_is_left_alone(pose_folder, tmp_path):
    folder = pose_folder("lsp")
    (tmp_path / "lock").write_text("my notes")
    with pytest.warns(UserWarning, match="not a lock file of sk_eglpp"):
        got = load_lsp(folder, image_size=16, cache_dir=tmp_path)
    _assert_same(got, load_lsp(folder, image_size=16, cache_dir=False))
    assert (tmp_path / "lock").read_text() == "my notes"
    assert _entries(tmp_path) == []


def test_an_entry_that_is_a_link_is_not_followed(pose_folder, tmp_path):
    folder = pose_folder("lsp")
    load_lsp(folder, image_size=16, cache_dir=tmp_path / "a")
    (entry,) = _entries(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / entry.name).symlink_to(entry)
    with pytest.warns(UserWarning, match="is a symbolic link"):
        load_lsp(folder, image_size=16, cache_dir=tmp_path / "b")
    assert (tmp_path / "b" / entry.name).is_symlink()


# --------------------------------------------------------------------------
# clear_cache
# --------------------------------------------------------------------------


def test_clear_cache_removes_only_its_entries(pose_folder, tmp_path):
    lsp, mpii = pose_folder("lsp"), pose_folder("mpii")
    load_lsp(lsp, image_size=16, cache_dir=tmp_path)
    load_mpii(mpii, image_size=16, cache_dir=tmp_path)
    entries = _entries(tmp_path)
    # what is not ours: a file, an entry-like folder without our manifest, an
    # entry holding a user's file, a folder with a foreign manifest
    (tmp_path / "notes.txt").write_text("mine")
    lookalike = tmp_path / ("load_lsp-" + "a" * 32)
    lookalike.mkdir()
    (lookalike / "X.npy").write_bytes(b"mine")
    (entries[0] / "README").write_text("mine")
    foreign = tmp_path / ("load_lsp-" + "b" * 32)
    foreign.mkdir()
    (foreign / "manifest.json").write_text('{"written_by": "me"}')
    leftover = tmp_path / f".{entries[1].name}.xyz.tmp"
    leftover.mkdir()
    assert clear_cache(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["notes.txt", lookalike.name, entries[0].name, foreign.name, "lock"]
    )
    assert (entries[0] / "README").exists() and (lookalike / "X.npy").exists()
    assert clear_cache(str(tmp_path)) == 0


def test_clear_cache_defaults_and_missing_folders(pose_folder, pose_cache_dir,
                                                  tmp_path):
    assert clear_cache(tmp_path / "nowhere") == 0
    assert not (tmp_path / "nowhere").exists()
    load_lspet(pose_folder("lspet"), image_size=16)
    assert clear_cache() == 1
    assert _entries(pose_cache_dir) == []


def test_clear_cache_refuses_a_foreign_lock_file(pose_folder, tmp_path):
    load_lsp(pose_folder("lsp"), image_size=16, cache_dir=tmp_path)
    (tmp_path / "lock").write_text("my notes")
    with pytest.raises(ValueError, match="not a lock file of sk_eglpp"):
        clear_cache(tmp_path)
    assert len(_entries(tmp_path)) == 1


@pytest.mark.parametrize(
    "cache_dir, error, match",
    [
        (False, TypeError,
         r"^clear_cache: cache_dir must be a path .* or None, got False \(bool\)"),
        (3, TypeError, r"^clear_cache: cache_dir must be a path .*got 3 \(int\)"),
        ("", ValueError, "cache_dir must not be an empty path"),
    ],
)
def test_clear_cache_invalid_folder(cache_dir, error, match):
    with pytest.raises(error, match=match):
        clear_cache(cache_dir)


# --------------------------------------------------------------------------
# parallel decoding, progress, uint8
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_n_jobs_2_equals_serial(kind, pose_folder):
    folder = pose_folder(kind, n_images=9)
    serial = _load(kind, folder, image_size=16, cache_dir=False)
    _assert_same(_load(kind, folder, image_size=16, cache_dir=False, n_jobs=2),
                 serial)
    _assert_same(_load(kind, folder, image_size=16, cache_dir=False, n_jobs=-1,
                       verbose=True), serial)


@pytest.mark.slow  # starting the loky workers takes seconds
def test_processes_equal_serial(pose_folder):
    """A joblib process backend (loky) takes precedence over the thread hint."""
    folder = pose_folder("mpii", n_images=5)
    serial = _load("mpii", folder, image_size=16, cache_dir=False)
    with joblib.parallel_config(backend="loky"):
        _assert_same(_load("mpii", folder, image_size=16, cache_dir=False,
                           n_jobs=2), serial)


def test_errors_of_a_worker_are_the_loaders(pose_folder):
    folder = pose_folder("lsp", n_images=6)
    (folder / "images" / "im0005.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"LSP image .*im0005\.jpg"):
        load_lsp(folder, n_jobs=2, cache_dir=False)


def test_verbose_shows_a_progress_bar(pose_folder, capsys):
    folder = pose_folder("lsp")
    load_lsp(folder, image_size=16, cache_dir=False)
    assert "reading images" not in capsys.readouterr().err
    load_lsp(folder, image_size=16, cache_dir=False, verbose=True)
    assert "reading images" in capsys.readouterr().err


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_uint8_is_rounded_float(kind, pose_folder, tmp_path):
    folder = pose_folder(kind)
    as_float = _load(kind, folder, image_size=16, cache_dir=False)
    for cache_dir in (False, tmp_path, tmp_path):  # uncached, miss, hit
        as_uint8 = _load(kind, folder, image_size=16, cache_dir=cache_dir,
                         dtype=np.uint8)
        assert as_uint8[0].dtype == np.uint8
        np.testing.assert_array_equal(
            as_uint8[0], np.round(as_float[0] * 255).astype(np.uint8)
        )
        _assert_same(as_uint8[1:], as_float[1:])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"dtype": "float64"}, ValueError, "dtype must be 'float32' or 'uint8', got"),
        ({"dtype": "pixels"}, ValueError, "dtype must be 'float32' or 'uint8', got"),
        ({"dtype": None}, TypeError, r"dtype must be .* got None \(NoneType\)"),
        ({"cache_dir": True}, TypeError,
         r"cache_dir must be a path \(str or os.PathLike\), False or None, got True"),
        ({"cache_dir": 1.5}, TypeError, r"cache_dir must be .*got 1.5 \(float\)"),
        ({"cache_dir": ""}, ValueError, "cache_dir must not be an empty path"),
        ({"n_jobs": 0}, ValueError, r"n_jobs must be a non-zero int .* got 0 \(int\)"),
        ({"n_jobs": 2.0}, TypeError, r"n_jobs must be a non-zero int .* \(float\)"),
        ({"verbose": -1}, ValueError, r"verbose must be an int in \[0, inf\) or a"),
        ({"verbose": "yes"}, TypeError, r"verbose must be .*got 'yes' \(str\)"),
    ],
)
@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_invalid_output_parameters(kind, kwargs, error, match, pose_folder):
    with pytest.raises(error, match=match):
        LOADERS[kind](pose_folder(kind), **kwargs)


# --------------------------------------------------------------------------
# the real data set
# --------------------------------------------------------------------------


@pytest.mark.skipif(not REAL_LSPET.is_dir(), reason=f"no LSPET at {REAL_LSPET}")
def test_real_lspet_second_load_equals_first(tmp_path, decodes):
    before = _snapshot(REAL_LSPET / "images"), (REAL_LSPET / "joints.mat").stat()
    first = load_lspet(REAL_LSPET, indices=range(200), cache_dir=tmp_path, n_jobs=2)
    second = load_lspet(REAL_LSPET, indices=range(200), cache_dir=tmp_path)
    assert len(decodes) == 1
    _assert_same(second, first)
    assert first[0].shape == (200, 3, 64, 64)
    after = _snapshot(REAL_LSPET / "images"), (REAL_LSPET / "joints.mat").stat()
    assert after == before
