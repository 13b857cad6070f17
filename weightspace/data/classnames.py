"""Class-name files: JSON ``{"0": "name", ...}`` (or a JSON list) and CSV ``id,name`` with or without header."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Iterable

from weightspace.data.lists import ListEntry
from weightspace.errors import WeightspaceError
from weightspace.text_file import read_user_text


def _from_mapping(path: Path, pairs: Iterable[tuple[int, str]]) -> list[str]:
    names: dict[int, str] = {}
    for idx, name in pairs:
        if idx in names:
            raise WeightspaceError(f"{path}: class id {idx} appears twice")
        if not name.strip():
            raise WeightspaceError(f"{path}: class id {idx} has an empty name")
        names[idx] = name.strip()
    if not names:
        raise WeightspaceError(f"{path}: no class names")
    expected = set(range(len(names)))
    if set(names) != expected:
        gap = min(expected - set(names)) if expected - set(names) else max(names)
        raise WeightspaceError(f"{path}: class ids must be 0..{len(names) - 1} without gaps (problem at id {gap})")
    return [names[i] for i in range(len(names))]


def _load_json(path: Path) -> list[str]:
    try:
        data = json.loads(read_user_text(path, "class-name file"))
    except json.JSONDecodeError as exc:
        raise WeightspaceError(f"{path}: invalid JSON ({exc})") from exc
    if isinstance(data, list):
        if not all(isinstance(x, str) for x in data):
            raise WeightspaceError(f"{path}: a JSON list of class names must hold strings only")
        return _from_mapping(path, enumerate(data))
    if not isinstance(data, dict):
        raise WeightspaceError(f"{path}: expected a JSON object {{\"0\": \"name\", ...}}")
    pairs = []
    for key, value in data.items():
        if str(key).isdigit() and isinstance(value, str):
            pairs.append((int(key), value))
        elif isinstance(value, (int, str)) and str(value).isdigit():  # SSv2 labels.json: {"name": "0"}
            pairs.append((int(value), str(key)))
        else:
            raise WeightspaceError(f"{path}: entry {key!r}: expected \"id\": \"name\"")
    return _from_mapping(path, pairs)


def _load_csv(path: Path) -> list[str]:
    lines = io.StringIO(read_user_text(path, "class-name file"), newline="")
    rows = [r for r in csv.reader(lines) if r and any(c.strip() for c in r)]
    pairs = []
    for n, row in enumerate(rows, 1):
        if len(row) < 2:
            raise WeightspaceError(f"{path}:{n}: expected 'id,name', got {','.join(row)!r}")
        idx, name = row[0].strip(), ",".join(row[1:])
        if not idx.isdigit():
            if n == 1:
                continue  # header such as "id,name"
            raise WeightspaceError(f"{path}:{n}: class id {idx!r} is not a non-negative integer")
        pairs.append((int(idx), name))
    return _from_mapping(path, pairs)


def load_classnames(path: str | os.PathLike) -> list[str]:
    """Class names indexed by label. Ids must be exactly 0..C-1."""
    path = Path(path)
    return _load_json(path) if path.suffix.lower() == ".json" else _load_csv(path)


def check_labels(entries: list[ListEntry], num_classes: int, list_file: str | os.PathLike, classnames_file: str | os.PathLike = "") -> None:
    """Every label must index a class name; the first offender is named by file and line."""
    for e in entries:
        if not 0 <= e.label < num_classes:
            names = f" in {classnames_file}" if classnames_file else ""
            raise WeightspaceError(f"{list_file}:{e.line}: label {e.label} out of range (there are {num_classes} classes{names})")
