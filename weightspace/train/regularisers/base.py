"""What a training regulariser is: extra loss terms, optional trainable heads, optional extra gradient passes.

Hooks, all optional:
- ``setup(learner)``: once, before any training step and before a resume state is loaded, so
  anything captured from the model (anchor weights, a frozen teacher) is the *initial* model;
- ``head(video)``: a trainable module run inside the training forward (its outputs join the model's);
  its parameters are optimised and saved in the resume state, not in CLIP snapshots;
- ``loss(out, batch, learner)``: named terms added to the step loss (same forward/backward);
- ``extra_backward(learner, batch, weight)``: additional gradient accumulated into ``.grad``;
- ``prompt_sets(learner)``: the class prompts of the next forward pass (lists of one prompt per class,
  whose features are averaged), or None for the model's templates applied to the class names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weightspace.train.registry import Pluggable, Registry

if TYPE_CHECKING:
    import torch
    from torch import nn

    from weightspace.train.learner import Learner


class Regulariser(Pluggable):
    def setup(self, learner: "Learner") -> None:
        pass

    def head(self, video: "nn.Module") -> "nn.Module | None":
        return None

    def loss(self, out: dict, batch: dict, learner: "Learner") -> dict[str, "torch.Tensor"]:
        return {}

    def extra_backward(self, learner: "Learner", batch: dict, weight: float) -> dict[str, float]:
        return {}

    def prompt_sets(self, learner: "Learner") -> "list[list[str]] | None":
        return None

    @property
    def has_extra_pass(self) -> bool:
        return type(self).extra_backward is not Regulariser.extra_backward


REGULARISERS: Registry[Regulariser] = Registry("regulariser")
