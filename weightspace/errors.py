"""User-facing errors: one line that names the file, key or option at fault."""

import re

MAX_MESSAGE = 400  # characters: a hostile value quoted in a message cannot flood a terminal or a log


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class WeightspaceError(Exception):
    """Bad input or a failed operation that the CLI reports as a one-line message (exit code 1)."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


class CheckpointError(WeightspaceError):
    """A checkpoint cannot be read or does not fit the others (keys, shapes, dtypes)."""


class ConfigError(WeightspaceError):
    """A recipe, suite or option value is invalid."""


class InputError(WeightspaceError):
    """A user's input file cannot be read as text: missing, not a regular file (a FIFO...), not UTF-8."""


class OutputError(WeightspaceError):
    """An output cannot be written where asked, or may not be replaced (weightspace did not write it)."""
