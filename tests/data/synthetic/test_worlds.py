import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from weightspace.data import load_classnames, read_list
from weightspace.data.decode import VideoFile
from weightspace.data.synthetic import worlds as worlds_mod
from weightspace.data.synthetic.motion import ACTIONS
from weightspace.data.synthetic.worlds import (
    CORRELATION, PREFERRED_SCENE, TARGET_NOVEL, WorldSpec, default_specs, ensure_worlds, plan_world, render_row, tiny_specs,
)
from weightspace.data.synthetic.scenes import NEUTRAL_SCENES, SCENES
from weightspace.errors import ConfigError


def _rows(world):
    import csv

    with open(world.folder / "videos.csv") as fh:
        return list(csv.DictReader(fh))


def test_default_specs_have_the_required_roles():
    specs = {s.name: s for s in default_specs()}
    assert set(specs) == {"source_a", "source_b", "source_c", "target", "ooc_neutral", "ooc_swapped"}
    sources = [set(specs[n].actions) for n in ("source_a", "source_b", "source_c")]
    union = set.union(*sources)
    assert len(union | set(specs["target"].actions)) >= 24
    assert sources[0] & sources[1] and sources[0] != sources[1]  # overlapping, not equal
    assert not set(TARGET_NOVEL) & union  # novel target actions appear in no source world
    assert set(specs["target"].base) <= union
    assert len({s.style for s in specs.values()}) >= 4
    assert all(a in PREFERRED_SCENE for a in ACTIONS)
    assert len({PREFERRED_SCENE[a] for a in TARGET_NOVEL}) == len(TARGET_NOVEL)


def test_scene_correlation_in_a_default_plan():
    rows = plan_world(default_specs()[0], seed=0)
    share = np.mean([r.spec.scene == PREFERRED_SCENE[r.spec.action] for r in rows])
    biased = [r for r in rows if r.split != "decorrelated_val"]
    share = np.mean([r.spec.scene == PREFERRED_SCENE[r.spec.action] for r in biased])
    assert len(biased) == 600 and abs(share - CORRELATION) < 0.05
    strong = plan_world(WorldSpec("x", ACTIONS[:6], ACTIONS[:2], "dusk", 50, 0, correlation=0.3), seed=0)
    assert abs(np.mean([r.spec.scene == PREFERRED_SCENE[r.spec.action] for r in strong]) - 0.3) < 0.07


def test_plans_are_deterministic_in_the_seed():
    spec = default_specs()[1]
    assert plan_world(spec, 3) == plan_world(spec, 3)
    assert plan_world(spec, 3) != plan_world(spec, 4)
    row = plan_world(spec, 3)[7]
    assert render_row(row, spec).tobytes() == render_row(row, spec).tobytes()


def test_layout_lists_and_class_files(tiny_worlds):
    assert set(tiny_worlds) == {"source_a", "source_b", "target", "ooc_neutral", "ooc_swapped"}
    assert tiny_worlds.sources == ("source_a", "source_b") and tiny_worlds.target == "target"
    assert tiny_worlds.ooc == ("ooc_neutral", "ooc_swapped")
    assert tiny_worlds["source_a"].splits == ("train", "val", "decorrelated_val", "base_train", "base_val", "novel_val")
    for world in tiny_worlds.values():
        doc = json.loads((world.folder / "world.json").read_text())
        assert doc["seed"] == 0 and doc["spec"]["name"] == world.name
        for split in world.splits:
            entries = read_list(world.list_file(split))
            names = load_classnames(world.classnames_file(split))
            assert names == world.classnames(split)
            assert {e.label for e in entries} == set(range(len(names)))
            assert all(e.path.is_file() for e in entries)
    assert tiny_worlds["ooc_neutral"].splits == ("val", "base_val", "novel_val")
    with pytest.raises(ConfigError, match="no split 'train'"):
        tiny_worlds["ooc_swapped"].list_file("train")
    with pytest.raises(ConfigError, match="no world"):
        tiny_worlds["nope"]


def test_base_and_novel_are_disjoint_and_reindexed(tiny_worlds):
    world = tiny_worlds["target"]
    base, novel = load_classnames(world.classnames_file("base_val")), load_classnames(world.classnames_file("novel_val"))
    assert not set(base) & set(novel) and sorted(base + novel) == sorted(world.classnames())
    action_of = {r["path"]: r["action"] for r in _rows(world)}
    for split, names in (("base_val", base), ("novel_val", novel), ("base_train", base)):
        for e in read_list(world.list_file(split)):
            assert names[e.label] == action_of[e.path.relative_to(world.folder).as_posix()]


@pytest.mark.parametrize("world", ["ooc_neutral", "ooc_swapped"])
def test_out_of_context_worlds_change_the_scene_only(tiny_worlds, world):
    target = {r["path"]: r for r in _rows(tiny_worlds["target"]) if r["split"] == "val"}
    ooc = _rows(tiny_worlds[world])
    assert len(ooc) == len(target)
    for r in ooc:
        t = target[r["path"]]
        if world == "ooc_neutral":  # a held-out scene: no action prefers it, no training world shows it
            assert r["scene"] in NEUTRAL_SCENES and r["scene"] not in PREFERRED_SCENE.values()
        else:  # another action's scene
            assert r["scene"] != PREFERRED_SCENE[r["action"]] and r["scene"] in SCENES
        assert (r["action"], r["shape"], r["colour"], r["label"]) == (t["action"], t["shape"], t["colour"], t["label"])


def test_decorrelated_split_shows_every_action_on_every_scene_equally_often():
    spec = default_specs()[0]
    rows = [r for r in plan_world(spec, seed=0) if r.split == "decorrelated_val"]
    pairs = Counter((r.spec.action, r.spec.scene) for r in rows)
    assert len(rows) == 2 * len(SCENES) * len(spec.actions)
    assert set(pairs.values()) == {2} and len(pairs) == len(SCENES) * len(spec.actions)
    for world in default_specs():
        if world.name.startswith("source"):
            assert world.decorrelated_per_class == 2 * len(SCENES)


def test_videos_decode_to_the_rendered_frames(tiny_worlds):
    world = tiny_worlds["source_a"]
    spec = world.spec
    row = plan_world(spec, 0)[3]
    decoded = VideoFile(world.folder / row.path)
    assert decoded.num_frames() == spec.frames
    frames = decoded.read(range(spec.frames)).astype(float)
    assert frames.shape == (8, 32, 32, 3)
    assert np.abs(frames - render_row(row, spec)).mean() < 8  # lossy H.264, same picture


def test_cached_worlds_are_reused_and_stale_ones_rebuilt(tmp_path, monkeypatch):
    calls = Counter()
    real = worlds_mod.generate_world

    def counting(folder, spec, *a, **k):
        calls[spec.name] += 1
        return real(folder, spec, *a, **k)

    def defaults(changes):
        specs = list(tiny_specs())
        for i, spec in changes.items():
            specs[i] = WorldSpec(spec.name, spec.actions, spec.novel, spec.style, 1, 1, size=32, frames=8)
        monkeypatch.setattr(worlds_mod, "default_specs", lambda correlation=0.8: tuple(specs))

    monkeypatch.setattr(worlds_mod, "generate_world", counting)
    defaults({})
    first = ensure_worlds(tmp_path, progress=False, workers=1)
    again = ensure_worlds(tmp_path, progress=False, workers=1)
    assert first.root == again.root == tmp_path / "worlds" / "seed-0"
    assert calls == Counter({"source_a": 1, "source_b": 1, "target": 1, "ooc_neutral": 1, "ooc_swapped": 1})  # the second call reused all
    defaults({0: tiny_specs()[0]})
    ensure_worlds(tmp_path, progress=False, workers=1)
    assert calls["source_a"] == 2 and calls["source_b"] == 1 and calls["target"] == 1
    defaults({0: tiny_specs()[0], 2: tiny_specs()[2]})
    ensure_worlds(tmp_path, progress=False, workers=1)
    assert calls["target"] == 2 and calls["ooc_neutral"] == calls["ooc_swapped"] == 2  # they re-render target videos
    assert calls["source_a"] == 2


def test_custom_specs_get_their_own_folder(tiny_worlds):
    assert tiny_worlds.root.name.startswith("seed-0-")
    assert worlds_mod.worlds_folder_name(0, tiny_specs()) != worlds_mod.worlds_folder_name(0, tiny_specs(0.8))
    assert worlds_mod.worlds_folder_name(3, default_specs()) == "seed-3"


def test_parallel_generation_gives_the_same_lists(tmp_path, tiny_worlds):
    spec = tiny_specs()[0]
    world = ensure_worlds(tmp_path, seed=0, specs=(spec,), workers=2, progress=False)["source_a"]
    for name in ("train.txt", "val.txt", "videos.csv", "classnames.json"):
        assert (world.folder / name).read_text() == (tiny_worlds["source_a"].folder / name).read_text()


@pytest.mark.parametrize("kwargs, match", [
    ({"actions": ("flying",)}, "unknown action"),
    ({"novel": ("moving up",)}, "proper subset"),
    ({"style": "neon"}, "unknown style"),
    ({"correlation": 1.5}, "correlation"),
    ({"size": 33}, "even"),
    ({"ooc_scenes": "random"}, "ooc_scenes"),
])
def test_spec_validation(kwargs, match):
    base = dict(name="w", actions=("moving left", "moving right"), novel=("moving right",), style="dusk",
                train_per_class=1, val_per_class=1)
    with pytest.raises(ConfigError, match=match):
        WorldSpec(**{**base, **kwargs})


def test_cache_lock_excludes_a_second_holder(tmp_path):
    import threading
    import time

    entered = threading.Event()

    def second():
        with worlds_mod.cache_lock(tmp_path):
            entered.set()

    with worlds_mod.cache_lock(tmp_path):
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.2)
        assert not entered.is_set()
    t.join(5)
    assert entered.is_set()


def test_resolve_builtin_references(tiny_worlds):
    target = tiny_worlds["target"].folder
    assert tiny_worlds.resolve("builtin:target/val.txt") == Path(target) / "val.txt"
    assert tiny_worlds.resolve("target") == Path(target)
    assert "source_c" not in tiny_worlds  # tiny specs have two sources
    with pytest.raises(ConfigError, match="no world named 'nowhere'"):
        tiny_worlds.resolve("builtin:nowhere/val.txt")
