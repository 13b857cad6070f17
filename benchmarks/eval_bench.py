"""Evaluator speed on the demo suite: cold vs warm caches, and a 10-point λ sweep vs 10 cold evaluations.

    .venv/bin/python benchmarks/eval_bench.py [--base CKPT] [--inputs A B] [--cold-runs 2] [--points 10]

"Cold" = a fresh Evaluator with an empty cache folder (videos decoded, class text features computed);
"warm" = the next checkpoint through the same Evaluator (clips, text features and the model object reused);
"warm disk" = a new Evaluator over the filled cache folder (a new process would see this). The merged
checkpoints are task-arithmetic merges of two fine-tunes of the tiny CLIP (``--inputs``; by default
stand-ins made by perturbing its visual tower). Imports are excluded from every time. Target: the sweep
costs ≤ 0.6× of 10 separate cold evaluations (each of those paying its own merge too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RATIO = 0.6


def stand_in_finetunes(base: Path, out: Path, n: int = 2) -> list[Path]:
    """Fine-tune stand-ins: the base with its visual tower perturbed (the text tower stays frozen, as in Open-VCLIP)."""
    import torch

    from weightspace.checkpoint import key_tag, make_meta, open_checkpoint, save_checkpoint

    ckpt = open_checkpoint(base)
    sd = ckpt.state_dict()
    outs = []
    for i in range(n):
        g = torch.Generator().manual_seed(i)
        tuned = {k: v + 0.02 * v.std().nan_to_num() * torch.randn(v.shape, generator=g)
                 if key_tag(k) == "visual" and v.is_floating_point() and v.numel() > 1 else v for k, v in sd.items()}
        folder = out / f"ft{i}"
        save_checkpoint(folder, tuned, model_cfg=ckpt.model_cfg, preprocess_cfg=ckpt.preprocess_cfg,
                        meta=make_meta(video={"temporal": "vclip"}, base=ckpt), overwrite=True)
        outs.append(folder)
    return outs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="CLIP base checkpoint (default: the built-in tiny CLIP)")
    ap.add_argument("--inputs", nargs="+", help="fine-tuned checkpoints to merge (default: two stand-ins)")
    ap.add_argument("--suite", default="demo")
    ap.add_argument("--cold-runs", type=int, default=2, help="cold evaluations to time (their mean is used)")
    ap.add_argument("--points", type=int, default=10, help="λ sweep points")
    ap.add_argument("--work", help="scratch folder (default: a temporary one, removed at the end)")
    args = ap.parse_args(argv)

    from weightspace.data.synthetic import ensure_tiny_clip, resolve_cache_root
    from weightspace.eval.evaluator import Evaluator
    from weightspace.eval.suite import find_suite, load_suite
    from weightspace.eval.sweep import run_sweep
    from weightspace.merge import merge

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ws-eval-bench-"))
    try:
        suite = load_suite(find_suite(args.suite)).validate()  # generates the built-in world if needed
        cached = resolve_cache_root() / "tiny_clip" / "seed-0"  # any cached tiny CLIP will do for timing
        base = Path(args.base) if args.base else (cached if cached.is_dir() else ensure_tiny_clip())
        inputs = [Path(p) for p in args.inputs] if args.inputs else stand_in_finetunes(base, work / "inputs")
        n_videos = sum(len([ln for ln in Path(s.paths()[0]).read_text().splitlines() if ln.strip()])
                       for b in suite.benchmarks for s in b.splits)

        def merged(lam: float, name: str) -> tuple[Path, float]:
            t = time.perf_counter()
            out = merge("task-arith", [str(p) for p in inputs], base=str(base), out=work / name,
                        params={"lambda": lam}, overwrite=True, progress=False)
            return out, time.perf_counter() - t

        print(f"suite {suite.name}: {len(suite.benchmarks)} benchmarks, {n_videos} scored videos per checkpoint; "
              f"base {base}; {os.cpu_count()} CPU core(s), shared with other jobs")

        cold, merge_s = [], []
        for i in range(args.cold_runs):
            ckpt, m = merged(0.5, f"cold{i}")
            merge_s.append(m)
            ev = Evaluator(suite, store=False, cache_dir=work / f"cache-cold{i}")
            t = time.perf_counter()
            ev.evaluate(ckpt)
            cold.append(time.perf_counter() - t)
        t_cold, t_merge = sum(cold) / len(cold), sum(merge_s) / len(merge_s)
        ckpt, _ = merged(0.7, "warm")
        t = time.perf_counter()
        ev.evaluate(ckpt)  # the last cold evaluator, now warm
        t_warm = time.perf_counter() - t
        ev2 = Evaluator(suite, store=False, cache_dir=work / f"cache-cold{args.cold_runs - 1}")
        t = time.perf_counter()
        ev2.evaluate(ckpt)
        t_disk = time.perf_counter() - t

        values = [round(0.2 * (i + 1), 6) for i in range(args.points)]
        ev3 = Evaluator(suite, store=work / "sweep.sqlite", cache_dir=work / "cache-sweep")
        t = time.perf_counter()
        res = run_sweep("task-arith", [str(p) for p in inputs], base=str(base), param="lambda", values=values,
                        suite=suite, out_dir=work / "sweep", evaluator=ev3, keep_checkpoints=False)
        t_sweep = time.perf_counter() - t
        t_separate = args.points * (t_cold + t_merge)
        ratio = t_sweep / t_separate

        print(f"merge (task-arith, 2 inputs)      {t_merge:7.2f} s")
        print(f"cold eval   (mean of {args.cold_runs})         {t_cold:7.2f} s   {n_videos / t_cold:7.1f} videos/s")
        print(f"warm eval   (same evaluator)      {t_warm:7.2f} s   {n_videos / t_warm:7.1f} videos/s")
        print(f"warm eval   (new evaluator, disk) {t_disk:7.2f} s   {n_videos / t_disk:7.1f} videos/s")
        print(f"{args.points}-point λ sweep (merge + eval)  {t_sweep:7.2f} s   best λ={res.best.value:g}, plot {res.plot.name}")
        print(f"{args.points} separate merges + cold evals  {t_separate:7.2f} s   (estimated from the means above)")
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        print(f"sweep / separate = {ratio:.3f}  (target ≤ {TARGET_RATIO})  {verdict}")
        return 0 if ratio <= TARGET_RATIO else 1
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
