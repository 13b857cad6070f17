"""Training recipes: typed configs (pydantic models), YAML loading, ``--set a.b=v`` overrides.

A recipe is a YAML mapping whose keys mirror ``TrainConfig`` (see ``recipes/demo/*.yaml``). Rules:

- unknown keys (in the file or from ``--set``) are refused with one line naming the dotted key;
- input paths (``model.init`` when it is a path, ``data.train``, ``data.classnames``, ``data.root``)
  are relative to the recipe file; ``output`` is relative to the current directory;
- ``builtin:NAME`` references (the built-in world's tiny CLIP and worlds) and ``hf-hub:`` references
  are kept as given and resolved when training starts, so ``--dry-run`` needs no data;
- ``batch_size`` is the *global* batch (divided over DDP processes, as in the SlowFast recipes).

Types, ranges and unknown keys are the models' (``weightspace.schema``); ``--set`` edits the raw mapping
before validation. Validation of strategy and regulariser parameters is delegated to their registries.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from weightspace.errors import ConfigError
from weightspace.refs import BUILTIN
from weightspace.schema import FieldError, Schema, ref_value, validate
from weightspace.yaml_file import read_yaml_mapping

AMP_MODES = ("none", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
NAMED_KEYS = ("strategy", "regularisers")  # registry entries: a name, or a mapping with name + parameters


def _resolve_path(value: str | None, base: Path | None) -> str | None:
    if value is None or base is None or ref_value(value).scheme is not None or Path(value).is_absolute():
        return value
    return str((base / value).resolve())


def _looks_like_path(value: str) -> bool:
    return "/" in value or value.startswith(".") or value.endswith((".safetensors", ".pt", ".pth"))


def _base_dir(info: ValidationInfo) -> Path | None:
    """The folder relative input paths start from (the recipe's), given to ``validate`` as context."""
    return (info.context or {}).get("base_dir")


class ModelConfig(Schema):
    init: str = "builtin:tiny-clip"  # checkpoint ref, open_clip name (+ pretrained) or builtin:tiny-clip
    pretrained: str | None = None  # open_clip tag or weights file when ``init`` is an architecture name
    model_name: str | None = None  # architecture for bare weight files without open_clip_config.json
    temporal: str | dict = "vclip"  # a temporal module's name, or {name, **options} (weightspace.models.temporal)
    freeze_text: bool = True
    train_logit_scale: bool = True
    templates: str | list[str] = "single"  # prompt templates for training class features

    @field_validator("init", "pretrained")
    @classmethod
    def _relative_to_recipe(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve_path(value, _base_dir(info)) if value and _looks_like_path(value) else value


class DataConfig(Schema):
    train: str = "builtin:source_a"  # list file, or builtin:WORLD (the built-in world's train list)
    classnames: str | None = None  # JSON/CSV; required unless ``train`` is builtin:
    root: str | None = None  # prefix for the list's relative video paths
    num_frames: int = Field(8, ge=1)
    image_size: int | None = None  # None: the model's input size
    workers: int = Field(0, ge=0)
    max_unreadable: float = Field(0.05, ge=0, le=1)  # refuse the data when more than this fraction of videos cannot be decoded
    sampler: str = "tsn"  # "tsn": num_frames segments over the video; "window": num_frames frames `stride` apart
    stride: int = Field(16, ge=1)  # window sampler only (SlowFast SAMPLING_RATE)
    short_side: list[int] | None = None  # [lo, hi]: jitter the resized short side, then crop randomly (SlowFast [256, 320])
    random_crop: bool = True  # train crops at a random position (else centre)
    flip: bool = False  # random horizontal flip (off for the built-in world: left and right are different actions)
    color_jitter: float = Field(0.0, ge=0, lt=1)  # brightness/contrast/saturation factors in [1 - s, 1 + s]
    shuffle: bool = True  # a fresh seeded order each epoch; false: list order (Open-MeDe Tab. 10 batch order)

    @field_validator("train", "classnames", "root")
    @classmethod
    def _relative_to_recipe(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve_path(value, _base_dir(info))

    @field_validator("sampler")
    @classmethod
    def _known_sampler(cls, value: str) -> str:
        from weightspace.data.sampling import SAMPLERS

        if value not in SAMPLERS:
            raise ValueError(f"expected one of {', '.join(SAMPLERS)}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _short_side_fits(self) -> "DataConfig":
        size, side = self.image_size or 1, self.short_side
        if side is not None and not (len(side) == 2 and size <= side[0] <= side[1]):
            raise FieldError("short_side", f"expected [lo, hi] with image_size <= lo <= hi, got {side}")
        return self


class OptimConfig(Schema):
    lr: float = Field(1e-4, gt=0)
    final_lr: float | None = None  # cosine end; None -> lr / 100 (Open-VCLIP: 3.33e-6 -> 3.33e-8)
    warmup_start_lr: float | None = None  # None -> final_lr
    warmup_epochs: float = Field(1.0, ge=0)  # at most ``epochs`` (checked by TrainConfig)
    weight_decay: float = 0.01  # not applied to 1-D parameters (Open-VCLIP script/training/temporal_b16)
    betas: list[float] = Field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    grad_clip: float | None = 1.0  # global L2 norm; None disables
    head_lr: float | None = Field(None, gt=0)  # the temporal head's peak lr (MoTE: 5e-5, CLIP at lr = 5e-5 × 0.07); None: lr

    @field_validator("betas")
    @classmethod
    def _two_betas(cls, value: list[float]) -> list[float]:
        if len(value) != 2 or not all(0 <= b < 1 for b in value):
            raise ValueError(f"expected two numbers in [0, 1), got {value}")
        return value


class NamedSpec(Schema):
    """A registry entry with parameters: ``{name: meta, delta: 1.0}`` in YAML, or just ``meta``."""

    name: str
    params: dict = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_recipe(cls, value: Any) -> Any:
        if isinstance(value, NamedSpec):
            return value
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return {"name": value["name"], "params": {k: v for k, v in value.items() if k != "name"}}
        raise ValueError("expected a name or a mapping with 'name'")


class GWAConfig(Schema):
    enabled: bool = True
    mu: float = 15.0  # Open-MeDe author's weight_average_tool.py 'gwa' (Mia-YatingYu/MTP)
    sigma: float = Field(10.0, gt=0)
    include_base: bool = False  # also weight the initial weights as epoch 0 (the "gwa_0_22" reading)
    first_epoch: int = Field(1, ge=1)  # average epochs first_epoch..epochs (the author's tool: 2..22)


class TrainConfig(Schema):
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    strategy: NamedSpec = Field(default_factory=lambda: NamedSpec(name="plain"))
    regularisers: list[NamedSpec] = Field(default_factory=list)
    gwa: GWAConfig = Field(default_factory=GWAConfig)
    epochs: int = Field(2, ge=1)
    batch_size: int = Field(8, ge=1)  # global, over all processes
    seed: int = 0
    output: str = "runs/train"
    device: Literal[DEVICES] = "auto"
    amp: Literal[AMP_MODES] = "none"
    state_every: int = Field(20, ge=0)  # also save the resume state every N optimiser steps inside an epoch (0: epoch ends only)
    log_every: int = Field(1, ge=0)
    deterministic: bool = False  # torch.use_deterministic_algorithms: for bit-exact CUDA runs (CPU kernels already are; costs ~4 s import)
    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The recipe file (set by the loader; not a recipe key)."""
        return self._source

    @model_validator(mode="after")
    def _within_epochs(self) -> "TrainConfig":
        if self.optim.warmup_epochs > self.epochs:
            raise FieldError("optim.warmup_epochs", f"must be in [0, epochs={self.epochs}]")
        if self.gwa.first_epoch > self.epochs:
            raise FieldError("gwa.first_epoch", f"must be in [1, epochs={self.epochs}]")
        try:
            builtin = ref_value(self.data.train).scheme == BUILTIN
        except ValueError as exc:
            raise FieldError("data.train", str(exc)) from None
        if not builtin and self.data.classnames is None:
            raise FieldError("data.classnames", "required when data.train is a list file")
        return self

    @model_validator(mode="after")
    def _components(self, info: ValidationInfo) -> "TrainConfig":
        """Registry checks (their one-line errors name the recipe); fills in component defaults."""
        self._source = (info.context or {}).get("source")
        _check_components(self)
        return self

    def to_dict(self) -> dict:
        """The resolved recipe as plain data (what provenance records and ``--dry-run`` prints)."""
        out = self.model_dump()
        out["strategy"] = {"name": self.strategy.name, **self.strategy.params}
        out["regularisers"] = [{"name": r.name, **r.params} for r in self.regularisers]
        return out


def _check_components(cfg: TrainConfig) -> None:
    from weightspace.models.temporal import make_temporal
    from weightspace.train.regularisers import get_regulariser
    from weightspace.train.strategies import get_strategy

    w = f"{cfg.source}: " if cfg.source else ""
    cfg.model.temporal = make_temporal(cfg.model.temporal, cfg.source, key="model.temporal").config()
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


def _lookup(get, name: str, key: str, where: str):
    try:
        return get(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}key {key!r}: {exc}") from None


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


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def build_config(data: dict, *, source: str | None = None, base_dir: Path | None = None) -> TrainConfig:
    """A validated ``TrainConfig`` from a recipe mapping; relative input paths resolved against ``base_dir``."""
    return validate(TrainConfig, data, source=source, context={"base_dir": base_dir})


def read_recipe(path: str | Path) -> dict:
    return read_yaml_mapping(path, "training recipe")


def load_config(recipe: "str | Path | dict | TrainConfig", overrides: dict | None = None) -> TrainConfig:
    """A recipe file, a recipe mapping or a config, plus ``--set`` overrides -> validated ``TrainConfig``."""
    if isinstance(recipe, TrainConfig):
        if not overrides:  # checked again (a config may have been edited); its paths are resolved already
            return build_config(recipe.to_dict(), source=recipe.source)
        recipe = recipe.to_dict()
    if isinstance(recipe, dict):
        return build_config(apply_overrides(recipe, overrides), base_dir=Path.cwd())
    path = Path(recipe)
    data = apply_overrides(read_recipe(path), overrides, str(path))
    return build_config(data, source=str(path), base_dir=path.resolve().parent)
