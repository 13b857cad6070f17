"""Reading YAML documents (recipes, suites) with one-line errors naming the file."""

from __future__ import annotations

import os
from pathlib import Path


def read_yaml_mapping(path: str | os.PathLike, what: str) -> dict:
    """The YAML mapping in ``path``; unreadable files, invalid YAML or a non-mapping -> ConfigError.

    ``what`` names the document in messages ("recipe", "suite", ...).
    """
    import yaml

    from weightspace.errors import ConfigError

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{at} ({problem})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a {what} must be a YAML mapping")
    return doc
