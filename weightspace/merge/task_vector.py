"""Statistics of task vectors τ = θ_ft − θ_base over floating-point tensors (``weightspace inspect``).

``task_vector_stats`` computes per-tag norms and the pairwise cosine matrix of several task vectors
key by key from lazy sources, so whole models are never loaded; it holds the N task-vector slices of
one key at a time. (The merge methods form τ key by key inside the streaming engine.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from weightspace.checkpoint import TAGS, key_tag

if TYPE_CHECKING:
    import torch

    from weightspace.checkpoint import TensorSource


@dataclass
class TaskVectorStats:
    labels: list[str]
    norms: list[dict[str, float]]  # per task vector: tag -> L2 norm, plus "total"
    cosine: list[list[float | None]]  # pairwise; None where a vector is zero


def task_vector_stats(base: "TensorSource", sources: Sequence["TensorSource"], keys: Sequence[str]) -> TaskVectorStats:
    """Norms per tag and the cosine matrix of τᵢ = sourceᵢ − base over the float ``keys``, streamed."""
    import torch

    n = len(sources)
    tags = list(TAGS) + sorted({key_tag(k) for k in keys} - set(TAGS))  # any tag the keys carry
    sq = [{t: 0.0 for t in tags} for _ in range(n)]
    gram = torch.zeros(n, n, dtype=torch.float64)
    for key in keys:
        b = base.read(key).to(torch.float32)
        taus = torch.stack([(s.read(key).to(torch.float32) - b).flatten() for s in sources]).double()
        g = taus @ taus.T
        gram += g
        tag = key_tag(key)
        for i in range(n):
            sq[i][tag] += float(g[i, i])
    norms = []
    for i in range(n):
        entry = {t: math.sqrt(v) for t, v in sq[i].items() if v or any(key_tag(k) == t for k in keys)}
        entry["total"] = math.sqrt(float(gram[i, i]))
        norms.append(entry)
    cosine = [[None if gram[i, i] == 0 or gram[j, j] == 0 else float(gram[i, j] / math.sqrt(gram[i, i] * gram[j, j]))
               for j in range(n)] for i in range(n)]
    return TaskVectorStats([getattr(s, "label", str(i)) for i, s in enumerate(sources)], norms, cosine)
