"""Video learner speed on CPU: frames/s of the temporal modules, and text-feature encoding time.

Usage: python benchmarks/video_clip_bench.py [--arch ws-tiny-clip|ViT-B-16] [--frames 8] [--batch 2]
Randomly initialised weights (speed does not depend on them); prints one table.
"""

from __future__ import annotations

import argparse
import time

import torch
from rich.console import Console
from rich.table import Table

from weightspace.models.prompts import KINETICS_TEMPLATES
from weightspace.models.video_clip import VideoCLIP


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ws-tiny-clip")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--classes", type=int, default=100)
    args = ap.parse_args()

    torch.manual_seed(0)
    base = VideoCLIP.from_pretrained(args.arch, temporal="none").eval()
    size = base.image_size if isinstance(base.image_size, int) else base.image_size[0]
    video = torch.randn(args.batch, args.frames, 3, size, size)
    table = Table(title=f"{args.arch}: B={args.batch} T={args.frames} {size}px, {torch.get_num_threads()} threads")
    for col in ("what", "ms / call", "frames / s"):
        table.add_column(col)
    for temporal in ("none", "vclip"):
        model = VideoCLIP(base.clip, model_cfg=base.model_cfg, temporal=temporal)
        with torch.no_grad():
            sec = timed(lambda: model.encode_frames(video), args.repeats)
        table.add_row(f"encode_frames {temporal} (no grad)", f"{sec * 1e3:.1f}", f"{video.shape[0] * video.shape[1] / sec:.1f}")
        model.train()

        def step():
            model.zero_grad(set_to_none=True)
            model.encode_frames(video).sum().backward()

        sec = timed(step, args.repeats)
        table.add_row(f"forward+backward {temporal}", f"{sec * 1e3:.1f}", f"{video.shape[0] * video.shape[1] / sec:.1f}")
    names = [f"action number {i}" for i in range(args.classes)]
    model = VideoCLIP(base.clip, model_cfg=base.model_cfg)
    start = time.perf_counter()
    model.text_features(names, KINETICS_TEMPLATES)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    model.text_features(names, KINETICS_TEMPLATES)
    warm = time.perf_counter() - start
    table.add_row(f"text_features {args.classes} classes x 28 templates (cold)", f"{cold * 1e3:.1f}", "")
    table.add_row("text_features, cached", f"{warm * 1e3:.3f}", "")
    Console().print(table)


if __name__ == "__main__":
    main()
