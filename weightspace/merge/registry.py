"""The registry of merge methods: names, options (declared once), base requirement, reference.

A method declares its options as a ``Params`` class (``weightspace.options``: type, default, range,
help; ``--help`` is generated from it). It is a pure per-key function over aligned float32 tensors
(``KeyJob``; numpy arrays instead for the methods declaring ``numpy``), plus optional hooks:
``resolve`` (checks that need the inputs, e.g. GWA's epochs or one weight per input) and
``prepare`` (a streaming pre-pass over all keys, e.g. TIES' whole-model top-k threshold). Adding a
method touches one file in ``weightspace/merge/methods/`` (plus its import there) and its test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from weightspace.errors import ConfigError
from weightspace.options import Options, describe_options, opt, parse_options
from weightspace.schema import FLOAT32_MAX

if TYPE_CHECKING:
    import torch


@dataclass
class KeyJob:
    """Everything a method sees for one key: lazily read float32 inputs and the base."""

    key: str
    inputs: Sequence["torch.Tensor"]  # each access may read from disk: iterate, don't index repeatedly
    base: "torch.Tensor | None"
    params: dict
    state: Any = None  # what ``prepare`` returned


@dataclass
class InputsInfo:
    """What ``resolve`` may look at: how many inputs, whether there is a base, each input's weightspace.json."""

    n_inputs: int
    has_base: bool
    metas: list[dict] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


class TaskWeights(Options):
    """Per-input weights wᵢ scaling each task vector τᵢ before merging (a base of the methods that take them)."""

    weights: list[float] | None = opt(None, help="per-input scale wᵢ of each task vector τᵢ (one per input)")


def check_weights(weights: list[float] | None, info: InputsInfo) -> None:
    """One weight per input, and a sum that stays finite in float32."""
    if weights is None:
        return
    if len(weights) != info.n_inputs:
        raise ConfigError(f"option 'weights': expected {info.n_inputs} numbers (one per input), got {len(weights)}")
    if not math.isfinite(total := math.fsum(abs(w) for w in weights)) or total > FLOAT32_MAX:
        raise ConfigError("option 'weights': the weights' sum overflows float32")


@dataclass(frozen=True)
class MergeMethod:
    name: str
    reference: str  # paper / equation, shown in the manifest and `weightspace merge --help`
    base: str  # "required" | "optional"
    Params: type[Options]  # the options, declared once (type, default, range, help)
    merge_key: Callable[[KeyJob], "torch.Tensor"]
    resolve: Callable[[dict, InputsInfo], dict] | None = None  # checks that need the inputs
    prepare: Callable[[dict, Any], Any] | None = None  # (params, KeyStream) -> state
    min_inputs: int = 1
    max_inputs: int | None = None
    # merge_key (and prepare) also compute on numpy arrays: elementwise arithmetic the engine runs
    # without importing torch where the inputs allow (``weightspace.merge.arrays``)
    numpy: bool = False

    def resolve_params(self, given: dict | None, info: InputsInfo) -> dict:
        """Defaults filled in, unknown options and input counts refused, method-specific checks run."""
        params = parse_options(self.Params, given, source=f"method {self.name!r}").model_dump(by_alias=True)
        if self.base == "required" and not info.has_base:
            raise ConfigError(f"method {self.name!r} needs a base model (--base)")
        if info.n_inputs < self.min_inputs:
            raise ConfigError(f"method {self.name!r} needs at least {self.min_inputs} input(s), got {info.n_inputs}")
        if self.max_inputs is not None and info.n_inputs > self.max_inputs:
            raise ConfigError(f"method {self.name!r} takes at most {self.max_inputs} input(s), got {info.n_inputs}")
        if "weights" in params:
            check_weights(params["weights"], info)
        return self.resolve(params, info) if self.resolve else params

    def describe(self) -> str:
        """The method's options, one ``name=default (type, bounds): help`` each, for ``--help``."""
        return "; ".join(o.line() for o in describe_options(self.Params)) or "no options"


_METHODS: dict[str, MergeMethod] = {}


def register(method: MergeMethod) -> MergeMethod:
    if method.name in _METHODS:
        raise ValueError(f"merge method {method.name!r} registered twice")
    _METHODS[method.name] = method
    return method


def _load() -> None:
    import weightspace.merge.methods  # noqa: F401  (each module registers itself)


def get_method(name: str) -> MergeMethod:
    _load()
    try:
        return _METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown merge method {name!r} (available: {', '.join(available_methods())})") from None


def available_methods() -> list[str]:
    _load()
    return sorted(_METHODS)
