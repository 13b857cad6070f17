"""References to checkpoints and data: one grammar, parsed once into a typed reference, resolved by scheme.

A reference is ``SCHEME:BODY`` or a plain local path::

    hf-hub:ORG/NAME[@REV]   a Hugging Face Hub repo at a branch, tag or commit (default: main); resolves to the
                            downloaded, hash-verified snapshot folder (``weightspace.hub.refs.HubRef``)
    builtin:NAME[/PART]     the built-in world (``weightspace.data.synthetic.refs.BuiltinRef``):
                              builtin:tiny-clip     the tiny CLIP's checkpoint folder
                              builtin:WORLD         a world's folder; as training data, its ``train`` split
                              builtin:WORLD/SPLIT   a split (train, val, decorrelated_val, base_train, base_val,
                                                    novel_val): its list file; as training data, also its class names
                              builtin:WORLD/FILE    a file in the world's folder (``target/val.txt``,
                                                    ``target/classnames.json``)
    local-dir:PATH          a local path, spelled as open_clip spells it (``create_model("local-dir:PATH")``)
    PATH                    a local path: anything without a scheme

``parse_ref`` checks the body once (a malformed ``hf-hub:`` id or revision, an empty ``builtin:`` name) and
refuses a prefix that looks like a scheme but is none (``hf_hub:``, ``https:``) with one line naming the string;
a single letter before ``:`` is a Windows drive, not a scheme. ``str(ref)`` gives the reference back as written.

Schemes live in a registry: a scheme's reference class is named by its module path and imported on first
use, so parsing a local path imports nothing, and this module (imported by ``weightspace.checkpoint``) does
not import the Hub client or the world generator.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterator

from weightspace.errors import ConfigError

HF_HUB = "hf-hub"
BUILTIN = "builtin"
LOCAL_DIR = "local-dir"

_NAME = r"[A-Za-z][A-Za-z0-9+._-]+"  # RFC 3986 scheme characters, at least two: a drive letter (C:\models) is a path
_SCHEME = re.compile(rf"^({_NAME}):")


class Ref(ABC):
    """A parsed reference: its scheme, its body, and how to turn it into a local path."""

    scheme: ClassVar[str | None]

    @classmethod
    @abstractmethod
    def parse(cls, body: str, text: str) -> "Ref":
        """The reference for ``body`` (the text after ``SCHEME:``); a one-line ConfigError naming ``text`` if malformed."""

    @property
    @abstractmethod
    def body(self) -> str: ...

    @abstractmethod
    def resolve(self) -> Path:
        """The local file or folder this reference names (downloading or generating it when needed)."""

    def __str__(self) -> str:
        return f"{self.scheme}:{self.body}" if self.scheme else self.body


@dataclass(frozen=True)
class PathRef(Ref):
    """A plain local path."""

    path: str
    scheme: ClassVar[str | None] = None

    @classmethod
    def parse(cls, body: str, text: str) -> "PathRef":
        return cls(body)

    @property
    def body(self) -> str:
        return self.path

    def resolve(self) -> Path:
        return Path(self.path)


@dataclass(frozen=True)
class LocalDirRef(PathRef):
    """``local-dir:PATH``: a local path written the way open_clip accepts it."""

    scheme: ClassVar[str | None] = LOCAL_DIR

    @classmethod
    def parse(cls, body: str, text: str) -> "LocalDirRef":
        if not body:
            raise ConfigError(f"{text!r}: expected {LOCAL_DIR}:PATH, the path is empty")
        return cls(body)


_registry: dict[str, type[Ref] | str] = {}


def register_scheme(name: str, ref_class: type[Ref] | str) -> None:
    """Make ``name:`` a scheme; ``ref_class`` is a Ref subclass or its ``"module:Class"`` path (imported on first use)."""
    if not re.fullmatch(_NAME, name):
        raise ValueError(f"not a scheme name: {name!r}")
    _registry[name] = ref_class


def _ref_class(name: str) -> type[Ref]:
    entry = _registry[name]
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
        if not (isinstance(entry, type) and issubclass(entry, Ref) and entry.scheme == name):
            raise TypeError(f"{module}:{attr} is not the Ref class of scheme {name!r}")
        _registry[name] = entry
    return entry


@contextlib.contextmanager
def _prefixed(where: str | None) -> Iterator[None]:
    """Prefix a ConfigError raised inside with ``where`` (the key or option the reference came from)."""
    try:
        yield
    except ConfigError as exc:
        if where is None:
            raise
        raise ConfigError(f"{where}: {exc}") from None


def parse_ref(text: "str | os.PathLike | Ref", where: str | None = None) -> Ref:
    """The typed reference for ``text``; ``where`` (a key or option) prefixes any error. A PathLike is a path."""
    if isinstance(text, Ref):
        return text
    if isinstance(text, os.PathLike):
        return PathRef(os.fspath(text))
    text = str(text)
    m = _SCHEME.match(text)
    if not m:
        return PathRef(text)
    name = m.group(1)
    with _prefixed(where):
        if name not in _registry:
            known = ", ".join(f"{s}:" for s in sorted(_registry))
            raise ConfigError(f"{text!r}: unknown reference scheme {name + ':'!r} (known: {known}; "
                              f"write a local path containing ':' as ./PATH or {LOCAL_DIR}:PATH)")
        return _ref_class(name).parse(text[m.end():], text)


def resolve(text: "str | os.PathLike | Ref", where: str | None = None) -> Path:
    """Parse ``text`` and resolve it to a local path; errors are prefixed with ``where``."""
    ref = parse_ref(text, where)
    with _prefixed(where):
        return ref.resolve()


register_scheme(LOCAL_DIR, LocalDirRef)
register_scheme(HF_HUB, "weightspace.hub.refs:HubRef")
register_scheme(BUILTIN, "weightspace.data.synthetic.refs:BuiltinRef")
