"""Where weightspace keeps its caches (worlds, tiny CLIP, evaluation, merge hashes): one rule for all of them."""

from __future__ import annotations

import os
from pathlib import Path


def resolve_cache_root(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``$WEIGHTSPACE_CACHE``, else ``~/.cache/weightspace``."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("WEIGHTSPACE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "weightspace"
