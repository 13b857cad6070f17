import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge.methods.wise_ft import wise_ft
from weightspace.merge.registry import InputsInfo, KeyJob, get_method


def test_wise_ft_hand_computed():
    # α=0.25: 0.75·[0, 2] + 0.25·[4, -2] = [1, 1]
    assert torch.allclose(wise_ft(torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0]), 0.25), torch.tensor([1.0, 1.0]))


def test_endpoints_are_the_two_models():
    base, ft = torch.randn(5), torch.randn(5)
    assert torch.allclose(wise_ft(base, ft, 0.0), base) and torch.allclose(wise_ft(base, ft, 1.0), ft)


def test_registry_entry_defaults_to_half_and_takes_one_input():
    m = get_method("wise-ft")
    p = m.resolve_params({}, InputsInfo(1, True))
    assert p == {"alpha": 0.5}
    out = m.merge_key(KeyJob("k", [torch.tensor([2.0])], torch.tensor([0.0]), p))
    assert out.item() == 1.0
    with pytest.raises(ConfigError, match="at most 1 input"):
        m.resolve_params({}, InputsInfo(2, True))
    with pytest.raises(ConfigError, match="needs a base"):
        m.resolve_params({}, InputsInfo(1, False))


def test_wise_ft_gives_the_same_bits_on_numpy_and_torch():
    import numpy as np

    g = torch.Generator().manual_seed(0)
    base, ft = torch.randn(1000, generator=g), torch.randn(1000, generator=g)
    got = wise_ft(base.numpy(), ft.numpy(), 0.37)
    assert np.array_equal(got.view(np.uint32), wise_ft(base, ft, 0.37).numpy().view(np.uint32))
