"""AdamW with Open-VCLIP's parameter groups, and the per-step learning-rate schedule.

Weight decay is not applied to 1-D parameters (biases, norms, logit_scale, embeddings' class token)
as in Open-VCLIP's recipe (seed_methods §2.4). A temporal head (MoTE) may have its own peak
learning rate (``optim.head_lr``): its groups carry ``lr_scale`` = head_lr / lr, and the schedule scales
every group alike (MoTE: head 5e-5, CLIP tower 5e-5 × 0.07). The schedule is a pure function of the optimiser step:
linear warm-up from ``warmup_start_lr`` to ``lr``, then half-cosine down to ``final_lr`` (SlowFast's
cosine-with-warm-up). Being a function of the step, resuming needs only the step count.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from weightspace.train.config import OptimConfig


def build_optimizer(named_params: Iterable[tuple[str, nn.Parameter]], cfg: OptimConfig) -> torch.optim.AdamW:
    from weightspace.models.video_clip import HEAD_MODULE

    head_scale = 1.0 if cfg.head_lr is None else cfg.head_lr / cfg.lr
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in named_params:
        if p.requires_grad:
            groups.setdefault((HEAD_MODULE in name.split("."), p.ndim <= 1), []).append(p)
    groups = [{"params": ps, "weight_decay": 0.0 if no_decay else cfg.weight_decay,
               "lr_scale": head_scale if head else 1.0}
              for (head, no_decay), ps in sorted(groups.items())]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps)


def final_lr(cfg: OptimConfig) -> float:
    return cfg.lr / 100 if cfg.final_lr is None else cfg.final_lr


def lr_at(step: int, total_steps: int, warmup_steps: int, cfg: OptimConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based) of ``total_steps``."""
    end = final_lr(cfg)
    start = end if cfg.warmup_start_lr is None else cfg.warmup_start_lr
    if step < warmup_steps:
        return start + (cfg.lr - start) * step / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return end + (cfg.lr - end) * 0.5 * (1 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
