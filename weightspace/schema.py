"""Typed documents (training recipes, suites, merge recipes, eval results) and the one line their errors become.

Every document schema derives from ``Schema`` (pydantic v2), which fixes the conventions once:

- unknown keys are refused, and so are NaN, ±Inf and floats beyond float32's range (tensors are float32:
  larger values overflow);
- values are not coerced across types (``tfm: 1`` is not a boolean, ``epochs: "3"`` not an integer;
  an integer is a valid float);
- a section or list given as null (an empty YAML key) is empty.

``error_line`` turns a pydantic ``ValidationError`` into one line naming the file and the dotted key at
fault (list items by index: ``regularisers.0.weight``, the key ``--set`` takes), for these documents and
for component options (``weightspace.options``) alike.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Mapping, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from weightspace.errors import ConfigError
from weightspace.refs import Ref, parse_ref

FLOAT32_MAX = 3.4028234663852886e38  # tensors are merged and trained in float32: larger values overflow
_SHOWN = 60  # characters of an offending value a message prints (hostile input stays short)
_UNIONS = (typing.Union, types.UnionType)

M = TypeVar("M", bound=BaseModel)


def shorten(value: Any, limit: int = _SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def overflows_float32(value: Any) -> bool:
    return isinstance(value, float) and abs(value) > FLOAT32_MAX


class FieldError(ValueError):
    """A validator's complaint about a key below the model it checks (``key`` dotted, relative to that model)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class Schema(BaseModel):
    """Base of every document schema (see the module docstring for its conventions)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:  # a field that may be None (``X | None``) keeps it: its origin is a union
            annotation = cls.model_fields[info.field_name].annotation
            origin = get_origin(annotation) or annotation
            if origin is list:
                return []
            if isinstance(origin, type) and issubclass(origin, (BaseModel, dict)):
                return {}
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _within_float32(cls, value: Any) -> Any:
        for v in value if isinstance(value, (list, tuple)) else (value,):
            if overflows_float32(v):
                raise ValueError(f"{v:g} overflows float32")
        return value


def validate(model: type[M], data: Any, *, source: str | None = None, context: Mapping[str, Any] | None = None) -> M:
    """``model`` built from ``data``; a one-line ``ConfigError`` naming ``source`` and the dotted key otherwise.

    Validators find ``source`` and the given ``context`` (e.g. the folder relative paths start from) in
    ``info.context``.
    """
    try:
        return model.model_validate(data, context=dict(context or {}, source=source))
    except ValidationError as exc:
        raise ConfigError(error_line(exc, model, source=source)) from None


def error_line(exc: ValidationError, model: type[BaseModel], *, key: str = "", source: str | None = None,
               known_as: str = "known") -> str:
    """The first error of ``exc`` as ``FILE: key 'a.b.c': message, got VALUE`` (``key`` prefixes the dotted key).

    An unknown key (reported before any other error) lists the keys its mapping takes (``(known_as: x, y)``);
    of a union's alternatives, the one that got furthest into the value is reported, or all of them together;
    a ``FieldError`` raised by a model validator names its own key.
    """
    errors = [(e, *_walk(model, e["loc"])) for e in exc.errors(include_url=False)]
    # an unknown key first: a misspelt key also leaves its right spelling missing
    at = next((e for e in errors if e[0]["type"] == "extra_forbidden"), errors[0])[1]
    below = [e for e in errors if e[1][: len(at)] == at]
    deepest = max(below, key=lambda e: len(e[1]))[1]
    same = [e for e in below if e[1] == deepest]
    # a union member whose type fitted but whose validator refused the value says more than the members that did not fit
    same = [e for e in same if e[0]["type"] == "value_error"] or same
    first, parts, holder = same[0]
    error = (first.get("ctx") or {}).get("error")
    if isinstance(error, FieldError):
        parts = parts + error.key.split(".")
    dotted = ".".join([key, *parts] if key else parts)
    where = f"{source}: " if source else ""
    if first["type"] == "extra_forbidden":
        names = ", ".join(field_names(holder)) if holder is not None else ""
        return f"{where}unknown key {dotted!r} ({known_as}: {names or 'none'})"
    msgs = [e["msg"].removeprefix("Value error, ") for e, _, _ in same]
    msg = " or ".join(msgs[:1] + [_lower_first(m.removeprefix("Input should be ")) for m in msgs[1:]])
    shown = f", got {shorten(first['input'])}" if first["type"] not in ("value_error", "missing") else ""
    return f"{where}key {dotted!r}: {msg}{shown}" if dotted else f"{where}{msg}{shown}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]`` and from ``X | None``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in _UNIONS:
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a model takes, as users spell them (a field's alias, e.g. ``lambda``, else its name)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _walk(model: type[BaseModel], loc: tuple) -> tuple[list[str], type[BaseModel] | None]:
    """A pydantic error location as the user's dotted key parts (union member tags dropped), and the model
    holding its last part."""
    parts: list[str] = []
    annotation: Any = model
    holder: type[BaseModel] | None = None
    for part in loc:
        annotation = _unwrap(annotation)
        if get_origin(annotation) in _UNIONS:  # pydantic tags each alternative: ('temporal', 'str')
            annotation = next((a for a in get_args(annotation) if getattr(a, "__name__", None) == part), None)
            continue
        parts.append(str(part))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            holder = annotation
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            annotation = fields[part].annotation if part in fields else None
        elif get_origin(annotation) in (list, tuple, dict):
            annotation = get_args(annotation)[-1] if get_args(annotation) else None
        else:
            annotation = None
    return parts, holder


def ref_value(text: str) -> Ref:
    """``parse_ref`` inside a validator: a malformed reference is a ValueError, so the error names the file and key."""
    try:
        return parse_ref(text)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
