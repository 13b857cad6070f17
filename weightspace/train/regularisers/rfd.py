"""``rfd``: FROSTER's residual feature distillation (ICLR'24).

A frozen copy of the initial CLIP (per-frame, no temporal module) is the teacher. Two residual
projectors (Linear→GELU→Linear, no bias, d→d; first layer Kaiming-normal, last zero, so each starts
as the identity branch) map the student's features: f̃_v = f_v + α·P_v(f_v) per frame, f̃_t = W_t +
α·P_t(W_t) on the class matrix. Loss added to CE (seed_methods §3.1):

    β·[(1 − cos(f̃_v, f_v^CLIP)) + (1 − cos(f̃_t, W_t^CLIP))],  β = 2, α = 0.1

cosines averaged over B·T frames and over classes. Classification uses the un-projected features.
The projectors are trained and kept in the resume state but are not part of CLIP snapshots: FROSTER
does not use them at test time, and leaving them out keeps every snapshot mergeable with raw CLIP.
With a frozen text tower (our default) the text term only trains P_t; FROSTER trains the text tower
(``model.freeze_text: false`` in ``recipes/froster/``).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.options import Options, opt
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
    reference = "FROSTER residual feature distillation, CE + β[(1−cos(f̃_v,f_v^CLIP)) + (1−cos(f̃_t,W^CLIP))] (ICLR'24; seed_methods §3.1)"

    class Params(Options):
        beta: float = opt(2.0, ge=0, help="distillation weight (MODEL.DISTILLATION_RATIO)")
        alpha: float = opt(0.1, ge=0, help="residual scale of the projectors (hard-coded in FROSTER)")

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

    def loss(self, out, batch, learner):
        with torch.no_grad():
            frames = self.teacher.encode_frames(batch["video"])
            classes = self.teacher.text_features(learner.classnames)
        video_term = (1 - F.cosine_similarity(out["rfd_frames"].float(), frames.float(), dim=-1)).mean()
        text_term = (1 - F.cosine_similarity(out["rfd_classes"].float(), classes.float(), dim=-1)).mean()
        return {"rfd": self.params.beta * (video_term + text_term)}
