"""``gwa``: Gaussian weight average over epoch snapshots (Open-MeDe).

``gaussian_weights`` is the single place the weights are computed: the training module's online
(running) GWA uses it too, so both give the same model.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import TYPE_CHECKING, Sequence

from weightspace.errors import ConfigError
from weightspace.merge.methods.average import weighted_sum
from weightspace.merge.registry import InputsInfo, KeyJob, MergeMethod, register
from weightspace.options import Options, opt

if TYPE_CHECKING:
    import torch


def gaussian_weights(epochs: Sequence[float], mu: float = 15.0, sigma: float = 10.0) -> list[float]:
    """Normalised Gaussian weights αₜ for the given epoch ids."""
    if not epochs:
        raise ConfigError("gwa: no epochs to weight")
    if not sigma > 0:
        raise ConfigError(f"option 'sigma': must be > 0, got {sigma}")
    try:
        # Open-MeDe Eq. 11-13: wₜ = N(t; μ, σ), αₜ = wₜ / Σᵢ wᵢ (the pdf's constant cancels; shifted for stability)
        logw = [-((e - mu) ** 2) / (2.0 * sigma**2) for e in epochs]
        top = max(logw)
        w = [math.exp(v - top) for v in logw]
        alphas = [v / sum(w) for v in w]
    except (OverflowError, ZeroDivisionError):
        alphas = [math.nan]
    if not all(math.isfinite(a) for a in alphas):
        raise ConfigError(f"options 'mu'={mu:g}, 'sigma'={sigma:g}: the Gaussian weights are not finite numbers "
                          "(sigma too small or mu too far from the epochs)")
    return alphas


def _epoch_of(meta: dict):
    prov = meta.get("provenance") if isinstance(meta, dict) else None
    return prov.get("epoch") if isinstance(prov, dict) else None


class Params(Options):
    mu: float = opt(15.0, help="centre μ of the Gaussian over epochs")
    sigma: float = opt(10.0, gt=0, help="width σ of the Gaussian over epochs")
    include_base: bool = opt(False, help="count the base (--base) as epoch 0")
    epochs: list[float] | None = opt(None, help="epoch of each input (default: each input's provenance.epoch)")


def _resolve(params: dict, info: InputsInfo) -> dict:
    include_base = params["include_base"]
    if include_base and not info.has_base:
        raise ConfigError("option 'include_base': needs a base model (--base), which counts as epoch 0")
    epochs = params["epochs"]
    if epochs is None:
        epochs = []
        for label, meta in zip(info.labels, info.metas):
            e = _epoch_of(meta)
            if e is None:
                raise ConfigError(f"{label}: no provenance.epoch in weightspace.json; give option 'epochs' (one per input)")
            epochs.append(e)
    if not isinstance(epochs, (list, tuple)) or len(epochs) != info.n_inputs:
        raise ConfigError(f"option 'epochs': expected a list of {info.n_inputs} epoch numbers (one per input), got {epochs!r}")
    for e in epochs:
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e):
            raise ConfigError(f"option 'epochs': expected numbers, got {e!r}")
    params = {**params, "epochs": list(epochs)}
    gwa_coefficients(params)  # degenerate weights are refused before anything is read
    return params


def gwa_coefficients(params: dict) -> list[float]:
    """Per-tensor coefficients in merge order: [base (epoch 0) if included] + inputs."""
    epochs = ([0] if params["include_base"] else []) + list(params["epochs"])
    return gaussian_weights(epochs, params["mu"], params["sigma"])


def _prepare(params: dict, stream) -> dict:
    return {"coefficients": gwa_coefficients(params)}


def _merge_key(job: KeyJob) -> "torch.Tensor":
    tensors = chain([job.base], job.inputs) if job.params["include_base"] else job.inputs
    return weighted_sum(tensors, job.state["coefficients"])


register(MergeMethod(
    name="gwa",
    reference="Open-MeDe (ICCV 2025) Eq. 11-13; defaults μ=15, σ=10 from the author's weight_average_tool.py",
    base="optional",
    Params=Params,
    merge_key=_merge_key,
    resolve=_resolve,
    prepare=_prepare,
    numpy=True,
))
