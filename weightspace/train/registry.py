"""Registries of pluggable training components (strategies, regularisers) with typed parameters.

A component is a class with a ``name``, a one-line ``reference`` (paper / equation / source of its
defaults) and a ``Params`` model (``weightspace.options.Options``) that declares each option once:
type, default, range and help. Recipes give parameters as plain keys next to ``name``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from weightspace.errors import ConfigError
from weightspace.options import Options, describe_options, parse_options


class Pluggable:
    name: ClassVar[str]
    reference: ClassVar[str]

    class Params(Options):
        pass

    @classmethod
    def check_params(cls, given: dict, key: str, source: str | None = None) -> dict:
        """Defaults filled in, types and ranges checked: the plain dict stored in the resolved recipe."""
        params = parse_options(cls.Params, given, key=key, source=source)
        cls.validate(params, key, f"{source}: " if source else "")
        return params.model_dump()

    @classmethod
    def validate(cls, params: Any, key: str, where: str) -> None:
        """Checks across options for subclasses (raise ConfigError naming ``key``)."""

    @classmethod
    def describe(cls) -> str:
        """One line per option, for ``--help``."""
        return "; ".join(o.line() for o in describe_options(cls.Params)) or "no options"

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
