"""List files: one video (or frame folder) per line, with its integer label.

Accepted line formats (the format is decided per line; blank lines and ``#`` comments are skipped):

- ``path label``          ViFi-CLIP / X-CLIP (space separated; the path may itself contain spaces)
- ``path,label``          SlowFast / Open-VCLIP / FROSTER CSV
- ``dir num_frames label`` mmaction rawframes (SCUBA, HAT): a folder of ``{:06d}.jpg`` frames

Relative paths are resolved against ``root`` when given, else against the list file's folder.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from weightspace.errors import WeightspaceError
from weightspace.text_file import read_user_text

# a list where more than this fraction of entries is missing is a wrong root, not a few bad videos
MISSING_FRACTION_LIMIT = 0.5


@dataclass(frozen=True)
class ListEntry:
    path: Path
    label: int
    line: int  # 1-based line number in the list file, for error messages
    num_frames: int | None = None  # rawframes lines only


def _int(text: str) -> int | None:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def parse_line(text: str) -> tuple[str, int, int | None] | None:
    """``(path, label, num_frames)`` from one list line, or None when it has no recognisable label."""
    if "," in text:
        path, _, label = text.rpartition(",")
        if _int(label) is not None and path.strip():
            return path.strip(), _int(label), None
    parts = text.split()
    if len(parts) == 3 and _int(parts[1]) is not None and _int(parts[2]) is not None:
        return parts[0], _int(parts[2]), _int(parts[1])
    if len(parts) >= 2 and _int(parts[-1]) is not None:
        return text.rsplit(None, 1)[0].strip(), _int(parts[-1]), None
    return None


def read_list(path: str | os.PathLike, root: str | os.PathLike | None = None, *, check_exists: bool = True) -> list[ListEntry]:
    """Parse a list file into entries with resolved paths.

    Raises a one-line ``WeightspaceError`` for a missing/empty list, a malformed line (file:line), or a list
    whose entries mostly do not exist (wrong ``root``), naming the list file and the first missing path.
    A few missing entries are left to the dataset, which counts and reports them.
    """
    path = Path(path)
    base = Path(root) if root is not None else path.parent
    if root is not None and not base.is_dir():
        raise WeightspaceError(f"{base}: data root is not a folder (for list {path})")
    entries: list[ListEntry] = []
    for n, raw in enumerate(io.StringIO(read_user_text(path, "list file")), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        parsed = parse_line(text)
        if parsed is None:
            raise WeightspaceError(f"{path}:{n}: expected 'path label', 'path,label' or 'dir num_frames label', got {text!r}")
        rel, label, num_frames = parsed
        if label < 0:
            raise WeightspaceError(f"{path}:{n}: negative label {label}")
        p = Path(rel).expanduser()
        entries.append(ListEntry(p if p.is_absolute() else base / p, label, n, num_frames))
    if not entries:
        raise WeightspaceError(f"{path}: list file has no entries")
    if check_exists:
        missing = [e for e in entries if not e.path.exists()]
        if len(missing) > MISSING_FRACTION_LIMIT * len(entries):
            raise WeightspaceError(
                f"{path}: {len(missing)} of {len(entries)} listed videos do not exist "
                f"(first: {missing[0].path}, line {missing[0].line}); check the data root"
            )
    return entries
