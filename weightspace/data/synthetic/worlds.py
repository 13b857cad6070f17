"""World specs, generation and the on-disk cache of the built-in world (layout: see the package docstring).

Static bias by construction: every action has a preferred scene (``PREFERRED_SCENE``). In a training or
in-context world a video shows its action's preferred scene with probability ``correlation`` (else one of the
other scenes, uniformly). Each source world also has a scene-decorrelated validation split (every action on
every scene equally often), where only the actor tells the action. Two out-of-context worlds re-render the
target's validation videos (same actor, motion and random draws) on other scenes: ``ooc_neutral`` on held-out
scenes that no action prefers and no training world or pretraining frame shows (SCUBA pastes actions onto
Places365 backgrounds), ``ooc_swapped`` on a scene another action prefers (HAT's mixed-different), where a scene
reader is always wrong.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import multiprocessing
import os
import sys
import zlib
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from weightspace.atomic import atomic_dir
from weightspace.cache_root import resolve_cache_root
from weightspace.data.encode import write_video
from weightspace.data.synthetic.motion import ACTIONS
from weightspace.data.synthetic.refs import BuiltinRef, world_ref
from weightspace.data.synthetic.render import COLOURS, SHAPES, VideoSpec, render_video
from weightspace.data.synthetic.scenes import NEUTRAL_SCENES, SCENES, STYLES
from weightspace.errors import ConfigError

GENERATOR_VERSION = 3
# P(preferred scene) in the source (training) worlds: 8x the uniform 1/16, yet low enough that the demo's plain
# fine-tuning learns the actor's prop too (at 0.6 it gained 22-23 points on the decorrelated split, at 0.5 29-34)
CORRELATION = 0.5
# the held-out target (and so the in-context half of the out-of-context splits) is as scene-bound as the tiny CLIP's
# pretraining: in context a scene reader looks good, as on Kinetics (zero-shot in context 83 vs 70 at 0.5)
TARGET_CORRELATION = 0.8
SPLITS = ("train", "val", "decorrelated_val")
SPLIT_FILES = {  # split name -> (list file, class-name file)
    "train": ("train.txt", "classnames.json"),
    "val": ("val.txt", "classnames.json"),
    "decorrelated_val": ("decorrelated_val.txt", "classnames.json"),
    "base_train": ("base_train.txt", "base_classnames.json"),
    "base_val": ("base_val.txt", "base_classnames.json"),
    "novel_val": ("novel_val.txt", "novel_classnames.json"),
}

# The target world's novel actions appear in no source world; its base actions do.
TARGET_NOVEL = ("moving down and left", "spinning counterclockwise", "shrinking", "orbiting counterclockwise",
                "sinking", "tracing a figure eight")
TARGET_BASE = ("moving left", "moving up", "spinning clockwise", "growing", "bouncing", "zigzagging")


def _preferred_scenes() -> dict[str, str]:
    # target actions first, so its novel actions (and its base actions) prefer distinct scenes
    order = list(TARGET_NOVEL) + list(TARGET_BASE) + [a for a in ACTIONS if a not in TARGET_NOVEL + TARGET_BASE]
    return {a: SCENES[i % len(SCENES)] for i, a in enumerate(order)}


PREFERRED_SCENE: dict[str, str] = _preferred_scenes()


OOC_SCENES = ("swapped", "neutral")


@dataclass(frozen=True)
class WorldSpec:
    """Everything that defines one world's videos (with the seed and generator version, its cache key)."""

    name: str
    actions: tuple[str, ...]  # class order: label i is actions[i]
    novel: tuple[str, ...]  # the novel half of a base/novel split (the rest are base)
    style: str
    train_per_class: int
    val_per_class: int
    correlation: float = CORRELATION  # P(scene = the action's preferred scene)
    out_of_context_of: str | None = None  # re-render that world's val videos on other scenes
    ooc_scenes: str = "swapped"  # with out_of_context_of: "swapped" (another action's scene) or "neutral" (held-out)
    decorrelated_per_class: int = 0  # scene-decorrelated val videos per class (a multiple of len(SCENES) balances)
    size: int = 48
    frames: int = 16
    fps: int = 8

    def __post_init__(self):
        unknown = [a for a in self.actions + self.novel if a not in ACTIONS]
        if unknown:
            raise ConfigError(f"world {self.name!r}: unknown action {unknown[0]!r}")
        if not set(self.novel) < set(self.actions):
            raise ConfigError(f"world {self.name!r}: novel actions must be a proper subset of its actions")
        if self.style not in STYLES:
            raise ConfigError(f"world {self.name!r}: unknown style {self.style!r} (known: {', '.join(STYLES)})")
        if not 0.0 <= self.correlation <= 1.0:
            raise ConfigError(f"world {self.name!r}: correlation must be in [0, 1]")
        if self.ooc_scenes not in OOC_SCENES:
            raise ConfigError(f"world {self.name!r}: ooc_scenes must be one of {', '.join(OOC_SCENES)}")
        if self.size % 2:
            raise ConfigError(f"world {self.name!r}: size must be even (yuv420p)")

    @property
    def base(self) -> tuple[str, ...]:
        return tuple(a for a in self.actions if a not in self.novel)

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def default_specs(correlation: float = CORRELATION, target_correlation: float = TARGET_CORRELATION) -> tuple[WorldSpec, ...]:
    """Three source worlds (overlapping action subsets, own styles), the target and its two out-of-context twins."""
    seen = [a for a in ACTIONS if a not in TARGET_NOVEL]  # 24 actions the sources share out
    half = lambda acts: tuple(acts[len(acts) // 2:])  # noqa: E731 (a source's own base/novel split)
    a, b, c = tuple(seen[0:12]), tuple(seen[6:18]), tuple(seen[12:24])
    target = tuple(x for x in ACTIONS if x in TARGET_NOVEL + TARGET_BASE)
    decorrelated = {"decorrelated_per_class": 2 * len(SCENES)}
    target_spec = WorldSpec("target", target, TARGET_NOVEL, "forest", 16, 16, target_correlation)
    return (
        WorldSpec("source_a", a, half(a), "daylight", 40, 10, correlation, **decorrelated),
        WorldSpec("source_b", b, half(b), "dusk", 40, 10, correlation, **decorrelated),
        WorldSpec("source_c", c, half(c), "pastel", 40, 10, correlation, **decorrelated),
        target_spec, *_ooc_specs(target_spec),
    )


def _ooc_specs(target: WorldSpec) -> tuple[WorldSpec, ...]:
    """``ooc_neutral`` and ``ooc_swapped``: the target's validation videos on held-out / other actions' scenes."""
    return tuple(replace(target, name=f"ooc_{mode}", train_per_class=0, out_of_context_of=target.name, ooc_scenes=mode)
                 for mode in ("neutral", "swapped"))


def tiny_specs(correlation: float = CORRELATION, target_correlation: float = TARGET_CORRELATION) -> tuple[WorldSpec, ...]:
    """A miniature of the default worlds (same roles, 4 actions each, 32 px, 8 frames): for tests and demos."""
    a = ("moving left", "moving right", "moving up", "growing")
    b = ("moving up", "growing", "spinning clockwise", "blinking")
    target = ("moving left", "spinning clockwise") + TARGET_NOVEL[:2]
    kw = {"size": 32, "frames": 8}
    target_spec = WorldSpec("target", target, TARGET_NOVEL[:2], "forest", 2, 2, target_correlation, **kw)
    return (
        WorldSpec("source_a", a, a[2:], "daylight", 3, 2, correlation, decorrelated_per_class=len(SCENES), **kw),
        WorldSpec("source_b", b, b[2:], "dusk", 3, 2, correlation, decorrelated_per_class=len(SCENES), **kw),
        target_spec, *_ooc_specs(target_spec),
    )


@dataclass(frozen=True)
class VideoRow:
    split: str
    index: int
    label: int
    spec: VideoSpec
    key: tuple[int, ...]  # seeds the video's own generator

    @property
    def path(self) -> str:
        return f"videos/{self.split}/{self.index:05d}.mp4"


def _other_scene(rng: np.random.Generator, action: str) -> str:
    others = [s for s in SCENES if s != PREFERRED_SCENE[action]]
    return others[int(rng.integers(len(others)))]


def plan_world(spec: WorldSpec, seed: int, specs: dict[str, WorldSpec] | None = None) -> list[VideoRow]:
    """Every video of a world with its content and generator key; deterministic in (spec, seed)."""
    if spec.out_of_context_of:
        if not specs or spec.out_of_context_of not in specs:
            raise ConfigError(f"world {spec.name!r}: out_of_context_of {spec.out_of_context_of!r} is not a known world")
        rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode()), 0])
        source = [r for r in plan_world(specs[spec.out_of_context_of], seed, specs) if r.split == "val"]
        scene = (lambda a: NEUTRAL_SCENES[int(rng.integers(len(NEUTRAL_SCENES)))]) if spec.ooc_scenes == "neutral" \
            else (lambda a: _other_scene(rng, a))
        return [VideoRow(r.split, r.index, r.label, VideoSpec(r.spec.action, scene(r.spec.action), r.spec.shape,
                                                              r.spec.colour, spec.style), r.key) for r in source]
    world_key = zlib.crc32(spec.name.encode())
    rng = np.random.default_rng([seed, world_key, 0])
    shapes, colours = list(SHAPES), list(COLOURS)
    rows = []
    per_split = (("train", spec.train_per_class), ("val", spec.val_per_class), ("decorrelated_val", spec.decorrelated_per_class))
    for split_code, (split, per_class) in enumerate(per_split, 1):
        index = 0
        for r in range(per_class):
            for label, action in enumerate(spec.actions):
                if split == "decorrelated_val":  # action i cycles through the scenes from scene i
                    scene = SCENES[(r + label) % len(SCENES)]
                else:
                    scene = PREFERRED_SCENE[action] if rng.random() < spec.correlation else _other_scene(rng, action)
                video = VideoSpec(action, scene, shapes[int(rng.integers(len(shapes)))], colours[int(rng.integers(len(colours)))], spec.style)
                rows.append(VideoRow(split, index, label, video, (seed, world_key, split_code, index)))
                index += 1
    return rows


def render_row(row: VideoRow, spec: WorldSpec) -> np.ndarray:
    return render_video(row.spec, np.random.default_rng(list(row.key)), size=spec.size, frames=spec.frames)


def _write_rows(folder: str, spec: WorldSpec, rows: list[VideoRow]) -> int:
    for row in rows:
        write_video(Path(folder) / row.path, render_row(row, spec), fps=spec.fps)
    return len(rows)


def _lines(rows, labels: dict[str, int]) -> str:
    return "".join(f"{r.path} {labels[r.spec.action]}\n" for r in rows if r.spec.action in labels)


def _names(actions) -> dict:
    return {str(i): a for i, a in enumerate(actions)}


def _write_lists(folder: Path, spec: WorldSpec, rows: list[VideoRow]) -> dict[str, int]:
    """List files + class-name files; base and novel labels are re-indexed from 0 (as ViFi-CLIP does)."""
    all_ids = {a: i for i, a in enumerate(spec.actions)}
    base_ids = {a: i for i, a in enumerate(spec.base)}
    novel_ids = {a: i for i, a in enumerate(spec.novel)}
    by_split = {s: [r for r in rows if r.split == s] for s in SPLITS}
    files = {
        "train": _lines(by_split["train"], all_ids), "val": _lines(by_split["val"], all_ids),
        "decorrelated_val": _lines(by_split["decorrelated_val"], all_ids),
        "base_train": _lines(by_split["train"], base_ids), "base_val": _lines(by_split["val"], base_ids),
        "novel_val": _lines(by_split["val"], novel_ids),
    }
    counts = {}
    for split, text in files.items():
        if text:
            (folder / SPLIT_FILES[split][0]).write_text(text, encoding="utf-8")
            counts[split] = text.count("\n")
    for name, actions in (("classnames.json", spec.actions), ("base_classnames.json", spec.base), ("novel_classnames.json", spec.novel)):
        (folder / name).write_text(json.dumps(_names(actions), indent=1) + "\n", encoding="utf-8")
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["path", "split", "label", "action", "scene", "preferred_scene", "shape", "colour", "style"])
    for r in rows:
        out.writerow([r.path, r.split, r.label, r.spec.action, r.spec.scene, PREFERRED_SCENE[r.spec.action], r.spec.shape, r.spec.colour, r.spec.style])
    (folder / "videos.csv").write_text(buf.getvalue(), encoding="utf-8")
    return counts


@dataclass(frozen=True)
class World:
    """One generated world: a folder with videos, list files and class-name files."""

    name: str
    folder: Path
    spec: WorldSpec
    counts: dict = field(default_factory=dict)  # videos per split file

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in SPLIT_FILES if (self.folder / SPLIT_FILES[s][0]).is_file())

    def list_file(self, split: str = "val") -> Path:
        if split not in self.splits:
            raise ConfigError(f"world {self.name!r} has no split {split!r} (has: {', '.join(self.splits)})")
        return self.folder / SPLIT_FILES[split][0]

    def classnames_file(self, split: str = "val") -> Path:
        """The class-name file that goes with a split's list file."""
        if split not in SPLIT_FILES:
            raise ConfigError(f"unknown split {split!r} (known: {', '.join(SPLIT_FILES)})")
        return self.folder / SPLIT_FILES[split][1]

    def classnames(self, split: str = "val") -> list[str]:
        return {"base_train": list(self.spec.base), "base_val": list(self.spec.base), "novel_val": list(self.spec.novel)}.get(split, list(self.spec.actions))


@dataclass(frozen=True)
class Worlds(Mapping):
    """The generated worlds by name, plus which are sources, the target and the out-of-context targets."""

    root: Path
    seed: int
    worlds: dict[str, World]
    sources: tuple[str, ...] = ("source_a", "source_b", "source_c")
    target: str = "target"
    ooc: tuple[str, ...] = ("ooc_neutral", "ooc_swapped")

    def __getitem__(self, name: str) -> World:
        if name not in self.worlds:
            raise ConfigError(f"no world named {name!r} (known: {', '.join(self.worlds)})")
        return self.worlds[name]

    def __contains__(self, name: object) -> bool:  # Mapping's default relies on KeyError
        return name in self.worlds

    def resolve(self, ref: str | BuiltinRef) -> Path:
        """``builtin:WORLD[/SPLIT or /FILE]`` (or the same without ``builtin:``) -> its path in these worlds:
        the world's folder, the split's list file, or the file."""
        ref = world_ref(ref)
        world = self[ref.name]
        if ref.part in SPLIT_FILES:
            return world.list_file(ref.part)
        folder = Path(world.folder)
        return folder / ref.part if ref.part else folder

    def __iter__(self) -> Iterator[str]:
        return iter(self.worlds)

    def __len__(self) -> int:
        return len(self.worlds)


@contextlib.contextmanager
def cache_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder/.lock``: concurrent callers (e.g. DDP ranks) build a cache entry once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: no cross-process lock
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _world_doc(spec: WorldSpec, seed: int, specs: dict[str, WorldSpec]) -> dict:
    doc = {"generator_version": GENERATOR_VERSION, "seed": seed, "spec": spec.to_json()}
    if spec.out_of_context_of:  # its videos are the other world's: a change there is a change here
        doc["out_of_context_of"] = specs[spec.out_of_context_of].to_json()
    return doc


def _is_current(folder: Path, spec: WorldSpec, seed: int, specs: dict[str, WorldSpec]) -> dict | None:
    try:
        doc = json.loads((folder / "world.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    want = _world_doc(spec, seed, specs)
    return doc if all(doc.get(k) == v for k, v in want.items()) else None


def generate_world(folder: Path, spec: WorldSpec, seed: int, specs: dict[str, WorldSpec], *, workers: int = 1,
                   overwrite: bool = True, on_progress=None) -> dict:
    """Render + encode every video of one world into ``folder`` (atomically); returns the world.json document."""
    rows = plan_world(spec, seed, specs)
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        for split in SPLITS:
            (tmp / "videos" / split).mkdir(parents=True)
        chunks = [rows[i : i + 48] for i in range(0, len(rows), 48)]
        if workers > 1 and len(chunks) > 1:
            ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = [pool.submit(_write_rows, str(tmp), spec, chunk) for chunk in chunks]
                for fut in as_completed(futures):
                    n = fut.result()
                    if on_progress:
                        on_progress(n)
        else:
            for chunk in chunks:
                n = _write_rows(str(tmp), spec, chunk)
                if on_progress:
                    on_progress(n)
        counts = _write_lists(tmp, spec, rows)
        doc = {**_world_doc(spec, seed, specs), "counts": counts,
               "scenes": dict(Counter(r.spec.scene for r in rows)), "classes": len(spec.actions)}
        (tmp / "world.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def worlds_folder_name(seed: int, specs: tuple[WorldSpec, ...]) -> str:
    """``seed-<seed>`` for the default worlds; other specs get their own ``seed-<seed>-<hash>`` folder, so a
    custom build (e.g. another correlation) never replaces the worlds that ``builtin:`` references mean."""
    if specs == tuple(default_specs()):
        return f"seed-{seed}"
    digest = hashlib.sha256(json.dumps([s.to_json() for s in specs]).encode()).hexdigest()[:8]
    return f"seed-{seed}-{digest}"


def _generate(root: Path, todo: list[WorldSpec], seed: int, by_name: dict, workers: int, progress: bool, docs: dict) -> None:
    if not todo:
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from weightspace.progress import progress_bar

    total = sum(len(plan_world(s, seed, by_name)) for s in todo)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with progress_bar(*columns, enabled=progress) as bar:
        task = bar.add_task("generating worlds", total=total)
        for s in todo:
            bar.update(task, description=f"world {s.name}")
            docs[s.name] = generate_world(root / s.name, s, seed, by_name, workers=workers,
                                          on_progress=lambda n: bar.advance(task, n))


def ensure_worlds(cache_root: str | os.PathLike | None = None, seed: int = 0, *, specs: tuple[WorldSpec, ...] | None = None,
                  force: bool = False, workers: int | None = None, progress: bool = True) -> Worlds:
    """Generate (or reuse) the worlds under ``<cache root>/worlds/<worlds_folder_name(seed, specs)>/``; a world is
    regenerated only when its spec, the seed or the generator version changed (or with ``force``)."""
    specs = tuple(specs or default_specs())
    by_name = {s.name: s for s in specs}
    root = resolve_cache_root(cache_root) / "worlds" / worlds_folder_name(seed, specs)
    workers = workers or min(2, os.cpu_count() or 1)
    docs: dict[str, dict] = {}
    if force or any(_is_current(root / s.name, s, seed, by_name) is None for s in specs):
        with cache_lock(root):
            todo = [s for s in specs if force or _is_current(root / s.name, s, seed, by_name) is None]  # again, under the lock
            _generate(root, todo, seed, by_name, workers, progress, docs)
    worlds = {}
    for s in specs:
        doc = docs.get(s.name) or _is_current(root / s.name, s, seed, by_name)
        worlds[s.name] = World(s.name, root / s.name, s, dict(doc.get("counts", {})))
    names = tuple(worlds)
    return Worlds(root, seed, worlds,
                  sources=tuple(n for n in names if n.startswith("source")),
                  target="target" if "target" in worlds else names[-1],
                  ooc=tuple(s.name for s in specs if s.out_of_context_of))
