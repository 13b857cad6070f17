import torch

from weightspace.train.regularisers import available_regularisers, get_regulariser

from ..fakes import QuadraticLearner


def test_registry():
    assert available_regularisers() == ["iwo", "rfd", "wmr"]


def test_interpolated_gradient_by_hand():
    learner = QuadraticLearner([0.0, 4.0])
    iwo = get_regulariser("iwo")(get_regulariser("iwo").check_params({}, "r"))
    iwo.setup(learner)  # anchor θ_init = (0, 4)
    with torch.no_grad():
        learner.parameters[0].copy_(torch.tensor([1.0, 2.0]))  # θ after some training
    torch.manual_seed(7)
    lam = 0.6 * torch.rand(()).item()  # λ ~ U(0, 0.6)
    torch.manual_seed(7)
    logs = iwo.extra_backward(learner, {"c": torch.tensor([1.0, 1.0])}, weight=1.0)
    mix = torch.tensor([1.0, 2.0]) + lam * (torch.tensor([0.0, 4.0]) - torch.tensor([1.0, 2.0]))
    assert logs["iwo_lambda"] == lam
    assert torch.allclose(learner.seen_at[0], mix)
    assert torch.allclose(learner.parameters[0].grad, 0.5 * (mix - torch.tensor([1.0, 1.0])))  # 0.5·∇CE(θ_mix)
    assert torch.equal(learner.parameters[0].detach(), torch.tensor([1.0, 2.0]))
