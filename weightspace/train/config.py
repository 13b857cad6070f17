"""Training recipes: typed dataclasses, YAML loading, ``--set a.b=v`` overrides, validation.

A recipe is a YAML mapping whose keys mirror ``TrainConfig`` (see ``recipes/demo/*.yaml``). Rules:

- unknown keys (in the file or from ``--set``) are refused with one line naming the dotted key;
- input paths (``model.init`` when it is a path, ``data.train``, ``data.classnames``, ``data.root``)
  are relative to the recipe file; ``output`` is relative to the current directory;
- ``builtin:NAME`` references (the built-in world's tiny CLIP and worlds) and ``hf-hub:`` references
  are kept as given and resolved when training starts, so ``--dry-run`` needs no data;
- ``batch_size`` is the *global* batch (divided over DDP processes, as in the SlowFast recipes).

Validation of strategy and regulariser parameters is delegated to their registries.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weightspace.errors import ConfigError
from weightspace.options import FLOAT32_MAX, shorten
from weightspace.refs import BUILTIN, parse_ref
from weightspace.yaml_file import read_yaml_mapping

AMP_MODES = ("none", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
NAMED_KEYS = ("strategy", "regularisers")  # registry entries: a name, or a mapping with name + parameters


@dataclass
class ModelConfig:
    init: str = "builtin:tiny-clip"  # checkpoint ref, open_clip name (+ pretrained) or builtin:tiny-clip
    pretrained: str | None = None  # open_clip tag or weights file when ``init`` is an architecture name
    model_name: str | None = None  # architecture for bare weight files without open_clip_config.json
    temporal: str | dict = "vclip"  # a temporal module's name, or {name, **options} (weightspace.models.temporal)
    freeze_text: bool = True
    train_logit_scale: bool = True
    templates: str | list[str] = "single"  # prompt templates for training class features


@dataclass
class DataConfig:
    train: str = "builtin:source_a"  # list file, or builtin:WORLD (the built-in world's train list)
    classnames: str | None = None  # JSON/CSV; required unless ``train`` is builtin:
    root: str | None = None  # prefix for the list's relative video paths
    num_frames: int = 8
    image_size: int | None = None  # None: the model's input size
    workers: int = 0
    max_unreadable: float = 0.05  # refuse the data when more than this fraction of videos cannot be decoded
    sampler: str = "tsn"  # "tsn": num_frames segments over the video; "window": num_frames frames `stride` apart
    stride: int = 16  # window sampler only (SlowFast SAMPLING_RATE)
    short_side: list[int] | None = None  # [lo, hi]: jitter the resized short side, then crop randomly (SlowFast [256, 320])
    random_crop: bool = True  # train crops at a random position (else centre)
    flip: bool = False  # random horizontal flip (off for the built-in world: left and right are different actions)
    color_jitter: float = 0.0  # brightness/contrast/saturation factors in [1 - s, 1 + s]
    shuffle: bool = True  # a fresh seeded order each epoch; false: list order (Open-MeDe Tab. 10 batch order)


@dataclass
class OptimConfig:
    lr: float = 1e-4
    final_lr: float | None = None  # cosine end; None -> lr / 100 (Open-VCLIP: 3.33e-6 -> 3.33e-8)
    warmup_start_lr: float | None = None  # None -> final_lr
    warmup_epochs: float = 1.0
    weight_decay: float = 0.01  # not applied to 1-D parameters (Open-VCLIP script/training/temporal_b16)
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    grad_clip: float | None = 1.0  # global L2 norm; None disables
    head_lr: float | None = None  # the temporal head's peak lr (MoTE: 5e-5, CLIP at lr = 5e-5 × 0.07); None: lr


@dataclass
class NamedSpec:
    """A registry entry with parameters: ``{name: meta, delta: 1.0}`` in YAML, or just ``meta``."""

    name: str
    params: dict = field(default_factory=dict)


@dataclass
class GWAConfig:
    enabled: bool = True
    mu: float = 15.0  # Open-MeDe author's weight_average_tool.py 'gwa' (Mia-YatingYu/MTP)
    sigma: float = 10.0
    include_base: bool = False  # also weight the initial weights as epoch 0 (the "gwa_0_22" reading)
    first_epoch: int = 1  # average epochs first_epoch..epochs (the author's tool: 2..22)


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    strategy: NamedSpec = field(default_factory=lambda: NamedSpec("plain"))
    regularisers: list[NamedSpec] = field(default_factory=list)
    gwa: GWAConfig = field(default_factory=GWAConfig)
    epochs: int = 2
    batch_size: int = 8  # global, over all processes
    seed: int = 0
    output: str = "runs/train"
    device: str = "auto"
    amp: str = "none"
    state_every: int = 20  # also save the resume state every N optimiser steps inside an epoch (0: epoch ends only)
    log_every: int = 1
    deterministic: bool = False  # torch.use_deterministic_algorithms: for bit-exact CUDA runs (CPU kernels already are; costs ~4 s import)
    source: str | None = None  # the recipe file (set by the loader; not a recipe key)

    def to_dict(self) -> dict:
        """The resolved recipe as plain data (what provenance records and ``--dry-run`` prints)."""
        out = dataclasses.asdict(self)
        out["strategy"] = {"name": self.strategy.name, **self.strategy.params}
        out["regularisers"] = [{"name": r.name, **r.params} for r in self.regularisers]
        out.pop("source")
        return out


# ---- building dataclasses from plain data, with one-line errors -------------------------------

def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _coerce(value: Any, typ: Any, key: str, source: str | None) -> Any:
    """Check/convert one scalar against its annotation (YAML reads ``1e-4`` as a string)."""
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key, source)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    bad = ConfigError(f"{_where(source)}key {key!r}: expected {getattr(typ, '__name__', typ)}, got {shorten(value)}")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_coerce(v, args[0] if args else Any, f"{key}.{i}", source) for i, v in enumerate(value)]
    if typ is Any:
        return value
    if typ is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if typ is float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise bad from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if not math.isfinite(value) or abs(value) > FLOAT32_MAX:  # tensors are float32: larger values overflow
            raise ConfigError(f"{_where(source)}key {key!r}: must be a finite float32 number, got {shorten(value)}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise bad
        return value
    if typ is dict:
        if not isinstance(value, dict):
            raise bad
        return value
    raise TypeError(f"unsupported annotation {typ!r}")


def _named(value: Any, key: str, source: str | None) -> NamedSpec:
    if isinstance(value, str):
        return NamedSpec(value, {})
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ConfigError(f"{_where(source)}key {key!r}: expected a name or a mapping with 'name'")
    params = {k: v for k, v in value.items() if k != "name"}
    return NamedSpec(value["name"], params)


def _build(cls, data: Any, prefix: str, source: str | None):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{_where(source)}key {prefix.rstrip('.') or '(recipe)'!r}: expected a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "source"]
    for k in data:
        if k not in names:
            raise ConfigError(f"{_where(source)}unknown key {prefix + str(k)!r} (known: {', '.join(names)})")
    kwargs = {}
    for k, v in data.items():
        typ, key = hints[k], prefix + k
        if typ is NamedSpec:
            kwargs[k] = _named(v, key, source)
        elif typ == list[NamedSpec]:
            if v is None:
                v = []
            if not isinstance(v, list):
                raise ConfigError(f"{_where(source)}key {key!r}: expected a list")
            kwargs[k] = [_named(item, f"{key}.{i}", source) for i, item in enumerate(v)]
        elif dataclasses.is_dataclass(typ):
            kwargs[k] = _build(typ, v, key + ".", source)
        else:
            kwargs[k] = _coerce(v, typ, key, source)
    return cls(**kwargs)


def apply_overrides(data: dict, overrides: dict | None, source: str | None = None) -> dict:
    """Set ``{"a.b": v}`` into a nested recipe dict; integer parts index lists (``regularisers.0.weight``)."""
    data = copy.deepcopy(data)
    for dotted, value in (overrides or {}).items():
        parts = dotted.split(".")
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"{_where(source)}--set {dotted}: no list item {part!r}")
                idx: Any = int(part)
            elif isinstance(node, dict):
                idx = part
            else:
                raise ConfigError(f"{_where(source)}--set {dotted}: {'.'.join(parts[:i])!r} is not a mapping")
            if last:
                node[idx] = value
            else:
                if isinstance(node[idx] if isinstance(node, list) else node.get(idx), str) and parts[0] in NAMED_KEYS:
                    node[idx] = {"name": node[idx]}  # short form (``strategy: meta``) gets parameters
                if isinstance(node, dict) and node.get(idx) is None:
                    node[idx] = {}
                node = node[idx]
    return data


def _resolve_path(value: str | None, base: Path | None) -> str | None:
    if value is None or base is None or parse_ref(value).scheme is not None or Path(value).is_absolute():
        return value
    return str((base / value).resolve())


def _looks_like_path(value: str) -> bool:
    return "/" in value or value.startswith(".") or value.endswith((".safetensors", ".pt", ".pth"))


def validate(cfg: TrainConfig) -> TrainConfig:
    """Range checks and registry checks; fills in strategy/regulariser defaults."""
    from weightspace.data.sampling import SAMPLERS
    from weightspace.train.regularisers import get_regulariser
    from weightspace.train.strategies import get_strategy

    w = _where(cfg.source)
    positive = {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "data.num_frames": cfg.data.num_frames}
    for key, v in positive.items():
        if v < 1:
            raise ConfigError(f"{w}key {key!r}: must be >= 1, got {v}")
    for key, v in {"state_every": cfg.state_every, "data.workers": cfg.data.workers, "log_every": cfg.log_every}.items():
        if v < 0:
            raise ConfigError(f"{w}key {key!r}: must be >= 0, got {v}")
    if cfg.optim.lr <= 0:
        raise ConfigError(f"{w}key 'optim.lr': must be > 0")
    if cfg.optim.head_lr is not None and cfg.optim.head_lr <= 0:
        raise ConfigError(f"{w}key 'optim.head_lr': must be > 0")
    cfg.model.temporal = _temporal_config(cfg.model.temporal, cfg.source)
    if cfg.optim.warmup_epochs < 0 or cfg.optim.warmup_epochs > cfg.epochs:
        raise ConfigError(f"{w}key 'optim.warmup_epochs': must be in [0, epochs={cfg.epochs}]")
    if len(cfg.optim.betas) != 2 or not all(0 <= b < 1 for b in cfg.optim.betas):
        raise ConfigError(f"{w}key 'optim.betas': expected two numbers in [0, 1)")
    if cfg.amp not in AMP_MODES:
        raise ConfigError(f"{w}key 'amp': expected one of {', '.join(AMP_MODES)}, got {cfg.amp!r}")
    if cfg.device not in DEVICES:
        raise ConfigError(f"{w}key 'device': expected one of {', '.join(DEVICES)}, got {cfg.device!r}")
    d = cfg.data
    if d.sampler not in SAMPLERS:
        raise ConfigError(f"{w}key 'data.sampler': expected one of {', '.join(SAMPLERS)}, got {d.sampler!r}")
    if d.stride < 1:
        raise ConfigError(f"{w}key 'data.stride': must be >= 1, got {d.stride}")
    size = d.image_size or 1
    if d.short_side is not None and not (len(d.short_side) == 2 and size <= d.short_side[0] <= d.short_side[1]):
        raise ConfigError(f"{w}key 'data.short_side': expected [lo, hi] with image_size <= lo <= hi, got {d.short_side}")
    if not 0 <= d.color_jitter < 1:
        raise ConfigError(f"{w}key 'data.color_jitter': must be in [0, 1), got {d.color_jitter}")
    if not 0 <= cfg.data.max_unreadable <= 1:
        raise ConfigError(f"{w}key 'data.max_unreadable': must be in [0, 1]")
    if not 1 <= cfg.gwa.first_epoch <= cfg.epochs:
        raise ConfigError(f"{w}key 'gwa.first_epoch': must be in [1, epochs={cfg.epochs}]")
    if cfg.gwa.sigma <= 0:
        raise ConfigError(f"{w}key 'gwa.sigma': must be > 0")
    if parse_ref(cfg.data.train, f"{w}key 'data.train'").scheme != BUILTIN and cfg.data.classnames is None:
        raise ConfigError(f"{w}key 'data.classnames': required when data.train is a list file")
    strategy = _lookup(get_strategy, cfg.strategy.name, "strategy.name", w)
    cfg.strategy.params = strategy.check_params(cfg.strategy.params, "strategy", cfg.source)
    try:
        strategy(cfg.strategy.params).loader_batch_size(cfg.batch_size)
    except ConfigError as exc:
        raise ConfigError(f"{w}{exc}") from None
    seen = set()
    for i, reg in enumerate(cfg.regularisers):
        if reg.name in seen:
            raise ConfigError(f"{w}key 'regularisers.{i}': regulariser {reg.name!r} listed twice")
        seen.add(reg.name)
        reg.params = _lookup(get_regulariser, reg.name, f"regularisers.{i}.name", w).check_params(
            reg.params, f"regularisers.{i}", cfg.source)
    return cfg


def _temporal_config(spec, source: str | None):
    from weightspace.models.temporal import make_temporal

    return make_temporal(spec, source, key="model.temporal").config()  # options checked, defaults filled in


def _lookup(get, name: str, key: str, where: str):
    try:
        return get(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}key {key!r}: {exc}") from None


def build_config(data: dict, *, source: str | None = None, base_dir: Path | None = None) -> TrainConfig:
    """A validated ``TrainConfig`` from a recipe mapping; relative input paths resolved against ``base_dir``."""
    cfg = _build(TrainConfig, data, "", source)
    cfg.source = source
    cfg.data.train = _resolve_path(cfg.data.train, base_dir)
    cfg.data.classnames = _resolve_path(cfg.data.classnames, base_dir)
    cfg.data.root = _resolve_path(cfg.data.root, base_dir)
    if _looks_like_path(cfg.model.init):
        cfg.model.init = _resolve_path(cfg.model.init, base_dir)
    if cfg.model.pretrained and _looks_like_path(cfg.model.pretrained):
        cfg.model.pretrained = _resolve_path(cfg.model.pretrained, base_dir)
    return validate(cfg)


def read_recipe(path: str | Path) -> dict:
    return read_yaml_mapping(path, "training recipe")


def load_config(recipe: "str | Path | dict | TrainConfig", overrides: dict | None = None) -> TrainConfig:
    """A recipe file, a recipe mapping or a config, plus ``--set`` overrides -> validated ``TrainConfig``."""
    if isinstance(recipe, TrainConfig):
        if not overrides:
            return validate(copy.deepcopy(recipe))
        recipe = recipe.to_dict() | {}
    if isinstance(recipe, dict):
        return build_config(apply_overrides(recipe, overrides), base_dir=Path.cwd())
    path = Path(recipe)
    data = apply_overrides(read_recipe(path), overrides, str(path))
    return build_config(data, source=str(path), base_dir=path.resolve().parent)
