"""``meta``: Open-MeDe cross-batch meta-optimisation, first-order (FOMAML), over K tasks per step.

Per optimiser step (Open-MeDe, ICCV'25, Eq. 9): the step's samples form K tasks, each a support
batch S_k and the next loader batch as its query Q_k (consecutive batches with different class mixes
act as a known->open task). With g_k = ∇L_{S_k}(θ):

    θ'_k = θ + virtual_step(g_k)                         (inner step, one set of fast weights per task)
    θ ← optimiser(Σ_k [g_k + δ·∇L_{Q_k}(θ'_k)])          (first-order meta update, Eq. 9's sum)

The paper synchronises the inner and outer learning rates and trains with AdamW, so the default
virtual step (``inner: optimizer``) is the step AdamW itself would take from g_k and its current
moments, the state left untouched: the same size as a real step. ``inner: sgd`` is θ − α·g_k. A plain
SGD step at the recipe rate moves ViT-B weights below float32 spacing (θ' = θ, i.e. gradient
accumulation). g_k is clipped by the trainer's ``grad_clip`` rule before either virtual step.

Tasks are processed one at a time: one extra copy of θ (restored exactly after each task), plus, for
K > 1, the running outer gradient held aside while a task's support gradient is formed. Under DDP every
rank forms its own tasks from its shard (inner steps use the rank's local gradients, no_sync) and the
outer gradient is all-reduced once, by the step's last backward pass.

Defaults from the paper's implementation details: 4 tasks of 8 support + 8 query clips (batch 64),
δ = 1 (its numeric value is lost from the text: an assumption).
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import Literal

import torch

from weightspace.errors import ConfigError
from weightspace.options import Options, opt
from weightspace.train.optim import clip_coefficient, virtual_adamw_step_
from weightspace.train.strategies.base import STRATEGIES, Strategy

log = logging.getLogger(__name__)


@STRATEGIES.register
class Meta(Strategy):
    name = "meta"
    reference = "Open-MeDe cross-batch FOMAML, Σ_k ∇L_S(θ)+δ∇L_Q(θ'_k), θ'_k an AdamW-sized virtual step (ICCV'25 Eq. 9)"

    class Params(Options):
        tasks: int = opt(4, ge=1, help="tasks per optimiser step, one (support, query) pair and θ' each (paper: 4)")
        task_batch_size: int | None = opt(
            None, ge=1, help="samples in each task's S and in its Q (global); None: batch_size / (2·tasks)")
        inner: Literal["optimizer", "sgd"] = opt(
            "optimizer", help="virtual step: the optimiser's own update from its current state, or plain SGD")
        alpha: float | None = opt(None, ge=0, help="SGD virtual step size (inner: sgd); None: the current learning rate")
        delta: float = opt(1.0, ge=0, help="weight of the query gradient")
        log_ratio_every: int = opt(50, ge=0, help="log ‖θ'−θ‖ / ‖real step‖ every N optimiser steps (0: never)")

    @classmethod
    def validate(cls, params, key, where):
        if params.alpha is not None and params.inner != "sgd":
            raise ConfigError(f"{where}key '{key}.alpha': only used with inner: sgd (the optimiser step uses its own lr)")

    def __init__(self, params: dict):
        super().__init__(params)
        self.batches_per_step = 2 * self.params.tasks
        self._theta: list[torch.Tensor] | None = None  # the one extra copy of θ, allocated once
        self._virtual: list[float] = []  # ‖θ'_k − θ‖ of the current step

    def loader_batch_size(self, batch_size: int) -> int:
        if self.params.task_batch_size is not None:
            return self.params.task_batch_size
        sets = 2 * self.params.tasks
        if batch_size % sets:
            raise ConfigError(f"batch_size {batch_size} does not split into {self.params.tasks} tasks of support + "
                              "query; set strategy.task_batch_size or change strategy.tasks")
        return batch_size // sets

    def compute_gradients(self, learner, batches, lr):
        params = learner.parameters
        if self._theta is None:
            self._theta = [torch.empty_like(p) for p in params]
        with torch.no_grad():
            torch._foreach_copy_(self._theta, params)
        self._virtual = []
        sums: dict[str, float] = {}
        tasks = self.params.tasks
        for k in range(tasks):
            support, query = batches[2 * k], batches[2 * k + 1]
            outer = [p.grad for p in params]  # earlier tasks' outer gradient, held aside
            for p in params:
                p.grad = None
            try:
                with learner.no_sync():  # the inner step uses this rank's own support gradient
                    s_logs = learner.backward(support)
                self._virtual.append(self._virtual_step(learner, params, lr))
                with torch.no_grad():
                    for p, g in zip(params, outer):
                        if g is not None:
                            p.grad = g if p.grad is None else p.grad.add_(g)
                del outer
                last = k == tasks - 1
                with contextlib.nullcontext() if last else learner.no_sync():  # the last pass all-reduces once
                    q_logs = learner.backward(query, weight=self.params.delta)  # .grad += δ·∇L_Q(θ'_k)
            finally:
                with torch.no_grad():
                    torch._foreach_copy_(params, self._theta)
            for name, value in (("loss_support", s_logs["loss"]), ("loss_query", q_logs["loss"])):
                sums[name] = sums.get(name, 0.0) + value / tasks
        return {"loss": (sums["loss_support"] + sums["loss_query"]) / 2, **sums}

    def _virtual_step(self, learner, params, lr) -> float:
        """θ ← θ'_k in place from the support gradient in ``.grad``; returns ‖θ'_k − θ‖."""
        live = [p for p in params if p.grad is not None]
        unscale = 1.0 / learner.grad_scale()  # .grad may hold an AMP-scaled gradient
        norm, coef = clip_coefficient([p.grad for p in live], learner.grad_clip, scale=unscale)
        if self.params.inner == "optimizer":
            return virtual_adamw_step_(learner.optimizer, live, unscale * coef)
        alpha = lr if self.params.alpha is None else self.params.alpha
        with torch.no_grad():
            torch._foreach_add_(live, [p.grad for p in live], alpha=-alpha * unscale * coef)
        return alpha * norm * coef

    def after_step(self, learner, global_step):
        every = self.params.log_ratio_every
        if not every or global_step % every or self._theta is None:
            return {}
        with torch.no_grad():  # self._theta still holds θ before the real step
            real = math.sqrt(sum(float((p - t).square().sum()) for p, t in zip(learner.parameters, self._theta)))
        virtual = sum(self._virtual) / max(1, len(self._virtual))
        logs = {"virtual_step": virtual, "real_step": real}
        if real > 0:
            logs["virtual_real_ratio"] = virtual / real
        log.info("step %d: virtual step %.3g, real step %.3g", global_step, virtual, real)
        return logs

    def extra_parameter_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._theta or [])
