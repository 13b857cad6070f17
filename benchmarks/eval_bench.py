"""Evaluator speed against the forward pass: warm eval in-process and as a fresh process, and a λ sweep.

    .venv/bin/python benchmarks/eval_bench.py [--work DIR] [--cold-runs 2] [--repeat 3] [--points 10]

Builds its own world and model (about a minute): the demo suite's worlds at the default size and
video counts but no training videos, and an untrained ``ws-tiny-clip`` (speed does not depend on the
weights), with two stand-in fine-tunes (its visual tower perturbed). Then, in one run and with the
same model, clips and torch threads:

- forward-only limit: ``encode_frames`` over the cached clips of every distinct video (batches of the
  suite's ``batch_size``, whole and in the evaluator's CPU chunks), nothing else: the faster is the limit;
- warm eval, in-process: new checkpoints through an Evaluator whose caches are filled (median of ``--repeat``);
- warm eval, fresh process: ``weightspace eval`` of another new checkpoint over the filled cache folder
  (``--repeat`` processes), each after a process that only imports what eval imports and exits: the
  median of their differences;
- a ``--points``-point task-arithmetic λ sweep from cold caches against as many separate merges +
  cold evaluations (each estimated from the mean of ``--cold-runs`` measured ones), each separate
  evaluation scoring every benchmark. The sweep, as ``weightspace merge --sweep`` runs it, scores each
  point on its objective (the suite's ``heldout``, the sources' validation sets) and the chosen point
  on the whole suite; beside it, the same work as the separate evaluations (``score_all``: every
  benchmark at every point), with its floor.

Targets (issue 15): warm in-process ≥ 0.6× the forward-only videos/s; a fresh process ≤ imports +
1 s over the in-process time; the sweep ≤ 0.3× of the separate cold evaluations.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_WARM = 0.6  # warm in-process videos/s over the forward-only limit, at least
TARGET_PROCESS_S = 1.0  # a fresh process over (imports + in-process), at most
TARGET_SWEEP = 0.3  # sweep over separate cold evaluations, at most
IMPORTS = "import weightspace.cli.main, weightspace.cli.eval, torch, open_clip, weightspace.eval.evaluator, weightspace.models.video_clip"


def build_world(work: Path) -> Path:
    """The demo suite's worlds (val videos only) under ``work``; returns a copy of the demo suite pointing at them."""
    from weightspace.data.synthetic.worlds import default_specs, ensure_worlds
    from weightspace.eval.suite import find_suite

    specs = tuple(dataclasses.replace(s, train_per_class=0) for s in default_specs())
    worlds = ensure_worlds(work / "cache", specs=specs, progress=False)
    text = find_suite("demo").read_text(encoding="utf-8")
    suite = work / "suite.yaml"
    suite.write_text(re.sub(r'"(builtin:[^"]+)"', lambda m: f'"{worlds.resolve(m.group(1))}"', text), encoding="utf-8")
    return suite


def build_models(out: Path, n: int = 2) -> tuple[Path, list[Path]]:
    """An untrained ws-tiny-clip and ``n`` fine-tune stand-ins (visual tower perturbed, text tower frozen)."""
    import torch

    from weightspace.checkpoint import key_tag, make_meta, open_checkpoint, save_checkpoint
    from weightspace.data.synthetic.tiny_clip import MODEL_NAME
    from weightspace.data.transforms import CLIP_MEAN, CLIP_STD
    from weightspace.models.factory import build_clip, model_config

    torch.manual_seed(0)
    cfg = model_config(MODEL_NAME)
    pp = {"size": cfg["vision_cfg"]["image_size"], "mean": list(CLIP_MEAN), "std": list(CLIP_STD)}
    base = save_checkpoint(out / "clip", build_clip(cfg).state_dict(), model_cfg=cfg, preprocess_cfg=pp,
                           meta=make_meta(video={"temporal": "vclip"}), overwrite=True).folder
    ckpt = open_checkpoint(base)
    sd = ckpt.state_dict()
    fts = []
    for i in range(n):
        g = torch.Generator().manual_seed(i)
        tuned = {k: v + 0.02 * v.std().nan_to_num() * torch.randn(v.shape, generator=g)
                 if key_tag(k) == "visual" and v.is_floating_point() and v.numel() > 1 else v for k, v in sd.items()}
        fts.append(save_checkpoint(out / f"ft{i}", tuned, model_cfg=cfg, preprocess_cfg=pp,
                                   meta=make_meta(video={"temporal": "vclip"}, base=ckpt), overwrite=True).folder)
    return base, fts


def forward_only(ev, ckpt: Path) -> tuple[dict[tuple[int, str], float], int]:
    """Seconds to encode every distinct cached clip once with ``ckpt``'s model, per torch thread count tried,
    in the suite's whole batches and in the chunks the evaluator splits them into (``frame_chunks``)."""
    import torch

    from weightspace.eval.frame_chunks import clips_per_forward
    from weightspace.models.video_clip import VideoCLIP

    model = VideoCLIP.from_pretrained(ckpt).eval()
    seen, clips = set(), []
    for bench in ev.suite.benchmarks:
        for split in bench.splits:
            key = ev.clips.key(model.preprocess_cfg, bench, split)
            entry = ev.cache.get("videos", key)
            sampling = json.dumps(key["clip"], sort_keys=True)
            for i, e in enumerate(ev.clips.entries(split)):
                if (sampling, str(e.path)) not in seen:
                    seen.add((sampling, str(e.path)))
                    clips.append(entry["videos"][i])
    videos = torch.stack(clips)
    step = max(1, ev.suite.model.batch_size // ev.suite.model.views)
    chunked = clips_per_forward(model.model.visual, videos.shape[2], "cpu")
    before, seconds = torch.get_num_threads(), {}
    with torch.inference_mode():
        for threads in ev.logits.threads.candidates:  # the counts the evaluator chooses from
            torch.set_num_threads(threads)  # each count the evaluator may pick: the limit is the faster
            for label, chunk in (("whole batches", None), (f"chunks of {chunked} clips", chunked)):
                t = time.perf_counter()
                for i in range(0, len(videos), step):
                    x = videos[i:i + step].flatten(0, 1)
                    for c in x.split(chunk or len(x)):
                        model.encode_frames(c.float())
                seconds[threads, label] = time.perf_counter() - t
    torch.set_num_threads(before)
    return seconds, len(videos)


def run(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold-runs", type=int, default=2, help="cold evaluations to time (their mean is used)")
    ap.add_argument("--repeat", type=int, default=3, help="warm evaluations and processes to time (medians)")
    ap.add_argument("--points", type=int, default=10, help="λ sweep points")
    ap.add_argument("--work", help="scratch folder, kept (default: a temporary one, removed at the end)")
    args = ap.parse_args(argv)

    import torch

    from weightspace.eval.evaluator import Evaluator
    from weightspace.selection.sweep import run_sweep
    from weightspace.merge import merge

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ws-eval-bench-"))
    try:
        t = time.perf_counter()
        suite_path = build_world(work)
        base, inputs = build_models(work / "models")
        print(f"world + models built in {time.perf_counter() - t:.1f} s; {os.cpu_count()} CPU core(s), "
              f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")

        def merged(lam: float, name: str) -> tuple[Path, float]:
            t = time.perf_counter()
            out = merge("task-arith", [str(p) for p in inputs], base=str(base), out=work / name,
                        params={"lambda": lam}, overwrite=True, progress=False)
            return out, time.perf_counter() - t

        def cold_eval(i: int):
            ckpt, m = merged(0.5, f"cold{i}")
            shutil.rmtree(work / "eval-cache", ignore_errors=True)
            ev = Evaluator(suite_path, store=work / f"cold{i}.sqlite", cache_dir=work / "eval-cache")
            t = time.perf_counter()
            ev.evaluate(ckpt)
            t = time.perf_counter() - t
            say(f"cold eval {i + 1}", t, f"(+ merge {m:.2f} s)")
            return ev, t + m

        def say(what: str, seconds: float, extra: str = "") -> None:
            rate = f"{n_videos / seconds:7.1f} videos/s" if n_videos else ""
            print(f"{what:<40} {seconds:7.2f} s   {rate}  {extra}  [load {os.getloadavg()[0]:.1f}]", flush=True)

        n_videos = 0
        ev, first = cold_eval(0)  # cold evaluations bracket the rest: their mean is side by side with the sweep
        ckpt, _ = merged(0.7, "warm")
        fwd, n_videos = forward_only(ev, ckpt)
        print(f"{n_videos} distinct videos per checkpoint ({len(ev.suite.benchmarks)} benchmarks)", flush=True)
        for (threads, label), sec in fwd.items():
            say(f"forward only, {threads} thr, {label}", sec)
        t_fwd = min(fwd.values())  # the limit: the fastest thread count and chunking
        warm = []
        for i in range(args.repeat):  # a new checkpoint each time: the store never answers
            ckpt_i = ckpt if i == 0 else merged(0.7 + 0.01 * i, f"warm{i}")[0]
            t = time.perf_counter()
            ev.evaluate(ckpt_i)  # the cold evaluator, now warm
            warm.append(time.perf_counter() - t)
        t_warm = statistics.median(warm)
        say("warm eval, in-process", t_warm, f"(median of {args.repeat}; threads {ev.logits.threads.choice}; probed "
            f"s/clip (a view of a video) { {k: round(v, 4) for k, v in ev.logits.threads.seconds_per_item.items()} })")

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        ckpt2, _ = merged(0.9, "fresh")
        pairs = []
        for i in range(args.repeat):  # side by side, so a change of load weighs on both
            imports = run([sys.executable, "-c", IMPORTS], env)
            pairs.append((imports, run([sys.executable, "-m", "weightspace", "eval", str(ckpt2), "--suite", str(suite_path),
                                        "--cache-dir", str(work / "eval-cache"), "--store",
                                        str(work / f"fresh{i}.sqlite")], env)))  # a new store: it never answers
        t_imports, t_proc = (statistics.median(p[j] for p in pairs) for j in (0, 1))
        t_over_imports = statistics.median(b - a for a, b in pairs)
        say("warm eval, fresh process", t_proc, f"(median of {args.repeat}; each after a process that only imports, "
            f"median {t_imports:.2f} s; median difference {t_over_imports:.2f} s)")

        values = [round(0.2 * (i + 1), 6) for i in range(args.points)]

        def sweep(name: str, score_all: bool):
            t = time.perf_counter()
            res = run_sweep("task-arith", [str(p) for p in inputs], base=str(base), param="lambda", values=values,
                            suite=suite_path, out_dir=work / name, score_all=score_all,
                            evaluator=Evaluator(suite_path, store=work / f"{name}.sqlite", cache_dir=work / f"{name}-cache"))
            return res, time.perf_counter() - t

        res, t_sweep = sweep("sweep", False)
        say(f"{args.points}-point λ sweep, cold caches", t_sweep,
            f"(best λ={res.best.value:g}; each point scored on {'+'.join(res.scored)}, the best on all "
            f"{len(ev.suite.benchmarks)} benchmarks)")
        res_all, t_all = sweep("sweep-all", True)
        say("same, every benchmark every point", t_all, f"(best λ={res_all.best.value:g}; the separate evals' work)")
        colds = [first] + [cold_eval(i)[1] for i in range(1, args.cold_runs)]
        t_separate = args.points * sum(colds) / len(colds)
        print(f"{f'{args.points} separate merges + cold evals':<40} {t_separate:7.2f} s   (every benchmark; mean of "
              f"{len(colds)} measured)")
        # scoring every benchmark, however well clips, text features and the model are shared, every point but
        # the first still runs the forward pass over every video: (cold + (points-1)·forward) / (points·cold)
        floor = (t_separate / args.points + (args.points - 1) * t_fwd) / t_separate
        print(f"same-work sweep / separate = {t_all / t_separate:.3f}; its floor at this load: one cold eval + "
              f"{args.points - 1} forward-only passes = {floor:.3f}")

        warm_ratio = t_fwd / t_warm
        extra = t_over_imports - t_warm
        sweep_ratio = t_sweep / t_separate
        checks = [(f"warm / forward-only = {warm_ratio:.3f}  (target ≥ {TARGET_WARM})", warm_ratio >= TARGET_WARM),
                  (f"fresh process - imports - in-process = {extra:+.2f} s  (target ≤ {TARGET_PROCESS_S:g} s)",
                   extra <= TARGET_PROCESS_S),
                  (f"sweep (objective each point, suite at the best) / separate = {sweep_ratio:.3f}  "
                   f"(target ≤ {TARGET_SWEEP})", sweep_ratio <= TARGET_SWEEP)]
        for text, ok in checks:
            print(f"{text}  {'PASS' if ok else 'FAIL'}")
        return 0 if all(ok for _, ok in checks) else 1
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
