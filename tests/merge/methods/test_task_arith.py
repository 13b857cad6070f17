import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge.methods.task_arith import task_arithmetic
from weightspace.merge.registry import InputsInfo, get_method

BASE = torch.tensor([1.0, 1.0, 1.0])
X1 = torch.tensor([2.0, 1.0, 0.0])  # τ1 = [1, 0, -1]
X2 = torch.tensor([1.0, 3.0, 1.0])  # τ2 = [0, 2, 0]


def test_sum_variant_hand_computed():
    # θ0 + 1·(τ1 + τ2) = [1,1,1] + [1,2,-1] = [2, 3, 0]
    assert torch.allclose(task_arithmetic(BASE, [X1, X2]), torch.tensor([2.0, 3.0, 0.0]))
    # λ = 0.5: [1,1,1] + 0.5·[1,2,-1] = [1.5, 2, 0.5]
    assert torch.allclose(task_arithmetic(BASE, [X1, X2], lam=0.5), torch.tensor([1.5, 2.0, 0.5]))


def test_mean_variant_hand_computed():
    # θ0 + 0.6·(τ1 + τ2)/2 = [1,1,1] + 0.3·[1,2,-1] = [1.3, 1.6, 0.7]
    assert torch.allclose(task_arithmetic(BASE, [X1, X2], lam=0.6, variant="mean"), torch.tensor([1.3, 1.6, 0.7]))


def test_inputs_and_base_are_not_modified():
    x1, base = X1.clone(), BASE.clone()
    task_arithmetic(base, [x1, X2], lam=0.3)
    assert torch.equal(x1, X1) and torch.equal(base, BASE)


def test_defaults_and_options():
    m = get_method("task-arith")
    assert m.resolve_params({}, InputsInfo(2, True)) == {"lambda": 1.0, "variant": "sum"}
    with pytest.raises(ConfigError, match="'variant'"):
        m.resolve_params({"variant": "avg"}, InputsInfo(2, True))
    with pytest.raises(ConfigError, match="has no option 'scaling'"):
        m.resolve_params({"scaling": 0.3}, InputsInfo(2, True))
