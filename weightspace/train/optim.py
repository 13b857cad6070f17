"""AdamW with Open-VCLIP's parameter groups, and the per-step learning-rate schedule.

Weight decay is not applied to 1-D parameters (biases, norms, logit_scale, embeddings' class token)
as in Open-VCLIP's recipe (seed_methods §2.4). The schedule is a pure function of the optimiser step:
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
    decay, no_decay = [], []
    for _, p in named_params:
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
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
        group["lr"] = lr
