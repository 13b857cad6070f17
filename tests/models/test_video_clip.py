import datetime
import json

import pytest
import torch
import torch.nn.functional as F

from weightspace.checkpoint import META_NAME, key_tag, make_meta, save_checkpoint
from weightspace.errors import CheckpointError, ConfigError
from weightspace.models.factory import load_clip
from weightspace.models.prompts import KINETICS_TEMPLATES
from weightspace.models.video_clip import VideoCLIP

CLASSES = ["move left", "spin", "grow"]


def test_none_single_frame_reproduces_open_clip_exactly(make_clip, tiny_cfg, video):
    clip = make_clip()
    model = VideoCLIP(clip, model_cfg=tiny_cfg, temporal="none")
    one = video[:, :1]
    with torch.no_grad():
        raw = clip.encode_image(video[:, 0])
        normed = clip.encode_image(video[:, 0], normalize=True)
        assert torch.equal(model.encode_frames(one, normalize=False)[:, 0], raw)
        assert torch.equal(model.encode_frames(one)[:, 0], normed)
        assert torch.equal(model.encode_video(one), normed)
        text = model.text_features(CLASSES)
        out = model(one, class_features=text)
        assert torch.equal(out["video_features"], normed)
        assert torch.equal(out["logits"], clip.logit_scale.exp() * normed @ text.t())


def test_no_extra_parameters_and_clip_keys(make_clip, tiny_cfg):
    clip = make_clip()
    clip_keys = set(clip.state_dict())
    n_clip = sum(p.numel() for p in clip.parameters())
    for temporal in ("none", "vclip"):
        model = VideoCLIP(clip, model_cfg=tiny_cfg, temporal=temporal)
        assert sum(p.numel() for p in model.parameters()) == n_clip
        assert set(model.clip_state_dict()) == clip_keys
        assert {k.removeprefix("model.") for k in model.state_dict()} == clip_keys


def test_forward_shapes_and_logit_definition(make_clip, tiny_cfg, video):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, temporal="vclip")
    with torch.no_grad():
        out = model(video, classnames=CLASSES)
    B, T = video.shape[:2]
    assert out["logits"].shape == (B, len(CLASSES))
    assert out["video_features"].shape == (B, 32) and out["frame_features"].shape == (B, T, 32)
    assert out["class_features"].shape == (len(CLASSES), 32)
    for k in ("video_features", "frame_features", "class_features"):
        assert torch.allclose(out[k].norm(dim=-1), torch.ones(()), atol=1e-5)
    # Open-VCLIP: mean over frames of per-frame logits
    per_frame = out["logit_scale"] * out["frame_features"] @ out["class_features"].t()
    assert torch.allclose(out["logits"], per_frame.mean(1), atol=1e-5)
    assert torch.allclose(out["video_features"], F.normalize(out["frame_features"].mean(1), dim=-1))
    with pytest.raises(ValueError, match=r"\[B,T,3,H,W\]"):
        model(video[0], classnames=CLASSES)
    with pytest.raises(ValueError, match="class_features or classnames"):
        model(video)


def test_text_features_template_average_by_hand(make_clip, tiny_cfg):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg)
    templates = ["a photo of {}.", "someone doing {}"]
    with torch.no_grad():
        got = model.text_features(CLASSES, templates)
        for i, c in enumerate(CLASSES):
            per = [F.normalize(model.model.encode_text(model.tokenizer([t.format(c)])), dim=-1)[0] for t in templates]
            want = F.normalize((per[0] + per[1]) / 2, dim=0)
            assert torch.allclose(got[i], want, atol=1e-5)
    assert model.templates == KINETICS_TEMPLATES  # default set


def test_text_cache_hits_and_invalidation(make_clip, tiny_cfg, monkeypatch):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, templates="single")
    calls = []
    real = model.model.encode_text
    monkeypatch.setattr(model.model, "encode_text", lambda *a, **k: calls.append(1) or real(*a, **k))
    a = model.text_features(CLASSES)
    b = model.text_features(list(CLASSES))
    assert b is a and len(calls) == 1
    model.text_features(CLASSES, "kinetics")  # other templates: other entry
    assert len(calls) == 2
    model.load_clip_state(make_clip(seed=5).state_dict())  # new weights: cache dropped, features change
    c = model.text_features(CLASSES)
    assert len(calls) == 3 and not torch.allclose(a, c, atol=1e-3)


def test_frozen_text_gets_no_grad_visual_and_scale_do(make_clip, tiny_cfg, video):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, temporal="vclip").train()
    text = [n for n, p in model.model.named_parameters() if key_tag(n) == "text"]
    assert text and not any(p.requires_grad for n, p in model.model.named_parameters() if n in text)
    assert not model.text_features(CLASSES).requires_grad
    out = model(video, classnames=CLASSES)
    F.cross_entropy(out["logits"], torch.tensor([0, 2])).backward()
    for name, p in model.model.named_parameters():
        if key_tag(name) == "text":
            assert p.grad is None, name
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_trainable_text_recomputes_with_grad(make_clip, tiny_cfg, video):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, freeze_text=False, train_logit_scale=False, templates="single")
    assert model.text_trainable and not model.model.logit_scale.requires_grad
    out = model(video, classnames=CLASSES)
    assert out["class_features"].requires_grad
    out["logits"].sum().backward()
    assert model.model.token_embedding.weight.grad is not None
    assert model.model.text_projection.grad is not None
    assert model.model.logit_scale.grad is None
    model.set_text_trainable(False)
    assert not model.text_trainable


def _ddp_step_ok(model, video, steps=2):
    from torch.nn.parallel import DistributedDataParallel as DDP

    ddp = DDP(model)
    opt = torch.optim.SGD([p for p in ddp.parameters() if p.requires_grad], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        ddp(video, classnames=CLASSES)["logits"].sum().backward()  # raises if a trainable param got no grad
        opt.step()


def test_one_forward_is_ddp_safe(make_clip, tiny_cfg, video, tmp_path):
    import torch.distributed as dist

    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1,
        timeout=datetime.timedelta(seconds=30),
    )
    try:
        _ddp_step_ok(VideoCLIP(make_clip(), model_cfg=tiny_cfg, temporal="vclip", templates="single"), video)
        _ddp_step_ok(VideoCLIP(make_clip(), model_cfg=tiny_cfg, freeze_text=False, templates="single"), video)
    finally:
        dist.destroy_process_group()


def test_checkpoint_round_trip(make_clip, tiny_cfg, video, tmp_path):
    model = VideoCLIP(make_clip(seed=3), model_cfg=tiny_cfg, temporal="vclip", templates="single", num_frames=4)
    assert model.video_config() == {"temporal": "vclip", "templates": "single", "num_frames": 4}
    ckpt = save_checkpoint(
        tmp_path / "ck", model.clip_state_dict(), model_cfg=model.model_cfg,
        preprocess_cfg=model.preprocess_cfg, meta=make_meta(video=model.video_config()),
    )
    again = VideoCLIP.from_pretrained(ckpt.ref)
    assert again.temporal == "vclip" and again.templates == model.templates and again.num_frames == 4
    assert again.source is not None and again.source.ref == ckpt.ref
    assert again.preprocess_cfg["size"] == 32
    with torch.no_grad():
        a, b = model(video, classnames=CLASSES), again(video, classnames=CLASSES)
    assert torch.equal(a["logits"], b["logits"])
    # the folder is a plain open_clip CLIP too
    plain = load_clip(f"local-dir:{ckpt.folder}").model
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in model.clip_state_dict().items())
    # overrides win over weightspace.json; save() writes the same layout
    assert VideoCLIP.from_pretrained(ckpt.ref, temporal="none").temporal == "none"
    saved = again.save(tmp_path / "ck2", provenance={"recipe": "test"})
    meta = json.loads((saved.folder / META_NAME).read_text())
    assert meta["video"]["temporal"] == "vclip" and meta["provenance"] == {"recipe": "test"}
    with pytest.raises(CheckpointError, match="already exists"):
        again.save(tmp_path / "ck2")


def test_from_pretrained_bare_file_needs_matching_architecture(make_clip, tiny_cfg, tmp_path):
    from weightspace.checkpoint import save_safetensors

    tiny = VideoCLIP.from_pretrained("ws-tiny-clip", temporal="none")  # built-in architecture, random init
    save_safetensors(tmp_path / "w.safetensors", tiny.clip_state_dict())
    again = VideoCLIP.from_pretrained(tmp_path / "w.safetensors", model_name="ws-tiny-clip", temporal="none")
    assert all(torch.equal(v, again.clip_state_dict()[k]) for k, v in tiny.clip_state_dict().items())
    save_safetensors(tmp_path / "other.safetensors", make_clip().state_dict())
    with pytest.raises(CheckpointError, match="other.safetensors: missing"):
        VideoCLIP.from_pretrained(tmp_path / "other.safetensors", model_name="ws-tiny-clip")


def test_bad_video_section_names_the_file(make_clip, tiny_cfg, tmp_path):
    bad = save_checkpoint(tmp_path / "bad", make_clip().state_dict(), model_cfg=tiny_cfg,
                          meta=make_meta(video={"temporal": "timesformer"}))
    with pytest.raises(ConfigError, match=r"weightspace.json: key 'video.temporal': temporal 'timesformer'"):
        VideoCLIP.from_pretrained(bad.ref)
    bad = save_checkpoint(tmp_path / "bad2", make_clip().state_dict(), model_cfg=tiny_cfg,
                          meta=make_meta(video={"num_frames": 0}))
    with pytest.raises(ConfigError, match="video.num_frames"):
        VideoCLIP.from_pretrained(bad.ref)


def test_from_pretrained_registered_name_defaults(tmp_path):
    model = VideoCLIP.from_pretrained("ws-tiny-clip")  # random init of the built-in architecture, no file
    assert model.temporal == "vclip" and model.preprocess_cfg["size"] == 48
    assert model.tokenizer.context_length == 32
    with torch.no_grad():
        out = model(torch.randn(1, 2, 3, 48, 48), classnames=["spin"])
    assert out["logits"].shape == (1, 1)


def test_load_clip_state_from_reference(make_clip, tiny_cfg, video, tmp_path):
    src = VideoCLIP(make_clip(seed=7), model_cfg=tiny_cfg, temporal="none")
    ckpt = src.save(tmp_path / "src")
    dst = VideoCLIP(make_clip(seed=8), model_cfg=tiny_cfg, temporal="none")
    with torch.no_grad():
        before = dst.encode_video(video)
        dst.load_clip_state(str(ckpt.folder))
        assert torch.equal(dst.encode_video(video), src.encode_video(video))
        assert not torch.allclose(before, src.encode_video(video), atol=1e-3)
        # prefixed keys (DDP/SlowFast wrappers) are accepted
        dst.load_clip_state({"module.model." + k: v for k, v in make_clip(seed=9).state_dict().items()})
    assert not dst.model.token_embedding.weight.requires_grad  # freezing survives a reload
    with pytest.raises(CheckpointError, match="missing"):
        dst.load_clip_state({"logit_scale": torch.tensor(1.0)})


def test_text_cache_survives_autocast(make_clip, tiny_cfg, video):
    # features first computed under bf16 autocast (as the trainer does) must serve a later fp32 call
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, templates="single")
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            amp = model(video, classnames=CLASSES)
        plain = model(video, classnames=CLASSES)
    assert amp["class_features"].dtype == torch.float32 and plain["logits"].dtype == torch.float32
    assert torch.allclose(amp["logits"].float(), plain["logits"], atol=0.5)


def test_vclip_gradient_checkpointing_same_values_and_grads(make_clip, tiny_cfg, video):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, temporal="vclip", templates="single")
    grads = []
    for ckpt in (False, True):
        model.model.visual.set_grad_checkpointing(ckpt)
        model.zero_grad()
        out = model(video, classnames=CLASSES)["logits"]
        out.sum().backward()
        grads.append((out.detach(), model.model.visual.transformer.resblocks[0].attn.in_proj_weight.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-6)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-6)


def test_text_cache_follows_in_place_weight_changes(make_clip, tiny_cfg):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, templates="single")
    a = model.text_features(CLASSES)
    with torch.no_grad():
        model.model.ln_final.bias.add_(0.5)  # e.g. load_state_dict or an interpolation step
    b = model.text_features(CLASSES)
    assert b is not a and not torch.allclose(a, b, atol=1e-3)
    assert model.text_features(CLASSES) is b


def test_text_cache_filled_in_inference_mode_serves_training(make_clip, tiny_cfg, video):
    model = VideoCLIP(make_clip(), model_cfg=tiny_cfg, templates="single")
    with torch.inference_mode():
        model(video, classnames=CLASSES)  # evaluation fills the cache
    out = model(video, classnames=CLASSES)  # then a training step uses it
    out["logits"].sum().backward()
    assert model.model.visual.proj.grad is not None
