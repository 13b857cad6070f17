"""What a training strategy is: how one optimiser step turns loader batches into gradients.

The trainer owns the optimiser, the schedule, clipping and AMP scaling; a strategy only fills
``.grad`` of the trainable parameters (through ``Learner.backward``) from ``batches_per_step``
consecutive loader batches, and says how large those batches are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from weightspace.train.registry import Pluggable, Registry

if TYPE_CHECKING:
    from weightspace.train.learner import Learner


class Strategy(Pluggable):
    batches_per_step: ClassVar[int] = 1

    def loader_batch_size(self, batch_size: int) -> int:
        """Global loader batch for a recipe ``batch_size``."""
        return batch_size

    def compute_gradients(self, learner: "Learner", batches: list[dict], lr: float) -> dict[str, float]:
        """Accumulate this step's gradient into ``.grad``; return scalars to log (at least ``loss``)."""
        raise NotImplementedError

    def after_step(self, learner: "Learner", global_step: int) -> dict[str, float]:
        """Called after the optimiser step ``global_step`` (1-based); scalars to log."""
        return {}

    def extra_parameter_bytes(self) -> int:
        """Bytes of parameter-sized buffers this strategy holds (the benchmark reports it)."""
        return 0


STRATEGIES: Registry[Strategy] = Registry("training strategy")
