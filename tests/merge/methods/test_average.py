import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge.methods.average import soup_coefficients, weighted_sum
from weightspace.merge.registry import InputsInfo, KeyJob, get_method

A = torch.tensor([1.0, 2.0])
B = torch.tensor([3.0, 6.0])


def _run(inputs, **params):
    m = get_method("average")
    p = m.resolve_params(params, InputsInfo(len(inputs), False))
    return m.merge_key(KeyJob("k", inputs, None, p))


def test_uniform_soup_is_the_mean():
    # (A + B) / 2 = ([1,2] + [3,6]) / 2 = [2, 4]
    assert torch.equal(_run([A, B]), torch.tensor([2.0, 4.0]))


def test_weights_are_normalised_by_default():
    # weights [1, 3] -> [0.25, 0.75]: 0.25*[1,2] + 0.75*[3,6] = [2.5, 5]
    assert torch.allclose(_run([A, B], weights=[1, 3]), torch.tensor([2.5, 5.0]))


def test_unnormalised_weights_give_the_weighted_sum():
    # 1*[1,2] + 2*[3,6] = [7, 14]
    assert torch.allclose(_run([A, B], weights=[1, 2], normalize=False), torch.tensor([7.0, 14.0]))


def test_inputs_are_not_modified():
    a = A.clone()
    weighted_sum([a, B], [0.5, 0.5])
    assert torch.equal(a, A)


@pytest.mark.parametrize("weights", [[1.0], [1, "x"], "0.5"])
def test_bad_weights_name_the_option(weights):
    with pytest.raises(ConfigError, match="'weights"):
        _run([A, B], weights=weights)


def test_weights_summing_to_zero_cannot_be_normalised():
    with pytest.raises(ConfigError, match="sum to 0"):
        soup_coefficients(2, [1.0, -1.0], True)


def test_weighted_sum_gives_the_same_bits_on_numpy_and_torch():
    import numpy as np

    g = torch.Generator().manual_seed(0)
    ts = [torch.randn(1000, generator=g) for _ in range(3)]
    coeffs = [0.3, -1.7, 2.0 / 3]
    got = weighted_sum([t.numpy() for t in ts], coeffs)
    want = weighted_sum(ts, coeffs).numpy()
    assert isinstance(got, np.ndarray) and np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_weighted_sum_stays_differentiable_for_torch():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    weighted_sum([a, B], [0.25, 0.75]).sum().backward()
    assert torch.equal(a.grad, torch.tensor([0.25, 0.25]))
