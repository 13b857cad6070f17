"""Registries of pluggable training components (strategies, regularisers) with typed parameters.

A component is a class with a ``name``, a one-line ``reference`` (paper / equation / source of its
defaults) and a ``Params`` dataclass whose field defaults are the documented defaults. Recipes give
parameters as plain keys next to ``name``; ``check_params`` refuses unknown keys and wrong types
with one line naming the recipe key.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar, Generic, TypeVar

from weightspace.errors import ConfigError


class Pluggable:
    name: ClassVar[str]
    reference: ClassVar[str]

    @dataclasses.dataclass
    class Params:
        pass

    @classmethod
    def check_params(cls, given: dict, key: str, source: str | None = None) -> dict:
        """Defaults filled in, types checked: the plain dict stored in the resolved recipe."""
        from weightspace.train.config import _coerce

        where = f"{source}: " if source else ""
        fields = {f.name: f for f in dataclasses.fields(cls.Params)}
        for k in given:
            if k not in fields:
                known = ", ".join(fields) or "none"
                raise ConfigError(f"{where}unknown key {key + '.' + k!r} ({cls.name!r} parameters: {known})")
        hints = typing.get_type_hints(cls.Params)
        values = {k: _coerce(v, hints[k], f"{key}.{k}", source) for k, v in given.items()}
        params = cls.Params(**values)
        cls.validate(params, key, where)
        return dataclasses.asdict(params)

    @classmethod
    def validate(cls, params: Any, key: str, where: str) -> None:
        """Range checks for subclasses (raise ConfigError naming ``key``)."""

    def __init__(self, params: dict):
        self.params = self.Params(**params)


T = TypeVar("T", bound=Pluggable)


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        if cls.name in self._items:
            raise ValueError(f"{self.kind} {cls.name!r} registered twice")
        self._items[cls.name] = cls
        return cls

    def get(self, name: str) -> type[T]:
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r} (available: {', '.join(self.names())})") from None

    def names(self) -> list[str]:
        return sorted(self._items)
