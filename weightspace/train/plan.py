"""A run's step arithmetic: batches per optimiser step, per-process batch, steps per epoch, warm-up."""

from __future__ import annotations

from dataclasses import dataclass

from weightspace.errors import ConfigError


@dataclass(frozen=True)
class StepPlan:
    batches_per_step: int  # loader batches one optimiser step draws (the strategy's)
    local_batch: int  # videos per loader batch on one process
    samples_per_step: int  # videos per optimiser step over all processes
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int

    @classmethod
    def of(cls, cfg, strategy, videos: int, world_size: int) -> "StepPlan":
        bps = strategy.batches_per_step
        loader_batch = strategy.loader_batch_size(cfg.batch_size)
        if loader_batch % world_size:
            raise ConfigError(f"batch_size {loader_batch} is not divisible by the {world_size} processes")
        local_batch = loader_batch // world_size
        steps_per_epoch = (videos // world_size) // (local_batch * bps)
        if steps_per_epoch < 1:
            raise ConfigError(
                f"data: {videos} videos are fewer than one optimiser step of strategy {cfg.strategy.name!r} "
                f"({loader_batch * bps} videos); lower batch_size"
            )
        return cls(bps, local_batch, loader_batch * bps, steps_per_epoch, steps_per_epoch * cfg.epochs,
                   round(cfg.optim.warmup_epochs * steps_per_epoch))
