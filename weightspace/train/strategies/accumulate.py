"""``accumulate``: plain fine-tuning with the gradient averaged over several consecutive loader batches.

Open-MeDe's gradient-accumulation baseline (ICCV'25, Tab. 9): the same samples per optimiser step as
``meta`` (two batches), but one ordinary gradient ∇(1/K Σ_k L_{B_k})(θ) instead of the cross-batch
meta update, so any difference between the two is the meta-optimisation, not the larger step.
"""

from __future__ import annotations

from weightspace.options import Options, opt
from weightspace.train.strategies.base import STRATEGIES, Strategy


@STRATEGIES.register
class Accumulate(Strategy):
    name = "accumulate"
    reference = "Open-MeDe Tab. 9 gradient accumulation: ∇ mean_k L_{B_k}(θ) over K consecutive batches (K=2 as meta)"

    class Params(Options):
        batches: int = opt(2, ge=1, help="K loader batches per optimiser step; 2 = as many samples per step as meta")

    def __init__(self, params: dict):
        super().__init__(params)
        self.batches_per_step = self.params.batches  # the trainer draws this many batches per step

    def compute_gradients(self, learner, batches, lr):
        logs = [learner.backward(batch, weight=1.0 / len(batches)) for batch in batches]
        return {key: sum(log[key] for log in logs) / len(logs) for key in logs[0]}
