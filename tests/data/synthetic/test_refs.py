"""``builtin:`` references: one grammar for the tiny CLIP, world splits and world files."""

from pathlib import Path

import pytest

from weightspace.data.synthetic import tiny_clip, worlds as worlds_mod
from weightspace.data.synthetic.refs import BuiltinRef, world_ref
from weightspace.errors import ConfigError
from weightspace.refs import parse_ref


def test_world_ref_accepts_the_scheme_or_not():
    assert world_ref("builtin:target/val.txt") == world_ref("target/val.txt") == BuiltinRef("target", "val.txt")
    assert world_ref("source_a") == BuiltinRef("source_a")
    with pytest.raises(ConfigError, match="expected builtin:tiny-clip or builtin:WORLD"):
        world_ref("hf-hub:org/name")


def test_worlds_resolve_folder_split_and_file(tiny_worlds):
    target = Path(tiny_worlds["target"].folder)
    assert tiny_worlds.resolve("builtin:target") == target
    assert tiny_worlds.resolve("builtin:target/val") == target / "val.txt"  # a split: its list file
    assert tiny_worlds.resolve("builtin:target/base_val") == target / "base_val.txt"
    assert tiny_worlds.resolve(BuiltinRef("target", "classnames.json")) == target / "classnames.json"
    assert tiny_worlds.resolve("builtin:target/videos/val") == target / "videos" / "val"
    with pytest.raises(ConfigError, match="has no split 'train'"):
        tiny_worlds.resolve("builtin:ooc_neutral/train")  # out-of-context worlds are val only


def test_resolve_routes_to_the_tiny_clip_or_the_worlds(monkeypatch, tiny_worlds, tmp_path):
    monkeypatch.setattr(tiny_clip, "ensure_tiny_clip", lambda: tmp_path / "tiny")
    monkeypatch.setattr(worlds_mod, "ensure_worlds", lambda: tiny_worlds)
    assert parse_ref("builtin:tiny-clip").resolve() == tmp_path / "tiny"
    assert parse_ref("builtin:target/val.txt").resolve() == Path(tiny_worlds["target"].folder) / "val.txt"
    with pytest.raises(ConfigError, match="no world named 'nowhere'"):
        parse_ref("builtin:nowhere").resolve()


def test_training_files_are_a_split_and_its_class_names(monkeypatch, tiny_worlds):
    monkeypatch.setattr(worlds_mod, "ensure_worlds", lambda: tiny_worlds)
    target = Path(tiny_worlds["target"].folder)
    assert BuiltinRef("target").training_files() == (target / "train.txt", target / "classnames.json")
    assert BuiltinRef("target", "base_train").training_files() == (target / "base_train.txt",
                                                                   target / "base_classnames.json")
    with pytest.raises(ConfigError, match="has no split 'val.txt'"):
        BuiltinRef("target", "val.txt").training_files()


def test_only_the_tiny_clip_is_a_model():
    assert BuiltinRef("tiny-clip").is_model and not BuiltinRef("source_a").is_model
