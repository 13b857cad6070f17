"""The model being trained and the one loss/backward routine every strategy and regulariser uses.

``TrainModule`` holds the ``VideoCLIP`` plus the regularisers' trainable heads (e.g. FROSTER's
residual projectors), so that one ``forward`` (through DDP when distributed) touches every trainable
parameter and gradients are all-reduced (PyTorch DDP docs: gradients sync only through the wrapper's
``forward``, not ``ddp.module`` methods). ``Learner`` binds it to the class vocabulary, the device, AMP
and the regularisers.
"""

from __future__ import annotations

import contextlib
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class TrainModule(nn.Module):
    def __init__(self, video: nn.Module, heads: dict[str, nn.Module] | None = None):
        super().__init__()
        self.video = video
        self.heads = nn.ModuleDict(heads or {})

    def forward(self, video: torch.Tensor, class_features=None, classnames=None, prompt_sets=None) -> dict[str, torch.Tensor]:
        if prompt_sets is not None:  # inside this forward: DDP sees the text tower's parameters
            class_features = prompt_set_features(self.video, prompt_sets)
        out = self.video(video, class_features=class_features, classnames=classnames)
        for head in self.heads.values():
            out.update(head(out))
        return out


def prompt_set_features(video: nn.Module, prompt_sets: Sequence[Sequence[str]]) -> torch.Tensor:
    """[C, D] from prompt sets of one full prompt per class: the sets' normalised features averaged, renormalised."""
    return F.normalize(torch.stack([video.text_features(s, ("{}",)) for s in prompt_sets]).mean(0), dim=-1)


class Learner:
    def __init__(
        self,
        module: TrainModule,
        net: nn.Module,
        classnames: Sequence[str],
        *,
        regularisers: Sequence = (),
        device: torch.device = torch.device("cpu"),
        amp: str = "none",
        scaler: "torch.amp.GradScaler | None" = None,
    ):
        self.module = module  # unwrapped
        self.net = net  # what forward goes through (the DDP wrapper when distributed)
        self.video = module.video
        self.classnames = list(classnames)
        self.regularisers = list(regularisers)
        self.device = device
        self.amp = amp
        self.scaler = scaler
        self.parameters = [p for p in module.parameters() if p.requires_grad]
        self.optimizer: "torch.optim.Optimizer | None" = None  # set by the trainer (meta's virtual step reads it)
        self.grad_clip: float | None = None  # the trainer's clipping norm, applied to every gradient it steps on
        self.prompt_sets: list[list[str]] | None = None  # the class prompts of the last forward, if a regulariser chose them
        self.video.remember_training_classes(self.classnames)  # MoTE's TFM compares test classes to these

    def no_sync(self):
        """Under DDP, backward passes in this context keep gradients local (all-reduced by the next synced one)."""
        return self.net.no_sync() if hasattr(self.net, "no_sync") else contextlib.nullcontext()

    @property
    def text_trainable(self) -> bool:
        return self.video.text_trainable

    def autocast(self):
        if self.amp == "none":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        # a regulariser may choose this pass's class prompts (FROSTER's); its loss reads them from here
        self.prompt_sets = next((s for r in self.regularisers if (s := r.prompt_sets(self)) is not None), None)
        with self.autocast():
            if self.text_trainable:  # text tower inside this forward: DDP sees its parameters
                if self.prompt_sets is not None:
                    return self.net(batch["video"], prompt_sets=self.prompt_sets)
                return self.net(batch["video"], classnames=self.classnames)
            with torch.no_grad():
                if self.prompt_sets is not None:
                    classes = prompt_set_features(self.video, self.prompt_sets)
                else:
                    classes = self.video.text_features(self.classnames)
            return self.net(batch["video"], class_features=classes)

    def grad_scale(self) -> float:
        """The AMP loss scale currently in ``.grad`` (1 without fp16 scaling)."""
        return float(self.scaler.get_scale()) if self.scaler is not None else 1.0

    def backward(self, batch: dict, weight: float = 1.0, *, regularise: bool = True) -> dict[str, float]:
        """Accumulate ∇(weight·loss) into ``.grad``: CE plus regulariser terms, then their extra passes."""
        out = self.forward(batch)
        ce = F.cross_entropy(out["logits"].float(), batch["label"])
        loss, logs = ce, {"ce": ce.detach()}
        if regularise:
            for reg in self.regularisers:
                for name, term in reg.loss(out, batch, self).items():
                    loss = loss + term
                    logs[name] = term.detach()
        scaled = loss * weight
        (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
        values = {"loss": loss.item(), **{k: v.item() for k, v in logs.items()}}
        if regularise:
            for reg in self.regularisers:
                values.update(reg.extra_backward(self, batch, weight))
        return values
