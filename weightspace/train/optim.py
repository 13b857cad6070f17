"""AdamW with Open-VCLIP's parameter groups, the per-step learning-rate schedule, clipping, virtual steps.

Weight decay is not applied to 1-D parameters (biases, norms, logit_scale, embeddings' class token)
as in Open-VCLIP's B/16 recipe (wengzejia1/Open-VCLIP ``script/training/temporal_b16``). A temporal
head (MoTE) may have its own peak learning rate (``optim.head_lr``): its groups carry ``lr_scale`` = head_lr / lr, and the schedule scales
every group alike (MoTE: head 5e-5, CLIP tower 5e-5 × 0.07). The schedule is a pure function of the optimiser step:
linear warm-up from ``warmup_start_lr`` to ``lr``, then half-cosine down to ``final_lr`` (SlowFast's
cosine-with-warm-up). Being a function of the step, resuming needs only the step count.

``clip_coefficient`` is the one clipping rule (``torch.nn.utils.clip_grad_norm_``'s); ``virtual_adamw_step_``
applies the step AdamW would take, without changing its state (Open-MeDe's virtual step, synchronised
with the real one).
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


def clip_coefficient(grads: list[torch.Tensor], max_norm: float | None, scale: float = 1.0) -> tuple[float, float]:
    """(L2 norm of ``scale``·grads, factor that brings it to at most ``max_norm``): clip_grad_norm_'s rule."""
    norm = scale * float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0
    if not max_norm:
        return norm, 1.0
    return norm, min(1.0, max_norm / (norm + 1e-6))


@torch.no_grad()
def virtual_adamw_step_(optimizer: torch.optim.Optimizer, params: list[nn.Parameter], grad_factor: float) -> float:
    """Move ``params`` in place by the step ``optimizer.step()`` would take for gradients ``grad_factor·p.grad``.

    torch's AdamW rule (Loshchilov & Hutter, ICLR'19, Alg. 2) from the current moments and step count, which
    are read, not updated. One parameter at a time, so the temporaries are one parameter's size.
    Returns ‖Δθ‖ (L2 over all ``params``).
    """
    if type(optimizer) is not torch.optim.AdamW:
        raise TypeError(f"virtual optimiser step: AdamW only, got {type(optimizer).__name__}")
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    total = 0.0
    for p in params:
        group = group_of[id(p)]
        if group.get("amsgrad") or group.get("maximize"):
            raise TypeError("virtual optimiser step: amsgrad/maximize are not supported")
        (b1, b2), lr, eps, wd = group["betas"], float(group["lr"]), group["eps"], group["weight_decay"]
        g = p.grad.float() * grad_factor
        state = optimizer.state.get(p) or {}
        step = float(state["step"]) + 1 if "step" in state else 1.0
        m = torch.lerp(state["exp_avg"], g, 1 - b1) if "exp_avg" in state else g * (1 - b1)
        v = state["exp_avg_sq"] * b2 + (1 - b2) * g * g if "exp_avg_sq" in state else (1 - b2) * g * g
        denom = (v.sqrt_() / math.sqrt(1 - b2**step)).add_(eps)
        delta = m.div_(denom).mul_(-lr / (1 - b1**step)).sub_(p, alpha=lr * wd)
        total += float(delta.square().sum())
        p.add_(delta.to(p.dtype))
    return math.sqrt(total)


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
