"""Run folders reused with exist_ok, file modes of atomic writes, and failed writes being marked
(the CLI tells them from unreadable inputs by the mark)."""

import errno
import os
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
