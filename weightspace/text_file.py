"""Reading a user's text file (recipe, suite, list file, class names): one-line errors, never a hang.

A FIFO, device or folder given as an input is refused before opening (reading a FIFO would block), and
a file that is not UTF-8 names the byte offset instead of raising a UnicodeDecodeError.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from weightspace.errors import InputError

MAX_TEXT_BYTES = 64 << 20  # recipes, suites and list files are far smaller


def read_user_text(path: str | os.PathLike, what: str) -> str:
    """The UTF-8 text of ``path``; ``what`` ("recipe", "list file", ...) names it in errors."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) else "not a regular file"
        raise InputError(f"{path}: {what} is {kind}, expected a regular file")
    if info.st_size > MAX_TEXT_BYTES:
        raise InputError(f"{path}: {what} is {info.st_size:,} bytes (more than {MAX_TEXT_BYTES:,}); not a {what}?")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from None
