"""Options of pluggable components, declared once: name, type, default, range and help in one place.

Every registry (merge methods, training strategies, regularisers, temporal modules, protocols) uses
this one pattern: a component declares ``class Params(Options)`` whose fields are its options::

    class Params(Options):
        alpha: float = opt(0.5, ge=0, le=1, help="weight of the fine-tuned model")

``parse_options`` fills in defaults and refuses unknown keys, wrong types, out-of-range and
non-finite numbers (NaN, ±Inf, or beyond float32's range, where the tensors would overflow) with
one line naming the key; ``describe_options`` is what ``--help`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from weightspace.errors import ConfigError
from weightspace.schema import error_line, field_names, overflows_float32


class Options(BaseModel):
    """Base of every component's options: unknown keys, NaN and ±Inf refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)

    @model_validator(mode="after")
    def _within_float32(self):
        for name, value in zip(field_names(type(self)), self.__dict__.values()):
            for v in value if isinstance(value, (list, tuple)) else (value,):
                if overflows_float32(v):
                    raise ValueError(f"{name}: {v:g} overflows float32")
        return self


def opt(default: Any = ..., *, help: str, **constraints: Any) -> Any:
    """One option's declaration: default, help and pydantic constraints (``ge``, ``gt``, ``le``, ``lt``, ...)."""
    return Field(default, description=help, **constraints)


def parse_options(cls: type[Options], given: Mapping[str, Any] | None, *, key: str = "",
                  source: str | None = None) -> Options:
    """``cls`` built from ``given``; a ``ConfigError`` naming ``source`` and the dotted key otherwise."""
    if given is not None and not isinstance(given, Mapping):
        where = f"{source}: " if source else ""
        raise ConfigError(f"{where}key {key or 'options'!r}: expected a mapping of options, got {type(given).__name__}")
    try:
        return cls.model_validate(dict(given or {}))
    except ValidationError as exc:
        raise ConfigError(error_line(exc, cls, key=key, source=source, known_as="options")) from None


@dataclass(frozen=True)
class OptionInfo:
    name: str
    type: str
    default: Any
    help: str
    bounds: str

    def line(self) -> str:
        bounds = f", {self.bounds}" if self.bounds else ""
        return f"{self.name}={self.default!r} ({self.type}{bounds}): {self.help}"


_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "length >="),
           ("max_length", "length <="))


def describe_options(cls: type[Options]) -> list[OptionInfo]:
    """Each option's name, type, default, help and bounds, in declaration order."""
    rows = []
    for name, field in zip(field_names(cls), cls.model_fields.values()):
        bounds = []
        for meta in field.metadata:
            for attr, sym in _BOUNDS:
                v = getattr(meta, attr, None)
                if v is not None:
                    bounds.append(f"{sym} {v}")
        if get_origin(field.annotation) is Literal:
            typ = " | ".join(map(str, get_args(field.annotation)))
        else:
            typ = getattr(field.annotation, "__name__", None) or str(field.annotation).replace("typing.", "")
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        rows.append(OptionInfo(name, typ, default, field.description or "", ", ".join(bounds)))
    return rows

