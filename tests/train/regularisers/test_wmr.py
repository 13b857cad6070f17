import json
import math

import pytest
import torch

from weightspace.checkpoint import open_checkpoint
from weightspace.errors import ConfigError
from weightspace.models.mote import merge_weights
from weightspace.models.video_clip import VideoCLIP
from weightspace.train import train
from weightspace.train.learner import Learner, TrainModule
from weightspace.train.regularisers import get_regulariser

from ..fakes import CLASSNAMES, TensorVideos, recipe

MOTE = {"name": "mote", "layers": 2, "experts": 3}


def _wmr(**params):
    cls = get_regulariser("wmr")
    return cls(cls.check_params(params, "r"))


def _learner(tiny_clip, **params):
    video = VideoCLIP.from_pretrained(tiny_clip, temporal=MOTE, templates="single")
    wmr = _wmr(**params)
    module = TrainModule(video, {"wmr": wmr.head(video)})
    return Learner(module, module, CLASSNAMES, regularisers=[wmr]), wmr


def test_loss_on_a_two_class_toy_by_hand():
    out = {"wmr_logits": torch.tensor([[2.0, 0.0]]), "wmr_frames": torch.tensor([[[1.0, 2.0]]]),
           "clip_frames": torch.zeros(1, 1, 2)}
    terms = _wmr().loss(out, {"label": torch.tensor([0])}, None)
    assert terms["wmr_ce"].item() == pytest.approx(0.5 * math.log(1 + math.exp(-2.0)))
    assert terms["wmr_mse"].item() == pytest.approx(0.1 * (1 + 4) / 2)
    terms = _wmr(ce_weight=1.0, mse_weight=0.0).loss(out, {"label": torch.tensor([1])}, None)
    assert terms["wmr_ce"].item() == pytest.approx(math.log(1 + math.exp(2.0))) and terms["wmr_mse"].item() == 0


def test_merged_branch_uses_the_drawn_temperature_per_block(tiny_clip):
    learner, _ = _learner(tiny_clip, taus=[1.2], uniform=False)
    branch = learner.module.heads["wmr"]
    assert branch.sample_routes() == [merge_weights(3, 1.2).tolist()] * 2
    video = learner.video.train()
    batch = {"video": TensorVideos(n=2, frames=3).videos, "label": torch.tensor([0, 1])}
    torch.manual_seed(0)
    out = learner.forward(batch)
    head, x = video.temporal_head, out["clip_frames"]
    # by hand: each block's expert tensors mixed with w = softmax([1,2,3]/1.2)
    w = merge_weights(3, 1.2).tolist()
    h = x + head.frame_positions.weight[:3]
    for block in head.blocks:
        m = block.ln_1(h)
        h = h + block.attn(m, m, m, need_weights=False)[0]
        e = block.mlp
        up = sum(wi * l.weight for wi, l in zip(w, e.fc_up)), sum(wi * l.bias for wi, l in zip(w, e.fc_up))
        dn = sum(wi * l.weight for wi, l in zip(w, e.fc_dn)), sum(wi * l.bias for wi, l in zip(w, e.fc_dn))
        z = block.ln_2(h) @ up[0].T + up[1]
        h = h + (z * torch.sigmoid(1.702 * z)) @ dn[0].T + dn[1]
    torch.testing.assert_close(out["wmr_frames"], x + h)
    v = torch.nn.functional.normalize((x + h).mean(1), dim=-1)
    torch.testing.assert_close(out["wmr_logits"], out["logit_scale"] * v @ out["class_features"].T)
    # one backbone forward: the branch reuses the CLIP frames of the routed forward
    assert out["wmr_frames"].grad_fn is not None


def test_needs_a_head_with_experts(tiny_clip):
    video = VideoCLIP.from_pretrained(tiny_clip, temporal="vclip", templates="single")
    with pytest.raises(ConfigError, match="regulariser 'wmr'.*has no experts"):
        _wmr().head(video)
    with pytest.raises(ConfigError, match="taus"):
        get_regulariser("wmr").check_params({"taus": [0.0]}, "regularisers.0")


def _mote_recipe(tiny_clip, output, **changes):
    cfg = recipe(tiny_clip, output, regularisers=[{"name": "wmr"}], **changes)
    cfg["model"] = {**cfg["model"], "temporal": MOTE}
    cfg["optim"] = {**cfg["optim"], "head_lr": 1e-2}
    return cfg


class Kill(Exception):
    pass


def test_mote_run_resumes_bit_identically_and_saves_the_head(tiny_clip, tmp_path):
    whole = train(_mote_recipe(tiny_clip, tmp_path / "whole"), dataset=TensorVideos())
    killed = _mote_recipe(tiny_clip, tmp_path / "killed")

    def hook(info):
        if info.global_step == 5:
            raise Kill

    with pytest.raises(Kill):
        train(killed, dataset=TensorVideos(), hooks=[hook])
    res = train(killed, dataset=TensorVideos())
    assert res.resumed_from == (0, 4)
    for name in ("snapshots/epoch_001", "snapshots/epoch_002", "gwa"):
        a, b = open_checkpoint(whole.output / name).state_dict(), open_checkpoint(res.output / name).state_dict()
        assert set(a) == set(b) and any(k.startswith("temporal.blocks.") for k in a)
        assert all(torch.equal(a[k], b[k]) for k in a), name
    steps = [m for m in map(json.loads, whole.metrics.read_text().splitlines()) if m["kind"] == "step"]
    assert {"ce", "wmr_ce", "wmr_mse"} <= set(steps[0])
    snap = VideoCLIP.from_pretrained(whole.output / "snapshots/epoch_002")
    torch.testing.assert_close(snap.temporal_head.train_class_features, snap.text_features(CLASSNAMES))
    init = VideoCLIP.from_pretrained(tiny_clip, temporal=MOTE)
    experts = snap.temporal_head.blocks[0].mlp.fc_up
    assert not torch.equal(experts[0].weight, experts[1].weight)  # routing trained the experts apart
    assert not torch.equal(experts[0].weight, init.temporal_head.blocks[0].mlp.fc_up[0].weight)
