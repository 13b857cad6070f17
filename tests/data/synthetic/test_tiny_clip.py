import json

import numpy as np
import pytest
import torch

from weightspace.data.synthetic import tiny_clip
from weightspace.data.synthetic.render import VideoSpec
from weightspace.data.synthetic.scenes import SCENE_PHRASES
from weightspace.data.synthetic.tiny_clip import PretrainConfig, caption, ensure_tiny_clip, pretrain, save_tiny_clip, static_bias

TINY = PretrainConfig(steps=14, batch_size=16, pool_videos=8, frames_per_video=2, warmup=2, lr=3e-3)


@pytest.fixture(scope="module")
def trained():
    return pretrain(TINY, progress=False)


def test_captions_always_name_the_action():
    spec = VideoSpec("spinning clockwise", "bricks", "star", "red", "dusk")
    rng = np.random.default_rng(0)
    caps = [caption(spec, rng) for _ in range(200)]
    assert all("spinning clockwise" in c for c in caps)
    assert any("red star" in c for c in caps) and any(SCENE_PHRASES["bricks"] in c for c in caps)
    assert len(set(caps)) > 20


def test_frame_pool_is_deterministic():
    a_frames, a_caps = tiny_clip.frame_pool(TINY)
    b_frames, b_caps = tiny_clip.frame_pool(TINY)
    assert a_frames.shape == (16, 48, 48, 3) and len(a_caps) == 16 and len(a_caps[0]) == TINY.captions_per_frame
    assert a_frames.tobytes() == b_frames.tobytes() and a_caps == b_caps


def test_a_few_steps_lower_the_loss(trained):
    assert len(trained.losses) == TINY.steps
    assert np.mean(trained.losses[-3:]) < np.mean(trained.losses[:3])


def test_checkpoint_round_trip(trained, tmp_path):
    from weightspace.models.factory import load_clip

    folder = save_tiny_clip(tmp_path / "ckpt", trained, TINY, {"in_context_top1": 0.5})
    meta = json.loads((folder / "weightspace.json").read_text())
    assert meta["provenance"]["kind"] == "pretrain" and meta["provenance"]["steps"] == TINY.steps
    loaded = load_clip(str(folder))
    assert loaded.preprocess_cfg["size"] == 48
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        assert torch.allclose(loaded.model.encode_image(x), trained.model.encode_image(x), atol=1e-6)


def test_ensure_trains_once(tmp_path, monkeypatch):
    config = PretrainConfig(steps=2, batch_size=8, pool_videos=4, frames_per_video=2, warmup=1)
    first = ensure_tiny_clip(tmp_path, config=config, evaluate=False, progress=False)
    assert (first / "open_clip_model.safetensors").is_file()

    def fail(*a, **k):
        raise AssertionError("retrained a current checkpoint")

    monkeypatch.setattr(tiny_clip, "pretrain", fail)
    assert ensure_tiny_clip(tmp_path, config=config, evaluate=False, progress=False) == first


def test_static_bias_report(trained, tiny_worlds):
    report = static_bias(trained.model, tiny_worlds)
    assert report["classes"] == 4 and report["chance"] == 0.25
    assert all(0 <= report[k] <= 1 for k in ("in_context_top1", "ooc_neutral_top1", "ooc_swapped_top1"))
