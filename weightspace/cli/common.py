"""Shared CLI helpers: consoles, ``key=value`` parsing, and turning library errors into one-line messages."""

from __future__ import annotations

from rich.console import Console

from weightspace.errors import ConfigError
from weightspace.yaml_file import parse_value

console = Console()
err_console = Console(stderr=True)


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}``; a malformed item names the option."""
    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {item!r}: expected KEY=VALUE")
        out[key.strip()] = parse_value(value, f"{option} {key.strip()}")
    return out
