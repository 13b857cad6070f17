"""Evaluation suites: a YAML file naming benchmarks, their protocol and split files.

Schema (paths are relative to the suite file; ``${VAR}`` / ``${VAR:-default}`` expand from the
environment; ``builtin:WORLD/FILE`` points into the built-in world, see ``weightspace.refs``)::

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
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from weightspace.errors import ConfigError
from weightspace.eval.ensemble import AGGREGATIONS
from weightspace.eval.protocols import get_protocol
from weightspace.refs import PathRef, parse_ref, resolve
from weightspace.schema import FieldError, Schema, ref_value, validate
from weightspace.yaml_file import read_yaml_mapping

VIDEO_CACHE_MODES = ("disk", "memory", "off")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
    ref = parse_ref(value, where)
    m = _VAR.search(value)
    if m and isinstance(ref, PathRef):
        raise ConfigError(f"{where}: environment variable {m.group(1)} is not set ({value})")
    return resolve(ref, where)  # builtin: is generated on demand (cached)


def _path(value: str, info: ValidationInfo) -> str:
    """A suite path: variables expanded, relative to the suite file unless ``builtin:``, absolute or unset."""
    if not value:
        raise ValueError("expected a path string")
    value = expand_vars(value)
    ref = ref_value(value)
    if not isinstance(ref, PathRef) or _VAR.search(value) or os.path.isabs(ref.path):
        return value
    return str(info.context["base"] / ref.path)


SuitePath = Annotated[str, AfterValidator(_path)]
Root = Annotated[SuitePath | None, BeforeValidator(lambda value: value or None)]  # "" or null: no root


class SplitDoc(Schema):
    """One split entry: ``{list, classnames, [root], [name], [options]}`` (``options`` go to ``VideoDataset``)."""

    name: str | None = None
    list_file: SuitePath = Field(alias="list")
    classnames: SuitePath
    root: Root = None
    options: dict = Field(default_factory=dict)


class Views(Schema):
    """Multi-view test: logits summed over ``temporal`` clips × ``crops`` spatial crops."""

    temporal: int = Field(1, ge=1)
    crops: int = Field(1, ge=1)


class ModelOverrides(Schema):
    """The model keys a benchmark may override; only keys given override (``ModelDefaults`` holds the defaults)."""

    templates: str | Annotated[list[str], Field(min_length=1)] = ModelDefaults.templates
    num_frames: int = Field(ModelDefaults.num_frames, ge=1)
    views: Views = Field(default_factory=Views)
    aggregate: Literal[AGGREGATIONS] = ModelDefaults.aggregate
    batch_size: int = Field(ModelDefaults.batch_size, ge=1)

    def over(self, parent: ModelDefaults) -> ModelDefaults:
        """``parent`` with the keys given here."""
        given = {k: getattr(self, k) for k in self.model_fields_set & SuiteModel.model_fields.keys()}
        if "views" in given:
            views = given.pop("views")
            given |= {"temporal_views": views.temporal, "spatial_crops": views.crops}
        if isinstance(given.get("templates"), list):
            given["templates"] = tuple(given["templates"])
        return replace(parent, **given)


class SuiteModel(ModelOverrides):
    """The suite's ``model`` section: defaults for every benchmark (one temporal module per checkpoint)."""

    temporal: str | None = ModelDefaults.temporal
    tfm: bool = ModelDefaults.tfm


class BenchmarkDoc(ModelOverrides):
    """A benchmark: its protocol picks its splits among ``splits``, ``base``/``novel``, ``in_context``/
    ``out_of_context`` or its own ``list``/``classnames``."""

    name: str
    protocol: str
    root: Root = None
    splits: list[SplitDoc] | None = None
    base: SplitDoc | None = None
    novel: SplitDoc | None = None
    in_context: SplitDoc | None = None
    out_of_context: SplitDoc | None = None
    list_file: SuitePath | None = Field(None, alias="list")
    classnames: SuitePath | None = None
    options: dict | None = None
    protocol_options: dict | None = None  # checked by the protocol (its Params)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value or "/" in value:
            raise ValueError(f"expected a name without '/', got {value!r}")
        return value


# YAML 1.1 reads a bare `off` as false
VideoCache = Annotated[Literal[VIDEO_CACHE_MODES], BeforeValidator(lambda v: "off" if v is False else v)]


class SuiteDoc(Schema):
    """A suite file (the schema in the module docstring)."""

    name: str = Field(min_length=1)
    description: str = ""
    model: SuiteModel = Field(default_factory=SuiteModel)
    video_cache: VideoCache = "disk"
    heldout: str | None = None  # the benchmark greedy soup and sweeps optimise (default: the first)
    benchmarks: list[BenchmarkDoc] = Field(min_length=1)

    @model_validator(mode="after")
    def _benchmark_names(self) -> "SuiteDoc":
        names = [b.name for b in self.benchmarks]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldError(f"benchmarks.{i}.name", f"duplicate benchmark name {name!r}")
        if self.heldout is not None and self.heldout not in names:
            raise FieldError("heldout", f"no benchmark {self.heldout!r} (have {', '.join(names)})")
        return self


def _benchmark(bench: BenchmarkDoc, index: int, model: ModelDefaults, source: str) -> Benchmark:
    """A checked benchmark entry with its splits, as its protocol names them."""
    proto = get_protocol(bench.protocol, f"{source}: key 'benchmarks.{index}.protocol'")
    entries = proto.splits(bench.model_dump(by_alias=True, exclude_unset=True), f"{source}: key 'benchmarks.{index}'")
    splits = tuple(SplitSpec(bench.name, name, split["list"], split["classnames"], split.get("root") or bench.root,
                             tuple(sorted((split.get("options") or {}).items())),
                             f"{source}: benchmarks[{bench.name}].{name}")
                   for name, split in entries)
    options = proto.options(bench.protocol_options, key=f"benchmarks.{index}.protocol_options", source=source)
    return Benchmark(bench.name, proto.name, splits, bench.over(model), options)


def parse_suite(doc: dict, base: Path, source: str) -> Suite:
    """A ``Suite`` from a suite mapping; relative paths start at ``base`` (the suite file's folder)."""
    suite = validate(SuiteDoc, doc, source=source, context={"base": base})
    model = suite.model.over(ModelDefaults())
    benchmarks = [_benchmark(b, i, model, source) for i, b in enumerate(suite.benchmarks)]
    return Suite(suite.name, None, benchmarks, model, suite.video_cache, suite.heldout, suite.description)


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
