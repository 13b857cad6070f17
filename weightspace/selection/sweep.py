"""λ/α sweeps: score the merge at each value, write the best, plot score against the value.

Points are scored in memory: for a method that works key by key (``memory_merge.MemoryMerge``:
``task-arith``, ``wise-ft``, ``average``, ...) the merged weights at each value are computed exactly as
the engine would write them and loaded straight into the evaluator's model; nothing is written and
read back. Only the best point is written (through the engine, with its manifest), every point with
``write="all"``. Methods with a ``prepare`` pass (TIES) are merged to disk by the engine at each point.

A point is scored on what chooses the best, the ``objective`` benchmark, and the chosen point on the
whole suite: the other benchmarks of a point that is not kept would cost a forward pass each and
change nothing (``score_all=True`` scores every benchmark at every point, e.g. to plot them all).
With no objective (the suite mean chooses) every point is scored on the whole suite.

One ``Evaluator`` serves the whole sweep, so test clips are decoded once, class text features are
computed once (merges that keep the text tower share them), frozen-CLIP logits once, and the model is
built once. A sweep is resumable: an in-memory point is keyed in the results store by the sha256 of its
weights, a written point by its file, and a folder that already holds the same merge (its
``merge_manifest.json`` names the same method and value) is not merged again.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

from weightspace.atomic import atomic_path, write_json
from weightspace.checkpoint import MANIFEST_NAME, open_checkpoint
from weightspace.errors import ConfigError
from weightspace.eval.evaluator import Evaluator, checkpoint_info
from weightspace.eval.results import EvalResult
from weightspace.selection.memory_merge import MemoryMerge

log = logging.getLogger(__name__)
WRITE_MODES = ("best", "all")


def parse_sweep(text: str, option: str = "--sweep") -> tuple[str, list[float]]:
    """``lambda=0.1:1.5:0.1`` (start:stop:step, stop included) or ``alpha=0.2,0.5,0.8`` -> (name, values)."""
    name, sep, spec = text.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise ConfigError(f"{option} {text!r}: expected NAME=START:STOP:STEP or NAME=V1,V2,...")
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [round(start + i * step, 10) for i in range(count)]
        else:
            values = [float(x) for x in spec.split(",")]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: values must be START:STOP:STEP with STEP > 0 and STOP >= START, or a comma list") from None
    if len(values) > 1000:
        raise ConfigError(f"{option} {text!r}: {len(values)} points; refusing more than 1000")
    return name.strip(), values


@dataclass
class SweepPoint:
    value: float
    checkpoint: Path | None  # None when the point was scored in memory and not written
    result: EvalResult


@dataclass
class SweepResult:
    param: str
    method: str
    objective: str | None  # benchmark whose primary score picks the best point (None: suite mean)
    scored: list[str]  # the benchmarks every point is scored on (the best point: the whole suite)
    points: list[SweepPoint] = field(default_factory=list)
    plot: Path | None = None
    summary: Path | None = None
    chosen: int | None = None  # index of the best point, fixed once chosen (re-scoring it cannot move it)

    @property
    def best(self) -> SweepPoint:
        if self.chosen is None:
            self.chosen = max(range(len(self.points)), key=lambda i: _finite(self.points[i].result.score(self.objective)))
        return self.points[self.chosen]

    def to_json(self) -> dict:
        return {
            "method": self.method, "param": self.param, "objective": self.objective or "mean",
            "scored_at_every_point": self.scored, "best": self.best.value,
            "points": [{"value": p.value, "checkpoint": str(p.checkpoint) if p.checkpoint else None,
                        "sha256": p.result.sha256, "score": p.result.score(self.objective),
                        "scores": {b: p.result.benchmark_score(b) for b, _ in p.result.benchmarks()}}
                       for p in self.points],
        }


def _finite(x: float) -> float:
    return x if x == x else -math.inf


def _same_merge(folder: Path, method: str, param: str, value: float) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    got = (manifest.get("params") or {}).get(param)
    return manifest.get("method") == method and isinstance(got, (int, float)) and math.isclose(got, value)


def run_sweep(
    method: str,
    inputs: Sequence[str | os.PathLike],
    *,
    base: str | os.PathLike | None = None,
    param: str,
    values: Sequence[float],
    suite,
    out_dir: str | os.PathLike,
    params: dict | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    objective: str | None = None,
    store=None,
    evaluator: Evaluator | None = None,
    write: str = "best",
    score_all: bool = False,
    rho: float | None = None,
    clip_base: str | os.PathLike | None = None,
    progress: bool = False,
) -> SweepResult:
    """Score the ``method`` merge of ``inputs`` at ``param = v`` for each value; write the best to ``out_dir/<param>=<v>``.

    ``write="all"`` writes every point there. Writes ``out_dir/sweep.json`` and
    ``out_dir/sweep_<param>.png`` (score vs value, one line per benchmark scored at every point).
    ``objective`` (a benchmark name, default: the suite's ``heldout``) picks the best point; each point
    is scored on it alone and the best on the whole suite, unless ``score_all``. ``rho``
    scores every point ensembled with the frozen CLIP ``clip_base`` (default: ``base``); its logits are
    computed once for the whole sweep.
    """
    from weightspace.merge import get_method

    if not values:
        raise ConfigError("sweep: no values")
    if write not in WRITE_MODES:
        raise ConfigError(f"sweep: write {write!r}: expected one of {', '.join(WRITE_MODES)}")
    out_dir = Path(out_dir)
    ev = evaluator or Evaluator(suite, store=store, progress=progress)
    objective = objective or ev.suite.heldout
    if objective is not None:
        ev.suite.benchmark(objective)
    job = {"method": method, "inputs": [str(i) for i in inputs], "base": str(base) if base is not None else None,
           "params": params or {}, "include": include, "exclude": exclude, "progress": progress}
    for v in values:
        _check_folder(out_dir / f"{param}={v:g}", method, param, v)  # before any work, not after it
    everything = [b.name for b in ev.suite.benchmarks]
    only = None if score_all or objective is None or everything == [objective] else [objective]
    result = SweepResult(param, method, objective, only or everything)
    in_memory = get_method(method).prepare is None
    mem = MemoryMerge(method, job["inputs"], base, job["params"], include, exclude) if in_memory else None
    ens = {"rho": rho, "clip_base": str(clip_base or base) if rho else None}
    for i, v in enumerate(values):
        folder = out_dir / f"{param}={v:g}"
        if mem is None or write == "all" or _same_merge(folder, method, param, v):
            scored = ev.evaluate(_write_point(job, param, v, folder), benchmarks=only, **ens)
            point = SweepPoint(v, folder, scored)
        else:
            scored = mem.scored(ev, {param: v}, benchmarks=only, **ens)
            point = SweepPoint(v, None, scored)
        log.info("sweep %s %d/%d: %s=%g score %.4f%s", method, i + 1, len(values), param, v,
                 scored.score(objective), " (from the results store)" if scored.from_store else "")
        result.points.append(point)
    best = result.best
    if best.checkpoint is None:
        folder = out_dir / f"{param}={best.value:g}"
        written = _write_point(job, param, best.value, folder)
        ckpt = open_checkpoint(written)
        # the same weights as the scored point (tested): record them under the file's sha256 too, not re-scored
        in_memory_sha = best.result.sha256
        info = {**checkpoint_info(ckpt), **{k: v for k, v in best.result.info.items() if k in ("rho", "clip_base")}}
        best.result = replace(best.result, ref=str(written), sha256=ckpt.sha256(), info=info)
        if ev.store is not None:
            ev.store.put(best.result, replaces=in_memory_sha)
        best.checkpoint = folder
    if only is not None:
        best.result = ev.evaluate(best.checkpoint, **ens)  # the kept point, on the whole suite
    result.summary = out_dir / "sweep.json"
    write_json(result.summary, result.to_json())
    result.plot = plot_sweep(result, out_dir / f"sweep_{param}.png")
    return result


def _check_folder(folder: Path, method: str, param: str, value: float) -> None:
    if folder.exists() and not _same_merge(folder, method, param, value):
        raise ConfigError(f"{folder}: exists and is not the {method} merge at {param}={value:g}; remove it or use another --out")


def _write_point(job: dict, param: str, value: float, folder: Path) -> Path:
    """The point merged to ``folder`` by the streaming engine (kept when it already holds this merge)."""
    from weightspace.merge import merge

    if not _same_merge(folder, job["method"], param, value):
        merge(job["method"], job["inputs"], base=job["base"], out=folder, params={**job["params"], param: value},
              include=job["include"], exclude=job["exclude"], progress=job["progress"])
    return folder


def plot_sweep(result: SweepResult, path: Path) -> Path:
    """Score against the swept value: one line per benchmark scored at every point, plus their mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.value for p in result.points]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    protocols = dict(result.best.result.benchmarks())
    for bench in result.scored:
        ax.plot(xs, [100 * p.result.benchmark_score(bench) for p in result.points], marker="o",
                label=f"{bench} ({protocols[bench]})")
    if len(result.scored) > 1:
        mean = [100 * sum(p.result.benchmark_score(b) for b in result.scored) / len(result.scored) for p in result.points]
        ax.plot(xs, mean, marker="s", color="black", lw=2, label="mean")
    best = result.best
    ax.axvline(best.value, color="grey", ls="--", lw=1)
    ax.set_xlabel(f"{result.param} ({result.method})")
    ax.set_ylabel("score (%)")
    ax.set_title(f"{result.method} sweep, best {result.param}={best.value:g} on {result.objective or 'mean'}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
