import pytest
import torch

from weightspace.train.strategies import available_strategies, get_strategy

from ..fakes import QuadraticLearner


def test_registry_lists_both_strategies():
    assert available_strategies() == ["accumulate", "meta", "plain"]
    assert get_strategy("meta").batches_per_step == 2 and get_strategy("plain").batches_per_step == 1


def test_cross_batch_fomaml_step_by_hand():
    # θ=(1,2), S: c=(0,0), Q: c=(3,-1), α=0.1, δ=0.5
    # g_S = (1,2); θ' = (0.9,1.8); g_Q(θ') = (-2.1,2.8); update gradient = g_S + δ g_Q = (-0.05, 3.4)
    learner = QuadraticLearner([1.0, 2.0])
    meta = get_strategy("meta")(get_strategy("meta").check_params({"alpha": 0.1, "delta": 0.5}, "strategy"))
    support, query = {"c": torch.tensor([0.0, 0.0])}, {"c": torch.tensor([3.0, -1.0])}
    logs = meta.compute_gradients(learner, [support, query], lr=123.0)
    p = learner.parameters[0]
    assert torch.allclose(learner.seen_at[1], torch.tensor([0.9, 1.8]))  # query gradient at the fast weights
    assert torch.allclose(p.grad, torch.tensor([-0.05, 3.4]))
    assert torch.equal(p.detach(), torch.tensor([1.0, 2.0]))  # θ restored exactly
    assert logs["loss_support"] == pytest.approx(2.5) and logs["loss_query"] == pytest.approx(0.5 * (2.1**2 + 2.8**2))


def test_inner_step_defaults_to_the_current_learning_rate_and_holds_one_copy():
    learner = QuadraticLearner([1.0, 2.0])
    meta = get_strategy("meta")(get_strategy("meta").check_params({}, "strategy"))
    meta.compute_gradients(learner, [{"c": torch.zeros(2)}, {"c": torch.zeros(2)}], lr=0.5)
    assert torch.allclose(learner.seen_at[1], torch.tensor([0.5, 1.0]))  # θ − 0.5·g_S
    # δ = 1: g_S + g_Q = (1,2) + (0.5,1)
    assert torch.allclose(learner.parameters[0].grad, torch.tensor([1.5, 3.0]))
    assert meta.extra_parameter_bytes() == 2 * 4  # exactly one extra fp32 copy of θ


def test_meta_loader_batches_default_to_the_recipe_batch():
    meta = get_strategy("meta")
    assert meta(meta.check_params({}, "s")).loader_batch_size(16) == 16
    assert meta(meta.check_params({"task_batch_size": 4}, "s")).loader_batch_size(16) == 4
