import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge.methods.dare import dare_keep_mask, dare_merge
from weightspace.merge.methods.task_arith import task_arithmetic
from weightspace.merge.registry import InputsInfo, get_method

G = torch.Generator().manual_seed(0)
BASE = torch.randn(1000, generator=G)
INPUTS = [BASE + torch.randn(1000, generator=G) for _ in range(2)]


def test_no_drop_is_task_arithmetic():
    assert torch.allclose(dare_merge(BASE, INPUTS, key="k", p=0.0, lam=0.7), task_arithmetic(BASE, INPUTS, lam=0.7), atol=1e-5)


def test_kept_entries_are_rescaled_by_inverse_keep_rate():
    # one input, p = 0.75: each entry of the merged τ is either 0 (dropped) or τ / (1 - 0.75) = 4τ
    tau = INPUTS[0] - BASE
    out = dare_merge(BASE, INPUTS[:1], key="k", p=0.75, seed=3) - BASE
    keep = dare_keep_mask(tau.shape, 0.75, 3, 0, "k")
    assert torch.allclose(out[keep], 4 * tau[keep], atol=1e-5)
    assert torch.all(out[~keep] == 0)
    assert 0.15 < keep.float().mean() < 0.35  # about 1 - p kept


def test_masks_are_seeded_per_input_and_key():
    a = dare_keep_mask((500,), 0.5, 0, 0, "k")
    assert torch.equal(a, dare_keep_mask((500,), 0.5, 0, 0, "k"))
    assert not torch.equal(a, dare_keep_mask((500,), 0.5, 1, 0, "k"))
    assert not torch.equal(a, dare_keep_mask((500,), 0.5, 0, 1, "k"))
    assert not torch.equal(a, dare_keep_mask((500,), 0.5, 0, 0, "j"))


def test_l1_rescale_keeps_each_task_vectors_l1_norm():
    tau = INPUTS[0] - BASE
    out = dare_merge(BASE, INPUTS[:1], key="k", p=0.5, rescale="l1") - BASE
    assert out.abs().sum().item() == pytest.approx(tau.abs().sum().item(), rel=1e-4)


def test_no_rescale_and_mean_combine():
    # two inputs, mean, no rescale: θ0 + (m1⊙τ1 + m2⊙τ2) / 2
    out = dare_merge(BASE, INPUTS, key="k", p=0.5, rescale="none", combine="mean")
    masks = [dare_keep_mask(BASE.shape, 0.5, 0, i, "k") for i in range(2)]
    expected = BASE + sum(m * (x - BASE) for m, x in zip(masks, INPUTS)) / 2
    assert torch.allclose(out, expected, atol=1e-6)


def test_options():
    m = get_method("dare")
    assert m.resolve_params({}, InputsInfo(2, True))["p"] == 0.5
    for bad, option in [({"p": 1.0}, "p"), ({"p": -0.1}, "p"), ({"seed": 1.5}, "seed"), ({"rescale": "x"}, "rescale")]:
        with pytest.raises(ConfigError, match=f"'{option}'"):
            m.resolve_params(bad, InputsInfo(2, True))
