"""``wise-ft``: the weight-space ensemble of a zero-shot CLIP (base) and its fine-tuned version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from weightspace.merge.registry import KeyJob, MergeMethod, register
from weightspace.options import Options, opt

if TYPE_CHECKING:
    import torch


def wise_ft(base: "torch.Tensor", finetuned: "torch.Tensor", alpha: float) -> "torch.Tensor":
    # Wortsman et al. 2022, "Robust fine-tuning of zero-shot models", Eq. 1: θ_α = (1-α)·θ_zs + α·θ_ft
    return base * (1.0 - alpha) + finetuned * alpha


class Params(Options):
    # α outside [0, 1] extrapolates, deliberately allowed; 0.5 is the paper's choice without validation data
    alpha: float = opt(0.5, help="weight α of the fine-tuned model: (1-α)·θ_zs + α·θ_ft")


def _merge_key(job: KeyJob) -> "torch.Tensor":
    (finetuned,) = list(job.inputs)
    return wise_ft(job.base, finetuned, job.params["alpha"])


register(MergeMethod(
    name="wise-ft",
    reference='Wortsman et al. 2022, "Robust fine-tuning of zero-shot models" (WiSE-FT), Eq. 1',
    base="required",
    Params=Params,
    merge_key=_merge_key,
    max_inputs=1,
    numpy=True,
))
