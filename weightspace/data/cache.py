"""An optional decoded-frame cache for small datasets: one uint8 ``np.memmap`` per list file.

Every video is stored as K frames (the centres of K equal segments; K = all frames of a short clip), resized
so the short side is ``image_size`` and centre-cropped to a square. The dataset then samples its T frames
from those K. Files, keyed by the resolved video paths + size + K (so a new root or list means a new cache)::

    <cache_dir>/<list stem>-<S>px-<K>f-<hash>.u8     uint8 [N, K, S, S, 3]
    <cache_dir>/<list stem>-<S>px-<K>f-<hash>.json   shape, per-video ok flag and failure reason

Both are written atomically (data first, then the JSON that marks the cache complete).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from weightspace.atomic import atomic_path, write_json
from weightspace.data.decode import VideoReadError, open_source
from weightspace.data.lists import ListEntry
from weightspace.data.sampling import segment_indices
from weightspace.data.transforms import crop, resize_short, to_tensor

CACHE_VERSION = 1


def cache_name(list_file: Path, entries: Sequence[ListEntry], image_size: int, frames: int) -> str:
    h = hashlib.sha256(json.dumps([CACHE_VERSION, image_size, frames, [str(e.path) for e in entries]]).encode())
    return f"{Path(list_file).stem}-{image_size}px-{frames}f-{h.hexdigest()[:12]}"


def square_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 [N, H, W, 3] -> uint8 [N, size, size, 3]: short side resized, centre crop."""
    video = crop(resize_short(to_tensor(frames), size), size, "centre")
    return video.mul(255.0).round_().clamp_(0, 255).to(dtype=torch.uint8).permute(0, 2, 3, 1).numpy()


class CachedFrames:
    """The cached K frames of one video, with the same interface as a decoded source."""

    def __init__(self, frames: np.ndarray, path: Path):
        self.frames = frames
        self.path = path

    def num_frames(self) -> int:
        return len(self.frames)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        return np.asarray(self.frames[np.asarray(indices)])


class FrameCache:
    """Read access to a complete cache; ``ensure`` builds it first when missing."""

    def __init__(self, data_path: Path, meta: dict):
        self.data_path = data_path
        self.meta = meta
        self.frames = np.memmap(data_path, dtype=np.uint8, mode="r", shape=tuple(meta["shape"]))
        self.ok: list[bool] = meta["ok"]
        self.reasons: list[str] = meta["reasons"]

    def source(self, index: int, path: Path) -> CachedFrames:
        if not self.ok[index]:
            raise VideoReadError(self.reasons[index])
        return CachedFrames(self.frames[index], path)

    @classmethod
    def ensure(cls, cache_dir: str | os.PathLike, list_file: Path, entries: Sequence[ListEntry], *, image_size: int,
               frames: int, progress: bool = True) -> "FrameCache":
        cache_dir = Path(cache_dir)
        name = cache_name(list_file, entries, image_size, frames)
        data_path, meta_path = cache_dir / f"{name}.u8", cache_dir / f"{name}.json"
        if meta_path.is_file() and data_path.is_file():
            return cls(data_path, json.loads(meta_path.read_text(encoding="utf-8")))
        shape = (len(entries), frames, image_size, image_size, 3)
        ok, reasons = [True] * len(entries), [""] * len(entries)
        from weightspace.progress import progress_bar

        with atomic_path(data_path) as tmp, progress_bar(transient=True, enabled=progress) as bar:
            mm = np.memmap(tmp, dtype=np.uint8, mode="w+", shape=shape)
            task = bar.add_task(f"caching {Path(list_file).name}", total=len(entries))
            for i, e in enumerate(entries):
                try:
                    src = open_source(e.path, e.num_frames)
                    mm[i] = square_frames(src.read(segment_indices(src.num_frames(), frames)), image_size)
                except (VideoReadError, OSError, ValueError) as exc:
                    ok[i], reasons[i] = False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                bar.advance(task)
            mm.flush()
            del mm
        write_json(meta_path, {"version": CACHE_VERSION, "list_file": str(list_file), "shape": list(shape), "ok": ok, "reasons": reasons})
        return cls(data_path, json.loads(meta_path.read_text(encoding="utf-8")))
