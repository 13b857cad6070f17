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
    assert m.resolve_params({}, InputsInfo(2, True)) == {"lambda": 1.0, "variant": "sum", "weights": None}
    with pytest.raises(ConfigError, match="'variant'"):
        m.resolve_params({"variant": "avg"}, InputsInfo(2, True))
    with pytest.raises(ConfigError, match="unknown key 'scaling'"):
        m.resolve_params({"scaling": 0.3}, InputsInfo(2, True))


def test_per_input_weights_hand_computed():
    # θ0 + 1·(2·τ1 + 0.5·τ2) = [1,1,1] + [2,0,-2] + [0,1,0] = [3, 2, -1]
    got = task_arithmetic(BASE, [X1, X2], weights=[2.0, 0.5])
    assert torch.allclose(got, torch.tensor([3.0, 2.0, -1.0]))
    # mean with λ=1: θ0 + (2·τ1 + 0.5·τ2)/2 = [2, 1.5, 0]
    assert torch.allclose(task_arithmetic(BASE, [X1, X2], variant="mean", weights=[2.0, 0.5]),
                          torch.tensor([2.0, 1.5, 0.0]))


@pytest.mark.parametrize("given, needle", [
    ({"weights": [1.0]}, "expected 2 numbers (one per input), got 1"),
    ({"weights": [3e38, 3e38]}, "sum overflows float32"),
    ({"weights": [1.0, float("inf")]}, "'weights.1'"),
    ({"lambda": 1e39}, "lambda: 1e+39 overflows float32"),
    ({"lambda": float("nan")}, "'lambda'"),
])
def test_bad_weights_and_non_finite_options_are_one_line_errors(given, needle):
    with pytest.raises(ConfigError) as exc:
        get_method("task-arith").resolve_params(given, InputsInfo(2, True))
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_yaml_style_numbers_are_accepted():
    p = get_method("task-arith").resolve_params({"lambda": "1e-4", "weights": ["5e-1", 1]}, InputsInfo(2, True))
    assert p["lambda"] == 1e-4 and p["weights"] == [0.5, 1.0]


def test_weights_no_input_moved_stay_the_base_bit_for_bit():
    import torch

    from weightspace.merge.methods.task_arith import task_arithmetic

    base = torch.randn(1000)
    out = task_arithmetic(base, [base.clone(), base.clone(), base.clone()], lam=0.9, variant="mean")
    assert torch.equal(out, base)  # a frozen tower: text-feature caches keyed on it keep hitting
