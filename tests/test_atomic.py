import json

import pytest

import errno
import os

from weightspace.atomic import MARKER, atomic_dir, atomic_path, claim_dir, write_json, write_text
from weightspace.errors import OutputError


def _names(d):
    return sorted(p.name for p in d.iterdir())


def test_atomic_path_writes_on_success_only(tmp_path):
    target = tmp_path / "sub" / "f.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new" and _names(target.parent) == ["f.txt"]
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "new" and _names(target.parent) == ["f.txt"]


def test_atomic_path_without_overwrite_keeps_the_target(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(FileExistsError):
        with atomic_path(target, overwrite=False) as tmp:
            tmp.write_text("new")
    assert target.read_text() == "old" and _names(tmp_path) == ["f.txt"]


def test_atomic_dir_success_failure_and_overwrite(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    assert (target / "a").read_text() == "1"
    with pytest.raises(ValueError):
        with atomic_dir(tmp_path / "other") as tmp:
            (tmp / "a").write_text("partial")
            raise ValueError
    assert _names(tmp_path) == ["out"]
    with pytest.raises(FileExistsError):
        with atomic_dir(target) as tmp:
            (tmp / "b").write_text("2")
    assert _names(target) == [MARKER, "a"] and _names(tmp_path) == ["out"]
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
    assert _names(target) == [MARKER, "b"] and _names(tmp_path) == ["out"]  # old copy removed, no temp left


def test_write_text_and_json(tmp_path):
    write_text(tmp_path / "t.txt", "héllo")
    write_json(tmp_path / "d.json", {"a": [1, 2]})
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "d.json").read_text()) == {"a": [1, 2]}
    assert _names(tmp_path) == ["d.json", "t.txt"]


def test_overwrite_refuses_a_folder_weightspace_did_not_write(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match=f"mine: is not a folder weightspace wrote .*{MARKER}"):
        with atomic_dir(user, overwrite=True) as tmp:
            raise AssertionError("the work must not start")
    assert (user / "thesis.tex").read_text() == "precious" and _names(tmp_path) == ["mine"]


def test_overwrite_refuses_a_user_file_in_place_of_the_folder(tmp_path):
    (tmp_path / "out").write_text("user file")
    with pytest.raises(OutputError, match="not a folder weightspace wrote"):
        with atomic_dir(tmp_path / "out", overwrite=True):
            pass
    assert (tmp_path / "out").read_text() == "user file"


def test_overwrite_accepts_an_empty_folder(tmp_path):
    (tmp_path / "out").mkdir()
    with atomic_dir(tmp_path / "out", overwrite=True) as tmp:
        (tmp / "a").write_text("1")
    assert _names(tmp_path / "out") == [MARKER, "a"]


@pytest.mark.parametrize("which", ["cwd", "dot", "parent"])
def test_overwrite_refuses_the_current_folder_and_its_parents(tmp_path, monkeypatch, which):
    work = tmp_path / "work"
    with atomic_dir(work) as tmp:
        pass  # a folder weightspace wrote: still never replaced while it is the cwd
    (work / "sub").mkdir()
    monkeypatch.chdir(work / "sub")
    target = {"cwd": work / "sub", "dot": ".", "parent": ".."}[which]
    with pytest.raises(OutputError, match="current folder or one of its parents"):
        with atomic_dir(target, overwrite=True):
            pass
    assert (work / "sub").is_dir() and (work / MARKER).is_file()


def test_overwrite_refuses_symlinks_and_symlink_loops(tmp_path):
    ours = tmp_path / "ours"
    with atomic_dir(ours):
        pass
    (tmp_path / "link").symlink_to(ours)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(OutputError, match="link: is a symlink"):
        with atomic_dir(tmp_path / "link", overwrite=True):
            pass
    with pytest.raises(OutputError, match="loop: is a symlink loop"):
        with atomic_dir(tmp_path / "loop", overwrite=True):
            pass
    assert is_dir_with_marker(ours)


def is_dir_with_marker(folder):
    return folder.is_dir() and (folder / MARKER).is_file()


def test_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="parent .*file is a file"):
        with atomic_dir(tmp_path / "file" / "out"):
            pass
    with pytest.raises(OutputError, match="parent .*file is a file"):
        write_text(tmp_path / "file" / "sub" / "r.txt", "x")


def test_a_full_disk_names_the_destination_not_the_temporary(tmp_path):
    target = tmp_path / "report.md"
    with pytest.raises(OutputError) as info:
        with atomic_path(target) as tmp:
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(info.value) == f"{target}: cannot write (no space left on the destination's disk)"
    with pytest.raises(OutputError, match=r"^\S*out: cannot write \(Permission denied\)$"):
        with atomic_dir(tmp_path / "out") as tmp:
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp / "weights.safetensors"))
    assert _names(tmp_path) == []


def test_a_killed_runs_temporary_sibling_is_removed_by_the_next_run(tmp_path):
    dead = 2 ** 22 + 12345  # above pid_max's default: no such process
    stale_dir = tmp_path / f".out.ws-{dead}-abcd.tmp"
    stale_dir.mkdir()
    (stale_dir / MARKER).write_text("x")
    (stale_dir / "half.safetensors").write_bytes(b"0" * 10)
    stale_file = tmp_path / f".r.txt.ws-{dead}-abcd.tmp"
    stale_file.write_text("half")
    live = tmp_path / f".out.ws-{os.getpid()}-beef.tmp"  # a concurrent writer's: kept
    live.mkdir()
    with atomic_dir(tmp_path / "out"):
        pass
    write_text(tmp_path / "r.txt", "done")
    assert _names(tmp_path) == [live.name, "out", "r.txt"]


def test_outputs_honour_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        with atomic_dir(tmp_path / "ckpt") as tmp:
            (tmp / "w").write_text("1")
        write_text(tmp_path / "report.md", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "ckpt").stat().st_mode & 0o777 == 0o775
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o664


def test_claim_dir_accepts_new_empty_and_own_folders_and_refuses_user_folders(tmp_path):
    assert (claim_dir(tmp_path / "run") / MARKER).is_file()
    claim_dir(tmp_path / "run")  # resuming
    (tmp_path / "empty").mkdir()
    claim_dir(tmp_path / "empty")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="user: holds files weightspace did not write"):
        claim_dir(tmp_path / "user")
    assert _names(tmp_path / "user") == ["notes.txt"]


def test_a_checkpoint_folder_from_before_the_marker_is_recognised(tmp_path):
    old = tmp_path / "ckpt"
    old.mkdir()
    (old / "weightspace.json").write_text(json.dumps({"format": "weightspace-checkpoint"}))
    with atomic_dir(old, overwrite=True) as tmp:
        (tmp / "new").write_text("1")
    assert _names(old) == [MARKER, "new"]
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "weightspace.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(OutputError, match=f"touch {fake / MARKER}"):
        with atomic_dir(fake, overwrite=True):
            pass
