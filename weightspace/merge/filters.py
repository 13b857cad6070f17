"""Which keys a merge touches: include / exclude patterns on normalised keys.

A pattern is a glob (``visual.transformer.*``, ``*.bias``) matched against the whole key, or a tag
name (``visual``, ``text``, ``logit_scale``, ``extra``; see ``weightspace.checkpoint.key_tag``).
No include patterns means every key; exclude wins over include. Keys left out are copied unchanged
from the base (or the first input when there is no base).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Iterable

from weightspace.checkpoint import TAGS, key_tag
from weightspace.errors import ConfigError


def _matches(pattern: str, key: str) -> bool:
    return key_tag(key) == pattern if pattern in TAGS else fnmatchcase(key, pattern)


def matches_any(patterns: Iterable[str], key: str) -> bool:
    """Whether ``key`` matches one of the glob or tag ``patterns``."""
    return any(_matches(p, key) for p in patterns)


class KeyFilter:
    def __init__(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None):
        self.include = [str(p) for p in include or []]
        self.exclude = [str(p) for p in exclude or []]
        for p in self.include + self.exclude:
            if not p.strip():
                raise ConfigError("include/exclude: empty pattern")

    def __call__(self, key: str) -> bool:
        if self.include and not matches_any(self.include, key):
            return False
        return not matches_any(self.exclude, key)

    def check_against(self, keys: list[str]) -> None:
        """A pattern that matches no key is almost always a typo: refuse it by name."""
        for option, patterns in (("include", self.include), ("exclude", self.exclude)):
            for p in patterns:
                if not any(_matches(p, k) for k in keys):
                    raise ConfigError(f"{option} pattern {p!r} matches no key")

    def as_dict(self) -> dict:
        return {"include": list(self.include), "exclude": list(self.exclude)}
