"""The training loop: one trainer for every strategy, with snapshots, online GWA and exact resume.

Re-running the same recipe with the same output continues from the last state (``resume``). The parts:
``output`` (the folder, its reuse rule), ``components`` (model, dataset, learner, optimiser), ``plan``
(step arithmetic), ``resume``, ``provenance`` (what a snapshot records), ``metrics`` and ``plot``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from weightspace.errors import ConfigError, WeightspaceError
from weightspace.train.components import Components, build_components
from weightspace.train.config import TrainConfig, load_config
from weightspace.train.data import EpochSampler, epoch_permutation, make_loader, resolve_data
from weightspace.train.distributed import DistContext, dist_context, select_device
from weightspace.train.gwa import OnlineGWA
from weightspace.train.metrics import MetricsLog
from weightspace.train.optim import clip_coefficient, lr_at, set_lr
from weightspace.train.output import RunFolder, TrainResult
from weightspace.train.plan import StepPlan
from weightspace.train.plot import LossCurve
from weightspace.train.provenance import SnapshotWriter, dataset_info
from weightspace.train.resume import Position, Resumed, ResumeState


@dataclass
class StepInfo:
    """What hooks see after every optimiser step (a hook may raise to stop training, e.g. in tests)."""

    epoch: int  # 1-based epoch the step belongs to
    step_in_epoch: int  # steps done in this epoch
    global_step: int
    logs: dict = field(default_factory=dict)
    state_saved: bool = False
    module: "torch.nn.Module | None" = None  # the model being trained (VideoCLIP + regulariser heads)


def resolve_init(init: str) -> str:
    from weightspace.data.synthetic.refs import TINY_CLIP, BuiltinRef
    from weightspace.refs import parse_ref

    ref = parse_ref(init, where="model.init")
    if not isinstance(ref, BuiltinRef):
        return init  # paths, open_clip names and hf-hub: ids are opened by load_clip
    if not ref.is_model:
        raise ConfigError(f"model.init {init!r}: unknown built-in model (available: builtin:{TINY_CLIP})")
    return str(ref.resolve())


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        *,
        dataset=None,
        hooks: Sequence[Callable[[StepInfo], None]] = (),
        progress: bool = False,
        overwrite: bool = False,
    ):
        self.cfg = cfg
        self.hooks = list(hooks)
        self.show_progress = progress
        self.overwrite = overwrite
        self.folder = RunFolder.at(Path(cfg.output))
        self.dataset = dataset  # None: the recipe's data section

    def run(self) -> TrainResult:
        cfg, folder = self.cfg, self.folder
        ctx = dist_context("cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu")
        try:
            device = select_device(cfg.device, ctx)
            if cfg.amp == "fp16" and device.type != "cuda":
                raise ConfigError("amp 'fp16' needs CUDA; use 'bf16' or 'none' on CPU")
            if cfg.deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
            if ctx.is_main:
                resolve_init(cfg.model.init)  # generate/cache built-in inputs once, before other ranks read them
                if self.dataset is None:
                    resolve_data(cfg.data)
                folder.prepare(cfg.to_dict(), self.overwrite)
            ctx.barrier()
            parts = build_components(cfg, resolve_init(cfg.model.init), self.dataset, ctx, device)
            plan = StepPlan.of(cfg, parts.strategy, len(parts.dataset), ctx.world_size)
            gwa = None
            if cfg.gwa.enabled and ctx.is_main:
                epochs = ([0] if cfg.gwa.include_base else []) + list(range(cfg.gwa.first_epoch, cfg.epochs + 1))
                gwa = OnlineGWA(epochs, cfg.gwa.mu, cfg.gwa.sigma)
            info = dataset_info(cfg, parts.dataset, given=self.dataset is not None) if ctx.is_main else {}
            resume = ResumeState(folder.state, cfg.to_dict(), parts, gwa, ctx)
            resumed = resume.restore()
            at = (resumed.epoch, resumed.step_in_epoch) if resumed else None
            if resumed and resumed.done:
                return folder.result(cfg.epochs, at, None)
            loop = _Loop(cfg, ctx, folder, parts, plan, gwa, resume, SnapshotWriter(cfg, parts.video, info), resumed,
                         self.hooks, self.show_progress and ctx.is_main)
            return folder.result(cfg.epochs, at, loop.run())
        finally:
            ctx.close()


class _Loop:
    """Epochs and optimiser steps on one rank, from the start or from where ``resumed`` stopped."""

    def __init__(self, cfg: TrainConfig, ctx: DistContext, folder: RunFolder, parts: Components, plan: StepPlan,
                 gwa: OnlineGWA | None, resume: ResumeState, snapshots: SnapshotWriter, resumed: Resumed | None,
                 hooks: list, show_progress: bool):
        self.cfg, self.ctx, self.folder, self.parts, self.plan = cfg, ctx, folder, parts, plan
        self.gwa, self.resume, self.snapshots, self.resumed = gwa, resume, snapshots, resumed
        self.hooks, self.show_progress = hooks, show_progress
        self.position = resumed.position if resumed else Position()
        self.metrics = MetricsLog(folder.metrics, resumed.metrics_lines if resumed else 0)
        self.loss_curve = LossCurve(folder.metrics, folder.loss_curve, title=f"{cfg.strategy.name}: training loss")

    def _order(self, epoch: int) -> torch.Tensor:
        """The sample order of epoch index ``epoch`` (empty past the last epoch)."""
        if epoch >= self.cfg.epochs:
            return torch.empty(0, dtype=torch.int64)
        return epoch_permutation(len(self.parts.dataset), self.cfg.seed, epoch, self.cfg.data.shuffle)

    def _save_state(self, epoch: int, step: int, done: bool = False) -> None:
        self.resume.save(epoch, step, self.position, self.metrics.lines, self._order(epoch), done)

    def run(self) -> float | None:
        """Train to the last epoch; the last epoch's mean loss."""
        from weightspace.train.progress import TrainProgress

        cfg, ctx, plan, parts, pos = self.cfg, self.ctx, self.plan, self.parts, self.position
        learner, dataset, resumed = parts.learner, parts.dataset, self.resumed
        if ctx.is_main:
            self.folder.root.mkdir(parents=True, exist_ok=True)
            if resumed:
                self.metrics.truncate()
            elif self.gwa is not None and cfg.gwa.include_base:
                self.gwa.add(0, parts.video.checkpoint_state_dict())
        start_epoch, start_step = (resumed.epoch, resumed.step_in_epoch) if resumed else (0, 0)
        bps = plan.batches_per_step
        final_loss = None
        with TrainProgress(plan.total_steps, f"train {self.folder.root}", enabled=self.show_progress) as bar:
            bar.advance_to(pos.global_step)
            for epoch in range(start_epoch, cfg.epochs):
                order = self._order(epoch)
                first = epoch == start_epoch and resumed is not None
                if first and not torch.equal(resumed.permutation, order):
                    raise WeightspaceError(f"{self.folder.state}: sample order differs from the saved one (dataset changed?)")
                step0 = start_step if first else 0
                sampler = EpochSampler(order, ctx.rank, ctx.world_size, step0 * plan.local_batch * bps)
                if hasattr(dataset, "set_epoch"):
                    dataset.set_epoch(epoch)
                loader = make_loader(dataset, sampler, plan.local_batch, cfg.data.workers, cfg.seed * 1_000_003 + epoch)
                batches = iter(loader)
                parts.module.train()
                tic, window = time.perf_counter(), 0
                for step in range(step0, plan.steps_per_epoch):
                    lr = lr_at(pos.global_step, plan.total_steps, plan.warmup_steps, cfg.optim)
                    logs = self._step([learner.to_device(next(batches)) for _ in range(bps)], lr)
                    pos.global_step += 1
                    window += plan.samples_per_step
                    pos.epoch_loss_sum += logs["loss"]
                    pos.epoch_loss_count += 1
                    now = time.perf_counter()
                    throughput = window / max(now - tic, 1e-9)
                    bar.update(epoch + 1, cfg.epochs, logs["loss"], lr, throughput)
                    if ctx.is_main and cfg.log_every and pos.global_step % cfg.log_every == 0:
                        self.metrics.append({"kind": "step", "epoch": epoch + 1, "step": pos.global_step, "lr": lr,
                                             "samples_per_s": round(throughput, 3), **logs})
                        tic, window = now, 0
                    saved = bool(cfg.state_every) and (step + 1) % cfg.state_every == 0 and step + 1 < plan.steps_per_epoch
                    if saved:
                        self._save_state(epoch, step + 1)
                    info = StepInfo(epoch + 1, step + 1, pos.global_step, logs, saved, parts.module)
                    for hook in self.hooks:
                        hook(info)
                final_loss = pos.epoch_loss_sum / max(1, pos.epoch_loss_count)
                self._end_epoch(epoch + 1, final_loss)
            if ctx.is_main and self.gwa is not None:
                like = parts.video.checkpoint_state_dict()
                self.snapshots.save(
                    self.folder.gwa, self.gwa.result(like), kind="train-gwa", method="gwa", epochs=self.gwa.seen,
                    mu=cfg.gwa.mu, sigma=cfg.gwa.sigma, include_base=cfg.gwa.include_base, first_epoch=cfg.gwa.first_epoch,
                )
            self._save_state(cfg.epochs, 0, done=True)
        if ctx.is_main and hasattr(dataset, "report_failures") and (msg := dataset.report_failures()):
            warnings.warn(msg, stacklevel=2)
        return final_loss

    def _step(self, batches: list[dict], lr: float) -> dict:
        cfg, learner, opt, strategy = self.cfg, self.parts.learner, self.parts.optimizer, self.parts.strategy
        set_lr(opt, lr)
        opt.zero_grad(set_to_none=True)
        logs = strategy.compute_gradients(learner, batches, lr)
        if learner.scaler is not None:
            learner.scaler.unscale_(opt)
        if cfg.optim.grad_clip:
            grads = [p.grad for p in learner.parameters if p.grad is not None]
            logs["grad_norm"], coef = clip_coefficient(grads, cfg.optim.grad_clip)
            torch._foreach_mul_(grads, coef)
        if learner.scaler is not None:
            learner.scaler.step(opt)
            learner.scaler.update()
        else:
            opt.step()
        logs.update(strategy.after_step(learner, self.position.global_step + 1))
        return logs

    def _end_epoch(self, epoch: int, loss: float) -> None:
        ctx, pos = self.ctx, self.position
        if ctx.is_main:
            weights = self.parts.video.checkpoint_state_dict()
            self.snapshots.save(self.folder.snapshot(epoch), weights, epoch=epoch)
            if self.gwa is not None and epoch >= self.cfg.gwa.first_epoch:
                self.gwa.add(epoch, weights)
            record = {"kind": "epoch", "epoch": epoch, "step": pos.global_step, "loss": loss}
            if hasattr(self.parts.dataset, "failures"):
                record["unreadable_videos"] = len(self.parts.dataset.failures)  # replaced by other samples
            self.metrics.append(record)
            self.loss_curve.epoch_end(last=epoch == self.cfg.epochs)
        ctx.barrier()
        pos.epoch_loss_sum, pos.epoch_loss_count = 0.0, 0
        self._save_state(epoch, 0)


def train(
    recipe: "str | Path | dict | TrainConfig",
    overrides: dict | None = None,
    *,
    dataset=None,
    hooks: Sequence[Callable[[StepInfo], None]] = (),
    progress: bool = False,
    overwrite: bool = False,
) -> TrainResult:
    """Train from a recipe (file, mapping or ``TrainConfig``) plus ``--set``-style overrides.

    ``dataset``: use this dataset (items ``{"video", "label", ...}`` and ``.classnames``) instead of
    the recipe's ``data`` section. Re-running with the same output resumes; ``overwrite`` starts over.
    """
    cfg = load_config(recipe, overrides)
    return Trainer(cfg, dataset=dataset, hooks=hooks, progress=progress, overwrite=overwrite).run()
