"""Pieces the SVD-based merges share: which keys take the SVD path, task-vector sums, Procrustes.

FusionBench's conventions (``isotropic_merging/iso_utils.py``, ``task_singular_vector``): only 2-D
tensors go through the SVD, every other tensor is the mean task vector, and ``svd_exclude`` (globs
or tags, like FusionBench's ``exclude_keys``; robust-ovar keeps ``text_projection`` out) sends
matching 2-D tensors down the averaging path too. Everything is computed in float32 on the device
the engine chose, one key at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from weightspace.merge.filters import matches_any
from weightspace.merge.registry import KeyJob
from weightspace.merge.task_vector import task_vector_sum
from weightspace.options import Options, opt

if TYPE_CHECKING:
    import torch


class SvdParams(Options):
    """The option every SVD-based method has."""

    svd_exclude: list[str] = opt([], help="2-D keys (globs or tags) merged by the mean task vector, not the SVD")


def on_svd_path(job: KeyJob) -> bool:
    return job.base.ndim == 2 and not matches_any(job.params["svd_exclude"], job.key)


def task_sum(base: "torch.Tensor", inputs: Sequence["torch.Tensor"],
             weights: Sequence[float] | None = None) -> "torch.Tensor":
    """Σ wᵢ·τᵢ, streamed over the inputs (wᵢ = 1 by default)."""
    return task_vector_sum(base, inputs, list(weights) if weights is not None else [1.0] * len(inputs))


def nearest_orthogonal(x: "torch.Tensor") -> "torch.Tensor":
    """The orthogonal (semi-orthogonal) matrix nearest to ``x`` in Frobenius norm."""
    import torch

    # Orthogonal Procrustes (Schönemann 1966): x = P·Σ·Qᵀ  ->  argmin_{OᵀO=I} ‖x − O‖_F = P·Qᵀ
    p, _, qh = torch.linalg.svd(x, full_matrices=False)
    return p @ qh
