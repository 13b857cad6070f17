import math

import pytest
import torch

from merge.fakes import make_ckpt
from weightspace.checkpoint import open_checkpoint
from weightspace.merge.task_vector import task_vector_stats

BASE = {"visual.w": torch.tensor([1.0, 1.0]), "text_projection": torch.tensor([0.0])}
FT1 = {"visual.w": torch.tensor([4.0, 1.0]), "text_projection": torch.tensor([0.0])}
FT2 = {"visual.w": torch.tensor([1.0, 3.0]), "text_projection": torch.tensor([2.0])}


class _Source:
    """A tensor source over an in-memory state dict."""

    def __init__(self, tensors, label):
        self.tensors, self.label = tensors, label

    def read(self, key):
        return self.tensors[key]


def test_norms_per_tag_and_cosine_hand_computed():
    # τ1 = [3, 0 | 0], τ2 = [0, 2 | 2] (visual.w | text_projection)
    stats = task_vector_stats(_Source(BASE, "base"), [_Source(FT1, "a"), _Source(FT2, "b")], list(BASE))
    assert stats.labels == ["a", "b"]
    assert stats.norms[0]["visual"] == 3.0 and stats.norms[0]["text"] == 0.0 and stats.norms[0]["total"] == 3.0
    assert stats.norms[1]["visual"] == 2.0 and stats.norms[1]["total"] == pytest.approx(math.sqrt(8))
    assert stats.cosine[0][1] == 0.0 and stats.cosine[1][1] == pytest.approx(1.0)
    zero = task_vector_stats(_Source(BASE, "base"), [_Source(BASE, "same"), _Source(FT2, "b")], list(BASE))
    assert zero.cosine[0][1] is None  # a zero task vector has no direction


def _tau(base, ft, keep=lambda k: True) -> torch.Tensor:
    b, f = open_checkpoint(base).state_dict(), open_checkpoint(ft).state_dict()
    return torch.cat([(f[k].double() - b[k].double()).flatten() for k in b if b[k].is_floating_point() and keep(k)])


def test_streaming_stats_equal_in_memory_results(tmp_path):
    base = make_ckpt(tmp_path / "base", 0)
    make_ckpt(tmp_path / "a", 1, base=base)
    make_ckpt(tmp_path / "b", 2, base=base)
    taus = [_tau(tmp_path / "base", tmp_path / n) for n in "ab"]
    srcs = [open_checkpoint(tmp_path / n).source() for n in ("base", "a", "b")]
    keys = [k for k in srcs[0].keys() if srcs[0].info(k).is_float]
    stats = task_vector_stats(srcs[0], srcs[1:], keys)
    assert stats.norms[0]["total"] == pytest.approx(float(taus[0].norm()), rel=1e-6)
    cosine = float(taus[0] @ taus[1] / (taus[0].norm() * taus[1].norm()))
    assert stats.cosine[0][1] == pytest.approx(cosine, rel=1e-6)
    assert stats.cosine[1][1] == pytest.approx(1.0)
    visual = _tau(tmp_path / "base", tmp_path / "b", keep=lambda k: k.startswith("visual."))
    assert stats.norms[1]["visual"] == pytest.approx(float(visual.norm()), rel=1e-6)
