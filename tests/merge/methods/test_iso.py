import math

import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge.methods.iso import split_subspace
from weightspace.merge.registry import InputsInfo, KeyJob, get_method

C, S = math.cos(math.radians(22.5)), math.sin(math.radians(22.5))


def _run(name, key, base, inputs, **params):
    m = get_method(name)
    p = m.resolve_params(params, InputsInfo(len(inputs), True))
    return m.merge_key(KeyJob(key, inputs, base, p))


def test_iso_c_flattens_the_spectrum_of_the_sum_3x2():
    base = torch.ones(3, 2)
    # τ1 + τ2 = [[3,0],[0,1],[0,0]]: U = [e1 e2], σ = (3, 1), V = I  ->  σ̄ = 2, Δ = 2·[[1,0],[0,1],[0,0]]
    t1 = torch.tensor([[3.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    t2 = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    got = _run("iso-c", "visual.proj", base, [base + t1, base + t2])
    assert torch.allclose(got, base + torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), atol=1e-6)
    # scale multiplies the merged task vector
    got = _run("iso-c", "visual.proj", base, [base + t1, base + t2], scale=1.5)
    assert torch.allclose(got, base + 1.5 * torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), atol=1e-6)


def test_iso_c_rotated_sum_keeps_its_singular_vectors():
    # Σ τ = R·diag(4, 2) with R a rotation by 30°: U = R, V = I, σ̄ = 3 -> Δ = 3·R (moves σ, not directions)
    r = torch.tensor([[math.cos(math.pi / 6), -math.sin(math.pi / 6)], [math.sin(math.pi / 6), math.cos(math.pi / 6)]])
    total = r @ torch.diag(torch.tensor([4.0, 2.0]))
    base = torch.zeros(2, 2)
    got = _run("iso-c", "k", base, [base + total / 2, base + total / 2])
    assert torch.allclose(got, 3 * r, atol=1e-5)


def test_non_2d_and_excluded_keys_get_the_mean_task_vector():
    base = torch.tensor([1.0, 2.0])
    got = _run("iso-c", "visual.ln_post.bias", base, [base + torch.tensor([2.0, 0.0]), base + torch.tensor([0.0, 4.0])])
    assert torch.allclose(got, base + torch.tensor([1.0, 2.0]))
    b2 = torch.zeros(2, 2)
    t1, t2 = torch.tensor([[3.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    for pattern in ("text_projection", "text"):  # a glob or a tag
        got = _run("iso-c", "text_projection", b2, [t1, t2], svd_exclude=[pattern])
        assert torch.allclose(got, (t1 + t2) / 2)


def test_subspace_split_follows_fusionbench_rounding():
    assert split_subspace(768, 3, 0.8) == (615, 51)  # int(614.4)=614; round(154/3)=51 -> 768-153
    assert split_subspace(3, 2, 0.5) == (1, 1)
    assert split_subspace(2, 3, 0.8) == (2, 0)  # nothing left to split: all common (= Iso-C)


def test_iso_cts_hand_computed_3x3():
    e1, e2, e3 = torch.eye(3)
    u45 = (e2 + e3) / math.sqrt(2)
    # τ1 = 4·e1e1ᵀ + e2e2ᵀ, τ2 = 4·e1e1ᵀ + u45·e3ᵀ. Σ τ has the block diag(8, [[1, .707], [0, .707]]):
    # common (k=1): e1, σ=8. Residuals: τ1 -> e2·e2ᵀ (σ=1), τ2 -> u45·e3ᵀ (σ=1).
    # Stacked U = [e1, e2, u45] (columns at 0° and 45° in the e2-e3 plane) -> nearest orthogonal: e1 and
    # columns at -22.5° and 67.5°; stacked V = I; σ̄ = (8 + 1 + 1)/3.
    t1 = 4 * torch.outer(e1, e1) + torch.outer(e2, e2)
    t2 = 4 * torch.outer(e1, e1) + torch.outer(u45, e3)
    base = torch.full((3, 3), 0.5)
    got = _run("iso-cts", "k", base, [base + t1, base + t2], common_fraction=0.5)
    u_bar = torch.tensor([[1.0, 0.0, 0.0], [0.0, C, S], [0.0, -S, C]])
    assert torch.allclose(got, base + (10 / 3) * u_bar, atol=1e-5)
    # the orthogonalisation moved something: plain stacking would give e2, u45 as the columns
    assert not torch.allclose(got, base + (10 / 3) * torch.stack([e1, e2, u45], dim=1), atol=1e-2)


@pytest.mark.parametrize("name, params, needle", [
    ("iso-c", {"scale": 0}, "'scale': Input should be greater than 0"),
    ("iso-c", {"scale": -1.0}, "'scale'"),
    ("iso-cts", {"common_fraction": 0}, "'common_fraction': Input should be greater than 0"),
    ("iso-cts", {"common_fraction": 1}, "'common_fraction': Input should be less than 1"),
    ("iso-cts", {"common_fraction": 1.5}, "'common_fraction'"),
    ("iso-c", {"svd_exclude": "text_projection"}, "'svd_exclude'"),
])
def test_bad_options_are_one_line_errors(name, params, needle):
    with pytest.raises(ConfigError) as exc:
        get_method(name).resolve_params(params, InputsInfo(2, True))
    assert needle in str(exc.value) and "\n" not in str(exc.value)
