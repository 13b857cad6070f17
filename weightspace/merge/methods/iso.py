"""``iso-c`` and ``iso-cts``: isotropic merging in a common (and task-specific) subspace.

Marczak et al. 2025, "No Task Left Behind: Isotropic Model Merging with Common and Task-Specific
Subspaces" (ICML). Conventions follow FusionBench's ``isotropic_merging/iso_utils.py``:
- the SVD is of the *sum* Σ τᵢ (FusionBench multiplies the mean back by N); tensors that are not
  2-D (or match ``svd_exclude``) get the mean task vector; ``scale`` multiplies the whole merged
  task vector (FusionBench's ``scaling_factor``; default 1.0, its docs and the paper's B/32 runs
  use 1.5);
- Iso-CTS: with r = min(shape) and T inputs, the common subspace keeps k = ⌊r·common_fraction⌋
  directions, adjusted so the remaining r − k split into T equal task-specific parts (r − k is
  rounded to a multiple of T); each task contributes the top (r − k)/T directions of its residual
  τᵢ − U_c U_cᵀ τᵢ; the stacked bases are orthogonalised (nearest orthogonal matrix) and every
  singular value is replaced by the mean of the stacked spectrum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weightspace.merge.registry import KeyJob, MergeMethod, register
from weightspace.merge.subspace import SvdParams, nearest_orthogonal, on_svd_path, task_sum
from weightspace.options import opt

if TYPE_CHECKING:
    import torch


def iso_c_delta(total: "torch.Tensor") -> "torch.Tensor":
    """The isotropic version of the summed task matrix: mean singular value times U·Vᵀ."""
    import torch

    u, s, vh = torch.linalg.svd(total, full_matrices=False)
    # Marczak et al. 2025, Iso-C: Σ τᵢ = U·diag(σ)·Vᵀ  ->  σ̄·U·Vᵀ with σ̄ = (1/r)·Σ σₖ (a flat spectrum)
    return (u * s.mean()) @ vh


def split_subspace(r: int, n_tasks: int, common_fraction: float) -> tuple[int, int]:
    """(directions of the common subspace, directions per task), FusionBench's rounding."""
    common = int(r * common_fraction)
    per_task = round((r - common) / n_tasks)
    return r - per_task * n_tasks, per_task


def iso_cts_delta(total: "torch.Tensor", taus, common_fraction: float) -> "torch.Tensor":
    """Iso-CTS for one 2-D key: ``total`` = Σ τᵢ, ``taus`` yields each τᵢ (read lazily)."""
    import torch

    common, per_task = split_subspace(min(total.shape), len(taus), common_fraction)
    u, s, vh = torch.linalg.svd(total, full_matrices=False)
    us, ss, vs = [u[:, :common]], [s[:common]], [vh[:common]]
    del u, s, vh
    if per_task:
        uc = us[0]
        for tau in taus:
            # Marczak et al. 2025, Iso-CTS: task-specific directions from τᵢ − U_c·U_cᵀ·τᵢ (common part removed)
            ut, st, vt = torch.linalg.svd(tau - uc @ (uc.T @ tau), full_matrices=False)
            us.append(ut[:, :per_task])
            ss.append(st[:per_task])
            vs.append(vt[:per_task])
    sigma = torch.cat(ss).mean()
    # the stacked bases, orthogonalised, with the flat spectrum σ̄: σ̄·Ū·V̄ᵀ
    return (nearest_orthogonal(torch.cat(us, dim=1)) * sigma) @ nearest_orthogonal(torch.cat(vs, dim=0))


class _Taus:
    """τᵢ = θᵢ − θ₀ for one key, each read when iterated (a second pass over the inputs)."""

    def __init__(self, job: KeyJob):
        self._job = job

    def __len__(self) -> int:
        return len(self._job.inputs)

    def __iter__(self):
        return (x - self._job.base for x in self._job.inputs)  # new tensors: inputs may be read-only maps


class IsoCParams(SvdParams):
    scale: float = opt(1.0, gt=0, help="scale of the merged task vector (FusionBench's scaling_factor)")


class IsoCTSParams(IsoCParams):
    common_fraction: float = opt(0.8, gt=0, lt=1, help="fraction of the spectrum kept as the common subspace")


def _merge(job: KeyJob, delta) -> "torch.Tensor":
    n = len(job.inputs)
    total = task_sum(job.base, job.inputs)
    merged = delta(total) if on_svd_path(job) else total.div_(n)
    return merged.mul_(job.params["scale"]).add_(job.base)


def _iso_c(job: KeyJob) -> "torch.Tensor":
    return _merge(job, iso_c_delta)


def _iso_cts(job: KeyJob) -> "torch.Tensor":
    return _merge(job, lambda total: iso_cts_delta(total, _Taus(job), job.params["common_fraction"]))


register(MergeMethod(
    name="iso-c",
    reference='Marczak et al. 2025, "No Task Left Behind: Isotropic Model Merging..." (Iso-C): σ̄·U·Vᵀ of Σ τᵢ',
    base="required",
    Params=IsoCParams,
    merge_key=_iso_c,
))

register(MergeMethod(
    name="iso-cts",
    reference='Marczak et al. 2025, "No Task Left Behind: Isotropic Model Merging..." (Iso-CTS): common + '
              "task-specific subspaces, flat spectrum",
    base="required",
    Params=IsoCTSParams,
    merge_key=_iso_cts,
))
