"""Test doubles for training tests: a tiny CLIP config, a learnable in-memory video set, a quadratic learner."""

from __future__ import annotations

import contextlib

import torch

TINY_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 16, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 1, "layers": 1},
}
CLASSNAMES = ["move left", "move right", "spin", "grow"]


class TensorVideos(torch.utils.data.Dataset):
    """Random clips whose mean colour depends on the label: a few steps of training lower the loss."""

    def __init__(self, n: int = 24, frames: int = 2, size: int = 16, seed: int = 0, classnames=CLASSNAMES):
        g = torch.Generator().manual_seed(seed)
        self.classnames = list(classnames)
        self.labels = torch.arange(n) % len(self.classnames)
        tint = torch.randn(len(self.classnames), 3, 1, 1, generator=g)
        self.videos = torch.randn(n, frames, 3, size, size, generator=g) * 0.5 + tint[self.labels][:, None]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"video": self.videos[i], "label": int(self.labels[i]), "index": i}


class QuadraticLearner:
    """L_B(θ) = ½‖θ − c_B‖²: ∇L_B(θ) = θ − c_B, so a step can be worked out by hand."""

    def __init__(self, theta):
        self.parameters = [torch.nn.Parameter(torch.tensor(theta))]
        self.seen_at = []  # θ at which each batch's gradient was taken
        self.optimizer, self.grad_clip = None, None

    def grad_scale(self):
        return 1.0

    def no_sync(self):
        return contextlib.nullcontext()

    def backward(self, batch, weight=1.0, regularise=True):
        p = self.parameters[0]
        self.seen_at.append(p.detach().clone())
        loss = 0.5 * ((p - batch["c"]) ** 2).sum()
        (weight * loss).backward()
        return {"loss": loss.item(), "ce": loss.item()}


def recipe(tiny_clip, output, **changes) -> dict:
    """A small recipe over ``TensorVideos`` (pass the dataset to ``train``)."""
    base = {
        "model": {"init": str(tiny_clip), "temporal": "vclip", "templates": "single"},
        "data": {"train": "unused.txt", "classnames": "unused.json", "num_frames": 2},
        "optim": {"lr": 1e-3, "warmup_epochs": 0.5, "grad_clip": 1.0},
        "strategy": {"name": "plain"},
        "epochs": 2, "batch_size": 4, "seed": 0, "output": str(output), "state_every": 2,
    }
    for k, v in changes.items():
        base[k] = v
    return base

