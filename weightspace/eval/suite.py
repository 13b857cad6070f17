"""Evaluation suites: a YAML file naming benchmarks, their protocol and split files.

Schema (paths are relative to the suite file; ``${VAR}`` / ``${VAR:-default}`` expand from the
environment; ``builtin:WORLD/FILE`` points into the built-in world, see ``weightspace.data.synthetic``)::

    name: demo                       # suite name (results are keyed by name + content hash)
    model:                           # defaults for every benchmark
      temporal: vclip                # used when a checkpoint's weightspace.json does not say
      templates: kinetics            # prompt set name (weightspace.models.prompts) or a list
      num_frames: 8
      views: {temporal: 3, crops: 1} # multi-view test: logits summed over temporal × crops
      aggregate: sum                 # or softmax-mean (MoTE)
      tfm: false                     # MoTE's temporal feature modulation (models with a MoTE head only)
      batch_size: 16
    video_cache: disk                # decoded test clips: disk | memory | off (huge benchmarks)
    heldout: target                  # benchmark greedy soup and sweeps optimise (default: first)
    benchmarks:
      - {name: b2n, protocol: base-to-novel,
         base: {list: base.txt, classnames: base.json}, novel: {list: novel.txt, classnames: novel.json}}
      - {name: ucf, protocol: cross-dataset, root: ${DATA_ROOT}/ucf101/videos,
         splits: [{list: split1.csv, classnames: ucf.json}, ...]}
      - {name: scuba, protocol: out-of-context, in_context: {...}, out_of_context: {...}}
      - {name: k400, protocol: closed-set, list: val.csv, classnames: k400.json,
         protocol_options: {topk: [1, 5]}}  # the protocol's options (weightspace.eval.protocols)

Every split entry is ``{list, classnames, [root], [name], [options]}`` (``options`` are passed to
``VideoDataset``). A benchmark may override any ``model`` default.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from weightspace.data.synthetic import BUILTIN
from weightspace.errors import ConfigError
from weightspace.eval.ensemble import AGGREGATIONS
from weightspace.eval.protocols import get_protocol
from weightspace.yaml_file import read_yaml_mapping

VIDEO_CACHE_MODES = ("disk", "memory", "off")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SUITE_KEYS = {"name", "description", "model", "video_cache", "heldout", "benchmarks"}
_MODEL_KEYS = {"temporal", "templates", "num_frames", "views", "aggregate", "batch_size", "tfm"}
_SPLIT_KEYS = {"name", "list", "classnames", "root", "options"}
_BENCH_KEYS = {"name", "protocol", "protocol_options", "root", "splits", "base", "novel", "in_context", "out_of_context",
               "list", "classnames", "options"} | (_MODEL_KEYS - {"temporal", "tfm"})  # one model per checkpoint


def expand_vars(text: str) -> str:
    """``${VAR}`` / ``${VAR:-default}`` from the environment; unset variables without a default stay as written."""
    def sub(m: re.Match) -> str:
        value = os.environ.get(m.group(1))
        if value:
            return value
        return m.group(2) if m.group(2) is not None else m.group(0)
    return _VAR.sub(sub, text)


@dataclass(frozen=True)
class ModelDefaults:
    temporal: str | None = None
    templates: str | tuple[str, ...] = "kinetics"
    num_frames: int = 8
    temporal_views: int = 1
    spatial_crops: int = 1
    aggregate: str = "sum"
    batch_size: int = 16
    tfm: bool = False

    @property
    def views(self) -> int:
        return self.temporal_views * self.spatial_crops


@dataclass(frozen=True)
class SplitSpec:
    """One evaluated split: a list file, its class names, optional root and dataset options."""

    benchmark: str
    name: str
    list: str
    classnames: str
    root: str | None = None
    options: tuple[tuple[str, object], ...] = ()
    where: str = ""

    def paths(self) -> tuple[Path, Path, Path | None]:
        """Resolve to real paths (``builtin:`` through the built-in world, env vars must be set)."""
        return (resolve_path(self.list, f"{self.where}.list"), resolve_path(self.classnames, f"{self.where}.classnames"),
                resolve_path(self.root, f"{self.where}.root") if self.root else None)


@dataclass(frozen=True)
class Benchmark:
    name: str
    protocol: str
    splits: tuple[SplitSpec, ...]
    model: ModelDefaults
    protocol_options: dict = field(default_factory=dict)  # the protocol's Params, resolved


@dataclass
class Suite:
    name: str
    path: Path | None
    benchmarks: list[Benchmark]
    model: ModelDefaults = field(default_factory=ModelDefaults)
    video_cache: str = "disk"
    heldout: str | None = None
    description: str = ""
    _hash: str | None = field(default=None, repr=False)

    def benchmark(self, name: str) -> Benchmark:
        for b in self.benchmarks:
            if b.name == name:
                return b
        raise ConfigError(f"suite {self.name}: no benchmark {name!r} (have {', '.join(b.name for b in self.benchmarks)})")

    @property
    def heldout_benchmark(self) -> Benchmark:
        return self.benchmark(self.heldout) if self.heldout else self.benchmarks[0]

    def validate(self, check_files: bool = True) -> "Suite":
        """Schema is checked at load; with ``check_files`` every list/class-name file must exist."""
        if check_files:
            for b in self.benchmarks:
                for s in b.splits:
                    lst, names, root = s.paths()
                    for p, key in ((lst, "list"), (names, "classnames")):
                        if not p.is_file():
                            raise ConfigError(f"{s.where}.{key}: {p} does not exist")
                    if root is not None and not root.is_dir():
                        raise ConfigError(f"{s.where}.root: {root} is not a folder")
        return self

    def content_hash(self) -> str:
        """sha256 over the parsed suite and the bytes of every list/class-name file (results key)."""
        if self._hash is None:
            h = hashlib.sha256()
            for b in self.benchmarks:
                model = {k: v for k, v in b.model.__dict__.items() if k != "tfm" or v}  # old suites keep their hash
                options = b.protocol_options if b.protocol_options != get_protocol(b.protocol).options() else None
                h.update(json.dumps([b.name, b.protocol, model] + ([options] if options else []), sort_keys=True,
                                    default=list).encode())
                for s in b.splits:
                    lst, names, _ = s.paths()
                    h.update(json.dumps([s.name, s.root, s.options], default=list).encode())
                    for p in (lst, names):
                        h.update(hashlib.sha256(p.read_bytes()).digest())
            self._hash = h.hexdigest()
        return self._hash

    def with_tfm(self) -> "Suite":
        """This suite with temporal feature modulation on (``weightspace eval --tfm``)."""
        return replace(self, model=replace(self.model, tfm=True), _hash=None,
                       benchmarks=[replace(b, model=replace(b.model, tfm=True)) for b in self.benchmarks])

    def with_benchmarks(self, names: list[str]) -> "Suite":
        """A sub-suite (e.g. only the held-out benchmark for greedy soup)."""
        return replace(self, benchmarks=[self.benchmark(n) for n in names], _hash=None)


def resolve_path(value: str, where: str) -> Path:
    if value.startswith(BUILTIN):
        from weightspace.data.synthetic import ensure_worlds  # the built-in world is generated on demand (cached)

        try:
            return ensure_worlds().resolve(value)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    m = _VAR.search(value)
    if m:
        raise ConfigError(f"{where}: environment variable {m.group(1)} is not set ({value})")
    return Path(value)


def _path(value, base: Path, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a path string")
    value = expand_vars(value)
    if value.startswith(BUILTIN) or _VAR.search(value) or os.path.isabs(value):
        return value
    return str(base / value)


def _positive_int(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _model_defaults(cfg: dict, parent: ModelDefaults, where: str) -> ModelDefaults:
    out = parent
    if "temporal" in cfg:
        out = replace(out, temporal=None if cfg["temporal"] is None else str(cfg["temporal"]))
    if "templates" in cfg:
        t = cfg["templates"]
        if isinstance(t, list) and t and all(isinstance(x, str) for x in t):
            t = tuple(t)
        elif not isinstance(t, str):
            raise ConfigError(f"{where}.templates: expected a template-set name or a list of strings")
        out = replace(out, templates=t)
    if "num_frames" in cfg:
        out = replace(out, num_frames=_positive_int(cfg["num_frames"], f"{where}.num_frames"))
    if "batch_size" in cfg:
        out = replace(out, batch_size=_positive_int(cfg["batch_size"], f"{where}.batch_size"))
    if "views" in cfg:
        v = cfg["views"]
        if not isinstance(v, dict) or set(v) - {"temporal", "crops"}:
            raise ConfigError(f"{where}.views: expected {{temporal: N, crops: M}}")
        out = replace(out, temporal_views=_positive_int(v.get("temporal", 1), f"{where}.views.temporal"),
                      spatial_crops=_positive_int(v.get("crops", 1), f"{where}.views.crops"))
    if "tfm" in cfg:
        if not isinstance(cfg["tfm"], bool):
            raise ConfigError(f"{where}.tfm: expected true or false, got {cfg['tfm']!r}")
        out = replace(out, tfm=cfg["tfm"])
    if "aggregate" in cfg:
        if cfg["aggregate"] not in AGGREGATIONS:
            raise ConfigError(f"{where}.aggregate: expected one of {', '.join(AGGREGATIONS)}")
        out = replace(out, aggregate=cfg["aggregate"])
    return out


def _split(bench: str, name: str, cfg: dict, base: Path, root: str | None, where: str) -> SplitSpec:
    unknown = set(cfg) - _SPLIT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("list", "classnames"):
        if key not in cfg:
            raise ConfigError(f"{where}: missing '{key}'")
    options = cfg.get("options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{where}.options: expected a mapping")
    split_root = _path(cfg["root"], base, f"{where}.root") if cfg.get("root") else root
    return SplitSpec(bench, name, _path(cfg["list"], base, f"{where}.list"),
                     _path(cfg["classnames"], base, f"{where}.classnames"), split_root,
                     tuple(sorted(options.items())), where)


def parse_suite(doc: dict, base: Path, source: str) -> Suite:
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    unknown = set(doc) - _SUITE_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{source}: missing 'name'")
    model_cfg = doc.get("model") or {}
    if not isinstance(model_cfg, dict) or set(model_cfg) - _MODEL_KEYS:
        raise ConfigError(f"{source}: model: expected keys among {', '.join(sorted(_MODEL_KEYS))}")
    model = _model_defaults(model_cfg, ModelDefaults(), f"{source}: model")
    video_cache = doc.get("video_cache", "disk")
    video_cache = "off" if video_cache is False else video_cache  # YAML 1.1 reads a bare `off` as false
    if video_cache not in VIDEO_CACHE_MODES:
        raise ConfigError(f"{source}: video_cache: expected one of {', '.join(VIDEO_CACHE_MODES)}")
    benches = doc.get("benchmarks")
    if not isinstance(benches, list) or not benches:
        raise ConfigError(f"{source}: needs a non-empty 'benchmarks' list")
    out: list[Benchmark] = []
    for i, b in enumerate(benches):
        where = f"{source}: benchmarks[{i}]"
        if not isinstance(b, dict):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = set(b) - _BENCH_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        bname = b.get("name")
        if not isinstance(bname, str) or not bname or "/" in bname:
            raise ConfigError(f"{where}: missing 'name' (a string without '/')")
        if bname in {x.name for x in out}:
            raise ConfigError(f"{where}: duplicate benchmark name {bname!r}")
        where = f"{source}: benchmarks[{bname}]"
        proto = get_protocol(str(b.get("protocol")), f"{where}.protocol")
        root = _path(b["root"], base, f"{where}.root") if b.get("root") else None
        splits = tuple(_split(bname, sname, scfg, base, root, f"{where}.{sname}")
                       for sname, scfg in proto.splits(b, where))
        options = proto.options(b.get("protocol_options"), f"{where}.protocol_options")
        out.append(Benchmark(bname, proto.name, splits, _model_defaults(b, model, where), options))
    suite = Suite(str(name), None, out, model, video_cache, doc.get("heldout"), str(doc.get("description", "")))
    if suite.heldout is not None:
        suite.benchmark(str(suite.heldout))
    return suite


def load_suite(path: str | os.PathLike) -> Suite:
    """Read and schema-check a suite file (files are checked by ``validate()``)."""
    path = Path(path)
    suite = parse_suite(read_yaml_mapping(path, "suite"), path.resolve().parent, str(path))
    suite.path = path
    return suite


def find_suite(ref: str | os.PathLike) -> Path:
    """A suite file path, or a bare name looked up in ``recipes/suites/`` (``demo`` -> demo.yaml)."""
    p = Path(ref)
    if p.is_file():
        return p
    from weightspace.resources import SUITES, shipped

    cand = shipped(*SUITES) / f"{ref}.yaml"
    if not p.suffix and cand.is_file():
        return cand
    raise ConfigError(f"suite {ref}: no such file (nor recipes/suites/{ref}.yaml)")
