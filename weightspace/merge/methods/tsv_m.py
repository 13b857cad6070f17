"""``tsv-m``: Task Singular Vectors — Merge (Gargiulo et al., CVPR 2025).

Conventions follow FusionBench's ``task_singular_vector`` (``compute_and_sum_svd_mem_reduction``):
for each 2-D tensor, each task keeps its top k = ⌊r/T⌋ singular triplets (r = min(shape), T inputs);
the stacked U and V blocks are orthogonalised (nearest orthogonal matrix, via an SVD); the result
is Ū·diag(σ)·V̄ᵀ with the stacked singular values — a sum, not a mean. Other tensors (and 2-D keys
matching ``svd_exclude``) get the mean task vector. ``alpha`` scales the merged task vector;
``weights`` scale each τᵢ before its SVD (FusionBench's list-valued ``alpha``). One deviation:
with more inputs than r, FusionBench's k = 0 would leave such a tensor unmerged; we keep k ≥ 1.
Each τᵢ is decomposed and dropped before the next is read: memory is one tensor plus the blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from weightspace.merge.registry import KeyJob, MergeMethod, TaskWeights, register
from weightspace.merge.subspace import SvdParams, nearest_orthogonal, on_svd_path, task_sum
from weightspace.options import opt

if TYPE_CHECKING:
    import torch


def tsv_delta(base: "torch.Tensor", inputs: Sequence["torch.Tensor"],
              weights: Sequence[float] | None = None) -> "torch.Tensor":
    """The TSV-M task matrix for one 2-D key from the inputs θᵢ and the base θ₀."""
    import torch

    n = len(inputs)
    w = list(weights) if weights is not None else [1.0] * n
    k = max(1, min(base.shape) // n)
    us, ss, vs = [], [], []
    for wi, x in zip(w, inputs, strict=True):
        u, s, vh = torch.linalg.svd((x - base).mul_(wi), full_matrices=False)
        us.append(u[:, :k].clone())  # clones: the full factors are freed with this iteration
        ss.append(s[:k].clone())
        vs.append(vh[:k].clone())
        del u, s, vh
    # Gargiulo et al. 2025, TSV-M: Û = orth([U₁…U_T]), V̂ = orth([V₁…V_T]), Δ = Û·diag(σ)·V̂ᵀ
    u_hat = nearest_orthogonal(torch.cat(us, dim=1))
    v_hat = nearest_orthogonal(torch.cat(vs, dim=0))
    return (u_hat * torch.cat(ss)) @ v_hat


class Params(TaskWeights, SvdParams):
    alpha: float = opt(1.0, gt=0, help="scale α of the merged task vector")


def _merge_key(job: KeyJob) -> "torch.Tensor":
    p = job.params
    if on_svd_path(job):
        delta = tsv_delta(job.base, job.inputs, p["weights"])
    else:
        delta = task_sum(job.base, job.inputs, p["weights"]).div_(len(job.inputs))
    return delta.mul_(p["alpha"]).add_(job.base)


register(MergeMethod(
    name="tsv-m",
    reference='Gargiulo et al., CVPR 2025, "Task Singular Vectors: Reducing Task Interference in Model Merging" '
              "(TSV-M)",
    base="required",
    Params=Params,
    merge_key=_merge_key,
))
