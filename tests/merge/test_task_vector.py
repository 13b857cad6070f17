import math

import pytest
import torch

from merge.fakes import make_ckpt
from weightspace.checkpoint import open_checkpoint
from weightspace.errors import CheckpointError
from weightspace.merge import TaskVector
from weightspace.merge.task_vector import task_vector_stats

BASE = {"visual.w": torch.tensor([1.0, 1.0]), "text_projection": torch.tensor([0.0]), "n": torch.tensor([3])}
FT1 = {"visual.w": torch.tensor([4.0, 1.0]), "text_projection": torch.tensor([0.0]), "n": torch.tensor([5])}
FT2 = {"visual.w": torch.tensor([1.0, 3.0]), "text_projection": torch.tensor([2.0]), "n": torch.tensor([3])}


def test_task_vector_is_float_difference_without_integers():
    tv = TaskVector.from_state_dicts(BASE, FT1)
    assert tv.keys() == ["visual.w", "text_projection"]
    assert torch.equal(tv["visual.w"], torch.tensor([3.0, 0.0]))


def test_arithmetic_norm_and_cosine_hand_computed():
    t1 = TaskVector.from_state_dicts(BASE, FT1)  # [3, 0 | 0]
    t2 = TaskVector.from_state_dicts(BASE, FT2)  # [0, 2 | 2]
    assert torch.equal((t1 + t2)["visual.w"], torch.tensor([3.0, 2.0]))
    assert torch.equal((t1 - t2)["text_projection"], torch.tensor([-2.0]))
    assert torch.equal((2 * t1)["visual.w"], torch.tensor([6.0, 0.0]))
    assert torch.equal((-t2)["visual.w"], torch.tensor([0.0, -2.0]))
    assert sum([t1, t2])["visual.w"].tolist() == [3.0, 2.0]
    assert t2.norm() == pytest.approx(math.sqrt(8))
    assert t1.cosine(t2) == 0.0
    assert (t1 + t2).cosine(t1) == pytest.approx(3 / math.sqrt(17))


def test_apply_to_adds_scaled_vector_and_keeps_integers():
    t1 = TaskVector.from_state_dicts(BASE, FT1)
    out = t1.apply_to(BASE, 0.5)
    assert torch.equal(out["visual.w"], torch.tensor([2.5, 1.0]))
    assert torch.equal(out["n"], BASE["n"])


def test_misaligned_vectors_name_the_key():
    t1 = TaskVector.from_state_dicts(BASE, FT1)
    other = TaskVector({"visual.w": torch.zeros(2)})
    with pytest.raises(CheckpointError, match="'text_projection'"):
        t1 + other


def test_streaming_stats_equal_in_memory_results(tmp_path):
    base = make_ckpt(tmp_path / "base", 0)
    make_ckpt(tmp_path / "a", 1, base=base)
    make_ckpt(tmp_path / "b", 2, base=base)
    tvs = [TaskVector.from_checkpoints(tmp_path / "base", tmp_path / n) for n in "ab"]
    srcs = [open_checkpoint(tmp_path / n).source() for n in ("base", "a", "b")]
    keys = [k for k in srcs[0].keys() if srcs[0].info(k).is_float]
    stats = task_vector_stats(srcs[0], srcs[1:], keys)
    assert stats.norms[0]["total"] == pytest.approx(tvs[0].norm(), rel=1e-6)
    assert stats.cosine[0][1] == pytest.approx(tvs[0].cosine(tvs[1]), rel=1e-6)
    assert stats.cosine[1][1] == pytest.approx(1.0)
    visual = TaskVector({k: v for k, v in tvs[1].vector.items() if k.startswith("visual.")})
    assert stats.norms[1]["visual"] == pytest.approx(visual.norm(), rel=1e-6)


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
