import json

import pytest

from weightspace.atomic import atomic_dir, atomic_path, write_json, write_text


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
    assert _names(target) == ["a"] and _names(tmp_path) == ["out"]
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
    assert _names(target) == ["b"] and _names(tmp_path) == ["out"]  # old copy removed, no temp left


def test_write_text_and_json(tmp_path):
    write_text(tmp_path / "t.txt", "héllo")
    write_json(tmp_path / "d.json", {"a": [1, 2]})
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "d.json").read_text()) == {"a": [1, 2]}
    assert _names(tmp_path) == ["d.json", "t.txt"]
