"""``ties``: TIES-merging — trim, elect sign, disjoint merge.

Conventions (explicit options, compared with FusionBench
``fusion_bench/method/ties_merging/ties_merging_utils.py`` and mergekit's ``ties``):
- ``density`` (fraction of each task vector kept, by magnitude; default 0.2 = the paper's top-20%);
- ``scope``: ``model`` = top-k over the whole flattened model per task (the paper, FusionBench) or
  ``tensor`` = per tensor (mergekit). ``model`` costs two extra streaming passes over all inputs
  (an exact radix select on float32 bit patterns: 2 histograms per task, memory one tensor);
- ``aggregate``: ``mean`` = disjoint mean (the paper, default) or ``sum`` (FusionBench's default);
- ``lambda``: scaling of the merged task vector (paper ≈1 with mean; FusionBench 0.3 with sum);
- ``weights``: per-input wᵢ scaling each τᵢ before the sign election and the disjoint merge.
Entries kept are those with |τ| ≥ the k-th largest |τ| (k = ⌊density·n⌋, at least 1), so ties at the
threshold are all kept. Where Σ trimmed τ is exactly 0 the elected sign is + (mergekit); FusionBench
uses the majority sign there instead — this only matters for exact cancellations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Sequence

from weightspace.merge.registry import KeyJob, MergeMethod, TaskWeights, register
from weightspace.options import opt

if TYPE_CHECKING:
    import torch

_HI_BINS = 1 << 15  # |τ| float32 bit patterns are < 0x7FFFFFFF: the top 16 bits fit in 15
_LO_BINS = 1 << 16


def keep_count(n: int, density: float) -> int:
    return max(1, int(density * n)) if n else 0


def kth_largest_abs(tau: "torch.Tensor", density: float) -> float:
    """Magnitude threshold keeping the top ``density`` fraction of one tensor."""
    n = tau.numel()
    if n == 0 or density >= 1.0:
        return 0.0
    k = keep_count(n, density)
    return float(tau.abs().flatten().kthvalue(n - k + 1).values)


def ties_merge(base: "torch.Tensor", inputs: Sequence["torch.Tensor"], *, density: float = 0.2,
               lam: float = 1.0, aggregate: str = "mean",
               thresholds: Sequence[float] | None = None,
               weights: Sequence[float] | None = None) -> "torch.Tensor":
    """θ₀ + λ·TIES(w₁τ₁..w_Nτ_N); ``thresholds`` are per-task magnitude cut-offs of the unweighted τᵢ
    (whole-model scope). Trimming wᵢτᵢ by |wᵢ|·cutᵢ keeps the same entries, so it is done on τᵢ."""
    import torch

    # Yadav et al. 2023, "TIES-Merging", Alg. 1. Two passes over the inputs so only one τ is held at a time.
    cuts: list[float] = []
    w = list(weights) if weights is not None else [1.0] * len(inputs)
    total = torch.zeros_like(base)
    for i, x in enumerate(inputs):
        tau = x - base
        cuts.append(thresholds[i] if thresholds is not None else kth_largest_abs(tau, density))
        total.add_(tau.masked_fill_(tau.abs() < cuts[i], 0.0), alpha=w[i])  # step 1, trim
    elected = torch.where(total >= 0, 1.0, -1.0)  # step 2, elect: γ = sgn(Σ τ̂ᵢ)
    del total
    acc = torch.zeros_like(base)
    count = torch.zeros_like(base)
    for i, x in enumerate(inputs):
        tau = x - base
        tau.masked_fill_(tau.abs() < cuts[i], 0.0).mul_(w[i])
        agree = (tau * elected) > 0
        acc.add_(tau.masked_fill_(~agree, 0.0))  # step 3, disjoint merge over agreeing entries
        count.add_(agree)
    if aggregate == "mean":
        acc.div_(count.clamp_(min=1.0))
    return acc.mul_(lam).add_(base)


def model_thresholds(stream, n_inputs: int, density: float) -> list[float]:
    """Per task, the k-th largest |τ| over all merged float keys: an exact two-pass radix select.

    Pass 1 histograms the top 16 bits of each |τ|'s float32 bit pattern (non-negative floats order
    like their bits), which finds the bin holding the k-th largest; pass 2 histograms the low 16 bits
    inside that bin. Memory: two histograms per task plus one tensor.
    """
    import torch

    hi = torch.zeros(n_inputs, _HI_BINS, dtype=torch.int64)
    n = 0
    for job in stream.jobs("TIES threshold 1/2"):
        n += job.base.numel()
        for i, x in enumerate(job.inputs):
            bits = (x - job.base).abs_().view(torch.int32).flatten()
            hi[i] += torch.bincount(bits >> 16, minlength=_HI_BINS).cpu()
    if density >= 1.0 or n == 0:
        return [0.0] * n_inputs
    k = keep_count(n, density)
    # for each task: the bin b with count(bins > b) < k <= count(bins >= b)
    above = hi.flip(1).cumsum(1).flip(1)  # above[i, b] = count of bins >= b
    bins = [int((above[i] >= k).nonzero().max()) for i in range(n_inputs)]
    rank = [k - int(above[i, b] - hi[i, b]) for i, b in enumerate(bins)]  # rank inside the bin, from the top
    lo = torch.zeros(n_inputs, _LO_BINS, dtype=torch.int64)
    for job in stream.jobs("TIES threshold 2/2"):
        for i, x in enumerate(job.inputs):
            bits = (x - job.base).abs_().view(torch.int32).flatten()
            sel = bits[(bits >> 16) == bins[i]] & 0xFFFF
            if sel.numel():
                lo[i] += torch.bincount(sel, minlength=_LO_BINS).cpu()
    out = []
    for i in range(n_inputs):
        above_lo = lo[i].flip(0).cumsum(0).flip(0)
        low = int((above_lo >= rank[i]).nonzero().max())
        pattern = torch.tensor([(bins[i] << 16) | low], dtype=torch.int32)
        out.append(float(pattern.view(torch.float32)))
    return out


class Params(TaskWeights):
    density: float = opt(0.2, gt=0, le=1, help="fraction of each task vector kept, by magnitude (paper: 0.2)")
    scope: Literal["model", "tensor"] = opt("model", help="top-k over the whole model (paper) or per tensor")
    aggregate: Literal["mean", "sum"] = opt("mean", help="disjoint mean (paper) or sum (FusionBench)")
    lam: float = opt(1.0, alias="lambda", help="scale λ of the merged task vector")


def _prepare(params: dict, stream) -> dict | None:
    if params["scope"] != "model":
        return None
    return {"thresholds": model_thresholds(stream, stream.n_inputs, params["density"])}


def _merge_key(job: KeyJob) -> "torch.Tensor":
    p = job.params
    return ties_merge(job.base, job.inputs, density=p["density"], lam=p["lambda"], aggregate=p["aggregate"],
                      thresholds=job.state["thresholds"] if job.state else None, weights=p["weights"])


register(MergeMethod(
    name="ties",
    reference='Yadav et al. 2023, "TIES-Merging: Resolving interference when merging models", Alg. 1',
    base="required",
    Params=Params,
    merge_key=_merge_key,
    prepare=_prepare,
))
