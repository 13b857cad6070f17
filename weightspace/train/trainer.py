"""The training loop: one trainer for every strategy, with snapshots, online GWA and exact resume.

Output folder (rank 0 writes; every write atomic)::

    OUTPUT/snapshots/epoch_001/ ...   a weightspace checkpoint after every epoch (CLIP weights + temporal head)
    OUTPUT/gwa/                       online Gaussian weight average of the snapshots (Open-MeDe Eq. 13)
    OUTPUT/metrics.jsonl              one JSON object per logged step ("kind": "step") and per epoch ("epoch")
    OUTPUT/loss_curve.png             loss per step and per epoch, learning rate
    OUTPUT/state/                     resume state (state.safetensors + state.json)

Re-running the same recipe with the same output continues from the last state: at every epoch end
and every ``state_every`` optimiser steps. Model, optimiser, schedule position, RNG states of every
rank, GWA accumulator, epoch, step within the epoch and the epoch's sample order are restored, so on
CPU the final weights equal those of an uninterrupted run bit for bit.
"""

from __future__ import annotations

import json
import random
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from weightspace.atomic import claim_dir
from weightspace.checkpoint import make_meta, save_checkpoint, sha256_file
from weightspace.data.decode import VideoReadError
from weightspace.errors import ConfigError, WeightspaceError
from weightspace.train.config import TrainConfig, load_config
from weightspace.train.data import EpochSampler, build_dataset, epoch_permutation, make_loader, resolve_data
from weightspace.train.distributed import DistContext, dist_context, select_device
from weightspace.train.gwa import OnlineGWA
from weightspace.train.learner import Learner, TrainModule
from weightspace.train.optim import build_optimizer, clip_coefficient, lr_at, set_lr
from weightspace.train.plot import plot_loss_curve, read_metrics
from weightspace.train.regularisers import get_regulariser
from weightspace.train.state import load_state, rng_state, save_state, set_rng_state
from weightspace.train.strategies import get_strategy

SNAPSHOTS, GWA_DIR, STATE_DIR = "snapshots", "gwa", "state"
METRICS, LOSS_PNG = "metrics.jsonl", "loss_curve.png"
PLOT_EVERY_S = 60.0  # redraw the loss curve at an epoch end at most this often (always after the last)
# recipe keys that may change between a run and its resumption (they do not change the result)
RESUME_FREE_KEYS = ("output", "state_every", "log_every", "data.workers", "data.max_unreadable", "device")


@dataclass
class TrainResult:
    output: Path
    snapshots: list[Path]
    gwa: Path | None
    metrics: Path
    loss_curve: Path | None
    resumed_from: tuple[int, int] | None = None  # (epoch, step within epoch) a run continued from
    final_loss: float | None = None


@dataclass
class StepInfo:
    """What hooks see after every optimiser step (a hook may raise to stop training, e.g. in tests)."""

    epoch: int  # 1-based epoch the step belongs to
    step_in_epoch: int  # steps done in this epoch
    global_step: int
    logs: dict = field(default_factory=dict)
    state_saved: bool = False
    module: "torch.nn.Module | None" = None  # the model being trained (VideoCLIP + regulariser heads)


def snapshot_dir(output: Path, epoch: int) -> Path:
    return output / SNAPSHOTS / f"epoch_{epoch:03d}"


def resolve_init(init: str) -> str:
    from weightspace.data.synthetic.refs import TINY_CLIP, BuiltinRef
    from weightspace.refs import parse_ref

    ref = parse_ref(init, where="model.init")
    if not isinstance(ref, BuiltinRef):
        return init  # paths, open_clip names and hf-hub: ids are opened by load_clip
    if not ref.is_model:
        raise ConfigError(f"model.init {init!r}: unknown built-in model (available: builtin:{TINY_CLIP})")
    return str(ref.resolve())


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("strategy",):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def _recipe_difference(saved: dict, current: dict) -> str | None:
    a, b = _flat(saved), _flat(current)
    for key in sorted(set(a) | set(b)):
        if key in RESUME_FREE_KEYS:
            continue
        if a.get(key) != b.get(key):
            return key
    return None


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _image_size(video) -> int:
    size = video.image_size
    return size if isinstance(size, int) else int(size[0])


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
        self.output = Path(cfg.output)
        self._dataset = dataset
        self._last_plot = time.perf_counter()

    # ---- set-up -------------------------------------------------------------------------------
    def _prepare_output(self, ctx: DistContext) -> None:
        """Rank 0: refuse foreign folders and other recipes; clear our own files on ``overwrite``."""
        if not ctx.is_main:
            return
        resolve_init(self.cfg.model.init)  # generate/cache built-in inputs once, before other ranks read them
        if self._dataset is None:
            resolve_data(self.cfg.data)
        out = self.output
        claim_dir(out)  # a user's folder is refused before --overwrite clears anything
        ours = [out / n for n in (STATE_DIR, SNAPSHOTS, GWA_DIR, METRICS, LOSS_PNG)]
        if self.overwrite:
            for p in ours:
                shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
            return
        if (out / STATE_DIR).is_dir():
            saved = load_state(out / STATE_DIR)["recipe"]
        else:  # killed before its first state (or someone else's folder): start over if the snapshots agree
            first = snapshot_dir(out, 1) / "weightspace.json"
            saved = json.loads(first.read_text(encoding="utf-8"))["provenance"].get("recipe") if first.is_file() else None
        key = _recipe_difference(saved, self.cfg.to_dict()) if saved is not None else None
        if key is not None:
            raise ConfigError(
                f"output {out}: holds a run of a different recipe (key {key!r} differs); "
                "choose another output or pass --overwrite"
            )

    def _build(self, ctx: DistContext, device: torch.device) -> None:
        from weightspace.models.video_clip import VideoCLIP

        cfg = self.cfg
        _seed_all(cfg.seed)  # identical initialisation on every rank
        video = VideoCLIP.from_pretrained(
            resolve_init(cfg.model.init), temporal=cfg.model.temporal, model_name=cfg.model.model_name,
            pretrained=cfg.model.pretrained, freeze_text=cfg.model.freeze_text,
            train_logit_scale=cfg.model.train_logit_scale, templates=cfg.model.templates,
            num_frames=cfg.data.num_frames,
        )
        self.dataset = self._dataset if self._dataset is not None else build_dataset(cfg.data, _image_size(video), cfg.seed)
        if hasattr(self.dataset, "check_readable"):
            self._check_readable(ctx)
        self.regularisers = [get_regulariser(r.name)(r.params) for r in cfg.regularisers]
        heads = {r.name: h for r in self.regularisers if (h := r.head(video)) is not None}
        self.module = TrainModule(video, heads).to(device)
        self.video = video
        self.strategy = get_strategy(cfg.strategy.name)(cfg.strategy.params)
        scaler = torch.amp.GradScaler("cuda") if cfg.amp == "fp16" else None
        self.learner = Learner(
            self.module, self.module, self.dataset.classnames, regularisers=self.regularisers,
            device=device, amp=cfg.amp, scaler=scaler,
        )
        for reg in self.regularisers:
            reg.setup(self.learner)  # before any step and before a resume state: captures the initial model
        if ctx.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # a pass whose loss ignores the heads (IWO's interpolated CE) leaves their parameters without gradient
            # and MoTE's routing runs one expert per block
            unused = (bool(heads) and any(r.has_extra_pass for r in self.regularisers)) or video.has_head
            self.learner.net = DDP(
                self.module, device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=unused,
            )
        self.optimizer = build_optimizer(self.module.named_parameters(), cfg.optim)
        self.learner.optimizer, self.learner.grad_clip = self.optimizer, cfg.optim.grad_clip
        _seed_all(cfg.seed + ctx.rank)  # per-rank streams from here on (λ of IWO, ...)

    def _check_readable(self, ctx: DistContext) -> None:
        """Rank 0 opens every video once; all ranks skip what it found, or all fail with its message."""
        found: list[int] | str | None = None
        if ctx.is_main:
            try:
                found = [f.index for f in self.dataset.check_readable(self.cfg.data.max_unreadable)]
            except VideoReadError as exc:
                found = str(exc)
        found = ctx.broadcast(found)
        if isinstance(found, str):
            raise VideoReadError(found)
        self.dataset.skip(found)

    def _plan(self, ctx: DistContext) -> None:
        cfg = self.cfg
        self.batches_per_step = self.strategy.batches_per_step
        loader_batch = self.strategy.loader_batch_size(cfg.batch_size)
        if loader_batch % ctx.world_size:
            raise ConfigError(f"batch_size {loader_batch} is not divisible by the {ctx.world_size} processes")
        self.local_batch = loader_batch // ctx.world_size
        self.samples_per_step = loader_batch * self.batches_per_step
        n = len(self.dataset)
        self.steps_per_epoch = (n // ctx.world_size) // (self.local_batch * self.batches_per_step)
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"data: {n} videos are fewer than one optimiser step of strategy {cfg.strategy.name!r} "
                f"({self.samples_per_step} videos); lower batch_size"
            )
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.warmup_steps = round(cfg.optim.warmup_epochs * self.steps_per_epoch)
        self.gwa = None
        if cfg.gwa.enabled and ctx.is_main:
            epochs = ([0] if cfg.gwa.include_base else []) + list(range(cfg.gwa.first_epoch, cfg.epochs + 1))
            self.gwa = OnlineGWA(epochs, cfg.gwa.mu, cfg.gwa.sigma)

    # ---- resume state -------------------------------------------------------------------------
    def _trainable(self) -> dict[str, torch.Tensor]:
        return {n: p for n, p in self.module.named_parameters() if p.requires_grad}

    def _save_state(self, ctx: DistContext, epoch: int, step: int, done: bool = False) -> None:
        """State at step ``step`` of epoch index ``epoch`` (0-based; ``step`` 0 = the epoch not started)."""
        rngs = ctx.gather(rng_state())
        if ctx.is_main:
            tree = {
                "recipe": self.cfg.to_dict(),
                "epoch": epoch, "step_in_epoch": step, "global_step": self.global_step, "done": done,
                "world_size": ctx.world_size, "metrics_lines": self.metrics_lines,
                "epoch_loss": [self.epoch_loss_sum, self.epoch_loss_count],
                "permutation": self._order(epoch),
                "model": {n: p.detach() for n, p in self._trainable().items()},
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.learner.scaler.state_dict() if self.learner.scaler is not None else None,
                "gwa": list(self.gwa.state()) if self.gwa is not None else None,
                "rng": rngs,
            }
            save_state(self.output / STATE_DIR, tree)
        ctx.barrier()

    def _order(self, epoch: int) -> torch.Tensor:
        """The sample order of epoch index ``epoch`` (empty past the last epoch)."""
        if epoch >= self.cfg.epochs:
            return torch.empty(0, dtype=torch.int64)
        return epoch_permutation(len(self.dataset), self.cfg.seed, epoch, self.cfg.data.shuffle)

    def _load_state(self, ctx: DistContext) -> dict | None:
        folder = self.output / STATE_DIR
        if not folder.is_dir():
            return None
        state = load_state(folder)
        own = self._trainable()
        if set(state["model"]) != set(own):
            raise WeightspaceError(f"{folder}: the resume state holds different trainable parameters than this recipe's model")
        with torch.no_grad():
            for n, p in own.items():
                p.copy_(state["model"][n])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.learner.scaler is not None and state["scaler"] is not None:
            self.learner.scaler.load_state_dict(state["scaler"])
        if self.gwa is not None and state["gwa"] is not None:
            self.gwa.load(*state["gwa"])
        self.global_step = state["global_step"]
        self.metrics_lines = state["metrics_lines"]
        self.epoch_loss_sum, self.epoch_loss_count = state["epoch_loss"]
        if state["world_size"] == ctx.world_size:
            set_rng_state(state["rng"][ctx.rank])
        else:
            warnings.warn(f"{folder}: written by {state['world_size']} processes, resumed with {ctx.world_size}: "
                          "random streams restart (results will differ from an uninterrupted run)", stacklevel=2)
        return state

    # ---- outputs ------------------------------------------------------------------------------
    def _dataset_info(self) -> dict:
        ds = self.dataset
        info = {"size": len(ds), "classes": len(ds.classnames)}
        if self._dataset is None:
            src = resolve_data(self.cfg.data)
            info.update(train=str(src.train), classnames=str(src.classnames), sha256=sha256_file(src.train))
        else:
            info["name"] = type(ds).__name__
        return info

    def _base_reference(self) -> dict:
        src = self.video.source
        if src is not None:
            return {"ref": self.cfg.model.init, "resolved": src.ref, "sha256": src.sha256()}
        return {"ref": self.cfg.model.init, "pretrained": self.cfg.model.pretrained, "sha256": None}

    def _provenance(self, **extra) -> dict:
        cfg = self.cfg
        return {
            "kind": "train", "strategy": cfg.strategy.name,
            "regularisers": [r.name for r in cfg.regularisers], **extra,
            "recipe": cfg.to_dict(), "recipe_file": cfg.source, "dataset": self.dataset_info,
        }

    def _save_snapshot(self, path: Path, state: dict, provenance: dict) -> None:
        v = self.video
        meta = make_meta(video=v.video_config(), base=self._base_reference(), provenance=provenance)
        save_checkpoint(path, state, model_cfg=v.model_cfg, preprocess_cfg=v.preprocess_cfg, meta=meta, overwrite=True)

    def _plot(self) -> None:
        plot_loss_curve(read_metrics(self.output / METRICS), self.output / LOSS_PNG,
                        title=f"{self.cfg.strategy.name}: training loss")
        self._last_plot = time.perf_counter()

    def _log(self, record: dict) -> None:
        path = self.output / METRICS
        if self.metrics_lines == 0 and path.exists():
            path.unlink()
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        self.metrics_lines += 1

    def _truncate_metrics(self) -> None:
        """Drop metric lines written after the state we resume from (a kill may leave them)."""
        from weightspace.atomic import write_text

        path = self.output / METRICS
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[: self.metrics_lines]
            write_text(path, "".join(lines))

    def _result(self, resumed: tuple[int, int] | None, final_loss: float | None) -> TrainResult:
        snaps = [snapshot_dir(self.output, e) for e in range(1, self.cfg.epochs + 1)]
        gwa = self.output / GWA_DIR
        png = self.output / LOSS_PNG
        return TrainResult(
            self.output, [s for s in snaps if s.is_dir()], gwa if gwa.is_dir() else None,
            self.output / METRICS, png if png.is_file() else None, resumed, final_loss,
        )

    # ---- the loop -----------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.cfg
        ctx = dist_context("cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu")
        try:
            device = select_device(cfg.device, ctx)
            if cfg.amp == "fp16" and device.type != "cuda":
                raise ConfigError("amp 'fp16' needs CUDA; use 'bf16' or 'none' on CPU")
            if cfg.deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
            self._prepare_output(ctx)
            ctx.barrier()
            self._build(ctx, device)
            self._plan(ctx)
            self.dataset_info = self._dataset_info() if ctx.is_main else {}
            self.global_step, self.metrics_lines = 0, 0
            self.epoch_loss_sum, self.epoch_loss_count = 0.0, 0
            state = self._load_state(ctx)
            start_epoch, start_step = (state["epoch"], state["step_in_epoch"]) if state else (0, 0)
            resumed = (start_epoch, start_step) if state else None
            if state and state["done"]:
                return self._result(resumed, None)
            if ctx.is_main:
                self.output.mkdir(parents=True, exist_ok=True)
                if state:
                    self._truncate_metrics()
                elif self.gwa is not None and cfg.gwa.include_base:
                    self.gwa.add(0, self.video.checkpoint_state_dict())
            final = self._loop(ctx, start_epoch, start_step, state)
            return self._result(resumed, final)
        finally:
            ctx.close()

    def _loop(self, ctx: DistContext, start_epoch: int, start_step: int, state: dict | None) -> float | None:
        from weightspace.train.progress import TrainProgress

        cfg, learner = self.cfg, self.learner
        bps = self.batches_per_step
        final_loss = None
        with TrainProgress(self.total_steps, enabled=self.show_progress and ctx.is_main) as bar:
            bar.advance_to(self.global_step)
            for epoch in range(start_epoch, cfg.epochs):
                order = self._order(epoch)
                first = epoch == start_epoch and state is not None
                if first and not torch.equal(state["permutation"], order):
                    raise WeightspaceError(f"{self.output / STATE_DIR}: sample order differs from the saved one (dataset changed?)")
                step0 = start_step if first else 0
                sampler = EpochSampler(order, ctx.rank, ctx.world_size, step0 * self.local_batch * bps)
                if hasattr(self.dataset, "set_epoch"):
                    self.dataset.set_epoch(epoch)
                loader = make_loader(self.dataset, sampler, self.local_batch, cfg.data.workers, cfg.seed * 1_000_003 + epoch)
                batches = iter(loader)
                self.module.train()
                tic, window = time.perf_counter(), 0
                for step in range(step0, self.steps_per_epoch):
                    lr = lr_at(self.global_step, self.total_steps, self.warmup_steps, cfg.optim)
                    logs = self._step([learner.to_device(next(batches)) for _ in range(bps)], lr)
                    self.global_step += 1
                    window += self.samples_per_step
                    self.epoch_loss_sum += logs["loss"]
                    self.epoch_loss_count += 1
                    now = time.perf_counter()
                    throughput = window / max(now - tic, 1e-9)
                    bar.update(epoch + 1, cfg.epochs, logs["loss"], lr, throughput)
                    if ctx.is_main and cfg.log_every and self.global_step % cfg.log_every == 0:
                        self._log({"kind": "step", "epoch": epoch + 1, "step": self.global_step, "lr": lr,
                                   "samples_per_s": round(throughput, 3), **logs})
                        tic, window = now, 0
                    saved = bool(cfg.state_every) and (step + 1) % cfg.state_every == 0 and step + 1 < self.steps_per_epoch
                    if saved:
                        self._save_state(ctx, epoch, step + 1)
                    info = StepInfo(epoch + 1, step + 1, self.global_step, logs, saved, self.module)
                    for hook in self.hooks:
                        hook(info)
                final_loss = self.epoch_loss_sum / max(1, self.epoch_loss_count)
                self._end_epoch(ctx, epoch + 1, final_loss)
            if ctx.is_main and self.gwa is not None:
                like = self.video.checkpoint_state_dict()
                self._save_snapshot(self.output / GWA_DIR, self.gwa.result(like), self._provenance(
                    kind="train-gwa", method="gwa", epochs=self.gwa.seen, mu=cfg.gwa.mu, sigma=cfg.gwa.sigma,
                    include_base=cfg.gwa.include_base, first_epoch=cfg.gwa.first_epoch,
                ))
            self._save_state(ctx, cfg.epochs, 0, done=True)
        if ctx.is_main and hasattr(self.dataset, "report_failures") and (msg := self.dataset.report_failures()):
            warnings.warn(msg, stacklevel=2)
        return final_loss

    def _step(self, batches: list[dict], lr: float) -> dict:
        cfg, learner, opt = self.cfg, self.learner, self.optimizer
        set_lr(opt, lr)
        opt.zero_grad(set_to_none=True)
        logs = self.strategy.compute_gradients(learner, batches, lr)
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
        logs.update(self.strategy.after_step(learner, self.global_step + 1))
        return logs

    def _end_epoch(self, ctx: DistContext, epoch: int, loss: float) -> None:
        if ctx.is_main:
            weights = self.video.checkpoint_state_dict()
            self._save_snapshot(snapshot_dir(self.output, epoch), weights, self._provenance(epoch=epoch))
            if self.gwa is not None and epoch >= self.cfg.gwa.first_epoch:
                self.gwa.add(epoch, weights)
            record = {"kind": "epoch", "epoch": epoch, "step": self.global_step, "loss": loss}
            if hasattr(self.dataset, "failures"):
                record["unreadable_videos"] = len(self.dataset.failures)  # replaced by other samples
            self._log(record)
            if epoch == self.cfg.epochs or time.perf_counter() - self._last_plot > PLOT_EVERY_S:
                self._plot()
        ctx.barrier()
        self.epoch_loss_sum, self.epoch_loss_count = 0.0, 0
        self._save_state(ctx, epoch, 0)


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
