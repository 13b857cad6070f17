"""Score checkpoints on a suite: one model load per checkpoint, every benchmark, shared caches.

For each split the checkpoint's per-view logits [N, V, C] come from ``ViewLogits`` (cached test clips,
cached class text features, frame features shared across splits), are optionally mixed with
frozen-CLIP logits (``ensemble.mix_logits``, per view), and handed to the benchmark's protocol, which
turns them into rows and its primary score. Unreadable videos are counted as ``missing``. A checkpoint
already in the results store for the same suite content and variant is answered from the store without
loading any model. ``benchmarks=[...]`` scores a sub-suite (a sweep's objective at each point), stored under
the sub-suite's own name and content hash, so a partial result never stands in for a whole-suite one.

The parts, one job each: ``SplitClips`` (a split's clips), ``ModelSlot`` (the model being scored and the
frozen CLIP), ``ViewLogits`` (per-view logits), ``ResultsStore`` (results), ``protocols`` (scoring).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Iterator, Sequence

from weightspace.checkpoint import Checkpoint, open_checkpoint
from weightspace.errors import ConfigError, WeightspaceError
from weightspace.eval.cache import EvalCache, default_cache_dir
from weightspace.eval.clips import SplitClips
from weightspace.eval.ensemble import mix_logits
from weightspace.eval.model_slot import ModelSlot
from weightspace.eval.progress_tasks import ProgressTasks
from weightspace.eval.protocols import get_protocol
from weightspace.eval.results import EvalResult, Row
from weightspace.eval.store import ResultsStore
from weightspace.eval.suite import Suite, find_suite, load_suite
from weightspace.eval.view_logits import ViewLogits

if TYPE_CHECKING:
    import torch


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
        tasks = ProgressTasks(progress)
        self.clips = SplitClips(self.cache, tasks)
        self.models = ModelSlot(self.suite.model, device)
        self.logits = ViewLogits(self.clips, self.cache, tasks, device)
        self._subsuites: dict[tuple[str, ...], Suite] = {}  # kept: each keeps its content hash

    def suite_of(self, benchmarks: Sequence[str] | None) -> Suite:
        """The suite, or its sub-suite of ``benchmarks`` named ``<suite>:<b1>+<b2>``."""
        if benchmarks is None or list(benchmarks) == [b.name for b in self.suite.benchmarks]:
            return self.suite
        names = tuple(benchmarks)
        if names not in self._subsuites:
            sub = self.suite.with_benchmarks(list(names))
            sub.name = f"{self.suite.name}:{'+'.join(names)}"
            self._subsuites[names] = sub
        return self._subsuites[names]

    def evaluate(self, ref: str | os.PathLike, *, rho: float | None = None, clip_base: str | None = None,
                 force: bool = False, label: str | None = None, record: bool = True,
                 benchmarks: Sequence[str] | None = None) -> EvalResult:
        """Score one checkpoint on every benchmark of the suite, or on ``benchmarks`` only (or answer from the store).

        ``label`` names it in the store (e.g. for temporary merges); ``record=False`` keeps the
        result out of the store (greedy-soup trials).
        """
        ckpt = open_checkpoint(ref)
        info = checkpoint_info(ckpt)
        return self._evaluate(ckpt, None, ckpt.sha256(), label or ckpt.ref, {**info, "name": label or info["name"]},
                              rho=rho, clip_base=clip_base, force=force, record=record, benchmarks=benchmarks)

    def evaluate_weights(self, state: dict[str, "torch.Tensor"], *, like: Checkpoint, sha256: str, label: str,
                         info: dict, rho: float | None = None, clip_base: str | None = None, force: bool = False,
                         record: bool = True, benchmarks: Sequence[str] | None = None) -> EvalResult:
        """Score weights held in memory (a sweep point, never written) with ``like``'s architecture and video
        settings; ``sha256`` identifies the weights in the store, ``info`` is their leaderboard provenance."""
        return self._evaluate(like, state, sha256, label, info, rho=rho, clip_base=clip_base, force=force, record=record,
                              benchmarks=benchmarks)

    def score(self, ref: str | os.PathLike, benchmark: str | None = None, **kw) -> float:
        """One number: a benchmark's primary score (HM, mean top-1, ...) or the suite mean."""
        return self.evaluate(ref, **kw).score(benchmark)

    def _evaluate(self, ckpt: Checkpoint, state: dict | None, sha: str, label: str, info: dict, *,
                  rho: float | None, clip_base: str | None, force: bool, record: bool,
                  benchmarks: Sequence[str] | None) -> EvalResult:
        t0 = time.perf_counter()
        suite = self.suite_of(benchmarks)
        clip_ref, clip_sha = None, None
        if rho:
            clip_ref = clip_base or recorded_base(ckpt)
            if clip_ref is None:
                raise ConfigError("--rho needs --clip-base (the checkpoint records no base model)")
            clip_sha = open_checkpoint(clip_ref).sha256()
        variant = ensemble_variant(rho, clip_sha)
        suite_hash = suite.content_hash()
        if self.store is not None and not force:
            hit = self.store.lookup(sha, suite_hash, variant)
            if hit is not None:
                return hit
        loaded = self.models.load(ckpt, sha, state)
        features: dict = {}  # this model's frame features, shared by splits with the same videos
        rows: list[Row] = []
        failures: list[str] = []
        for bench in suite.benchmarks:
            splits = []
            for split in bench.splits:
                key = self.clips.key(loaded.model.preprocess_cfg, bench, split)
                scored = self.logits.of(loaded, features, key, bench, split)
                if rho:
                    frozen = self.logits.frozen_clip(lambda: self.models.frozen_clip(clip_ref), clip_sha, key, bench, split)
                    scored = replace(scored, logits=mix_logits(scored.logits, frozen, rho))
                n_ok = int(scored.ok.sum())
                if n_ok == 0:
                    raise WeightspaceError(f"{split.paths()[0]}: none of the {len(scored.ok)} videos could be read")
                if n_ok < len(scored.ok):
                    failures += [str(e.path) for e, good in zip(self.clips.entries(split), scored.ok.tolist()) if not good]
                splits.append(scored)
            protocol = get_protocol(bench.protocol)
            rows += protocol.score(bench.name, splits, aggregate=bench.model.aggregate,
                                   options=bench.protocol_options).rows
        result = EvalResult(label, sha, suite.name, suite_hash, rows, variant, info,
                            seconds=time.perf_counter() - t0, failures=failures)
        if rho:
            result.info = {**info, "rho": rho, "clip_base": clip_ref}
        if self.store is not None and record:
            self.store.put(result)
        return result


@contextlib.contextmanager
def open_evaluator(suite: "Suite | str | os.PathLike", *, store=None, cache_dir: str | os.PathLike | None = None,
                   progress: bool = False, tfm: bool = False) -> Iterator[Evaluator]:
    """An ``Evaluator`` whose results store, when it opened one, is closed on exit. ``tfm`` turns on MoTE's
    temporal feature modulation (as ``tfm: true`` in the suite)."""
    suite = as_suite(suite).with_tfm() if tfm else suite
    ev = Evaluator(suite, store=store, cache_dir=cache_dir, progress=progress)
    try:
        yield ev
    finally:
        if ev.store is not None and ev.store is not store:
            ev.store.close()


def evaluate(
    checkpoints: Sequence[str | os.PathLike],
    suite: "Suite | str | os.PathLike",
    *,
    store=None,
    rho: float | None = None,
    clip_base: str | None = None,
    force: bool = False,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
    tfm: bool = False,
) -> list[EvalResult]:
    """Score each checkpoint on ``suite`` (path, name in recipes/suites, or ``Suite``).

    ``store``: None = the default results store, False = none, or a path. ``rho`` mixes frozen-CLIP
    logits (``clip_base``, default: the checkpoint's recorded base). WiSE-FT scored in memory:
    ``weightspace.selection.wise_ft``.
    """
    with open_evaluator(suite, store=store, cache_dir=cache_dir, progress=progress, tfm=tfm) as ev:
        return [ev.evaluate(c, rho=rho, clip_base=clip_base, force=force) for c in checkpoints]


def score_checkpoint(ref: str | os.PathLike, suite: "Suite | str | os.PathLike", store=None, **kw) -> dict:
    """Score one checkpoint and return its ``eval_results.json`` document (for ``merge --eval``)."""
    return evaluate([ref], suite, store=store, **kw)[0].to_json()


def recorded_base(ckpt: Checkpoint) -> str | None:
    """The base model a checkpoint's weightspace.json records (the frozen CLIP of ensembling and WiSE-FT)."""
    base = ckpt.meta.get("base_model")
    return base.get("ref") if isinstance(base, dict) else None
