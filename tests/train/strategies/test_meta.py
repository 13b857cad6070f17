import json
import math

import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.train import train
from weightspace.train.config import load_config
from weightspace.train.strategies import available_strategies, get_strategy

from ..fakes import QuadraticLearner, TensorVideos, recipe

META = get_strategy("meta")


def _meta(**params):
    return META(META.check_params(params, "strategy"))


def _batches(*centres):
    return [{"c": torch.tensor(c)} for c in centres]


def test_registry_lists_both_strategies():
    assert available_strategies() == ["accumulate", "meta", "plain"]
    assert _meta().batches_per_step == 8 and _meta(tasks=1).batches_per_step == 2
    assert get_strategy("plain").batches_per_step == 1


def test_cross_batch_fomaml_step_by_hand_with_sgd():
    # θ=(1,2), S: c=(0,0), Q: c=(3,-1), α=0.1, δ=0.5
    # g_S = (1,2); θ' = (0.9,1.8); g_Q(θ') = (-2.1,2.8); update gradient = g_S + δ g_Q = (-0.05, 3.4)
    learner = QuadraticLearner([1.0, 2.0])
    meta = _meta(tasks=1, inner="sgd", alpha=0.1, delta=0.5)
    logs = meta.compute_gradients(learner, _batches([0.0, 0.0], [3.0, -1.0]), lr=123.0)
    p = learner.parameters[0]
    assert torch.allclose(learner.seen_at[1], torch.tensor([0.9, 1.8]))  # query gradient at the fast weights
    assert torch.allclose(p.grad, torch.tensor([-0.05, 3.4]))
    assert torch.equal(p.detach(), torch.tensor([1.0, 2.0]))  # θ restored exactly
    assert logs["loss_support"] == pytest.approx(2.5) and logs["loss_query"] == pytest.approx(0.5 * (2.1**2 + 2.8**2))


def test_support_gradient_is_clipped_by_the_trainer_rule_before_the_virtual_step():
    # g_S = (3,4), ‖g_S‖ = 5, clip 1 -> (0.6, 0.8); SGD at lr 0.5 -> θ' = θ − (0.3, 0.4)
    learner = QuadraticLearner([3.0, 4.0])
    learner.grad_clip = 1.0
    _meta(tasks=1, inner="sgd").compute_gradients(learner, _batches([0.0, 0.0], [0.0, 0.0]), lr=0.5)
    assert torch.allclose(learner.seen_at[1], torch.tensor([2.7, 3.6]), atol=1e-5)


def _adamw_step_on_a_copy(opt, theta, grad):
    """What opt.step() would do to θ with gradient ``grad``, on cloned parameters and state."""
    q = torch.nn.Parameter(theta.clone())
    twin = torch.optim.AdamW([q], **{k: v for k, v in opt.defaults.items() if k in ("lr", "betas", "eps", "weight_decay")})
    src = opt.state[opt.param_groups[0]["params"][0]]
    if src:
        twin.state[q] = {k: v.clone() for k, v in src.items()}
    q.grad = grad.clone()
    twin.step()
    return q.detach()


def test_optimizer_virtual_step_is_adamw_from_its_current_state_which_it_leaves_alone():
    learner = QuadraticLearner([1.0, -2.0, 0.5])
    p = learner.parameters[0]
    opt = torch.optim.AdamW([p], lr=0.01, weight_decay=0.1)
    learner.optimizer = opt
    p.grad = torch.tensor([0.3, -1.0, 2.0])
    opt.step()  # a non-trivial state: step 1, moments non-zero
    state = {k: v.clone() for k, v in opt.state[p].items()}
    theta = p.detach().clone()
    meta = _meta(tasks=1)
    opt.zero_grad(set_to_none=True)
    meta.compute_gradients(learner, _batches([0.0, 1.0, 0.0], [1.0, 1.0, 1.0]), lr=0.01)
    expected = _adamw_step_on_a_copy(opt, theta, theta - torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(learner.seen_at[1], expected, atol=1e-7)  # query gradient at θ' = θ + AdamW step
    assert not torch.allclose(expected, theta)
    assert all(torch.equal(opt.state[p][k], state[k]) for k in state)  # optimiser state untouched
    assert torch.equal(p.detach(), theta)


def test_k_tasks_sum_eq9_with_one_fast_weight_set_each():
    # tasks=2, SGD α=0.5, δ=1, θ=(2,0): task k's query gradient at θ − 0.5·(θ − s_k)
    learner = QuadraticLearner([2.0, 0.0])
    meta = _meta(tasks=2, inner="sgd", alpha=0.5)
    s1, q1, s2, q2 = [0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 4.0]
    meta.compute_gradients(learner, _batches(s1, q1, s2, q2), lr=1.0)
    th1, th2 = torch.tensor([1.0, 0.0]), torch.tensor([2.0, 1.0])  # θ'_1, θ'_2
    assert torch.allclose(learner.seen_at[1], th1) and torch.allclose(learner.seen_at[3], th2)
    assert torch.equal(learner.seen_at[2], torch.tensor([2.0, 0.0]))  # task 2's support at θ, not θ'_1
    g = (torch.tensor([2.0, 0.0]) - torch.tensor(s1)) + (th1 - torch.tensor(q1)) \
        + (torch.tensor([2.0, 0.0]) - torch.tensor(s2)) + (th2 - torch.tensor(q2))
    assert torch.allclose(learner.parameters[0].grad, g)
    assert meta.extra_parameter_bytes() == 2 * 4  # one extra fp32 copy of θ, whatever K


def test_batch_splits_into_tasks_and_bad_splits_are_one_line():
    assert _meta().loader_batch_size(64) == 8  # the paper: 4 tasks x (8 support + 8 query)
    assert _meta(task_batch_size=4).loader_batch_size(16) == 4
    with pytest.raises(ConfigError, match="does not split into 4 tasks"):
        load_config({"strategy": {"name": "meta"}, "batch_size": 12})
    with pytest.raises(ConfigError, match="alpha"):
        _meta(alpha=0.1)


@pytest.mark.parametrize("inner", ["optimizer", "sgd"])
def test_virtual_step_size_relative_to_the_real_step_on_a_toy_model(tiny_clip, tmp_path, inner):
    cfg = recipe(tiny_clip, tmp_path / inner, epochs=1, batch_size=8,
                 strategy={"name": "meta", "tasks": 2, "inner": inner, "log_ratio_every": 1})
    res = train(cfg, dataset=TensorVideos(n=24))
    ratios = [m["virtual_real_ratio"] for m in map(json.loads, res.metrics.read_text().splitlines()) if m["kind"] == "step"]
    assert len(ratios) == 3 and all(math.isfinite(r) for r in ratios)
    if inner == "optimizer":
        assert all(1 / 3 <= r <= 3 for r in ratios), ratios
    else:  # plain SGD at the learning rate: orders of magnitude smaller than an AdamW step
        assert all(r < 0.05 for r in ratios), ratios
