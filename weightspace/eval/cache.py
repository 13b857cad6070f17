"""Evaluation caches: work that does not depend on the checkpoint being scored is done once.

Three kinds, each keyed by a sha256 over a JSON description of everything that determines it:

- ``videos``: decoded, preprocessed test clips of one split (float16 [N, V, T, 3, S, S] + labels + ok
  flags), keyed by list/class-name file contents, root, frames, views, size and normalisation. So a
  second model (the next merge of a sweep) never decodes a video again.
- ``text``: class text features [C, D], keyed by a digest of the text-tower weights, class names and
  templates. Merges that leave the text tower alone (Open-VCLIP, frozen text) share them.
- ``clip_logits``: the frozen-CLIP per-view logits [N, V, C] of a split for prediction ensembling,
  keyed by the CLIP base's sha256, the split key and templates.

Entries live in memory and, unless ``root`` is None, on disk as ``<root>/<kind>/<hash>.safetensors``
(written atomically, so a crash never leaves a half entry). Video clips can be kept in memory only
(``video_mode="memory"``) or not at all (``"off"``: stream, for benchmarks too large to hold).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from weightspace.atomic import atomic_path
from weightspace.cache_root import resolve_cache_root

if TYPE_CHECKING:
    import torch

KINDS = ("videos", "text", "clip_logits")
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    return resolve_cache_root() / "eval"


def key_hash(key) -> str:
    return hashlib.sha256(json.dumps([CACHE_VERSION, key], sort_keys=True, default=str).encode()).hexdigest()


def state_digest(state: dict[str, "torch.Tensor"], keep: Callable[[str], bool] = lambda k: True, prefix: bytes = b"") -> str:
    """sha256 over ``prefix`` and the keys, dtypes, shapes and bytes of the kept tensors of a state dict."""
    import torch

    h = hashlib.sha256(prefix)
    for k in sorted(state):
        if keep(k):
            t = state[k].detach().cpu().contiguous()
            h.update(f"{k}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def text_tower_digest(state: dict[str, "torch.Tensor"], text_cfg: dict | None) -> str:
    """sha256 over the text-tower tensors (CLIP key names) and the text config (tokenizer, context)."""
    from weightspace.checkpoint import key_tag

    return state_digest(state, lambda k: key_tag(k) == "text", json.dumps(text_cfg or {}, sort_keys=True).encode())


class EvalCache:
    """Memory + disk cache of tensor dicts; ``stats`` counts hits and misses per kind."""

    def __init__(self, root: str | os.PathLike | None = None, *, video_mode: str = "disk"):
        self.root = Path(root) if root is not None else None
        self.video_mode = video_mode
        self._memory: dict[tuple[str, str], dict] = {}
        self.stats: Counter = Counter()

    def _file(self, kind: str, h: str) -> Path | None:
        if self.root is None or (kind == "videos" and self.video_mode != "disk"):
            return None
        return self.root / kind / f"{h}.safetensors"

    def stores(self, kind: str) -> bool:
        return not (kind == "videos" and self.video_mode == "off")

    def get(self, kind: str, key) -> dict | None:
        h = key_hash(key)
        entry = self._memory.get((kind, h))
        if entry is None:
            path = self._file(kind, h)
            if path is not None and path.is_file():
                from safetensors.torch import load_file

                entry = load_file(path)
                self._memory[(kind, h)] = entry
        self.stats[f"{kind}_{'hit' if entry is not None else 'miss'}"] += 1
        return entry

    def put(self, kind: str, key, entry: dict[str, "torch.Tensor"]) -> None:
        if not self.stores(kind):
            return
        h = key_hash(key)
        self._memory[(kind, h)] = entry
        path = self._file(kind, h)
        if path is not None:
            from safetensors.torch import save_file

            with atomic_path(path) as tmp:
                save_file({k: v.contiguous() for k, v in entry.items()}, str(tmp),
                          metadata={"key": json.dumps(key, default=str)[:10000]})

    def get_or_compute(self, kind: str, key, compute: Callable[[], dict]) -> dict:
        entry = self.get(kind, key)
        if entry is None:
            entry = compute()
            self.put(kind, key, entry)
        return entry
