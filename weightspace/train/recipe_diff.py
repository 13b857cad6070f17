"""Which recipe changes a run's output folder tolerates: the first key that makes it another run."""

from __future__ import annotations

# recipe keys that may change between a run and its resumption (they do not change the result)
RESUME_FREE_KEYS = ("output", "state_every", "log_every", "data.workers", "data.max_unreadable", "device")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("strategy",):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def recipe_difference(saved: dict, current: dict) -> str | None:
    """The first dotted key (sorted) whose value differs, outside ``RESUME_FREE_KEYS``; None if they agree."""
    a, b = _flat(saved), _flat(current)
    for key in sorted(set(a) | set(b)):
        if key in RESUME_FREE_KEYS:
            continue
        if a.get(key) != b.get(key):
            return key
    return None
