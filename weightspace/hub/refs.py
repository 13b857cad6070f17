"""Hub references: ``hf-hub:ORG/NAME[@REV]`` (the ``hf-hub`` scheme of :mod:`weightspace.refs`) and bare repo ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from weightspace.errors import ConfigError, WeightspaceError
from weightspace.refs import HF_HUB, Ref, parse_ref

# The Hub's rules: letters, digits, '-', '_', '.'; no leading/trailing '-' or '.', no '--' or '..'.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^{_PART}/{_PART}$")
_REVISION = re.compile(r"^[^\s@]+$")


@dataclass(frozen=True)
class HubRef(Ref):
    """A Hub repo, optionally at a revision (branch, tag or commit); resolves to its verified snapshot folder."""

    repo_id: str
    revision: str | None = None
    scheme: ClassVar[str | None] = HF_HUB

    @classmethod
    def parse(cls, body: str, text: str) -> "HubRef":
        repo_id, sep, revision = body.partition("@")
        if sep and not _REVISION.match(revision):
            raise ConfigError(f"{text!r}: expected {HF_HUB}:ORG/NAME[@REVISION], the revision is empty or malformed")
        check_repo_id(repo_id, what=f"{text!r}: hub id")
        return cls(repo_id, revision or None)

    @property
    def body(self) -> str:
        return self.repo_id + (f"@{self.revision}" if self.revision else "")

    def resolve(self) -> Path:
        from weightspace.hub.pull import download

        return download(self)


def check_repo_id(repo_id: str, what: str = "repo id") -> str:
    """Return ``repo_id`` if it is a valid ``ORG/NAME``; else a one-line error."""
    if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise ConfigError(f"{what} {repo_id!r}: expected ORG/NAME (letters, digits, '-', '_', '.')")
    return repo_id


def parse_hub_ref(ref: str) -> HubRef:
    """``hf-hub:ORG/NAME[@REV]`` or the bare ``ORG/NAME[@REV]`` (as ``weightspace pull`` accepts it) -> HubRef."""
    parsed = parse_ref(ref)
    if isinstance(parsed, HubRef):
        return parsed
    if parsed.scheme is not None:
        raise ConfigError(f"{ref!r}: expected {HF_HUB}:ORG/NAME[@REVISION], not a {parsed.scheme}: reference")
    return HubRef.parse(ref, ref)


def hub_id_of(ref: str) -> str | None:
    """The ``ORG/NAME`` behind a checkpoint reference if it names a Hub repo, else None (local paths)."""
    try:
        parsed = parse_ref(ref)
    except WeightspaceError:
        return None
    return parsed.repo_id if isinstance(parsed, HubRef) else None
