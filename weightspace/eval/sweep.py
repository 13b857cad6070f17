"""λ/α sweeps: merge at each value, score every merge with one evaluator, plot score against the value.

One ``Evaluator`` serves the whole sweep, so test clips are decoded once, class text features are
computed once (merges that keep the text tower share them) and the model is built once (each merge
is loaded into it). A sweep is resumable: a point whose output folder already holds the same merge
(its ``merge_manifest.json`` names the same method and value) is not merged again, and its score
comes from the results store.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from weightspace.atomic import atomic_path, write_json
from weightspace.checkpoint import MANIFEST_NAME
from weightspace.errors import ConfigError
from weightspace.eval.evaluator import Evaluator
from weightspace.eval.results import EvalResult


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
    checkpoint: Path | None  # None when the merged folder was not kept
    result: EvalResult


@dataclass
class SweepResult:
    param: str
    method: str
    objective: str | None  # benchmark whose primary score picks the best point (None: suite mean)
    points: list[SweepPoint] = field(default_factory=list)
    plot: Path | None = None
    summary: Path | None = None

    @property
    def best(self) -> SweepPoint:
        return max(self.points, key=lambda p: _finite(p.result.score(self.objective)))

    def to_json(self) -> dict:
        return {
            "method": self.method, "param": self.param, "objective": self.objective or "mean",
            "best": self.best.value,
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
    keep_checkpoints: bool = True,
    progress: bool = False,
) -> SweepResult:
    """Merge ``inputs`` with ``method`` at ``param = v`` for each value into ``out_dir/<param>=<v>``, score each.

    Writes ``out_dir/sweep.json`` and ``out_dir/sweep_<param>.png`` (score vs value, one line per
    benchmark and the suite mean). ``objective`` (a benchmark name, default: the suite's ``heldout``)
    picks the best point; ``keep_checkpoints=False`` deletes each merge once scored.
    """
    from weightspace.merge import merge

    if not values:
        raise ConfigError("sweep: no values")
    out_dir = Path(out_dir)
    ev = evaluator or Evaluator(suite, store=store, progress=progress)
    objective = objective or ev.suite.heldout
    if objective is not None:
        ev.suite.benchmark(objective)
    result = SweepResult(param, method, objective)
    for v in values:
        folder = out_dir / f"{param}={v:g}"
        if not _same_merge(folder, method, param, v):
            if folder.exists():
                raise ConfigError(f"{folder}: exists and is not the {method} merge at {param}={v:g}; remove it or use another --out")
            merge(method, [str(i) for i in inputs], base=str(base) if base is not None else None, out=folder,
                  params={**(params or {}), param: v}, include=include, exclude=exclude, progress=progress)
        scored = ev.evaluate(folder)
        if not keep_checkpoints:
            shutil.rmtree(folder, ignore_errors=True)
        result.points.append(SweepPoint(v, folder if keep_checkpoints else None, scored))
    result.summary = out_dir / "sweep.json"
    write_json(result.summary, result.to_json())
    result.plot = plot_sweep(result, out_dir / f"sweep_{param}.png")
    return result


def plot_sweep(result: SweepResult, path: Path) -> Path:
    """Score against the swept value: one line per benchmark's primary score, plus the suite mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.value for p in result.points]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for bench, proto in result.points[0].result.benchmarks():
        ax.plot(xs, [100 * p.result.benchmark_score(bench) for p in result.points], marker="o", label=f"{bench} ({proto})")
    ax.plot(xs, [100 * p.result.score() for p in result.points], marker="s", color="black", lw=2, label="mean")
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
