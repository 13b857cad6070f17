"""Training throughput: ``meta`` (Open-MeDe cross-batch FOMAML) vs ``plain`` on the same model, data and batch.

    .venv/bin/python benchmarks/train_bench.py [--batch 8] [--frames 8] [--steps 12] [--rounds 3] [--threads 1]
    .venv/bin/python benchmarks/train_bench.py --ratio recipes/openmede/k400_cross_dataset.yaml [--steps 4]

Model: the built-in ``ws-tiny-clip`` architecture (randomly initialised: speed does not depend on the
weights) with the ``vclip`` temporal module; data: in-memory random clips (decoding is excluded, so the
number is the optimiser's). Throughput counts every sample once, when it is first fed forward:
``plain`` feeds one batch per optimiser step, ``meta`` two (support S, query Q; each sample gets one
forward/backward), so "samples/s" is throughput per sample seen. Rounds alternate the two strategies
and the median is reported, because the machine may be shared. Target: meta >= 0.85x plain.

``--ratio RECIPE``: the size of meta's virtual step relative to the real optimiser step,
‖θ' − θ‖ / ‖θ_next − θ‖, per step, for the old rule (plain SGD at the learning rate, ``inner: sgd``) and the
new one (AdamW's own step, ``inner: optimizer``), with the recipe's architecture (randomly initialised:
no weights are downloaded), optimiser, clipping and peak learning rate, on random clips.

Memory: the extra parameter-sized buffers a strategy holds (``extra_parameter_bytes``) over the
trainable parameters' size; the target is at most one copy. The strategy object is also searched
for any other tensor it keeps.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from weightspace.models.factory import build_clip, model_config
from weightspace.models.video_clip import VideoCLIP
from weightspace.train.config import OptimConfig, load_config
from weightspace.train.learner import Learner, TrainModule
from weightspace.train.optim import build_optimizer, clip_coefficient, set_lr
from weightspace.train.strategies import get_strategy

CLASSES = [f"action {i}" for i in range(12)]


def _setup(name: str, seed: int, params: dict | None = None, arch: str = "ws-tiny-clip",
           optim: OptimConfig | None = None, temporal: str = "vclip"):
    torch.manual_seed(seed)
    cfg = model_config(arch)
    video = VideoCLIP(build_clip(cfg), model_cfg=cfg, temporal=temporal, templates="single")
    module = TrainModule(video)
    learner = Learner(module, module, CLASSES)
    strategy = get_strategy(name)(get_strategy(name).check_params(params or {}, "strategy"))
    optim = optim or OptimConfig(lr=1e-4)
    optimizer = build_optimizer(module.named_parameters(), optim)
    learner.optimizer, learner.grad_clip = optimizer, optim.grad_clip
    return learner, strategy, optimizer, cfg["vision_cfg"]["image_size"]


def _batches(n: int, batch: int, frames: int, size: int, seed: int) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [{"video": torch.randn(batch, frames, 3, size, size, generator=g),
             "label": torch.randint(0, len(CLASSES), (batch,), generator=g)} for _ in range(n)]


def run(name: str, batch: int, frames: int, steps: int, seed: int = 0, tasks: int = 1) -> tuple[float, object, object]:
    """Samples/s over ``steps`` optimiser steps (after one warm-up step)."""
    learner, strategy, optimizer, size = _setup(name, seed, {"tasks": tasks} if name == "meta" else {})
    k = strategy.batches_per_step
    data = _batches((steps + 1) * k, batch, frames, size, seed)

    def step(i: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        strategy.compute_gradients(learner, data[i * k:(i + 1) * k], lr=1e-4)
        grads = [p.grad for p in learner.parameters if p.grad is not None]
        torch._foreach_mul_(grads, clip_coefficient(grads, 1.0)[1])
        optimizer.step()

    step(0)
    tic = time.perf_counter()
    for i in range(1, steps + 1):
        step(i)
    elapsed = time.perf_counter() - tic
    return steps * k * batch / elapsed, strategy, learner


def step_ratios(recipe: str, inner: str, steps: int, batch: int, frames: int) -> list[float]:
    """‖θ' − θ‖ / ‖real step‖ at each of ``steps`` meta steps (one task) under a recipe's model and optimiser."""
    cfg = load_config(recipe)
    learner, strategy, optimizer, size = _setup(
        "meta", cfg.seed, {"tasks": 1, "inner": inner, "log_ratio_every": 1},
        "ws-tiny-clip" if cfg.model.init == "builtin:tiny-clip" else cfg.model.init, cfg.optim, cfg.model.temporal)
    set_lr(optimizer, cfg.optim.lr)
    data = _batches(2 * steps, batch, frames, size, cfg.seed)
    ratios = []
    for i in range(steps):
        optimizer.zero_grad(set_to_none=True)
        strategy.compute_gradients(learner, data[2 * i:2 * i + 2], lr=cfg.optim.lr)
        grads = [p.grad for p in learner.parameters if p.grad is not None]
        torch._foreach_mul_(grads, clip_coefficient(grads, cfg.optim.grad_clip)[1])
        optimizer.step()
        ratios.append(strategy.after_step(learner, i + 1)["virtual_real_ratio"])
    return ratios


def held_tensor_bytes(obj) -> int:
    """Bytes of every tensor an object keeps in its attributes (lists/tuples/dicts one level deep)."""
    total = 0
    for value in vars(obj).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        total += sum(t.numel() * t.element_size() for t in items if isinstance(t, torch.Tensor))
    return total


def parse_args(doc: str) -> argparse.Namespace:
    """The training benchmarks' shared options (batch, frames, steps, rounds, threads); sets the thread count."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for a tiny model on a shared CPU)")
    ap.add_argument("--tasks", type=int, default=1, help="meta tasks per step (each support/query set is one --batch)")
    ap.add_argument("--ratio", metavar="RECIPE", help="measure meta's virtual/real step ratio under this recipe instead")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    return args


def main() -> None:
    args = parse_args(__doc__)
    if args.ratio:
        print(f"{args.ratio}: virtual/real step ratio, {args.steps} steps, batch {args.batch} x {args.frames} frames, "
              f"random init, lr {load_config(args.ratio).optim.lr:g}")
        for inner in ("sgd", "optimizer"):
            r = step_ratios(args.ratio, inner, args.steps, args.batch, args.frames)
            print(f"  inner {inner:<10} median {statistics.median(r):.3g}  per step: {'  '.join(f'{x:.3g}' for x in r)}")
        return

    speeds: dict[str, list[float]] = {"plain": [], "meta": []}
    meta_strategy = meta_learner = None
    for _ in range(args.rounds):
        for name in ("plain", "meta"):
            sps, strategy, learner = run(name, args.batch, args.frames, args.steps, tasks=args.tasks)
            speeds[name].append(sps)
            if name == "meta":
                meta_strategy, meta_learner = strategy, learner
    plain, meta = statistics.median(speeds["plain"]), statistics.median(speeds["meta"])
    ratio = meta / plain
    param_bytes = sum(p.numel() * p.element_size() for p in meta_learner.parameters)
    copies = meta_strategy.extra_parameter_bytes() / param_bytes
    held = held_tensor_bytes(meta_strategy) / param_bytes

    print(f"model ws-tiny-clip (vclip), batch {args.batch} x {args.frames} frames, meta tasks {args.tasks}, {args.steps} steps x {args.rounds} rounds, "
          f"{torch.get_num_threads()} thread(s); trainable parameters {param_bytes / 2**20:.1f} MiB")
    print(f"{'strategy':<10}{'samples/s (median)':>20}{'rounds':>34}")
    for name, med in (("plain", plain), ("meta", meta)):
        print(f"{name:<10}{med:>20.1f}{'  '.join(f'{s:.1f}' for s in speeds[name]):>34}")
    verdict = "PASS" if ratio >= 0.85 else "FAIL"
    print(f"meta/plain throughput per sample seen: {ratio:.3f}  (target >= 0.85: {verdict})")
    mem = "PASS" if copies <= 1.0 and held <= 1.0 else "FAIL"
    print(f"meta extra parameter copies: {copies:.2f} (tensors held by the strategy: {held:.2f} copies; target <= 1: {mem})")


if __name__ == "__main__":
    main()
