"""What a push publishes names no machine: local paths become file names, parents are Hub ids or name + sha256.

Every JSON document that goes up (``weightspace.json``, ``merge_manifest.json``, ``eval_results.json``) and
the model card rendered from them pass through ``public``: a string that is an absolute or home-relative
local path (``/home/me/runs/x``, ``~/ckpt``, ``C:\\models\\y``) is replaced by its last component, so a parent
is named by its file name next to the sha256 already recorded with it. ``hf-hub:`` and ``builtin:``
references are names already and are kept.
"""

from __future__ import annotations

import re

from weightspace.errors import WeightspaceError
from weightspace.refs import PathRef, parse_ref

_LOCAL_PATH = re.compile(r"^(?:/|~|\.{1,2}/|[A-Za-z]:[\\/])")  # absolute, home- or dot-relative


def public_name(text: str) -> str:
    """``text`` with a local path reduced to its file or folder name; anything else unchanged."""
    try:
        ref = parse_ref(text)
    except WeightspaceError:  # free text that only looks like a reference
        return text
    if not isinstance(ref, PathRef) or not _LOCAL_PATH.match(ref.path):
        return text
    parts = [p for p in re.split(r"[\\/]", ref.path) if p not in ("", ".", "..", "~")]
    return parts[-1] if parts else "local"


def public(doc):
    """A copy of a JSON-like document in which no string is a local path."""
    if isinstance(doc, dict):
        return {k: public(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [public(v) for v in doc]
    if isinstance(doc, str):
        return public_name(doc)
    return doc
