import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.train.strategies import get_strategy

from ..fakes import QuadraticLearner


def _accumulate(**params):
    cls = get_strategy("accumulate")
    return cls(cls.check_params(params, "strategy"))


def test_gradient_is_the_mean_over_batches_at_unchanged_weights():
    # θ=(1,2), B1: c=(0,0), B2: c=(3,-1): ∇ = ½[(1,2) + (-2,3)] = (-0.5, 2.5), both at θ (no virtual step)
    learner = QuadraticLearner([1.0, 2.0])
    logs = _accumulate().compute_gradients(learner, [{"c": torch.tensor([0.0, 0.0])}, {"c": torch.tensor([3.0, -1.0])}], lr=0.1)
    assert torch.allclose(learner.parameters[0].grad, torch.tensor([-0.5, 2.5]))
    assert all(torch.equal(seen, torch.tensor([1.0, 2.0])) for seen in learner.seen_at)
    assert logs["loss"] == pytest.approx((2.5 + 6.5) / 2)


def test_batches_option_sets_samples_per_step():
    assert _accumulate().batches_per_step == 2
    assert _accumulate(batches=4).loader_batch_size(32) == 8  # meta with 2 tasks draws 4 sets of 8 from 32
    three = _accumulate(batches=3)
    assert three.batches_per_step == 3
    learner = QuadraticLearner([0.0])
    three.compute_gradients(learner, [{"c": torch.tensor([c])} for c in (3.0, 6.0, 9.0)], lr=0.1)
    assert torch.allclose(learner.parameters[0].grad, torch.tensor([-6.0]))


def test_bad_batches_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match="strategy.batches"):
        _accumulate(batches=0)
    with pytest.raises(ConfigError, match="batch_size 30 does not split into 4 batches"):
        _accumulate(batches=4).loader_batch_size(30)


def test_trainer_draws_batches_per_step(tiny_clip, tmp_path):
    import json

    from weightspace.train import train

    from ..fakes import TensorVideos, recipe

    cfg = recipe(tiny_clip, tmp_path / "acc", strategy={"name": "accumulate", "batches": 2})
    res = train(cfg, dataset=TensorVideos(n=24))
    steps = [json.loads(x) for x in res.metrics.read_text().splitlines() if '"step"' in x]
    steps = [m for m in steps if m["kind"] == "step"]
    assert len(steps) == 2 * 6  # 24 videos / (2 batches x 2 = batch_size 4) per step, 2 epochs
