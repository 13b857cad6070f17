"""``rfd``: FROSTER's residual feature distillation (ICLR'24).

A frozen copy of the initial CLIP (per-frame, no temporal module) is the teacher. Two residual
projectors (Linear→GELU→Linear, no bias, d→d; first layer Kaiming-normal, last zero, so each starts
as the identity branch) map the student's features: f̃_v = f_v + α·P_v(f_v) per frame, f̃_t = W_t +
α·P_t(W_t) on the class matrix. Loss added to CE (Visual-AI/FROSTER tools/train_net.py):

    β·[(1 − cos(f̃_v, f_v^CLIP)) + (1 − cos(f̃_t, W_t^CLIP))],  β = 2, α = 0.1

cosines averaged over B·T frames and over classes. Classification uses the un-projected features.

Prompts (``prompts: froster``, FROSTER's training text): class names are LLM descriptions "name: sentence";
each forward pass draws one of the model's templates, formatted with the short name (before ':') with the
description appended, and averages its feature with the bare description's; the teacher encodes the same
prompts. ``prompts: templates`` keeps the model's templates applied to the class names for both.
The projectors are trained and kept in the resume state but are not part of CLIP snapshots: FROSTER
does not use them at test time, and leaving them out keeps every snapshot mergeable with raw CLIP.
With a frozen text tower (our default) the text term only trains P_t; FROSTER trains the text tower
(``model.freeze_text: false`` in ``recipes/froster/``).
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.options import Options, opt
from weightspace.train.learner import prompt_set_features
from weightspace.train.regularisers.base import REGULARISERS, Regulariser


def _projector(dim: int) -> nn.Sequential:
    first, last = nn.Linear(dim, dim, bias=False), nn.Linear(dim, dim, bias=False)
    nn.init.kaiming_normal_(first.weight)
    nn.init.zeros_(last.weight)
    return nn.Sequential(first, nn.GELU(), last)


class ResidualProjectors(nn.Module):
    def __init__(self, dim: int, alpha: float):
        super().__init__()
        self.alpha = alpha
        self.video = _projector(dim)
        self.text = _projector(dim)

    def forward(self, out: dict) -> dict:
        fv, ft = out["frame_features"], out["class_features"]
        return {"rfd_frames": fv + self.alpha * self.video(fv), "rfd_classes": ft + self.alpha * self.text(ft)}


@REGULARISERS.register
class RFD(Regulariser):
    name = "rfd"
    reference = "FROSTER residual feature distillation, CE + β[(1−cos(f̃_v,f_v^CLIP)) + (1−cos(f̃_t,W^CLIP))] (ICLR'24; Visual-AI/FROSTER)"

    class Params(Options):
        beta: float = opt(2.0, ge=0, help="distillation weight (MODEL.DISTILLATION_RATIO)")
        alpha: float = opt(0.1, ge=0, help="residual scale of the projectors (hard-coded in FROSTER)")
        prompts: Literal["froster", "templates"] = opt(
            "froster", help="froster: one random template + description, and the bare description, per pass; "
                            "templates: the model's templates on the class names")

    def head(self, video):
        return ResidualProjectors(video.clip.visual.output_dim, self.params.alpha)

    def setup(self, learner):
        from weightspace.models.video_clip import VideoCLIP

        video = learner.video
        clip = copy.deepcopy(video.clip).requires_grad_(False).eval()
        self.teacher = VideoCLIP(
            clip, model_cfg=video.model_cfg, temporal="none", freeze_text=True, templates=video.templates,
            tokenizer=video.tokenizer,
        ).to(learner.device)

    def prompt_sets(self, learner):
        if self.params.prompts != "froster":
            return None
        templates = learner.video.templates
        template = templates[int(torch.randint(len(templates), ()))]  # the global torch stream: resumable
        described = [f"{template.format(name.split(':', 1)[0].strip())} {name}" for name in learner.classnames]
        return [described, list(learner.classnames)]

    def loss(self, out, batch, learner):
        with torch.no_grad():
            frames = self.teacher.encode_frames(batch["video"])
            if learner.prompt_sets is not None:
                classes = prompt_set_features(self.teacher, learner.prompt_sets)
            else:
                classes = self.teacher.text_features(learner.classnames)
        video_term = (1 - F.cosine_similarity(out["rfd_frames"].float(), frames.float(), dim=-1)).mean()
        text_term = (1 - F.cosine_similarity(out["rfd_classes"].float(), classes.float(), dim=-1)).mean()
        return {"rfd": self.params.beta * (video_term + text_term)}
