"""``wmr``: MoTE's weight-merging regularisation (Zhu et al., NeurIPS'24, §3.3; ``train.py`` of ZMHH-H/MoTE).

Beside the routed forward (one sampled expert per block, the step's CE), the same CLIP frame features
go through the head a second time with every block's experts merged in weight space,
θ = Σ_i w_i·θ_i, w = softmax([1..E]/τ), τ drawn per block from ``taus`` (and +∞, the uniform average).
The loss adds (MoTE Eq. 7, their weights 0.5 and 0.1)::

    ce_weight·CE(s·logits_merged) + mse_weight·MSE(y_merged, x_CLIP)

where y_merged = x + H_merged(x) are the merged branch's frame features and x the CLIP frame features.
The branch costs a second head forward, not a second backbone forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.errors import ConfigError
from weightspace.models.mote import merge_weights
from weightspace.options import Options, opt
from weightspace.train.regularisers.base import REGULARISERS, Regulariser

MOTE_TAUS = [-9.6, -4.8, -2.4, -1.2, -0.6, 0.6, 1.2, 2.4, 4.8, 9.6]  # MoTE's weight_candi (+ inf)


class MergedBranch(nn.Module):
    """The merged-experts forward of a video model's head, run inside the training forward (DDP sees it)."""

    def __init__(self, video, taus: list[float]):
        super().__init__()
        self._head_frames, self._logits = video.head_frames, video.logits  # bound methods: no second registration
        self.experts, self.blocks = video.temporal_head.experts, len(video.temporal_head.blocks)
        self.taus = taus

    def sample_routes(self) -> list[list[float]]:
        picks = torch.randint(len(self.taus), (self.blocks,)).tolist()
        return [merge_weights(self.experts, self.taus[i]).tolist() for i in picks]

    def forward(self, out: dict) -> dict:
        from weightspace.models.video_clip import normalize_clip

        y = self._head_frames(out["clip_frames"], self.sample_routes(), normalize=False)
        return {"wmr_frames": y, "wmr_logits": self._logits(normalize_clip(y), out["class_features"])}


@REGULARISERS.register
class WMR(Regulariser):
    name = "wmr"
    reference = "MoTE weight-merging regularisation, + 0.5·CE(merged experts) + 0.1·MSE(y_merged, x_CLIP) (NeurIPS'24 Eq. 7)"

    class Params(Options):
        taus: list[float] = opt(MOTE_TAUS, min_length=1, help="finite temperatures τ of w = softmax([1..E]/τ)")
        uniform: bool = opt(True, help="also draw τ = +inf (the uniform average), as MoTE")
        ce_weight: float = opt(0.5, ge=0, help="weight of the merged branch's cross-entropy")
        mse_weight: float = opt(0.1, ge=0, help="weight of MSE(merged frame features, CLIP frame features)")

    @classmethod
    def validate(cls, params, key, where):
        if any(t == 0 for t in params.taus):
            raise ConfigError(f"{where}key '{key}.taus': τ = 0 is not a temperature")

    def head(self, video):
        if not video.has_head or not hasattr(video.temporal_head, "experts"):
            raise ConfigError(f"regulariser 'wmr': temporal {video.temporal!r} has no experts to merge (use model.temporal: mote)")
        return MergedBranch(video, [*self.params.taus, *([float("inf")] if self.params.uniform else [])])

    def loss(self, out, batch, learner):
        ce = F.cross_entropy(out["wmr_logits"].float(), batch["label"])
        mse = F.mse_loss(out["wmr_frames"].float(), out["clip_frames"].float())
        return {"wmr_ce": self.params.ce_weight * ce, "wmr_mse": self.params.mse_weight * mse}
