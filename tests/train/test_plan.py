import pytest

from weightspace.errors import ConfigError
from weightspace.train.config import load_config
from weightspace.train.plan import StepPlan

from .fakes import recipe


class _Strategy:
    def __init__(self, batches_per_step, factor=1):
        self.batches_per_step, self.factor = batches_per_step, factor

    def loader_batch_size(self, batch_size):
        return batch_size * self.factor


def test_steps_per_epoch_count_whole_optimiser_steps_over_all_processes(tmp_path):
    cfg = load_config(recipe("clip", tmp_path, epochs=3, batch_size=4))  # warmup_epochs 0.5
    plan = StepPlan.of(cfg, _Strategy(2), videos=50, world_size=2)
    # per process 25 videos, 2 batches of 2 per step: 6 steps; 4 videos per batch x 2 batches per step
    assert (plan.local_batch, plan.samples_per_step, plan.steps_per_epoch) == (2, 8, 6)
    assert (plan.total_steps, plan.warmup_steps) == (18, 3)


def test_a_batch_the_processes_cannot_share_or_too_few_videos_are_one_line(tmp_path):
    cfg = load_config(recipe("clip", tmp_path, batch_size=3))
    with pytest.raises(ConfigError, match="batch_size 3 is not divisible by the 2 processes"):
        StepPlan.of(cfg, _Strategy(1), videos=100, world_size=2)
    with pytest.raises(ConfigError, match=r"data: 5 videos are fewer than one optimiser step .*\(6 videos\)"):
        StepPlan.of(cfg, _Strategy(2), videos=5, world_size=1)
