"""Hub references: ``hf-hub:ORG/NAME[@REV]`` and bare ``ORG/NAME`` repo ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

from weightspace.checkpoint import HF_PREFIX
from weightspace.errors import WeightspaceError

# The Hub's rules: letters, digits, '-', '_', '.'; no leading/trailing '-' or '.', no '--' or '..'.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^{_PART}/{_PART}$")
_REVISION = re.compile(r"^[^\s@]+$")


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{HF_PREFIX}{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


def check_repo_id(repo_id: str, what: str = "repo id") -> str:
    """Return ``repo_id`` if it is a valid ``ORG/NAME``; else a one-line error."""
    if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise WeightspaceError(f"{what} {repo_id!r}: expected ORG/NAME (letters, digits, '-', '_', '.')")
    return repo_id


def parse_hub_ref(ref: str) -> HubRef:
    """``hf-hub:ORG/NAME[@REV]`` (the prefix is optional here) -> HubRef."""
    text = ref.removeprefix(HF_PREFIX)
    repo_id, sep, revision = text.partition("@")
    if sep and not _REVISION.match(revision):
        raise WeightspaceError(f"{ref!r}: expected {HF_PREFIX}ORG/NAME[@REVISION], the revision is empty or malformed")
    check_repo_id(repo_id, what=f"{ref!r}: hub id")
    return HubRef(repo_id, revision or None)


def hub_id_of(ref: str) -> str | None:
    """The ``ORG/NAME`` behind a checkpoint reference if it names a Hub repo, else None (local paths)."""
    if not ref.startswith(HF_PREFIX):
        return None
    try:
        return parse_hub_ref(ref).repo_id
    except WeightspaceError:
        return None
