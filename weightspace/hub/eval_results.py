"""Reading ``eval_results.json`` (written by the evaluator) for the model card and the upload.

Schema (the one ``weightspace.eval.results`` writes): ``{"checkpoint": {"ref", "sha256"}, "suite":
str, "variant": str, "results": [{"protocol", "benchmark", "split", "metric", "value"}], ...}`` with ``metric``
in top1/top5/hm and ``value`` a fraction; a file holds one such document or a list of them. Only documents
for the pushed weights themselves are published: not other checkpoints', and not prediction-space ensemble
variants (those scores need frozen CLIP next to the model).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from weightspace.errors import ConfigError

METRICS = ("top1", "top5", "hm")
_RESULT_KEYS = ("protocol", "benchmark", "split", "metric", "value")


def read(path: str | os.PathLike) -> list[dict]:
    """Load and validate one eval results file: its documents (one-line error naming the file and entry at fault)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read eval results JSON ({exc})") from exc
    docs = data if isinstance(data, list) else [data]
    for i, doc in enumerate(docs):
        validate(doc, label=str(path) if len(docs) == 1 else f"{path}[{i}]")
    return docs


def validate(doc, *, label: str) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ConfigError(f"{label}: eval results need a 'results' list")
    for i, row in enumerate(doc["results"]):
        if not isinstance(row, dict) or any(k not in row for k in _RESULT_KEYS):
            raise ConfigError(f"{label}: results[{i}] needs the keys {', '.join(_RESULT_KEYS)}")
        if row["metric"] not in METRICS:
            raise ConfigError(f"{label}: results[{i}].metric {row['metric']!r} is not one of {', '.join(METRICS)}")
        value = row["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ConfigError(f"{label}: results[{i}].value {value!r} must be a fraction in [0, 1]")


def for_checkpoint(files: list[tuple[str, list[dict]]], sha256: str) -> dict | None:
    """One document with the results of the weights ``sha256`` from several files; a file without any is refused."""
    chosen: list[dict] = []
    for label, docs in files:
        mine = [d for d in docs if not d.get("variant")
                and (d.get("checkpoint") or {}).get("sha256") in (None, sha256)]
        if not mine:
            shas = {(d.get("checkpoint") or {}).get("sha256") for d in docs}
            found = ("prediction-ensemble variants" if sha256 in shas else
                     "results for other weights (sha256 " + ", ".join(f"{s[:16]}…" for s in sorted(shas)) + ")")
            raise ConfigError(f"{label}: no eval results of the pushed weights (sha256 {sha256[:16]}…), only {found}")
        chosen += mine
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]
    combined = dict(chosen[0])
    combined["suite"] = ", ".join(str(doc.get("suite", "?")) for doc in chosen)
    combined["results"] = [row for doc in chosen for row in doc["results"]]
    return combined
