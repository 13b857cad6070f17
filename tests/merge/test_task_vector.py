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


@pytest.mark.parametrize("shape", [(5, 11), (7,), (), (0, 3)])
def test_task_vector_sum_over_blocks_matches_the_formula_and_keeps_unmoved_weights_bit_exact(monkeypatch, shape):
    import weightspace.merge.task_vector as tvmod

    monkeypatch.setattr(tvmod, "BLOCK", 4)  # several blocks and a short last one
    g = torch.Generator().manual_seed(0)
    base = torch.randn(shape, generator=g)
    xs = [base + torch.randn(shape, generator=g) for _ in range(3)]
    for x in xs:
        x.reshape(-1)[::3] = base.reshape(-1)[::3]  # every third weight unmoved by all inputs
    kept = [x.clone() for x in xs], base.clone()
    coeffs = [0.5, 2.0, -1.25]
    want = sum(c * (x - base) for c, x in zip(coeffs, xs))
    got = tvmod.task_vector_sum(base, iter(xs), coeffs)  # inputs may be a one-pass iterator
    assert got.shape == base.shape and torch.allclose(got, want, atol=1e-6)
    merged = tvmod.task_vector_sum(base, xs, coeffs, plus_base=True)
    assert torch.allclose(merged, base + want, atol=1e-6)
    assert torch.equal(merged.reshape(-1)[::3], base.reshape(-1)[::3])
    assert all(torch.equal(x, k) for x, k in zip(xs, kept[0])) and torch.equal(base, kept[1])


def test_task_vector_sum_refuses_no_inputs_and_mismatched_coefficients():
    from weightspace.merge.task_vector import task_vector_sum

    with pytest.raises(ValueError, match="no inputs"):
        task_vector_sum(torch.zeros(2), [], [])
    with pytest.raises(ValueError):
        task_vector_sum(torch.zeros(2), [torch.ones(2)], [1.0, 2.0])


@pytest.mark.parametrize("shape", [(5, 11), (7,), (), (0, 3)])
@pytest.mark.parametrize("plus_base", [False, True])
def test_task_vector_sum_gives_the_same_bits_on_numpy_and_torch(monkeypatch, shape, plus_base):
    import numpy as np

    import weightspace.merge.task_vector as tvmod

    monkeypatch.setattr(tvmod, "BLOCK", 4)
    g = torch.Generator().manual_seed(1)
    base = torch.randn(shape, generator=g)
    xs = [base + 1e-3 * torch.randn(shape, generator=g) for _ in range(4)]
    coeffs = [0.3, -1.7, 1.0, 2.0 / 3]  # one of 1.0: that term skips the multiplication in both
    want = tvmod.task_vector_sum(base, xs, coeffs, plus_base=plus_base)
    got = tvmod.task_vector_sum(base.numpy(), (x.numpy() for x in xs), coeffs, plus_base=plus_base)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == shape
    assert np.array_equal(got.view(np.uint32), want.numpy().view(np.uint32))
