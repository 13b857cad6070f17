"""``builtin:`` references (the ``builtin`` scheme of :mod:`weightspace.refs`, whose docstring has the grammar).

``builtin:tiny-clip`` names the tiny CLIP; any other ``builtin:WORLD[/PART]`` names a world of the default
built-in world (``ensure_worlds()``), PART being a split or a file in the world's folder. Both are generated
and cached on first use. Importing this module is cheap: the generators are imported when a reference is
resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from weightspace.errors import ConfigError
from weightspace.refs import BUILTIN, Ref, parse_ref

TINY_CLIP = "tiny-clip"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class BuiltinRef(Ref):
    """``builtin:NAME[/PART]``: the tiny CLIP (NAME ``tiny-clip``) or a world, with an optional split or file."""

    name: str
    part: str | None = None
    scheme: ClassVar[str | None] = BUILTIN

    @classmethod
    def parse(cls, body: str, text: str) -> "BuiltinRef":
        name, sep, part = body.partition("/")
        segments = part.split("/")
        if not _NAME.match(name) or (sep and any(s in ("", ".", "..") for s in segments)):
            raise ConfigError(f"{text!r}: expected {BUILTIN}:{TINY_CLIP} or {BUILTIN}:WORLD[/SPLIT or /FILE]")
        if name == TINY_CLIP and sep:
            raise ConfigError(f"{text!r}: {BUILTIN}:{TINY_CLIP} is a checkpoint folder, it has no /PART")
        return cls(name, part if sep else None)

    @property
    def body(self) -> str:
        return self.name + (f"/{self.part}" if self.part is not None else "")

    @property
    def is_model(self) -> bool:
        return self.name == TINY_CLIP

    def resolve(self) -> Path:
        if self.is_model:
            from weightspace.data.synthetic.tiny_clip import ensure_tiny_clip

            return ensure_tiny_clip()
        from weightspace.data.synthetic.worlds import ensure_worlds

        return ensure_worlds().resolve(self)

    def training_files(self) -> tuple[Path, Path]:
        """(list file, class-name file) of the split this names as training data (WORLD alone: ``train``)."""
        from weightspace.data.synthetic.worlds import ensure_worlds

        world = ensure_worlds()[self.name]
        split = self.part or "train"
        return world.list_file(split), world.classnames_file(split)


def world_ref(text: "str | BuiltinRef") -> BuiltinRef:
    """``builtin:WORLD[/PART]``, or the same without ``builtin:``, as a BuiltinRef."""
    ref = parse_ref(text)
    return ref if isinstance(ref, BuiltinRef) else BuiltinRef.parse(str(text), str(text))
