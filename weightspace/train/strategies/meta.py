"""``meta``: Open-MeDe cross-batch meta-optimisation, first-order (FOMAML).

Per optimiser step (Open-MeDe, ICCV'25, seed_methods §5.1): the support S is the current loader
batch and the query Q the next one, so consecutive batches with different class mixes act as a
known->open task. With g_S = ∇L_S(θ):

    θ' = θ − α·g_S                       (inner, virtual step; plain SGD)
    θ ← optimiser(g_S + δ·∇L_Q(θ'))      (first-order meta update)

The official code is unavailable; α, δ and the batch sizes are *our* assumptions, as written in
seed_methods §5.1: α = the current learning rate, δ = 1, S and Q each a full loader batch.

Cost accounting: every sample gets exactly one forward/backward (S and Q are disjoint consecutive
batches; Q is not reused as the next S, because the next support gradient is needed at the *updated*
weights, so reusing Q would cost a second pass over it). An epoch therefore has half as many optimiser
steps as ``plain``, each over 2×batch samples. Memory: one extra copy of the trainable parameters
(θ is saved before the virtual step and restored after); g_S needs no buffer because the query
gradient is accumulated on top of it in ``.grad``.
"""

from __future__ import annotations


import torch

from weightspace.options import Options, opt
from weightspace.train.strategies.base import STRATEGIES, Strategy


@STRATEGIES.register
class Meta(Strategy):
    name = "meta"
    reference = "Open-MeDe cross-batch FOMAML θ'=θ−α∇L_S, update ∇L_S(θ)+δ∇L_Q(θ') (ICCV'25; defaults: seed_methods §5.1)"
    batches_per_step = 2

    class Params(Options):
        alpha: float | None = opt(None, ge=0, help="inner (virtual) step size; None: the current learning rate")
        delta: float = opt(1.0, ge=0, help="weight of the query gradient")
        task_batch_size: int | None = opt(None, ge=1, help="samples in S and in Q (global); None: the recipe batch_size")

    def __init__(self, params: dict):
        super().__init__(params)
        self._theta: list[torch.Tensor] | None = None  # the one extra copy of θ, allocated once

    def loader_batch_size(self, batch_size: int) -> int:
        return self.params.task_batch_size or batch_size

    def compute_gradients(self, learner, batches, lr):
        support, query = batches
        logs = learner.backward(support)  # .grad = g_S (all-reduced under DDP)
        params = [p for p in learner.parameters if p.grad is not None]
        if self._theta is None or len(self._theta) != len(params):
            self._theta = [torch.empty_like(p) for p in params]
        alpha = lr if self.params.alpha is None else self.params.alpha
        with torch.no_grad():
            torch._foreach_copy_(self._theta, params)
            # .grad may hold an AMP-scaled gradient: the virtual step uses the true one
            torch._foreach_add_(params, [p.grad for p in params], alpha=-alpha / learner.grad_scale())
        try:
            q_logs = learner.backward(query, weight=self.params.delta)  # .grad += δ·∇L_Q(θ')
        finally:
            with torch.no_grad():
                torch._foreach_copy_(params, self._theta)
        return {"loss": (logs["loss"] + q_logs["loss"]) / 2, "loss_support": logs["loss"], "loss_query": q_logs["loss"]}

    def extra_parameter_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._theta or [])
