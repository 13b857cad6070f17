"""What ``weightspace inspect`` reports: metadata, parameter counts per tag, task-vector norms and cosines."""

from __future__ import annotations

import os
from collections import Counter
from typing import Sequence

from weightspace.checkpoint import TAGS, combined_sha256, key_tag, open_checkpoint, sha256_file
from weightspace.merge.filters import KeyFilter
from weightspace.merge.hashing import HashCache, file_stamp
from weightspace.merge.task_vector import task_vector_stats


def _tag_order(tag: str) -> tuple[int, str]:
    """Known tags in their usual order, then any other tag (e.g. a video head's) by name."""
    return (TAGS.index(tag), "") if tag in TAGS else (len(TAGS), tag)


def _kind(ckpt) -> str:
    if ckpt.folder is not None:
        return "folder"
    return "legacy" if ckpt.is_legacy else "safetensors"


def _sha256(ckpt, cache: HashCache) -> str:
    """The checkpoint's identity; the cache holds the weights file's own sha256, as the merge engine's does."""
    stamp = file_stamp(ckpt.weights)
    sha = cache.get(ckpt.weights, stamp)
    if sha is None:
        sha = sha256_file(ckpt.weights)
        cache.put(ckpt.weights, stamp, sha)
    return combined_sha256(sha, ckpt.head)


def describe(ref: str | os.PathLike, cache: HashCache | None = None) -> dict:
    """One checkpoint's metadata and parameter counts (headers only, plus the file hash, cached)."""
    ckpt = open_checkpoint(ref)
    src = ckpt.source()
    per_tag: Counter = Counter()
    dtypes: Counter = Counter()
    for k in src.keys():
        info = src.info(k)
        per_tag[key_tag(k)] += info.numel
        dtypes[info.dtype] += info.numel
    meta = ckpt.meta or {}
    prov = meta.get("provenance") or {}
    return {
        "ref": ckpt.ref,
        "kind": _kind(ckpt),
        "sha256": _sha256(ckpt, cache if cache is not None else HashCache()),
        "keys": len(src.keys()),
        "parameters": sum(per_tag.values()),
        "parameters_by_tag": dict(sorted(per_tag.items(), key=lambda kv: _tag_order(kv[0]))),
        "dtypes": dict(dtypes),
        "model_cfg": bool(ckpt.model_cfg),
        "embed_dim": (ckpt.model_cfg or {}).get("embed_dim"),
        "video": meta.get("video") or {},
        "base_model": meta.get("base_model"),
        "provenance": {k: v for k, v in prov.items() if k in ("kind", "method", "epoch", "params")},
    }


def summarize(refs: Sequence[str | os.PathLike], *, base: str | os.PathLike | None = None,
              include: Sequence[str] | None = None, exclude: Sequence[str] | None = None) -> dict:
    """``describe`` for each checkpoint; with a base, task-vector norms per tag and the cosine matrix."""
    from weightspace.merge.engine import open_input, plan_keys

    cache = HashCache()
    report = {"checkpoints": [describe(r, cache) for r in refs],
              "base": describe(base, cache) if base is not None else None, "task_vectors": None}
    cache.save()
    if base is not None:
        ins = [open_input(r, "input", cache) for r in [base, *refs]]
        # keys the base lacks (a video head on fine-tuned inputs) have no task vector: left out
        plan = plan_keys(ins[0], ins[1:], KeyFilter(include, exclude), None, ("drop", None))
        keys = [p.key for p in plan if p.action == "merge"]
        stats = task_vector_stats(ins[0].source, [m.source for m in ins[1:]], keys)
        report["task_vectors"] = {"labels": [str(r) for r in refs], "norms": stats.norms, "cosine": stats.cosine}
    return report
