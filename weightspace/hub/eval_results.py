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
from typing import Literal

from pydantic import Field

from weightspace.errors import ConfigError
from weightspace.schema import Schema, validate as validate_schema

METRICS = ("top1", "top5", "hm")


class CheckpointInfo(Schema):
    ref: str | None = None
    sha256: str | None = None  # None: results of whatever weights are pushed


class ResultRow(Schema):
    protocol: str
    benchmark: str
    split: str
    metric: Literal[METRICS]
    value: float = Field(ge=0, le=1)  # a fraction, not a percentage
    n: int | None = Field(None, ge=0)  # videos scored
    missing: int | None = Field(None, ge=0)  # videos that could not be read


class EvalResultsDoc(Schema):
    """One document (``EvalResult.to_json`` in ``weightspace.eval.results`` writes them)."""

    checkpoint: CheckpointInfo | None = None
    suite: str | None = None
    suite_hash: str | None = None
    variant: str = ""  # a prediction-space ensemble variant, never published
    results: list[ResultRow]
    scores: dict[str, float] = Field(default_factory=dict)
    score: float | None = Field(None, allow_inf_nan=True)  # NaN when no benchmark was scored
    missing_videos: int = Field(0, ge=0)
    missing_paths: list[str] = Field(default_factory=list)
    provenance: dict = Field(default_factory=dict)


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
    """Refuse a document that does not follow ``EvalResultsDoc`` (``label`` names it in the error)."""
    validate_schema(EvalResultsDoc, doc, source=label)


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
