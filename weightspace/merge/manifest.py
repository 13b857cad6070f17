"""``merge_manifest.json``: what went into a merge, enough to check and repeat it."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from weightspace import __version__

MANIFEST_FORMAT = "weightspace-merge-manifest"


def _jsonable(obj) -> bool:
    try:
        json.dumps(obj)
    except (TypeError, ValueError):
        return False
    return True


def build_manifest(method, params: dict, base, inputs: list, filt, dtype: str | None, plan: list,
                   output_sha256: str, state=None) -> dict:
    """``base``/``inputs`` are ``engine.MergeInput``; ``plan`` the engine's ``KeyPlan`` list."""
    entries = []
    if base is not None:
        entries.append({"ref": base.label, "sha256": base.sha256(), "role": "base"})
    epochs = params.get("epochs") if isinstance(params.get("epochs"), list) else None
    for i, m in enumerate(inputs):
        entry = {"ref": m.label, "sha256": m.sha256(), "role": "input"}
        if epochs is not None:
            entry["epoch"] = epochs[i]
        entries.append(entry)
    counts = {a: sum(1 for p in plan if p.action == a) for a in ("merge", "copy", "copy-checked")}
    doc = {
        "format": MANIFEST_FORMAT,
        "weightspace_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "method": method.name,
        "reference": method.reference,
        "params": params,
        "include": filt.include,
        "exclude": filt.exclude,
        "dtype": dtype,
        "inputs": entries,
        "keys": {"merged": counts["merge"], "copied": counts["copy"] + counts["copy-checked"]},
        "output": {"weights_sha256": output_sha256},
    }
    if state is not None and _jsonable(state):
        doc["derived"] = state  # e.g. GWA coefficients, TIES thresholds
    return doc
