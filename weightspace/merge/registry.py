"""The registry of merge methods: names, parameters with defaults, base requirement, reference.

A method is a pure per-key function over aligned float32 tensors (``KeyJob``), plus optional hooks:
``resolve`` (check and complete parameters once the inputs are known, e.g. GWA's epochs) and
``prepare`` (a streaming pre-pass over all keys, e.g. TIES' whole-model top-k threshold). Adding a
method touches one file in ``weightspace/merge/methods/`` (plus its import there) and its test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from weightspace.errors import ConfigError

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


@dataclass(frozen=True)
class MergeMethod:
    name: str
    reference: str  # paper / equation, shown in the manifest and `weightspace merge --help`
    base: str  # "required" | "optional"
    params: dict[str, Any]  # option -> default
    merge_key: Callable[[KeyJob], "torch.Tensor"]
    resolve: Callable[[dict, InputsInfo], dict] | None = None
    prepare: Callable[[dict, Any], Any] | None = None  # (params, KeyStream) -> state
    min_inputs: int = 1
    max_inputs: int | None = None

    def resolve_params(self, given: dict | None, info: InputsInfo) -> dict:
        """Defaults filled in, unknown options and input counts refused, method-specific checks run."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            opts = ", ".join(self.params) or "none"
            raise ConfigError(f"method {self.name!r} has no option {unknown[0]!r} (options: {opts})")
        if self.base == "required" and not info.has_base:
            raise ConfigError(f"method {self.name!r} needs a base model (--base)")
        if info.n_inputs < self.min_inputs:
            raise ConfigError(f"method {self.name!r} needs at least {self.min_inputs} input(s), got {info.n_inputs}")
        if self.max_inputs is not None and info.n_inputs > self.max_inputs:
            raise ConfigError(f"method {self.name!r} takes at most {self.max_inputs} input(s), got {info.n_inputs}")
        params = {**self.params, **given}
        return self.resolve(params, info) if self.resolve else params


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


# --- parameter checks shared by the methods (each names the option at fault) ---


def as_float(params: dict, name: str, *, lo: float | None = None, hi: float | None = None,
             lo_open: bool = False) -> float:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"option {name!r}: expected a number, got {value!r}")
    value = float(value)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ConfigError(f"option {name!r}: {value} is out of range ({'>' if lo_open else '>='} {lo})")
    if hi is not None and value > hi:
        raise ConfigError(f"option {name!r}: {value} is out of range (<= {hi})")
    return value


def as_int(params: dict, name: str) -> int:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"option {name!r}: expected an integer, got {value!r}")
    return value


def as_bool(params: dict, name: str) -> bool:
    value = params[name]
    if not isinstance(value, bool):
        raise ConfigError(f"option {name!r}: expected true or false, got {value!r}")
    return value


def as_choice(params: dict, name: str, choices: Sequence[str]) -> str:
    value = params[name]
    if value not in choices:
        raise ConfigError(f"option {name!r}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def as_float_list(params: dict, name: str, n: int) -> list[float] | None:
    """An optional per-input list of numbers (None stays None)."""
    value = params[name]
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ConfigError(f"option {name!r}: expected a list of {n} numbers (one per input), got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"option {name!r}: expected numbers, got {v!r}")
        out.append(float(v))
    return out
