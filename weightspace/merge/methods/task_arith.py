"""``task-arith``: add the (scaled, optionally per-input weighted) sum or mean of task vectors to the base.

Conventions differ: mergekit and the paper's formula use λ·Σ τᵢ with λ=1 by default; FusionBench and
AdaMerging use λ=0.3 for 8 tasks; the robust-OVAR code averages (``variant: mean``) with α=1. We
default to the formula itself (``lambda=1``, ``variant=sum``); set them explicitly to match a toolkit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Sequence

from weightspace.merge.registry import KeyJob, MergeMethod, TaskWeights, register
from weightspace.merge.task_vector import task_vector_sum
from weightspace.options import opt

if TYPE_CHECKING:
    import torch


def task_arithmetic(base: "torch.Tensor", inputs: Sequence["torch.Tensor"], lam: float = 1.0,
                    variant: str = "sum", weights: Sequence[float] | None = None) -> "torch.Tensor":
    """θ₀ + λ·Σ wᵢτᵢ (``sum``) or θ₀ + λ·(1/N)·Σ wᵢτᵢ (``mean``), with τᵢ = θᵢ − θ₀ and wᵢ = 1 by default.

    The task vectors are summed first (``task_vector_sum``), so where no input moved a weight (a frozen
    text tower) the result is θ₀ bit for bit: caches keyed on those weights (text features) stay valid.
    """
    n = len(inputs)
    if n == 0:
        raise ValueError("task arithmetic needs at least one input")
    scale = lam / n if variant == "mean" else lam
    coeffs = [scale * w for w in (weights if weights is not None else [1.0] * n)]
    # Ilharco et al. 2023, "Editing models with task arithmetic", Eq. 1: θ_new = θ₀ + λ·Σ τᵢ
    return task_vector_sum(base, inputs, coeffs, plus_base=True)


class Params(TaskWeights):
    lam: float = opt(1.0, alias="lambda", help="scale λ of the combined task vector")
    variant: Literal["sum", "mean"] = opt("sum", help="λ·Σ τᵢ (sum, the paper) or λ·mean τᵢ (robust-ovar)")


def _merge_key(job: KeyJob) -> "torch.Tensor":
    p = job.params
    return task_arithmetic(job.base, job.inputs, p["lambda"], p["variant"], p["weights"])


register(MergeMethod(
    name="task-arith",
    reference='Ilharco et al. 2023, "Editing models with task arithmetic", Eq. 1',
    base="required",
    Params=Params,
    merge_key=_merge_key,
    numpy=True,
))
