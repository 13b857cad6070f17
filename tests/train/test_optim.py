import math

import pytest
import torch

from weightspace.train.config import OptimConfig
from weightspace.train.optim import build_optimizer, lr_at


def test_schedule_warms_up_linearly_then_follows_a_half_cosine():
    cfg = OptimConfig(lr=1.0, final_lr=0.1, warmup_start_lr=0.0)
    total, warm = 12, 2
    assert lr_at(0, total, warm, cfg) == 0.0
    assert lr_at(1, total, warm, cfg) == pytest.approx(0.5)
    assert lr_at(2, total, warm, cfg) == pytest.approx(1.0)
    # halfway through the cosine part: 0.1 + 0.9 * 0.5 * (1 + cos(pi/2))
    assert lr_at(7, total, warm, cfg) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert lr_at(12, total, warm, cfg) == pytest.approx(0.1)


def test_defaults_follow_open_vclip_end_and_start_lr():
    cfg = OptimConfig(lr=3.33e-6)
    assert lr_at(0, 10, 2, cfg) == pytest.approx(3.33e-8)
    assert lr_at(10, 10, 2, cfg) == pytest.approx(3.33e-8)


def test_no_weight_decay_on_one_dimensional_parameters():
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    opt = build_optimizer(net.named_parameters(), OptimConfig(weight_decay=0.05))
    decays = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert decays[id(net[0].weight)] == 0.05
    assert decays[id(net[0].bias)] == 0.0 and decays[id(net[1].weight)] == 0.0


def test_a_temporal_head_gets_its_own_peak_learning_rate():
    from weightspace.train.optim import set_lr

    net = torch.nn.ModuleDict({"clip": torch.nn.Linear(2, 2), "temporal_head": torch.nn.Linear(2, 2)})
    opt = build_optimizer(net.named_parameters(), OptimConfig(lr=3.5e-6, head_lr=5e-5))  # MoTE: 5e-5 × 0.07
    set_lr(opt, 3.5e-6 / 2)  # half-way down the schedule: both halved
    lrs = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert lrs[id(net["clip"].weight)] == pytest.approx(1.75e-6) and lrs[id(net["clip"].bias)] == pytest.approx(1.75e-6)
    assert lrs[id(net["temporal_head"].weight)] == pytest.approx(2.5e-5)
