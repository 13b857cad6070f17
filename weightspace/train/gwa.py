"""Online Gaussian Weight Average over epoch snapshots (Open-MeDe, ICCV'25, Eq. 13 running form).

    θ_GWA ← (Σ_{i<t} w_i / Σ_{i≤t} w_i)·θ_GWA + (w_t / Σ_{i≤t} w_i)·θ_t

The weights w_t come from ``weightspace.merge``'s ``gaussian_weights`` over the same epoch ids the
offline ``weightspace merge --method gwa`` uses, so the online result equals the offline merge over
the saved snapshots (up to fp32 rounding). Only the running average (fp32) and Σw are kept, never
all snapshots.
"""

from __future__ import annotations

from typing import Sequence

import torch

from weightspace.errors import WeightspaceError


class OnlineGWA:
    def __init__(self, epochs: Sequence[int], mu: float, sigma: float):
        from weightspace.merge import gaussian_weights

        self.epochs = list(epochs)
        self.mu, self.sigma = mu, sigma
        self.weights = dict(zip(self.epochs, (float(w) for w in gaussian_weights(self.epochs, mu, sigma))))
        self.total = 0.0
        self.seen: list[int] = []
        self.average: dict[str, torch.Tensor] = {}

    def add(self, epoch: int, state_dict: dict[str, torch.Tensor]) -> None:
        if epoch not in self.weights:
            raise WeightspaceError(f"GWA: epoch {epoch} is not among the planned epochs {self.epochs}")
        if epoch in self.seen:
            raise WeightspaceError(f"GWA: epoch {epoch} added twice")
        w = self.weights[epoch]
        new_total = self.total + w
        with torch.no_grad():
            for k, v in state_dict.items():
                v = v.detach()
                if not v.is_floating_point():
                    self.average[k] = v.cpu().clone()
                elif k not in self.average or self.total == 0.0:
                    self.average[k] = v.cpu().float().clone()
                else:  # (1 − w/Σ)·avg + (w/Σ)·θ_t, i.e. Eq. 13
                    self.average[k].lerp_(v.cpu().float(), w / new_total)
        self.total = new_total
        self.seen.append(epoch)

    def result(self, like: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """The average, cast back to the dtypes of ``like`` (a snapshot's state dict) when given."""
        if like is None:
            return dict(self.average)
        return {k: self.average[k].to(like[k].dtype) for k in like}

    # resume state: tensors + JSON
    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        doc = {"epochs": self.epochs, "mu": self.mu, "sigma": self.sigma, "total": self.total, "seen": self.seen}
        return dict(self.average), doc

    def load(self, tensors: dict[str, torch.Tensor], doc: dict) -> None:
        if doc["epochs"] != self.epochs or doc["mu"] != self.mu or doc["sigma"] != self.sigma:
            raise WeightspaceError("GWA: the resume state was written with different GWA settings")
        self.total, self.seen = float(doc["total"]), list(doc["seen"])
        self.average = {k: v.clone() for k, v in tensors.items()}
