"""What a run trains, built the same way on every rank: the video model with its regulariser heads, the
dataset, the strategy, the learner and the optimiser."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from weightspace.data.decode import VideoReadError
from weightspace.train.data import build_dataset
from weightspace.train.distributed import DistContext
from weightspace.train.learner import Learner, TrainModule
from weightspace.train.optim import build_optimizer
from weightspace.train.regularisers import get_regulariser
from weightspace.train.strategies import get_strategy


@dataclass(frozen=True)
class Components:
    video: Any  # VideoCLIP (imported lazily: torch/open_clip stay out of light commands)
    module: TrainModule  # the video model + regulariser heads: what the optimiser steps
    dataset: Any  # items {"video", "label", ...} and .classnames
    regularisers: list
    strategy: Any
    learner: Learner
    optimizer: torch.optim.Optimizer

    def trainable(self) -> dict[str, torch.Tensor]:
        return {n: p for n, p in self.module.named_parameters() if p.requires_grad}


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _image_size(video) -> int:
    size = video.image_size
    return size if isinstance(size, int) else int(size[0])


def build_components(cfg, init: str, dataset, ctx: DistContext, device: torch.device) -> Components:
    """Everything ``cfg`` trains, from the resolved model reference ``init``; ``dataset`` (or None: the recipe's)."""
    from weightspace.models.video_clip import VideoCLIP

    seed_all(cfg.seed)  # identical initialisation on every rank
    video = VideoCLIP.from_pretrained(
        init, temporal=cfg.model.temporal, model_name=cfg.model.model_name,
        pretrained=cfg.model.pretrained, freeze_text=cfg.model.freeze_text,
        train_logit_scale=cfg.model.train_logit_scale, templates=cfg.model.templates,
        num_frames=cfg.data.num_frames,
    )
    if dataset is None:
        dataset = build_dataset(cfg.data, _image_size(video), cfg.seed)
    if hasattr(dataset, "check_readable"):
        _skip_unreadable(dataset, cfg.data.max_unreadable, ctx)
    regularisers = [get_regulariser(r.name)(r.params) for r in cfg.regularisers]
    heads = {r.name: h for r in regularisers if (h := r.head(video)) is not None}
    module = TrainModule(video, heads).to(device)
    strategy = get_strategy(cfg.strategy.name)(cfg.strategy.params)
    scaler = torch.amp.GradScaler("cuda") if cfg.amp == "fp16" else None
    learner = Learner(module, module, dataset.classnames, regularisers=regularisers, device=device, amp=cfg.amp,
                      scaler=scaler)
    for reg in regularisers:
        reg.setup(learner)  # before any step and before a resume state: captures the initial model
    if ctx.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        # a pass whose loss ignores the heads (IWO's interpolated CE) leaves their parameters without gradient
        # and MoTE's routing runs one expert per block
        unused = (bool(heads) and any(r.has_extra_pass for r in regularisers)) or video.has_head
        learner.net = DDP(module, device_ids=[device.index] if device.type == "cuda" else None,
                          find_unused_parameters=unused)
    optimizer = build_optimizer(module.named_parameters(), cfg.optim)
    learner.optimizer, learner.grad_clip = optimizer, cfg.optim.grad_clip
    seed_all(cfg.seed + ctx.rank)  # per-rank streams from here on (λ of IWO, ...)
    return Components(video, module, dataset, regularisers, strategy, learner, optimizer)


def _skip_unreadable(dataset, max_unreadable, ctx: DistContext) -> None:
    """Rank 0 opens every video once; all ranks skip what it found, or all fail with its message."""
    found: list[int] | str | None = None
    if ctx.is_main:
        try:
            found = [f.index for f in dataset.check_readable(max_unreadable)]
        except VideoReadError as exc:
            found = str(exc)
    found = ctx.broadcast(found)
    if isinstance(found, str):
        raise VideoReadError(found)
    dataset.skip(found)
