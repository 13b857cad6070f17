"""Exact resume: what a run's state holds and putting a run back where it stopped.

The state is written at every epoch end and every ``state_every`` optimiser steps. Model, optimiser,
schedule position, RNG states of every rank, GWA accumulator, epoch, step within the epoch and the
epoch's sample order are restored, so on CPU the final weights equal those of an uninterrupted run bit
for bit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from weightspace.errors import WeightspaceError
from weightspace.train.components import Components
from weightspace.train.distributed import DistContext
from weightspace.train.gwa import OnlineGWA
from weightspace.train.state import load_state, rng_state, save_state, set_rng_state


@dataclass
class Position:
    """The loop's counters, saved with every state."""

    global_step: int = 0
    epoch_loss_sum: float = 0.0
    epoch_loss_count: int = 0


@dataclass(frozen=True)
class Resumed:
    """Where a saved run stopped: at step ``step_in_epoch`` of epoch index ``epoch`` (0-based)."""

    epoch: int
    step_in_epoch: int
    done: bool
    permutation: torch.Tensor  # that epoch's sample order
    position: Position
    metrics_lines: int  # lines of metrics.jsonl written up to the state


class ResumeState:
    def __init__(self, folder: Path, recipe: dict, parts: Components, gwa: OnlineGWA | None, ctx: DistContext):
        self.folder = folder
        self.recipe = recipe
        self.parts = parts
        self.gwa = gwa
        self.ctx = ctx

    def save(self, epoch: int, step: int, position: Position, metrics_lines: int, permutation: torch.Tensor,
             done: bool = False) -> None:
        """State at step ``step`` of epoch index ``epoch`` (0-based; ``step`` 0 = the epoch not started)."""
        ctx, parts = self.ctx, self.parts
        rngs = ctx.gather(rng_state())
        if ctx.is_main:
            tree = {
                "recipe": self.recipe,
                "epoch": epoch, "step_in_epoch": step, "global_step": position.global_step, "done": done,
                "world_size": ctx.world_size, "metrics_lines": metrics_lines,
                "epoch_loss": [position.epoch_loss_sum, position.epoch_loss_count],
                "permutation": permutation,
                "model": {n: p.detach() for n, p in parts.trainable().items()},
                "optimizer": parts.optimizer.state_dict(),
                "scaler": parts.learner.scaler.state_dict() if parts.learner.scaler is not None else None,
                "gwa": list(self.gwa.state()) if self.gwa is not None else None,
                "rng": rngs,
            }
            save_state(self.folder, tree)
        ctx.barrier()

    def restore(self) -> Resumed | None:
        """Load the saved state into the model, optimiser, scaler, GWA and RNGs; None when there is none."""
        folder, parts, ctx = self.folder, self.parts, self.ctx
        if not folder.is_dir():
            return None
        state = load_state(folder)
        own = parts.trainable()
        if set(state["model"]) != set(own):
            raise WeightspaceError(f"{folder}: the resume state holds different trainable parameters than this recipe's model")
        with torch.no_grad():
            for n, p in own.items():
                p.copy_(state["model"][n])
        parts.optimizer.load_state_dict(state["optimizer"])
        if parts.learner.scaler is not None and state["scaler"] is not None:
            parts.learner.scaler.load_state_dict(state["scaler"])
        if self.gwa is not None and state["gwa"] is not None:
            self.gwa.load(*state["gwa"])
        if state["world_size"] == ctx.world_size:
            set_rng_state(state["rng"][ctx.rank])
        else:
            warnings.warn(f"{folder}: written by {state['world_size']} processes, resumed with {ctx.world_size}: "
                          "random streams restart (results will differ from an uninterrupted run)", stacklevel=2)
        loss_sum, loss_count = state["epoch_loss"]
        return Resumed(state["epoch"], state["step_in_epoch"], state["done"], state["permutation"],
                       Position(state["global_step"], loss_sum, loss_count), state["metrics_lines"])
