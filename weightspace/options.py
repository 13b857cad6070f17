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
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from weightspace.errors import ConfigError

FLOAT32_MAX = 3.4028234663852886e38  # tensors are merged and trained in float32: larger values overflow
_SHOWN = 60  # characters of an offending value a message prints (hostile input stays short)


class Options(BaseModel):
    """Base of every component's options: unknown keys, NaN and ±Inf refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)

    @model_validator(mode="after")
    def _within_float32(self):
        for name, value in self:
            for v in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(v, float) and abs(v) > FLOAT32_MAX:
                    raise ValueError(f"{name}: {v:g} overflows float32")
        return self


def opt(default: Any = ..., *, help: str, **constraints: Any) -> Any:
    """One option's declaration: default, help and pydantic constraints (``ge``, ``gt``, ``le``, ``lt``, ...)."""
    return Field(default, description=help, **constraints)


def shorten(value: Any, limit: int = _SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_options(cls: type[Options], given: Mapping[str, Any] | None, *, key: str = "",
                  source: str | None = None) -> Options:
    """``cls`` built from ``given``; a ``ConfigError`` naming ``source`` and the dotted key otherwise."""
    try:
        return cls.model_validate(dict(given or {}))
    except ValidationError as exc:
        raise ConfigError(_first_error(cls, exc, key, source)) from None


def _first_error(cls: type[Options], exc: ValidationError, key: str, source: str | None) -> str:
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err.get("loc", ())]
    dotted = ".".join([key, *loc] if key else loc) or key or "options"
    where = f"{source}: " if source else ""
    if err["type"] == "extra_forbidden":
        known = ", ".join(cls.model_fields) or "none"
        return f"{where}unknown key {dotted!r} (options: {known})"
    msg = err["msg"].removeprefix("Value error, ")
    shown = f", got {shorten(err['input'])}" if "input" in err and err["type"] != "value_error" else ""
    return f"{where}key {dotted!r}: {msg}{shown}"


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
    for name, field in cls.model_fields.items():
        bounds = []
        for meta in field.metadata:
            for attr, sym in _BOUNDS:
                v = getattr(meta, attr, None)
                if v is not None:
                    bounds.append(f"{sym} {v}")
        typ = getattr(field.annotation, "__name__", None) or str(field.annotation).replace("typing.", "")
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        rows.append(OptionInfo(name, typ, default, field.description or "", ", ".join(bounds)))
    return rows

