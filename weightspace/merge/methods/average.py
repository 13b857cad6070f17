"""``average``: the uniform model soup, or a weighted average of the inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from weightspace.errors import ConfigError
from weightspace.merge.registry import InputsInfo, KeyJob, MergeMethod, register
from weightspace.options import Options, opt

if TYPE_CHECKING:
    import torch


def weighted_sum(tensors: Iterable["torch.Tensor"], coeffs: Sequence[float]) -> "torch.Tensor":
    """Σ cᵢ·tᵢ, reading one tensor at a time (``tensors`` may be lazy).

    Torch tensors (differentiable: MoTE's weight-space mix) or numpy arrays, with the same bits either
    way: each term is multiplied and added, each rounded once (no fused multiply-add).
    """
    acc = None
    for c, t in zip(coeffs, tensors, strict=True):
        term = t * c  # a new array: inputs are never modified
        if acc is None:
            acc = term
        else:
            acc += term
    if acc is None:
        raise ValueError("weighted_sum of no tensors")
    return acc


def soup_coefficients(n: int, weights: Sequence[float] | None, normalize: bool) -> list[float]:
    if weights is None:
        return [1.0 / n] * n
    if not normalize:
        return list(weights)
    total = sum(weights)
    if total == 0:
        raise ConfigError("option 'weights': the weights sum to 0 and cannot be normalised")
    return [w / total for w in weights]


class Params(Options):
    weights: list[float] | None = opt(None, help="per-input soup weights wᵢ (one per input); default uniform")
    normalize: bool = opt(True, help="divide by Σ wᵢ (false: Σ wᵢθᵢ as given)")


def _resolve(params: dict, info: InputsInfo) -> dict:
    soup_coefficients(info.n_inputs, params["weights"], params["normalize"])  # validates
    return params


def _merge_key(job: KeyJob) -> "torch.Tensor":
    p = job.params
    # Wortsman et al. 2022, "Model soups", uniform soup: θ = (1/N)·Σ θᵢ (weighted: Σ wᵢθᵢ / Σ wᵢ)
    return weighted_sum(job.inputs, soup_coefficients(len(job.inputs), p["weights"], p["normalize"]))


register(MergeMethod(
    name="average",
    reference='Wortsman et al. 2022, "Model soups" (uniform soup); weighted: Σ wᵢθᵢ / Σ wᵢ',
    base="optional",  # a base is not averaged: it only supplies excluded keys and provenance
    Params=Params,
    merge_key=_merge_key,
    resolve=_resolve,
    numpy=True,
))
