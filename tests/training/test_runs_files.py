"""Run folders reused with exist_ok, file modes of atomic writes, and failed writes being marked
(the CLI tells them from unreadable inputs by the mark), symbolic links refused, the lock held
for a run's life, and the temporary files of killed saves removed on reopening."""

import errno
import json
import os
import shutil
import stat

import pytest

import torchlite
from torchlite import serialization
from torchlite.training import runs


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test (restored afterwards)."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


# -- exist_ok -------------------------------------------------------------------------------------
def _fill(paths: runs.RunPaths) -> None:
    for f in (paths.config, paths.metrics, paths.summary, paths.log, paths.best, paths.last,
              paths.state, paths.epoch_weights(2), paths.eval_dir / "report.json",
              paths.eval_dir / "confusion_matrix.csv"):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("old run")


def test_exist_ok_removes_the_previous_runs_files(tmp_path):
    paths = runs.create_run_dir(tmp_path, "exp")
    _fill(paths)
    again = runs.create_run_dir(tmp_path, "exp", exist_ok=True)
    assert again.root == paths.root
    assert sorted(p.relative_to(paths.root).as_posix() for p in paths.root.rglob("*")) \
        == ["weights"]


def test_exist_ok_leaves_other_files_alone(tmp_path):
    paths = runs.create_run_dir(tmp_path, "exp")
    _fill(paths)
    keep = [paths.root / "notes.txt", paths.weights / "pretrained.safetensors",
            paths.weights / "epoch_final.safetensors"]
    for f in keep:
        f.write_text("mine")
    runs.create_run_dir(tmp_path, "exp", exist_ok=True)
    assert all(f.read_text() == "mine" for f in keep)
    assert not paths.best.exists() and not paths.eval_dir.exists()


def test_without_exist_ok_the_old_folder_is_untouched(tmp_path):
    paths = runs.create_run_dir(tmp_path, "exp")
    _fill(paths)
    other = runs.create_run_dir(tmp_path, "exp")
    assert other.root.name == "exp-2" and paths.best.read_text() == "old run"


# -- file modes -----------------------------------------------------------------------------------
@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_get_the_mode_open_would_give(tmp_path, umask, mask, expected):
    umask(mask)
    assert _mode(runs.atomic_write_text(tmp_path / "a.txt", "x")) == expected
    torchlite.save({"w": torchlite.ones(2)}, tmp_path / "w.safetensors")
    assert _mode(tmp_path / "w.safetensors") == expected


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_overwritten_files_keep_their_mode(tmp_path, umask):
    p = tmp_path / "summary.json"
    p.write_text("{}")
    os.chmod(p, 0o664)
    umask(0o077)
    runs.atomic_write_json(p, {"v": 2})
    assert _mode(p) == 0o664 and p.read_text().startswith("{")


# -- failed writes --------------------------------------------------------------------------------
def test_a_failed_write_names_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "metrics.csv"
    with pytest.raises(OSError) as info:
        runs.atomic_write_text(target, "x")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert serialization.is_write_error(info.value)
    assert os.listdir(tmp_path) == []


def test_an_unwritable_folder_is_a_marked_permission_error(tmp_path, monkeypatch):
    real_open = os.open

    def denied(path, flags, mode=0o777, **kw):
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(PermissionError) as info:
        torchlite.save({"w": torchlite.ones(1)}, tmp_path / "w.safetensors")
    assert info.value.filename == str(tmp_path / "w.safetensors")
    assert serialization.is_write_error(info.value)


def test_run_folder_creation_errors_are_marked(tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(FileExistsError) as info:
        runs.create_run_dir(tmp_path / "afile", "exp")
    assert serialization.is_write_error(info.value)
    with pytest.raises(NotADirectoryError) as info:
        runs.create_run_dir(tmp_path / "afile" / "sub", "exp", exist_ok=True)
    assert serialization.is_write_error(info.value)


def test_reads_are_not_marked(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        open(tmp_path / "missing")  # noqa: SIM115 - the OS's own error
    assert not serialization.is_write_error(info.value)


# -- symbolic links are refused, never followed ---------------------------------------------------
def _tree(folder) -> dict:
    """Every file under `folder` with its bytes (the evidence that nothing there changed)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def elsewhere(tmp_path):
    """A folder outside the runs, with files that look like a run's."""
    other = tmp_path / "elsewhere"
    (other / "weights").mkdir(parents=True)
    for name in ("train.log", "metrics.csv", "config.yaml", "weights/best.safetensors",
                 "best.safetensors"):
        (other / name).write_text(f"not yours: {name}")
    return other


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
@pytest.mark.parametrize("link", ["", "weights", "eval", "train.log", "metrics.csv",
                                  "config.yaml", "weights/best.safetensors",
                                  "weights/epoch_3.safetensors"])
def test_exist_ok_refuses_links_and_leaves_their_targets(tmp_path, elsewhere, link):
    runs_root = tmp_path / "runs"
    paths = runs.create_run_dir(runs_root, "exp")
    _fill(paths)
    at = paths.root / link if link else paths.root
    if at.is_dir():
        shutil.rmtree(at)
    else:
        at.unlink(missing_ok=True)
    target = elsewhere / "weights" if at.name in ("weights", "eval", "exp") else \
        elsewhere / ("best.safetensors" if at.suffix == ".safetensors" else at.name)
    at.symlink_to(target)
    before = _tree(elsewhere)
    with pytest.raises(runs.RunFolderError, match="symbolic link") as info:
        runs.create_run_dir(runs_root, "exp", exist_ok=True)
    assert str(at) in str(info.value) and str(target) in str(info.value)
    assert _tree(elsewhere) == before and at.is_symlink()
    if link:  # refused before anything was deleted
        assert paths.summary.read_text() == "old run"


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
@pytest.mark.parametrize("link", ["", "weights", "train.log", "metrics.csv", "summary.json",
                                  "weights/last.safetensors", "weights/last_state.safetensors"])
def test_reopening_refuses_links_and_leaves_their_targets(tmp_path, elsewhere, link):
    paths = runs.create_run_dir(tmp_path / "runs", "exp")
    _fill(paths)
    folder = paths.root
    if not link:  # the run folder itself is a link to a real run folder
        folder = tmp_path / "runs" / "via-link"
        folder.symlink_to(paths.root)
        elsewhere = paths.root
    else:
        at = paths.root / link
        shutil.rmtree(at) if at.is_dir() else at.unlink()
        at.symlink_to(elsewhere / "weights" if link == "weights" else elsewhere / "train.log")
    before = _tree(elsewhere)
    with pytest.raises(runs.RunFolderError, match="symbolic link"), \
            runs.reopen_run_dir(folder):
        pass
    assert _tree(elsewhere) == before
    assert not (elsewhere / ".lock").exists()


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_append_log_never_appends_through_a_link(tmp_path, elsewhere):
    log = tmp_path / "train.log"
    log.symlink_to(elsewhere / "train.log")
    with pytest.raises(runs.RunFolderError, match="symbolic link"):
        runs.append_log(log, "epoch 1")
    assert (elsewhere / "train.log").read_text() == "not yours: train.log"
    dangling = tmp_path / "dangling.log"
    dangling.symlink_to(tmp_path / "nowhere.log")
    with pytest.raises(runs.RunFolderError):
        runs.append_log(dangling, "epoch 1")
    assert not (tmp_path / "nowhere.log").exists()


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_a_link_named_like_a_taken_run_is_skipped(tmp_path, elsewhere):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "exp").symlink_to(elsewhere)
    paths = runs.create_run_dir(tmp_path / "runs", "exp")
    assert paths.root.name == "exp-2" and not paths.root.is_symlink()
    assert not (elsewhere / ".lock").exists() and not (elsewhere / "weights" / "x").exists()


# -- the lock -------------------------------------------------------------------------------------
def test_a_held_run_folder_is_refused_naming_its_holder(tmp_path):
    with runs.open_run_dir(tmp_path, "exp") as paths:
        holder = json.loads((paths.root / ".lock").read_text())
        assert holder["pid"] == os.getpid() and holder["host"]
        for reopen in (lambda: runs.create_run_dir(tmp_path, "exp", exist_ok=True),
                       lambda: runs.reopen_run_dir(paths.root).__enter__()):
            with pytest.raises(runs.RunFolderBusyError, match=f"process {os.getpid()} on ") as e:
                reopen()
            assert str(paths.root) in str(e.value)
        paths.config.write_text("mine")  # the refused process deleted nothing
        assert runs.create_run_dir(tmp_path, "exp").root.name == "exp-2"  # a new name: fine
        assert paths.config.read_text() == "mine"
    assert not (paths.root / ".lock").exists()  # released, and the file removed
    with runs.reopen_run_dir(paths.root) as again:
        assert again.root == paths.root and (paths.root / ".lock").exists()
    assert sorted(os.listdir(paths.root)) == ["config.yaml", "weights"]


def test_a_lock_file_left_by_a_killed_run_is_not_stale(tmp_path):
    paths = runs.create_run_dir(tmp_path, "exp")
    (paths.root / ".lock").write_text('{"pid": 999999, "host": "gone"}')  # no lock held on it
    with runs.reopen_run_dir(paths.root):
        assert json.loads((paths.root / ".lock").read_text())["pid"] == os.getpid()
    assert not (paths.root / ".lock").exists()


def test_a_longer_lock_file_left_behind_is_replaced_whole(tmp_path):
    """(A new lock file is written without truncating it; a left one is truncated first.)"""
    (tmp_path / ".lock").write_text(json.dumps({"pid": 999999, "note": "x" * 500}))
    with runs.RunLock(tmp_path):
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()


def test_the_lock_is_released_when_the_run_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), runs.open_run_dir(tmp_path, "exp"):
        raise RuntimeError("boom")
    with runs.open_run_dir(tmp_path, "exp", exist_ok=True) as paths:
        assert paths.root.name == "exp"


def test_run_lock_acquires_once_and_releases_once(tmp_path):
    lock = runs.RunLock(tmp_path)
    with lock:
        assert lock.held and lock.acquire() is lock
        other = runs.RunLock(tmp_path)
        with pytest.raises(runs.RunFolderBusyError):
            other.acquire()
        assert not other.held
    assert not lock.held and not (tmp_path / ".lock").exists()
    lock.release()  # a second release does nothing


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_a_lock_file_that_is_a_link_is_refused(tmp_path, elsewhere):
    (tmp_path / ".lock").symlink_to(elsewhere / "train.log")
    with pytest.raises(runs.RunFolderError, match="symbolic link"):
        runs.RunLock(tmp_path).acquire()
    assert (elsewhere / "train.log").read_text() == "not yours: train.log"


# -- temporary files of killed saves --------------------------------------------------------------
STALE = [".best.safetensors.0123abcd.tmp", ".last_state.safetensors.ffffffff.tmp",
         ".epoch_4.safetensors.12345678.tmp"]
STALE_TOP = [".metrics.csv.89abcdef.tmp", ".summary.json.00000000.tmp"]
NOT_OURS = [".pretrained.safetensors.0123abcd.tmp", ".best.safetensors.tmp", "best.0123abcd.tmp",
            ".best.safetensors.0123ABCD.tmp"]


def _stale(paths: runs.RunPaths) -> None:
    for name in STALE + NOT_OURS:
        (paths.weights / name).write_bytes(b"half a checkpoint")
    for name in STALE_TOP:
        (paths.root / name).write_text("half")


@pytest.mark.parametrize("reopen", ["exist_ok", "resume"])
def test_reopening_removes_the_temporary_files_of_killed_saves(tmp_path, reopen):
    paths = runs.create_run_dir(tmp_path, "exp")
    _stale(paths)
    if reopen == "exist_ok":
        runs.create_run_dir(tmp_path, "exp", exist_ok=True)
    else:
        with runs.reopen_run_dir(paths.root):
            pass
    assert sorted(os.listdir(paths.weights)) == sorted(NOT_OURS)
    assert sorted(os.listdir(paths.root)) == ["weights"]


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_a_link_named_like_a_temporary_file_is_not_followed(tmp_path, elsewhere):
    paths = runs.create_run_dir(tmp_path, "exp")
    (paths.weights / STALE[0]).symlink_to(elsewhere / "best.safetensors")
    with runs.reopen_run_dir(paths.root):
        pass
    assert (paths.weights / STALE[0]).is_symlink()  # only regular files are cleaned up
    assert (elsewhere / "best.safetensors").read_text() == "not yours: best.safetensors"


@pytest.mark.skipif(os.name == "nt", reason="hard links and pipes work differently on Windows")
@pytest.mark.parametrize("kind", ["hard link", "pipe", "folder"])
def test_a_lock_or_log_that_is_not_a_file_of_its_own_is_refused(tmp_path, elsewhere, kind):
    for name, use in ((".lock", lambda: runs.RunLock(tmp_path).acquire()),
                      ("train.log", lambda: runs.append_log(tmp_path / "train.log", "epoch 1"))):
        target = tmp_path / name
        if kind == "hard link":
            os.link(elsewhere / "train.log", target)
        elif kind == "pipe":
            os.mkfifo(target)
        else:
            target.mkdir()
        problem = "a hard link" if kind == "hard link" else "not a regular file"
        with pytest.raises(runs.RunFolderError, match=f"{target} is {problem}"):
            use()
        assert (elsewhere / "train.log").read_text() == "not yours: train.log"
        if kind == "folder":
            target.rmdir()
        else:
            target.unlink()
