"""Scores: top-k accuracy, harmonic mean, mean ± std over splits.

Ties count against the prediction: the true class is ranked below every class whose logit is
greater than *or equal to* its own, so a constant (collapsed) model scores 0, never 100 %.
Non-finite logits (a broken merge) rank last, so they can only lower a score.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from weightspace.errors import WeightspaceError

if TYPE_CHECKING:
    import torch


def topk_correct(logits: "torch.Tensor", labels: "torch.Tensor", ks: Sequence[int] = (1, 5)) -> dict[int, "torch.Tensor"]:
    """For each k, a bool vector [N]: is the label among the top k (ties pessimistic, see module doc)."""
    import torch

    if logits.ndim != 2 or labels.ndim != 1 or logits.shape[0] != labels.shape[0]:
        raise WeightspaceError(f"logits {list(logits.shape)} and labels {list(labels.shape)} do not match")
    n, c = logits.shape
    if n and (int(labels.min()) < 0 or int(labels.max()) >= c):
        raise WeightspaceError(f"label {int(labels.max()) if int(labels.max()) >= c else int(labels.min())} outside the {c} classes")
    z = torch.nan_to_num(logits.float(), nan=-math.inf, posinf=math.inf, neginf=-math.inf)
    true = z.gather(1, labels.long()[:, None])
    rank = (z >= true).sum(1) - 1  # classes other than the label scoring >= it
    broken = ~torch.isfinite(true[:, 0]) | ~torch.isfinite(z).all(1)
    return {k: (rank < k) & ~broken for k in ks}


def topk_accuracy(logits: "torch.Tensor", labels: "torch.Tensor", ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Fraction correct at each k (k larger than the class count is clipped to it)."""
    if logits.shape[0] == 0:
        return {k: float("nan") for k in ks}
    hits = topk_correct(logits, labels, ks)
    return {k: float(h.float().mean()) for k, h in hits.items()}


def harmonic_mean(a: float, b: float) -> float:
    """HM = 2ab / (a + b) (base-to-novel, ViFi-CLIP; out-of-context IC/OC); 0 when both are 0."""
    if math.isnan(a) or math.isnan(b):
        return float("nan")
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population std (ddof=0, numpy's default) over a fixed set of splits."""
    if not values:
        return float("nan"), float("nan")
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / len(values))
