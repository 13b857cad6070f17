"""``dare``: drop a random fraction p of each task vector's entries, rescale, then add (sum or mean).

``rescale``: ``inverse`` multiplies kept entries by 1/(1-p) (the paper, FusionBench); ``l1`` rescales
each dropped task-vector tensor to the L1 norm it had before dropping (mergekit's choice, equal to
1/(1-p) only in expectation); ``none`` keeps them as they are. The mask for input i and key k is drawn
from a generator seeded by (seed, i, k), so a merge is reproducible and independent of key order.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Iterable, Literal

from weightspace.merge.registry import KeyJob, MergeMethod, register
from weightspace.options import Options, opt

if TYPE_CHECKING:
    import torch


def dare_keep_mask(shape, p: float, seed: int, index: int, key: str) -> "torch.Tensor":
    """Bernoulli(1-p) keep mask for input ``index`` at ``key``."""
    import torch

    digest = hashlib.sha256(f"{seed}:{index}:{key}".encode()).digest()
    gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))
    return torch.rand(shape, generator=gen) >= p


def dare_merge(base: "torch.Tensor", inputs: Iterable["torch.Tensor"], *, key: str, p: float = 0.5,
               seed: int = 0, rescale: str = "inverse", combine: str = "sum", lam: float = 1.0) -> "torch.Tensor":
    import torch

    acc = torch.zeros_like(base)
    n = 0
    for i, x in enumerate(inputs):
        tau = x - base
        l1 = tau.abs().sum() if rescale == "l1" else None
        tau.masked_fill_(~dare_keep_mask(tau.shape, p, seed, i, key).to(tau.device), 0.0)
        # Yu et al. 2024, "Language models are Super Mario" (DARE), Eq. 2: τ̃ = (1-m)⊙τ / (1-p), m ~ Bernoulli(p)
        if rescale == "inverse":
            tau.div_(1.0 - p)
        elif rescale == "l1":
            kept = tau.abs().sum()
            if kept > 0:
                tau.mul_(l1 / kept)
        acc.add_(tau)
        n += 1
    scale = lam / n if combine == "mean" else lam
    return acc.mul_(scale).add_(base)


class Params(Options):
    p: float = opt(0.5, ge=0, lt=1, help="drop rate: fraction of each task vector's entries zeroed")
    seed: int = opt(0, help="seed of the drop masks (with the input index and key)")
    rescale: Literal["inverse", "l1", "none"] = opt("inverse", help="how kept entries are rescaled")
    combine: Literal["sum", "mean"] = opt("sum", help="sum or mean of the dropped task vectors")
    lam: float = opt(1.0, alias="lambda", help="scale λ of the combined task vector")


def _merge_key(job: KeyJob) -> "torch.Tensor":
    q = job.params
    return dare_merge(job.base, job.inputs, key=job.key, p=q["p"], seed=q["seed"], rescale=q["rescale"],
                      combine=q["combine"], lam=q["lambda"])


register(MergeMethod(
    name="dare",
    reference='Yu et al. 2024, "Language models are Super Mario" (DARE), Eq. 2; then task arithmetic',
    base="required",
    Params=Params,
    merge_key=_merge_key,
))
