"""A split's test clips: what they depend on, and where they come from (the clip cache, or streamed).

A split's dataset is built and checked for readability once per ``SplitClips``, so every model of a
sweep streaming the same split reuses it instead of opening every video again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Iterator

from weightspace.checkpoint import sha256_file
from weightspace.errors import ConfigError
from weightspace.eval.cache import EvalCache
from weightspace.eval.progress_tasks import ProgressTasks
from weightspace.eval.suite import Benchmark, SplitSpec

if TYPE_CHECKING:
    import torch

    from weightspace.data import VideoDataset


class SplitClips:
    def __init__(self, cache: EvalCache, tasks: ProgressTasks):
        self.cache = cache
        self.tasks = tasks
        self._datasets: dict[str, "VideoDataset"] = {}  # by clip key and split files

    def key(self, preprocess_cfg: dict, bench: Benchmark, split: SplitSpec) -> dict:
        """What a split's clips depend on: list and class-name contents + the sampling (``clip``)."""
        lst, names, root = split.paths()
        m = bench.model
        clip = {"root": str(root.resolve()) if root else None, "frames": m.num_frames, "views": m.temporal_views,
                "crops": m.spatial_crops, "size": _size(preprocess_cfg["size"]), "mean": list(preprocess_cfg["mean"]),
                "std": list(preprocess_cfg["std"]), "options": [list(o) for o in split.options]}
        return {"list": str(lst.resolve()), "list_sha": sha256_file(lst), "names_sha": sha256_file(names), "clip": clip}

    def entries(self, split: SplitSpec) -> list:
        from weightspace.data import read_list

        lst, _, root = split.paths()
        return read_list(lst, root, check_exists=False)

    def classnames(self, split: SplitSpec) -> list[str]:
        from weightspace.data import load_classnames

        return load_classnames(split.paths()[1])

    def batches(self, key: dict, split: SplitSpec, need: list[int], step: int,
                desc: str) -> Iterator[tuple["torch.Tensor", "torch.Tensor"]]:
        """(clips [B, V, T, 3, S, S], ok [B]) for the ``need`` indices: from the clip cache, or streamed."""
        import torch

        if not need:
            return
        if self.cache.stores("videos"):
            entry = self.cache.get_or_compute("videos", key, lambda: self._decode(self._dataset(key, split), desc))
            for i in range(0, len(need), step):
                idx = torch.tensor(need[i:i + step])
                yield entry["videos"][idx], entry["ok"][idx]
            return
        self.cache.stats["videos_miss"] += 1
        ds = self._dataset(key, split)
        for i in range(0, len(need), step):
            items = [ds[j] for j in need[i:i + step]]
            yield torch.stack([it["video"] for it in items]), torch.tensor([bool(it["ok"]) for it in items])

    def _dataset(self, key: dict, split: SplitSpec) -> "VideoDataset":
        from weightspace.data import VideoDataset

        lst, names, root = split.paths()
        ident = json.dumps([key, str(lst), str(names), str(root), dict(split.options)], sort_keys=True, default=str)
        if ident not in self._datasets:
            c = key["clip"]
            try:
                ds = VideoDataset(lst, names, root=root, num_frames=c["frames"], image_size=c["size"], mode="test",
                                  temporal_views=c["views"], spatial_crops=c["crops"], mean=tuple(c["mean"]),
                                  std=tuple(c["std"]), **dict(split.options))
            except TypeError as exc:
                raise ConfigError(f"{split.where}.options: {exc}") from None
            ds.check_readable()  # the training rule: refuse a split that is mostly unreadable, up front
            self._datasets[ident] = ds
        return self._datasets[ident]

    def _decode(self, ds: "VideoDataset", desc: str) -> dict:
        """All clips of a split as float16 [N, V, T, 3, S, S] + labels + ok flags."""
        import torch

        n = len(ds)
        videos = torch.empty((n, *ds.clip_shape), dtype=torch.float16)
        labels = torch.empty(n, dtype=torch.long)
        ok = torch.empty(n, dtype=torch.bool)
        with self.tasks.task(f"decode {desc}", n) as advance:
            for i in range(n):
                item = ds[i]
                videos[i], labels[i], ok[i] = item["video"], item["label"], bool(item["ok"])
                advance()
        return {"videos": videos, "labels": labels, "ok": ok}


def _size(size) -> int:
    return int(size[0] if isinstance(size, (list, tuple)) else size)
