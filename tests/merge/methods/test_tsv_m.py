import math

import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge.registry import InputsInfo, KeyJob, get_method

C, S = math.cos(math.radians(22.5)), math.sin(math.radians(22.5))
E1, E2 = torch.eye(2)
U45 = (E1 + E2) / math.sqrt(2)
# τ1 = 3·e1e1ᵀ, τ2 = 2·u45·e2ᵀ (rank one each, so each task's top-1 triplet is exact; r=2, T=2 -> k=1)
T1, T2 = 3 * torch.outer(E1, E1), 2 * torch.outer(U45, E2)


def _run(base, inputs, key="visual.proj", **params):
    m = get_method("tsv-m")
    p = m.resolve_params(params, InputsInfo(len(inputs), True))
    return m.merge_key(KeyJob(key, inputs, base, p))


def test_tsv_m_hand_computed_2x2():
    # Stacked U = [e1, u45] (0° and 45°) -> nearest orthogonal: columns at -22.5° and 67.5°; V = I; σ = (3, 2)
    base = torch.ones(2, 2)
    got = _run(base, [base + T1, base + T2])
    u_hat = torch.tensor([[C, S], [-S, C]])
    assert torch.allclose(got, base + u_hat * torch.tensor([3.0, 2.0]), atol=1e-5)
    # task arithmetic would give T1 + T2: the orthogonalisation changes the result
    assert not torch.allclose(got, base + T1 + T2, atol=1e-2)
    got = _run(base, [base + T1, base + T2], alpha=0.5)
    assert torch.allclose(got, base + 0.5 * u_hat * torch.tensor([3.0, 2.0]), atol=1e-5)


def test_per_input_weights_scale_each_task_vector_before_the_svd():
    base = torch.zeros(2, 2)
    got = _run(base, [T1, T2], weights=[2.0, 0.5])  # σ = (6, 1), same directions
    assert torch.allclose(got, torch.tensor([[C, S], [-S, C]]) * torch.tensor([6.0, 1.0]), atol=1e-5)
    # on the averaging path: mean of wᵢτᵢ
    b = torch.zeros(2)
    got = _run(b, [torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])], key="visual.ln_post.bias", weights=[2.0, 4.0])
    assert torch.allclose(got, torch.tensor([1.0, 2.0]))


def test_top_k_keeps_r_over_t_triplets_per_task_3x2():
    # r = 2, T = 2 -> k = 1: τ1 = diag(3, 1) (3x2) keeps only σ=3 on e1; τ2 = 2·e2e2ᵀ keeps σ=2 on e2
    t1 = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    t2 = torch.tensor([[0.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    got = _run(torch.zeros(3, 2), [t1, t2])
    assert torch.allclose(got, torch.tensor([[3.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), atol=1e-5)


def test_svd_exclude_sends_2d_keys_to_the_mean():
    got = _run(torch.zeros(2, 2), [T1, T2], key="text_projection", svd_exclude=["text_projection"])
    assert torch.allclose(got, (T1 + T2) / 2)


@pytest.mark.parametrize("params, needle", [
    ({"weights": [1.0, 2.0, 3.0]}, "expected 2 numbers (one per input), got 3"),
    ({"alpha": 0}, "'alpha'"),
    ({"alpha": math.inf}, "'alpha'"),
])
def test_bad_options_are_one_line_errors(params, needle):
    with pytest.raises(ConfigError) as exc:
        get_method("tsv-m").resolve_params(params, InputsInfo(2, True))
    assert needle in str(exc.value) and "\n" not in str(exc.value)
