"""Shared CLI helpers: consoles, ``key=value`` parsing, and turning library errors into one-line messages."""

from __future__ import annotations

import logging
import sys

from rich.console import Console

from weightspace.errors import ConfigError
from weightspace.yaml_file import parse_value

LOG_WIDTH = 200  # columns for tables written to a file or pipe (rich folds at 80 there)


def _console(stderr: bool = False) -> Console:
    """A rich console; when the output is not a terminal (a log file, CI), tables are not folded at 80 columns."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=LOG_WIDTH)


console = _console()
err_console = _console(stderr=True)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (not the stream at set-up time)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging() -> None:
    """Library log records (progress lines when stderr is not a terminal, warnings) go to stderr."""
    from weightspace.progress import not_shown_by_bar

    root = logging.getLogger("weightspace")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.addFilter(not_shown_by_bar)  # a bar on stderr shows them already
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False  # a root handler set up by another library would print every line twice


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}``; a malformed item names the option."""
    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {item!r}: expected KEY=VALUE")
        out[key.strip()] = parse_value(value, f"{option} {key.strip()}")
    return out
