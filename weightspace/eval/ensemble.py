"""Combining logits: prediction-space ensembling with frozen CLIP, then aggregation over views.

Order matters (Open-VCLIP ``MODEL.ENSEMBLE_PRED``, ``ENSEMBLE_RAWMODEL_RATIO``): the mix
``ρ·z_CLIP + (1−ρ)·z_video`` is taken per view in logit space, *then* views are summed
(SlowFast ``TestMeter`` with ``ENSEMBLE_METHOD sum``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weightspace.errors import ConfigError

if TYPE_CHECKING:
    import torch

AGGREGATIONS = ("sum", "softmax-mean")


def mix_logits(z_video: "torch.Tensor", z_clip: "torch.Tensor | None", rho: float | None) -> "torch.Tensor":
    """ρ·z_CLIP + (1−ρ)·z_video (Open-VCLIP prediction ensembling); ρ None or 0 leaves z_video."""
    if not rho:
        return z_video
    if not 0.0 <= rho <= 1.0:
        raise ConfigError(f"--rho {rho}: must be in [0, 1]")
    if z_clip is None or z_clip.shape != z_video.shape:
        raise ConfigError(f"--rho needs frozen-CLIP logits of shape {list(z_video.shape)}")
    return rho * z_clip.float() + (1.0 - rho) * z_video.float()


def aggregate_views(logits: "torch.Tensor", method: str = "sum") -> "torch.Tensor":
    """[N, V, C] -> [N, C]: ``sum`` of logits (SlowFast/Open-VCLIP) or ``softmax-mean`` (MoTE)."""
    if logits.ndim != 3:
        raise ValueError(f"expected logits [N, V, C], got {list(logits.shape)}")
    if method == "sum":
        return logits.float().sum(1)
    if method == "softmax-mean":
        return logits.float().softmax(-1).mean(1)
    raise ConfigError(f"view aggregation {method!r}: expected one of {', '.join(AGGREGATIONS)}")
