"""``accumulate``: plain fine-tuning with the gradient averaged over several consecutive loader batches.

Open-MeDe's gradient-accumulation baseline (ICCV'25, Tab. 9): ``batch_size`` samples per optimiser step
drawn as K loader batches of batch_size / K, as ``meta`` draws its support and query sets (K = 2·tasks
gives exactly meta's batches), but one ordinary gradient ∇(1/K Σ_k L_{B_k})(θ) instead of the
cross-batch meta update: any difference between the two is the virtual step, not the data per step.
"""

from __future__ import annotations

from weightspace.errors import ConfigError
from weightspace.options import Options, opt
from weightspace.train.strategies.base import STRATEGIES, Strategy


@STRATEGIES.register
class Accumulate(Strategy):
    name = "accumulate"
    reference = "Open-MeDe Tab. 9 gradient accumulation: ∇ mean_k L_{B_k}(θ) over K consecutive batches (K=2·tasks as meta)"

    class Params(Options):
        batches: int = opt(2, ge=1, help="K loader batches of batch_size / K per optimiser step (2·tasks: meta's sets)")

    def __init__(self, params: dict):
        super().__init__(params)
        self.batches_per_step = self.params.batches  # the trainer draws this many batches per step

    def loader_batch_size(self, batch_size: int) -> int:
        if batch_size % self.params.batches:
            raise ConfigError(f"batch_size {batch_size} does not split into {self.params.batches} batches; "
                              "change strategy.batches")
        return batch_size // self.params.batches

    def compute_gradients(self, learner, batches, lr):
        logs = [learner.backward(batch, weight=1.0 / len(batches)) for batch in batches]
        return {key: sum(log[key] for log in logs) / len(logs) for key in logs[0]}
