"""MoTE training throughput: ``mote`` (+ WMR) vs ``vclip`` on the same model, data and batch.

    .venv/bin/python benchmarks/mote_bench.py [--batch 8] [--frames 8] [--steps 12] [--rounds 3] [--threads 1]

Model: the built-in ``ws-tiny-clip`` architecture (random init) under ``plain`` training; data: in-memory
random clips (decoding excluded). Variants: ``vclip`` (Open-VCLIP's neighbour-frame attention, no head),
``mote`` (per-frame CLIP + the 4-layer, 4-expert MoTE head, one routed expert per block) and
``mote+wmr`` (plus the weight-merging-regularisation branch). WMR re-runs only the head on the same
CLIP frame features, so mote+wmr / mote should stay near 1; a second backbone pass would halve it. The
backbone forwards per optimiser step are counted with a hook to show it. Rounds alternate the variants
and the median is reported, because the machine may be shared.
"""

from __future__ import annotations

import statistics
import time

import torch
from train_bench import CLASSES, _batches, parse_args  # same data and options as the strategy benchmark

from weightspace.models.factory import build_clip, model_config
from weightspace.models.video_clip import VideoCLIP
from weightspace.train.config import OptimConfig
from weightspace.train.learner import Learner, TrainModule
from weightspace.train.optim import build_optimizer
from weightspace.train.regularisers import get_regulariser

VARIANTS = {"vclip": ("vclip", False), "mote": ("mote", False), "mote+wmr": ("mote", True)}


def _setup(variant: str, seed: int):
    temporal, wmr = VARIANTS[variant]
    torch.manual_seed(seed)
    cfg = model_config("ws-tiny-clip")
    video = VideoCLIP(build_clip(cfg), model_cfg=cfg, temporal=temporal, templates="single")
    regs = [get_regulariser("wmr")(get_regulariser("wmr").check_params({}, "wmr"))] if wmr else []
    module = TrainModule(video, {r.name: r.head(video) for r in regs})
    learner = Learner(module, module, CLASSES, regularisers=regs)
    optimizer = build_optimizer(module.named_parameters(), OptimConfig(lr=3.5e-6, head_lr=5e-5))
    calls = [0]
    video.model.visual.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return learner, optimizer, calls, cfg["vision_cfg"]["image_size"]


def run(variant: str, batch: int, frames: int, steps: int, seed: int = 0) -> tuple[float, float]:
    """(samples/s, backbone forwards per step) over ``steps`` optimiser steps after one warm-up step."""
    learner, optimizer, calls, size = _setup(variant, seed)
    data = _batches(steps + 1, batch, frames, size, seed)

    def step(b: dict) -> None:
        optimizer.zero_grad(set_to_none=True)
        learner.backward(b)
        optimizer.step()

    step(data[0])
    calls[0] = 0
    tic = time.perf_counter()
    for b in data[1:]:
        step(b)
    elapsed = time.perf_counter() - tic
    return steps * batch / elapsed, calls[0] / steps


def main() -> None:
    args = parse_args(__doc__)

    speeds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    passes: dict[str, float] = {}
    for _ in range(args.rounds):
        for v in VARIANTS:
            sps, passes[v] = run(v, args.batch, args.frames, args.steps)
            speeds[v].append(sps)
    med = {v: statistics.median(s) for v, s in speeds.items()}
    print(f"model ws-tiny-clip, plain training, batch {args.batch} x {args.frames} frames, {args.steps} steps x "
          f"{args.rounds} rounds, {torch.get_num_threads()} thread(s)")
    print(f"{'variant':<10}{'samples/s (median)':>20}{'backbone calls/step':>22}{'rounds':>30}")
    for v in VARIANTS:
        calls = f"{passes[v]:.0f}" if v != "vclip" else "-"  # vclip runs the blocks itself, not visual()
        print(f"{v:<10}{med[v]:>20.1f}{calls:>22}{'  '.join(f'{s:.1f}' for s in speeds[v]):>30}")
    print(f"mote/vclip: {med['mote'] / med['vclip']:.3f}   mote+wmr/vclip: {med['mote+wmr'] / med['vclip']:.3f}   "
          f"mote+wmr/mote: {med['mote+wmr'] / med['mote']:.3f} (a second backbone pass would give about 0.5)")


if __name__ == "__main__":
    main()
