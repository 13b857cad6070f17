import math

import pytest
import torch

from weightspace.errors import WeightspaceError
from weightspace.train.gwa import OnlineGWA


def test_running_average_equals_the_normalised_gaussian_sum_by_hand():
    epochs, mu, sigma = [1, 2, 3], 2.5, 1.0
    w = [math.exp(-((e - mu) ** 2) / (2 * sigma**2)) for e in epochs]  # Open-MeDe Eq. 11-12
    alpha = [x / sum(w) for x in w]
    thetas = [torch.tensor([1.0, -2.0]), torch.tensor([4.0, 0.0]), torch.tensor([0.0, 8.0])]
    gwa = OnlineGWA(epochs, mu, sigma)
    for e, t in zip(epochs, thetas):
        gwa.add(e, {"w": t, "step": torch.tensor(e)})
    expected = sum(a * t for a, t in zip(alpha, thetas))
    assert torch.allclose(gwa.result()["w"], expected, atol=1e-6)
    assert gwa.result()["step"] == 3  # non-float tensors: the latest
    assert gwa.seen == epochs


def test_partial_average_uses_only_the_weights_so_far():
    gwa = OnlineGWA([1, 2, 3], 1.0, 1.0)
    gwa.add(1, {"w": torch.tensor([2.0])})
    gwa.add(2, {"w": torch.tensor([4.0])})
    w1, w2 = 1.0, math.exp(-0.5)
    assert gwa.result()["w"].item() == pytest.approx((2 * w1 + 4 * w2) / (w1 + w2), rel=1e-6)


def test_state_round_trip_and_misuse():
    gwa = OnlineGWA([0, 1, 2], 15.0, 10.0)
    gwa.add(0, {"w": torch.ones(3)})
    tensors, doc = gwa.state()
    again = OnlineGWA([0, 1, 2], 15.0, 10.0)
    again.load(tensors, doc)
    for g in (gwa, again):
        g.add(1, {"w": torch.zeros(3)})
    assert torch.equal(gwa.result()["w"], again.result()["w"])
    with pytest.raises(WeightspaceError, match="added twice"):
        gwa.add(1, {"w": torch.zeros(3)})
    with pytest.raises(WeightspaceError, match="not among"):
        gwa.add(7, {"w": torch.zeros(3)})
    with pytest.raises(WeightspaceError, match="different GWA settings"):
        OnlineGWA([0, 1, 2], 14.0, 10.0).load(tensors, doc)
