import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.eval.ensemble import aggregate_views, mix_logits


def test_mix_logits_hand_computed():
    z_video = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    z_clip = torch.tensor([[[0.0, 1.0], [4.0, 0.0]]])
    mixed = mix_logits(z_video, z_clip, 0.25)  # 0.25*z_clip + 0.75*z_video
    assert torch.allclose(mixed, torch.tensor([[[0.75, 0.25], [1.0, 1.5]]]))
    assert mix_logits(z_video, None, None) is z_video
    assert torch.equal(mix_logits(z_video, z_clip, 1.0), z_clip)


def test_mix_logits_checks():
    z = torch.zeros(1, 2, 3)
    with pytest.raises(ConfigError, match="rho"):
        mix_logits(z, z, 1.5)
    with pytest.raises(ConfigError, match="frozen-CLIP logits"):
        mix_logits(z, torch.zeros(1, 1, 3), 0.5)


def test_views_summed_not_voted():
    # view 0 mildly prefers class 1, view 1 strongly prefers class 0: the sum picks class 0
    z = torch.tensor([[[0.0, 1.0], [3.0, 0.0]]])
    assert torch.equal(aggregate_views(z, "sum"), torch.tensor([[3.0, 1.0]]))


def test_softmax_mean_hand_computed():
    z = torch.tensor([[[0.0, 0.0], [0.0, 2.0 * torch.log(torch.tensor(3.0)).item()]]])
    # view 0: [0.5, 0.5]; view 1: [1/10, 9/10] -> mean [0.3, 0.7]
    assert torch.allclose(aggregate_views(z, "softmax-mean"), torch.tensor([[0.3, 0.7]]))
    with pytest.raises(ConfigError, match="aggregation"):
        aggregate_views(z, "max")
