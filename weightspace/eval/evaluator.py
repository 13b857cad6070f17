"""Score checkpoints on a suite: one model load per checkpoint, every benchmark, shared caches.

For each split the checkpoint's per-view logits [N, V, C] are computed from cached test clips and
cached class text features, optionally mixed with frozen-CLIP logits (``ensemble.mix_logits``, per
view), summed over views, and scored (top-1/top-5 over the videos that could be read; unreadable
ones are counted as ``missing``). A checkpoint already in the results store for the same suite
content and variant is answered from the store without loading any model.

Work shared across checkpoints: decoded clips per split (``EvalCache`` "videos"), class text features
per text tower ("text"), frozen-CLIP logits ("clip_logits"), and the model object itself (a merge of
the same architecture is loaded into it). Work shared across splits within one checkpoint: frame
features per video, so a video listed in several splits goes through the model once.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import TYPE_CHECKING, Sequence

from weightspace.checkpoint import Checkpoint, open_checkpoint, sha256_file
from weightspace.errors import ConfigError, WeightspaceError
from weightspace.eval.cache import EvalCache, default_cache_dir, state_digest, text_tower_digest
from weightspace.eval.ensemble import aggregate_views, mix_logits
from weightspace.eval.metrics import topk_accuracy
from weightspace.eval.protocols import get_protocol
from weightspace.eval.results import EvalResult, Row
from weightspace.eval.store import ResultsStore
from weightspace.eval.suite import Benchmark, SplitSpec, Suite, find_suite, load_suite
from weightspace.eval.threads import ThreadTuner

if TYPE_CHECKING:
    import torch

    from weightspace.data import VideoDataset

    from weightspace.models.video_clip import VideoCLIP


def open_store(store) -> ResultsStore | None:
    """``None`` -> the default store, ``False`` -> none, a path -> that file, a store -> itself."""
    if store is False:
        return None
    if isinstance(store, ResultsStore):
        return store
    return ResultsStore(None if store in (None, True) else store)


def as_suite(suite: "Suite | str | os.PathLike") -> Suite:
    return suite if isinstance(suite, Suite) else load_suite(find_suite(suite))


def checkpoint_info(ckpt: Checkpoint) -> dict:
    """name, method, params, parents for the leaderboard, from weightspace.json's provenance."""
    prov = ckpt.meta.get("provenance") or {}
    parents = [p.get("ref") for p in prov.get("parents") or [] if isinstance(p, dict)]
    base = ckpt.meta.get("base_model") or {}
    if not parents and isinstance(base, dict) and base.get("ref"):
        parents = [base["ref"]]
    params = prov.get("params")
    if params is None:
        params = {k: prov[k] for k in ("recipe", "strategy", "epoch") if k in prov}
    return {"name": ckpt.name, "method": prov.get("method") or prov.get("kind") or "checkpoint",
            "params": params, "parents": parents}


def ensemble_variant(rho: float | None, clip_sha: str | None) -> str:
    return f"ens(rho={rho:g},clip={clip_sha[:12]})" if rho else ""


class Evaluator:
    """Holds a suite, the caches and the results store; ``evaluate(ref)`` scores one checkpoint."""

    def __init__(
        self,
        suite: "Suite | str | os.PathLike",
        *,
        store=None,
        cache: EvalCache | None = None,
        cache_dir: str | os.PathLike | None = None,
        device: str = "cpu",
        progress: bool = False,
    ):
        self.suite = as_suite(suite).validate(check_files=True)
        self.store = open_store(store)
        self.cache = cache or EvalCache(cache_dir or default_cache_dir(), video_mode=self.suite.video_cache)
        self.device = device
        self.progress = progress
        self._model: "VideoCLIP | None" = None
        self._model_key: str | None = None
        self._text_digest: str | None = None
        self._clips: dict[str, "VideoCLIP"] = {}
        self._clip_feats: dict[str, dict] = {}
        self._datasets: dict[str, "VideoDataset"] = {}  # by clip key and split files (see _dataset)
        self._live = None
        self.threads = ThreadTuner()  # torch threads for the forward passes, by timing them (threads.py)
        self.model_batches = 0  # forward passes of scored models (tests check that stored results cost none)

    # ---- models -----------------------------------------------------------------------------------
    def _load(self, ckpt: Checkpoint, state: dict | None = None) -> "VideoCLIP":
        """``ckpt``'s model (or its architecture with ``state``'s weights), loaded into the current model
        when the architecture matches (a sweep builds one model)."""
        from weightspace.models.video_clip import VideoCLIP

        video = ckpt.meta.get("video") if isinstance(ckpt.meta.get("video"), dict) else {}
        temporal = video.get("temporal") or self.suite.model.temporal
        key = json.dumps([ckpt.model_cfg, ckpt.preprocess_cfg, temporal], sort_keys=True)
        if self._model is not None and ckpt.model_cfg is not None and key == self._model_key:
            self._model.load_clip_state(state if state is not None else ckpt)
        else:
            self._model = VideoCLIP.from_pretrained(ckpt.ref, temporal=temporal).to(self.device).eval()
            self._model_key = key
            if state is not None:
                self._model.load_clip_state(state)
        self._model.set_tfm(self.suite.model.tfm, ckpt.ref)
        self._text_digest = text_tower_digest(self._model.clip_state_dict(), (self._model.model_cfg or {}).get("text_cfg"))
        return self._model

    def _frozen_clip(self, ref: str) -> "VideoCLIP":
        from weightspace.models.video_clip import VideoCLIP

        if ref not in self._clips:
            self._clips = {ref: VideoCLIP.from_pretrained(ref, temporal="none").to(self.device).eval()}
        return self._clips[ref]

    @contextlib.contextmanager
    def _task(self, desc: str, total: int | None):
        """A rich progress task (one live display shared by nested tasks); yields ``advance()``."""
        if not self.progress:
            yield lambda: None
            return
        if self._live is None:
            from weightspace.progress import progress_bar

            self._live = progress_bar(transient=True)
            self._live.start()
        live = self._live
        task = live.add_task(desc, total=total)
        try:
            yield lambda: live.advance(task)
        finally:
            live.remove_task(task)
            if not live.tasks:
                live.stop()
                self._live = None

    # ---- data -------------------------------------------------------------------------------------
    def _split_key(self, model: "VideoCLIP", bench: Benchmark, split: SplitSpec) -> dict:
        """What a split's clips depend on: list and class-name contents + the sampling (``clip``)."""
        lst, names, root = split.paths()
        pp = model.preprocess_cfg
        m = bench.model
        clip = {"root": str(root.resolve()) if root else None, "frames": m.num_frames, "views": m.temporal_views,
                "crops": m.spatial_crops, "size": _size(pp["size"]), "mean": list(pp["mean"]), "std": list(pp["std"]),
                "options": [list(o) for o in split.options]}
        return {"list": str(lst.resolve()), "list_sha": sha256_file(lst), "names_sha": sha256_file(names), "clip": clip}

    def _dataset(self, key: dict, split: SplitSpec):
        """The split's dataset, built and checked for readability once per evaluator (every model of a sweep
        streaming the same split reuses it, instead of opening every video again)."""
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

    def _decode(self, ds, desc: str) -> dict:
        """All clips of a split as float16 [N, V, T, 3, S, S] + labels + ok flags."""
        import torch

        n = len(ds)
        videos = torch.empty((n, *ds.clip_shape), dtype=torch.float16)
        labels = torch.empty(n, dtype=torch.long)
        ok = torch.empty(n, dtype=torch.bool)
        with self._task(f"decode {desc}", n) as advance:
            for i in range(n):
                item = ds[i]
                videos[i], labels[i], ok[i] = item["video"], item["label"], bool(item["ok"])
                advance()
        return {"videos": videos, "labels": labels, "ok": ok}

    def _clip_batches(self, key: dict, split: SplitSpec, need: list[int], step: int, desc: str):
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

    def _entries(self, split: SplitSpec) -> list:
        from weightspace.data import read_list

        lst, _, root = split.paths()
        return read_list(lst, root, check_exists=False)

    def _paths(self, split: SplitSpec) -> list[str]:
        return [str(e.path) for e in self._entries(split)]

    def _classnames(self, split: SplitSpec) -> list[str]:
        from weightspace.data import load_classnames

        return load_classnames(split.paths()[1])

    def _text(self, model: "VideoCLIP", digest: str, classnames: list[str], templates) -> "torch.Tensor":
        from weightspace.models.prompts import resolve_templates

        tpl = resolve_templates(templates)
        key = {"text": digest, "classnames": classnames, "templates": list(tpl)}
        return self.cache.get_or_compute("text", key, lambda: {"features": model.text_features(classnames, tpl).detach().cpu()})["features"]

    def _view_logits(self, model: "VideoCLIP", feats: dict, key: dict, bench: Benchmark, split: SplitSpec, digest: str,
                     desc: str, count: bool) -> tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]:
        """Per-view logits [N, V, C], labels [N], ok [N] of one model on one split.

        Frame features depend on the video and its sampling, not on the class names, so ``feats`` (one
        model's features by (sampling, video path)) lets splits that share videos share the forward pass
        (base/novel subsets of a validation list, in-context = a cross-dataset test list).
        """
        import torch

        from weightspace.data import check_labels

        entries = self._entries(split)
        classnames = self._classnames(split)
        lst, names, _ = split.paths()
        check_labels(entries, len(classnames), lst, names)  # also when every video was already seen elsewhere
        clip = json.dumps(key["clip"], sort_keys=True)
        vkeys = [(clip, str(e.path)) for e in entries]
        first: dict = {}
        for i, k in enumerate(vkeys):
            if k not in feats:
                first.setdefault(k, i)
        need = sorted(first.values())  # videos this model has not seen yet, once each
        step = max(1, bench.model.batch_size // bench.model.views)
        with torch.inference_mode(), self._task(desc, -(-len(need) // step)) as advance:
            done = 0
            for clips, ok in self._clip_batches(key, split, need, step, desc):
                b, v = clips.shape[:2]
                with self.threads.batch(b):
                    ff = model.encode_frames(clips.flatten(0, 1).to(self.device, torch.float32)).float()
                ff = ff.view(b, v, *ff.shape[1:])
                for j in range(b):
                    feats[vkeys[need[done + j]]] = (ff[j], bool(ok[j]))
                done += b
                self.model_batches += count
                advance()
            tf = self._text(model, digest, classnames, bench.model.templates).to(self.device)
            ff = torch.stack([feats[k][0] for k in vkeys])  # [N, V, T, D]
            n, v = ff.shape[:2]
            z = model.logits(ff.flatten(0, 1), tf).float().cpu().view(n, v, -1)
        labels = torch.tensor([e.label for e in entries])
        ok = torch.tensor([feats[k][1] for k in vkeys])
        return z, labels, ok

    def _clip_logits(self, clip_ref: str, clip_sha: str, key: dict, bench: Benchmark, split: SplitSpec) -> "torch.Tensor":
        """Frozen-CLIP (temporal ``none``) per-view logits on the same clips; the model loads only on a miss."""
        ckey = {"clip": clip_sha, "split": key, "templates": list(_templates(bench.model.templates))}

        def compute() -> dict:
            clip = self._frozen_clip(clip_ref)
            digest = text_tower_digest(clip.clip_state_dict(), (clip.model_cfg or {}).get("text_cfg"))
            feats = self._clip_feats.setdefault(clip_sha, {})  # frozen: its features never change
            z, _, _ = self._view_logits(clip, feats, key, bench, split, digest, f"frozen CLIP {bench.name}/{split.name}", False)
            return {"logits": z}

        return self.cache.get_or_compute("clip_logits", ckey, compute)["logits"]

    # ---- scoring ----------------------------------------------------------------------------------
    def evaluate(self, ref: str | os.PathLike, *, rho: float | None = None, clip_base: str | None = None,
                 force: bool = False, label: str | None = None, record: bool = True) -> EvalResult:
        """Score one checkpoint on every benchmark of the suite (or answer from the store).

        ``label`` names it in the store (e.g. for temporary merges); ``record=False`` keeps the
        result out of the store (greedy-soup trials).
        """
        ckpt = open_checkpoint(ref)
        info = checkpoint_info(ckpt)
        return self._evaluate(ckpt, None, ckpt.sha256(), label or ckpt.ref, {**info, "name": label or info["name"]},
                              rho=rho, clip_base=clip_base, force=force, record=record)

    def evaluate_weights(self, state: dict[str, "torch.Tensor"], *, like: Checkpoint, sha256: str, label: str,
                         info: dict, rho: float | None = None, clip_base: str | None = None, force: bool = False,
                         record: bool = True) -> EvalResult:
        """Score weights held in memory (a sweep point, never written) with ``like``'s architecture and video
        settings; ``sha256`` identifies the weights in the store, ``info`` is their leaderboard provenance."""
        return self._evaluate(like, state, sha256, label, info, rho=rho, clip_base=clip_base, force=force, record=record)

    def _evaluate(self, ckpt: Checkpoint, state: dict | None, sha: str, label: str, info: dict, *,
                  rho: float | None, clip_base: str | None, force: bool, record: bool) -> EvalResult:
        t0 = time.perf_counter()
        clip_ref, clip_sha = None, None
        if rho:
            clip_ref = clip_base or _recorded_base(ckpt)
            if clip_ref is None:
                raise ConfigError("--rho needs --clip-base (the checkpoint records no base model)")
            clip_sha = open_checkpoint(clip_ref).sha256()
        variant = ensemble_variant(rho, clip_sha)
        suite_hash = self.suite.content_hash()
        if self.store is not None and not force:
            hit = self.store.lookup(sha, suite_hash, variant)
            if hit is not None:
                return hit
        model = self._load(ckpt, state)
        feats: dict = {}  # this model's frame features by (sampling, video path)
        rows: list[Row] = []
        failures: list[str] = []
        for bench in self.suite.benchmarks:
            top1: dict[str, float] = {}
            for split in bench.splits:
                desc = f"{bench.name}/{split.name}"
                key = self._split_key(model, bench, split)
                z, labels, ok = self._view_logits(model, feats, key, bench, split, self._text_digest, desc, True)
                if rho:
                    z = mix_logits(z, self._clip_logits(clip_ref, clip_sha, key, bench, split), rho)
                logits = aggregate_views(z, bench.model.aggregate)
                n_ok = int(ok.sum())
                if n_ok == 0:
                    raise WeightspaceError(f"{split.paths()[0]}: none of the {len(ok)} videos could be read")
                acc = topk_accuracy(logits[ok], labels[ok], (1, 5))
                missing = len(ok) - n_ok
                if missing:
                    failures += [str(p) for p, good in zip(self._paths(split), ok.tolist()) if not good]
                top1[split.name] = acc[1]
                rows += [Row(bench.protocol, bench.name, split.name, "top1", acc[1], n_ok, missing),
                         Row(bench.protocol, bench.name, split.name, "top5", acc[5], n_ok, missing)]
            rows += [Row(bench.protocol, bench.name, s, m, v) for s, m, v in get_protocol(bench.protocol).summarize(top1)]
        result = EvalResult(label, sha, self.suite.name, suite_hash, rows, variant, info,
                            seconds=time.perf_counter() - t0, failures=failures)
        if rho:
            result.info = {**info, "rho": rho, "clip_base": clip_ref}
        if self.store is not None and record:
            self.store.put(result)
        return result

    def evaluate_wise_ft(self, ref: str | os.PathLike, alpha: float, *, clip_base: str | None = None,
                         out: str | os.PathLike | None = None, **kw) -> EvalResult:
        """WiSE-FT in weight space, θ = (1−α)·θ_CLIP + α·θ_ckpt, scored in memory (written to ``out`` if given)."""
        from weightspace.eval.memory_merge import MemoryMerge

        base = clip_base or _recorded_base(open_checkpoint(ref))
        if base is None:
            raise ConfigError("--wise-ft-alpha needs --clip-base (the checkpoint records no base model)")
        if out is not None:
            from weightspace.merge import merge

            return self.evaluate(merge("wise-ft", [str(ref)], base=str(base), out=out, params={"alpha": alpha},
                                       progress=False), **kw)
        mem = MemoryMerge("wise-ft", [str(ref)], base, {}, None, None)
        params = mem.resolved("alpha", alpha)
        state = mem.state(params)
        label = f"wise-ft(alpha={alpha:g}) {ref} + {base}"
        return self.evaluate_weights(state, like=mem.like, sha256=state_digest(state), label=label,
                                     info={**mem.provenance(params), "name": label}, **kw)

    def score(self, ref: str | os.PathLike, benchmark: str | None = None, **kw) -> float:
        """One number: a benchmark's primary score (HM, mean top-1, ...) or the suite mean."""
        return self.evaluate(ref, **kw).score(benchmark)


def evaluate(
    checkpoints: Sequence[str | os.PathLike],
    suite: "Suite | str | os.PathLike",
    *,
    store=None,
    rho: float | None = None,
    clip_base: str | None = None,
    wise_ft_alpha: float | None = None,
    force: bool = False,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
    tfm: bool = False,
) -> list[EvalResult]:
    """Score each checkpoint on ``suite`` (path, name in recipes/suites, or ``Suite``).

    ``store``: None = the default results store, False = none, or a path. ``rho`` mixes frozen-CLIP
    logits (``clip_base``, default: the checkpoint's recorded base); ``wise_ft_alpha`` scores the
    WiSE-FT weight-space interpolation with ``clip_base`` instead of the checkpoint itself. ``tfm``
    turns on MoTE's temporal feature modulation (as ``tfm: true`` in the suite).
    """
    suite = as_suite(suite).with_tfm() if tfm else suite
    ev = Evaluator(suite, store=store, cache_dir=cache_dir, progress=progress)
    try:
        if wise_ft_alpha is not None:
            return [ev.evaluate_wise_ft(c, wise_ft_alpha, clip_base=clip_base, rho=rho, force=force) for c in checkpoints]
        return [ev.evaluate(c, rho=rho, clip_base=clip_base, force=force) for c in checkpoints]
    finally:
        if ev.store is not None and ev.store is not store:
            ev.store.close()


def score_checkpoint(ref: str | os.PathLike, suite: "Suite | str | os.PathLike", store=None, **kw) -> dict:
    """Score one checkpoint and return its ``eval_results.json`` document (for ``merge --eval``)."""
    return evaluate([ref], suite, store=store, **kw)[0].to_json()


def _recorded_base(ckpt: Checkpoint) -> str | None:
    base = ckpt.meta.get("base_model")
    return base.get("ref") if isinstance(base, dict) else None


def _size(size) -> int:
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def _templates(spec):
    from weightspace.models.prompts import resolve_templates

    return resolve_templates(spec)
