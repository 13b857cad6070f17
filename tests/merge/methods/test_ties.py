import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge.methods.ties import kth_largest_abs, model_thresholds, ties_merge
from weightspace.merge.registry import InputsInfo, KeyJob, get_method

BASE = torch.ones(5)
TAUS = [
    torch.tensor([4.0, -1.0, 0.5, -3.0, 2.0]),
    torch.tensor([-2.0, 3.0, 0.2, -1.0, -5.0]),
    torch.tensor([3.0, 2.0, -4.0, 0.1, 1.0]),
]
INPUTS = [BASE + t for t in TAUS]


def test_ties_hand_computed_disjoint_mean():
    # density 0.6 of 5 entries: keep the top 3 magnitudes of each τ
    #   τ1 [4,-1,.5,-3,2] -> [4,0,0,-3,2];  τ2 [-2,3,.2,-1,-5] -> [-2,3,0,0,-5];  τ3 [3,2,-4,.1,1] -> [3,2,-4,0,0]
    # elect: Σ trimmed = [5, 5, -4, -3, -3] -> signs [+, +, -, -, -]
    # disjoint mean over agreeing entries: e0 (4+3)/2=3.5 (τ2's -2 dropped), e1 (3+2)/2=2.5, e2 -4, e3 -3,
    #   e4 -5 (τ1's +2 dropped)  -> θ0 + 1·[3.5, 2.5, -4, -3, -5]
    out = ties_merge(BASE, INPUTS, density=0.6, lam=1.0, aggregate="mean")
    assert torch.allclose(out, BASE + torch.tensor([3.5, 2.5, -4.0, -3.0, -5.0]))


def test_ties_hand_computed_sum_and_lambda():
    # same trim and election; sum of agreeing entries: [7, 5, -4, -3, -5], times λ = 0.5
    out = ties_merge(BASE, INPUTS, density=0.6, lam=0.5, aggregate="sum")
    assert torch.allclose(out, BASE + 0.5 * torch.tensor([7.0, 5.0, -4.0, -3.0, -5.0]))


def test_density_one_keeps_everything():
    # no trim: Σ τ = [5, 4, -3.3, -3.9, -2] -> signs [+,+,-,-,-]; mean of agreeing:
    # e0 (4+3)/2, e1 (3+2)/2, e2 -4 (τ1 .5, τ2 .2 dropped), e3 (-3-1)/2, e4 -5
    out = ties_merge(BASE, INPUTS, density=1.0, aggregate="mean")
    assert torch.allclose(out, BASE + torch.tensor([3.5, 2.5, -4.0, -2.0, -5.0]))


def test_kth_largest_abs():
    assert kth_largest_abs(torch.tensor([4.0, -1.0, 0.5, -3.0, 2.0]), 0.4) == 3.0  # keep 2: {4, 3}
    assert kth_largest_abs(torch.tensor([1.0, 2.0]), 1.0) == 0.0


class _Stream:
    """A stand-in for the engine's KeyStream over in-memory tensors."""

    def __init__(self, base: dict, inputs: list[dict]):
        self.base, self.inputs, self.n_inputs = base, inputs, len(inputs)

    def jobs(self, description):
        for k in self.base:
            yield KeyJob(k, [sd[k] for sd in self.inputs], self.base[k], {})


def test_whole_model_scope_differs_from_per_tensor():
    # one task, two tensors: A τ=[10, 9], B τ=[1, 0.5]; density 0.5 keeps 2 of 4 entries.
    # whole model: threshold 9 -> keeps 10 and 9, B untouched; per tensor: keeps 10 in A and 1 in B.
    base = {"A": torch.zeros(2), "B": torch.zeros(2)}
    ft = {"A": torch.tensor([10.0, 9.0]), "B": torch.tensor([1.0, 0.5])}
    (cut,) = model_thresholds(_Stream(base, [ft]), 1, 0.5)
    assert cut == 9.0
    assert torch.equal(ties_merge(base["A"], [ft["A"]], thresholds=[cut]), torch.tensor([10.0, 9.0]))
    assert torch.equal(ties_merge(base["B"], [ft["B"]], thresholds=[cut]), torch.zeros(2))
    assert torch.equal(ties_merge(base["A"], [ft["A"]], density=0.5), torch.tensor([10.0, 0.0]))
    assert torch.equal(ties_merge(base["B"], [ft["B"]], density=0.5), torch.tensor([1.0, 0.0]))


@pytest.mark.parametrize("density", [0.2, 0.5, 0.013])
def test_radix_select_is_exact(density):
    g = torch.Generator().manual_seed(1)
    base = {f"k{i}": torch.randn(n, generator=g) for i, n in enumerate([1000, 37, 1, 4096])}
    inputs = [{k: v + torch.randn(v.shape, generator=g) * s for k, v in base.items()} for s in (0.01, 3.0)]
    cuts = model_thresholds(_Stream(base, inputs), 2, density)
    for sd, cut in zip(inputs, cuts):
        flat = torch.cat([(sd[k] - base[k]).abs().flatten() for k in base])
        k = max(1, int(density * flat.numel()))
        assert cut == float(flat.topk(k).values[-1])


def test_registry_defaults_follow_the_paper():
    m = get_method("ties")
    assert m.resolve_params({}, InputsInfo(2, True)) == {"density": 0.2, "scope": "model", "aggregate": "mean",
                                                        "lambda": 1.0, "weights": None}
    for bad, option in [({"density": 0}, "density"), ({"density": 1.5}, "density"), ({"scope": "layer"}, "scope"),
                        ({"aggregate": "max"}, "aggregate")]:
        with pytest.raises(ConfigError, match=f"'{option}'"):
            m.resolve_params(bad, InputsInfo(2, True))


def test_per_input_weights_scale_each_task_vector_before_electing():
    base = torch.zeros(2)
    x1, x2 = torch.tensor([1.0, -2.0]), torch.tensor([3.0, 1.0])
    # w = (2, 1): wτ = [2, -4], [3, 1]; Σ = [5, -3] -> signs (+, -); disjoint mean: [(2+3)/2, -4]
    got = ties_merge(base, [x1, x2], density=1.0, weights=[2.0, 1.0])
    assert torch.allclose(got, torch.tensor([2.5, -4.0]))
    assert torch.allclose(ties_merge(base, [x1, x2], density=1.0), torch.tensor([2.0, -2.0]))  # unweighted
