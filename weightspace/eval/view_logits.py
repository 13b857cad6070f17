"""Cached per-view logits [N, V, C] of a model on a split: what every protocol scores.

Frame features depend on the video and its sampling, not on the class names, so during one model's
evaluation its features are kept by (sampling, video path) and splits that share videos share the
forward pass (base/novel subsets of a validation list, in-context = a cross-dataset test list). The last
scored model's split logits (small: no features) are kept, so scoring it again (e.g. its
prediction-ensemble variant) runs no forward pass. On the CPU a batch is encoded in chunks sized by
``frame_chunks``. Class text features come from the ``text`` cache, frozen-CLIP logits from ``clip_logits``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable

from weightspace.eval.cache import EvalCache
from weightspace.eval.clips import SplitClips
from weightspace.eval.frame_chunks import clips_per_forward
from weightspace.eval.model_slot import LoadedModel, model_text_digest
from weightspace.eval.progress_tasks import ProgressTasks
from weightspace.eval.protocols import SplitLogits
from weightspace.eval.suite import Benchmark, SplitSpec
from weightspace.torch_threads import ThreadTuner

if TYPE_CHECKING:
    import torch

    from weightspace.models.video_clip import VideoCLIP


Features = dict[tuple[str, str], tuple["torch.Tensor", bool]]  # (sampling, video path) -> ([V, T, D], readable)


class _ModelLogits:
    """One model's split logits, by split and sampling."""

    def __init__(self, identity: str):
        self.identity = identity
        self.splits: dict[str, SplitLogits] = {}


class ViewLogits:
    def __init__(self, clips: SplitClips, cache: EvalCache, tasks: ProgressTasks, device: str = "cpu"):
        self.clips = clips
        self.cache = cache
        self.tasks = tasks
        self.device = device
        self.threads = ThreadTuner()  # torch threads for the forward passes, by timing them
        self.model_batches = 0  # forward passes of scored models (tests check that stored results cost none)
        self._scored = _ModelLogits("")  # the last scored model's
        self._frozen: dict[str, Features] = {}  # frozen CLIPs' features, by sha256: they never change

    def of(self, loaded: LoadedModel, features: Features, key: dict, bench: Benchmark, split: SplitSpec) -> SplitLogits:
        """The per-view logits of the scored model ``loaded`` on ``split`` (clips described by ``key``);
        ``features`` holds this model's frame features for the splits still to come."""
        if self._scored.identity != loaded.identity:
            self._scored = _ModelLogits(loaded.identity)
        ident = json.dumps([key, split.name, bench.model.templates], sort_keys=True, default=list)
        if ident not in self._scored.splits:
            self._scored.splits[ident] = self._compute(loaded.model, features, loaded.text_digest, key, bench, split,
                                                       count=True)
        return self._scored.splits[ident]

    def frozen_clip(self, model: Callable[[], "VideoCLIP"], clip_sha: str, key: dict, bench: Benchmark,
                    split: SplitSpec) -> "torch.Tensor":
        """Frozen-CLIP (temporal ``none``) per-view logits on the same clips; ``model()`` is called only on a miss."""
        from weightspace.models.prompts import resolve_templates

        ckey = {"clip": clip_sha, "split": key, "templates": list(resolve_templates(bench.model.templates))}

        def compute() -> dict:
            clip = model()
            features = self._frozen.setdefault(clip_sha, {})
            return {"logits": self._compute(clip, features, model_text_digest(clip), key, bench, split, count=False).logits}

        return self.cache.get_or_compute("clip_logits", ckey, compute)["logits"]

    def _text(self, model: "VideoCLIP", digest: str, classnames: list[str], templates) -> "torch.Tensor":
        from weightspace.models.prompts import resolve_templates

        tpl = resolve_templates(templates)
        key = {"text": digest, "classnames": classnames, "templates": list(tpl)}
        return self.cache.get_or_compute("text", key, lambda: {"features": model.text_features(classnames, tpl).detach().cpu()})["features"]

    def _compute(self, model: "VideoCLIP", features: Features, digest: str, key: dict, bench: Benchmark,
                 split: SplitSpec, count: bool) -> SplitLogits:
        import torch

        from weightspace.data import check_labels

        entries = self.clips.entries(split)
        classnames = self.clips.classnames(split)
        lst, names, _ = split.paths()
        check_labels(entries, len(classnames), lst, names)  # also when every video was already seen elsewhere
        clip = json.dumps(key["clip"], sort_keys=True)
        vkeys = [(clip, str(e.path)) for e in entries]
        first: dict = {}
        for i, k in enumerate(vkeys):
            if k not in features:
                first.setdefault(k, i)
        need = sorted(first.values())  # videos this model has not seen yet, once each
        step = max(1, bench.model.batch_size // bench.model.views)
        desc = f"{bench.name}/{split.name}" if count else f"frozen CLIP {bench.name}/{split.name}"
        chunk = clips_per_forward(model.model.visual, key["clip"]["frames"], self.device)  # clips per forward pass
        with torch.inference_mode(), self.tasks.task(desc, -(-len(need) // step)) as advance:
            done = 0
            for clips, ok in self.clips.batches(key, split, need, step, desc):
                b, v = clips.shape[:2]
                x = clips.flatten(0, 1)
                parts = []
                # threads tuned per chunk: a probe at the slower count costs a chunk, not a batch
                for c in x.split(chunk or len(x)):
                    with self.threads.batch(len(c)):
                        parts.append(model.encode_frames(c.to(self.device, torch.float32)).float())
                ff = torch.cat(parts)
                ff = ff.view(b, v, *ff.shape[1:])
                for j in range(b):
                    features[vkeys[need[done + j]]] = (ff[j], bool(ok[j]))
                done += b
                self.model_batches += count
                advance()
            tf = self._text(model, digest, classnames, bench.model.templates).to(self.device)
            ff = torch.stack([features[k][0] for k in vkeys])  # [N, V, T, D]
            n, v = ff.shape[:2]
            z = model.logits(ff.flatten(0, 1), tf).float().cpu().view(n, v, -1)
        labels = torch.tensor([e.label for e in entries])
        ok = torch.tensor([features[k][1] for k in vkeys])
        return SplitLogits(split.name, z, labels, ok)
