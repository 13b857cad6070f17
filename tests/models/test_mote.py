import math

import pytest
import torch

from weightspace.checkpoint import HEAD_NAME, WEIGHTS_NAME, key_tag, open_checkpoint, save_checkpoint
from weightspace.errors import CheckpointError, ConfigError
from weightspace.models import mote
from weightspace.models.mote import expert_probabilities, merge_weights, quick_gelu, tfm_gate
from weightspace.models.temporal import make_temporal
from weightspace.models.video_clip import VideoCLIP

MOTE = {"name": "mote", "layers": 2, "experts": 3}


def _mote(make_clip, tiny_cfg, seed=0, **options):
    torch.manual_seed(seed)
    return VideoCLIP(make_clip(seed), model_cfg=tiny_cfg, temporal={**MOTE, **options}, templates="single")


def _perturb(model, seed=1):
    """Experts start identical: make them differ, as after training."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.temporal_head.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)


def test_expert_probabilities_hand_computed():
    z = sum(math.exp(i) for i in range(1, 5))
    want = [math.exp(i) / z for i in range(1, 5)]  # ≈ 0.032, 0.087, 0.237, 0.644
    assert expert_probabilities(4).tolist() == pytest.approx(want, abs=1e-12)
    assert expert_probabilities(4)[0] == pytest.approx(0.0321, abs=1e-4)


def test_merge_weights_for_given_tau():
    z = sum(math.exp(i / 1.2) for i in range(1, 5))
    assert merge_weights(4, 1.2).tolist() == pytest.approx([math.exp(i / 1.2) / z for i in range(1, 5)], abs=1e-12)
    assert merge_weights(4, float("inf")).tolist() == [0.25] * 4  # τ = +inf: the uniform average
    assert merge_weights(4, -2.4).tolist() == pytest.approx(merge_weights(4, 2.4).flip(0).tolist(), abs=1e-12)


def test_tfm_gate_hand_computed():
    x = torch.tensor([[1.0, 0.0]])
    test = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])  # top-2 by similarity to x: rows 0, 1
    train = torch.tensor([[0.8, 0.6], [0.6, -0.8], [-1.0, 0.0]])  # top-2: rows 0, 1
    # best similarity of test 0 to {train 0, 1} = 0.8; of test 1 = 0.96: s = 0.88
    gamma = tfm_gate(x, test, train, top_k=2, scale=0.05)
    assert gamma.item() == pytest.approx(math.exp(-(1 - 0.88) / 0.05), rel=1e-5)
    assert tfm_gate(x, train, train, top_k=2).item() == pytest.approx(1.0)  # same vocabulary: s = 1, γ = 1


def test_experts_start_identical_unless_asked(make_clip, tiny_cfg):
    same = _mote(make_clip, tiny_cfg).temporal_head.blocks[0].mlp
    assert all(torch.equal(same.fc_up[0].weight, m.weight) for m in same.fc_up)
    other = _mote(make_clip, tiny_cfg, same_init=False).temporal_head.blocks[0].mlp
    assert not torch.equal(other.fc_up[0].weight, other.fc_up[1].weight)
    assert (other.fc_up[1].weight.std() - 0.02).abs() < 0.005 and not other.fc_up[1].bias.any()


def test_routes_one_expert_a_mix_and_the_uniform_merge(make_clip, tiny_cfg):
    model = _mote(make_clip, tiny_cfg)
    _perturb(model)
    experts = model.temporal_head.blocks[0].mlp
    x = torch.randn(2, 3, 32)

    def run(i):
        return experts.fc_dn[i](quick_gelu(experts.fc_up[i](x)))

    torch.testing.assert_close(experts(x, 1), run(1))
    torch.testing.assert_close(experts(x, [0.0, 1.0, 0.0]), run(1))  # a one-hot mix is that expert
    # the uniform merge averages weights, not outputs: fc_dn(g(fc_up_avg x)) with hand-averaged tensors
    up_w = sum(m.weight for m in experts.fc_up) / 3
    up_b = sum(m.bias for m in experts.fc_up) / 3
    dn_w = sum(m.weight for m in experts.fc_dn) / 3
    dn_b = sum(m.bias for m in experts.fc_dn) / 3
    want = quick_gelu(x @ up_w.T + up_b) @ dn_w.T + dn_b
    with torch.no_grad():
        torch.testing.assert_close(experts(x, None), want)
        assert not torch.allclose(want, (run(0) + run(1) + run(2)) / 3, atol=1e-6)


def test_evaluation_merge_runs_once_through_the_average_method(make_clip, tiny_cfg, video, monkeypatch):
    calls = []
    real = mote._uniform_merge
    monkeypatch.setattr(mote, "_uniform_merge", lambda ts: calls.append(1) or real(ts))
    model = _mote(make_clip, tiny_cfg).eval()
    with torch.no_grad():
        model.encode_frames(video)
        n = len(calls)
        model.encode_frames(video)
        assert n == 2 * 4 and len(calls) == n  # 2 blocks × 4 tensors, once
        _perturb(model)  # in-place change: merged again
        model.encode_frames(video)
    assert len(calls) == 2 * n


def test_training_routing_follows_the_softmax(make_clip, tiny_cfg):
    head = _mote(make_clip, tiny_cfg, experts=4).temporal_head.train()
    torch.manual_seed(0)
    counts = torch.zeros(4)
    for _ in range(2000):
        for i in head.sample_route():
            counts[i] += 1
    freq = counts / counts.sum()
    assert torch.allclose(freq, expert_probabilities(4).float(), atol=0.02)


def test_video_logits_are_those_of_the_normalised_mean_of_x_plus_head(make_clip, tiny_cfg, video):
    model = _mote(make_clip, tiny_cfg).eval()
    _perturb(model)
    classes = torch.nn.functional.normalize(torch.randn(5, 32), dim=-1)
    with torch.no_grad():
        x = model.clip_frames(video)
        y = x + model.temporal_head(x)
        v = torch.nn.functional.normalize(y.mean(1), dim=-1)
        want = model.model.logit_scale.exp() * v @ classes.T
        out = model(video, class_features=classes)
    torch.testing.assert_close(out["logits"], want)
    torch.testing.assert_close(out["video_features"], v)


def test_tfm_gates_the_head_output(make_clip, tiny_cfg, video):
    model = _mote(make_clip, tiny_cfg).eval()
    _perturb(model)
    classes = torch.nn.functional.normalize(torch.randn(6, 32), dim=-1)
    with torch.no_grad():
        plain = model(video, class_features=classes)["logits"]
        model.tfm = True
        with pytest.raises(ConfigError, match="no training-class features"):
            model.logits(model.encode_frames(video), classes)
        model.temporal_head.train_class_features = classes.clone()  # same vocabulary: γ = 1
        ff = model.encode_frames(video)
        assert ff.shape == (2, 4, 2, 32)
        torch.testing.assert_close(model.logits(ff, classes), plain)
        model.temporal_head.train_class_features = -classes  # far from the test vocabulary: γ ≈ 0
        x = model.clip_frames(video)
        gamma = model.temporal_head.gate(x, classes)
        assert (gamma < 1e-6).all()
        y = x + gamma[:, None, None] * model.temporal_head(x)
        want = model.model.logit_scale.exp() * torch.nn.functional.normalize(y.mean(1), dim=-1) @ classes.T
        torch.testing.assert_close(model.logits(model.encode_frames(video), classes), want)


def test_save_and_reload_gives_identical_logits_and_open_clip_loads_the_clip(make_clip, tiny_cfg, video, tmp_path):
    import open_clip

    model = _mote(make_clip, tiny_cfg).eval()
    _perturb(model)
    model.remember_training_classes(["a", "b", "c"])
    ckpt = model.save(tmp_path / "m")
    assert ckpt.head == tmp_path / "m" / HEAD_NAME
    assert all(key_tag(k) == "temporal" for k in open_checkpoint(ckpt.folder).source().keys() if k.startswith("temporal."))
    again = VideoCLIP.from_pretrained(ckpt.ref).eval()
    assert again.video_config() == model.video_config()
    assert torch.equal(again.temporal_head.train_class_features, model.temporal_head.train_class_features)
    classes = model.text_features(["a", "b", "c"])
    with torch.no_grad():
        assert torch.equal(again(video, class_features=classes)["logits"], model(video, class_features=classes)["logits"])
    oc = open_clip.create_model(f"local-dir:{ckpt.folder}")  # strict load of open_clip's own file
    assert all(torch.equal(v, model.clip_state_dict()[k]) for k, v in oc.state_dict().items())
    # the head changes the checkpoint's identity
    other = _mote(make_clip, tiny_cfg)
    other.load_clip_state(model.clip_state_dict())
    assert other.save(tmp_path / "o").sha256() != ckpt.sha256()


def test_head_loading_is_strict(make_clip, tiny_cfg, tmp_path):
    model = _mote(make_clip, tiny_cfg)
    state = model.checkpoint_state_dict()
    missing = {k: v for k, v in state.items() if k != "temporal.blocks.1.ln_2.bias"}
    bad = save_checkpoint(tmp_path / "missing", missing, model_cfg=tiny_cfg, meta={"video": model.video_config()})
    with pytest.raises(CheckpointError, match="missing temporal head key 'temporal.blocks.1.ln_2.bias'"):
        VideoCLIP.from_pretrained(bad.ref)
    extra = {**state, "temporal.blocks.9.gate": torch.zeros(2)}
    bad = save_checkpoint(tmp_path / "extra", extra, model_cfg=tiny_cfg, meta={"video": model.video_config()})
    with pytest.raises(CheckpointError, match="unknown temporal head key 'temporal.blocks.9.gate'"):
        VideoCLIP.from_pretrained(bad.ref)
    with pytest.raises(CheckpointError, match="temporal 'none' has no head"):
        VideoCLIP.from_pretrained(str(tmp_path / "extra"), temporal="none")
    # a checkpoint saved with the head must carry it
    clip_only = save_checkpoint(tmp_path / "clip", model.clip_state_dict(), model_cfg=tiny_cfg,
                                meta={"video": model.video_config()})
    with pytest.raises(CheckpointError, match="missing temporal head key"):
        VideoCLIP.from_pretrained(clip_only.ref)
    # a fresh head on a plain CLIP (the start of MoTE training) is fine
    plain = save_checkpoint(tmp_path / "plain", model.clip_state_dict(), model_cfg=tiny_cfg)
    assert VideoCLIP.from_pretrained(plain.ref, temporal=MOTE).has_head
    assert (tmp_path / "plain" / WEIGHTS_NAME).is_file() and not (tmp_path / "plain" / HEAD_NAME).exists()


def test_bad_options_and_frame_count_are_one_line_errors(make_clip, tiny_cfg, video):
    with pytest.raises(ConfigError, match="not divisible by heads=3"):
        _mote(make_clip, tiny_cfg, heads=3)
    with pytest.raises(ConfigError, match="key 'temporal.tfm_scale'"):
        make_temporal({"name": "mote", "tfm_scale": float("nan")})
    model = _mote(make_clip, tiny_cfg, positions=2)
    with pytest.raises(ConfigError, match="4 frames, but the head has 2 frame positions"):
        model.encode_frames(video)


def test_average_merge_of_two_mote_checkpoints_merges_the_head(make_clip, tiny_cfg, video, tmp_path):
    from weightspace.merge import merge

    a, b = _mote(make_clip, tiny_cfg, seed=1), _mote(make_clip, tiny_cfg, seed=2)
    _perturb(b, seed=3)
    merge("average", [str(a.save(tmp_path / "a").folder), str(b.save(tmp_path / "b").folder)], out=tmp_path / "ab")
    merged = VideoCLIP.from_pretrained(tmp_path / "ab")
    sa, sb, got = a.head_state_dict(), b.head_state_dict(), merged.head_state_dict()
    assert set(got) == set(sa)
    for k in sa:
        torch.testing.assert_close(got[k], (sa[k] + sb[k]) / 2)


def test_merged_mote_checkpoint_keeps_the_open_clip_file_and_its_identity(make_clip, tiny_cfg, tmp_path):
    import json

    import open_clip

    from weightspace.checkpoint import MANIFEST_NAME
    from weightspace.merge import merge

    ft = _mote(make_clip, tiny_cfg, seed=1)
    _perturb(ft, seed=3)
    clip = VideoCLIP(make_clip(0), model_cfg=tiny_cfg, templates="single").save(tmp_path / "clip")
    # MoTE's zero-shot patching: visual tower 0.99·θ_ft + 0.01·θ_CLIP, head kept from the fine-tuned model
    out = merge("wise-ft", [str(ft.save(tmp_path / "ft").folder)], base=str(clip.folder), out=tmp_path / "patched",
                params={"alpha": 0.99}, include=["visual"], missing_in_base="keep:1")
    assert (out / HEAD_NAME).is_file()
    oc = open_clip.create_model(f"local-dir:{out}")  # strict: no temporal.* key in open_clip's file
    assert set(oc.state_dict()) == set(ft.clip_state_dict())
    patched = VideoCLIP.from_pretrained(out)
    for k, v in ft.head_state_dict().items():
        assert torch.equal(patched.head_state_dict()[k], v)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert json.dumps(manifest).count(open_checkpoint(out).sha256()) >= 1  # the manifest names the output's identity


def test_mote_recipes_carry_the_published_settings():
    from pathlib import Path

    from weightspace.eval.suite import load_suite
    from weightspace.merge.recipe import load_recipe
    from weightspace.train.config import load_config

    recipes = Path(__file__).resolve().parents[2] / "weightspace" / "recipes"
    cfg = load_config(recipes / "mote" / "k400.yaml")
    assert (cfg.model.init, cfg.model.pretrained, cfg.data.num_frames, cfg.epochs) == ("ViT-B-16", "openai", 8, 30)
    assert cfg.model.temporal["name"] == "mote" and (cfg.model.temporal["layers"], cfg.model.temporal["experts"]) == (4, 4)
    assert cfg.optim.head_lr == pytest.approx(5e-5) and cfg.optim.lr == pytest.approx(5e-5 * 0.07)
    assert (cfg.optim.weight_decay, cfg.optim.warmup_epochs, cfg.batch_size) == (0.2, 5, 3 * 64)
    assert [(r.name, r.params["ce_weight"], r.params["mse_weight"]) for r in cfg.regularisers] == [("wmr", 0.5, 0.1)]
    assert load_config(recipes / "demo" / "mote.yaml").regularisers[0].name == "wmr"
    patch = load_recipe(recipes / "mote" / "zero_shot_patch.yaml")
    assert (patch["method"], patch["params"], patch["include"]) == ("wise-ft", {"alpha": 0.99}, ["visual"])
    suite = load_suite(recipes / "mote" / "zero_shot_suite.yaml").validate(check_files=False)
    assert [b.name for b in suite.benchmarks] == ["ucf101", "hmdb51", "k600"]
    assert suite.model.tfm and suite.model.aggregate == "softmax-mean" and suite.model.temporal_views == 3


def test_a_pushed_mote_checkpoint_carries_its_head_and_verifies(make_clip, tiny_cfg, tmp_path):
    from weightspace.hub.pull import verify
    from weightspace.hub.push import push

    model = _mote(make_clip, tiny_cfg)
    _perturb(model)
    ckpt = model.save(tmp_path / "m")
    staged = tmp_path / "staged"
    push(ckpt.folder, "org/mote", dry_run_dir=staged, license="mit")
    assert (staged / HEAD_NAME).read_bytes() == ckpt.head.read_bytes()
    assert verify(staged, label="org/mote") == ckpt.sha256()  # weights + head: the identity a pull checks
    pulled = VideoCLIP.from_pretrained(staged).head_state_dict()
    assert all(torch.equal(pulled[k], v) for k, v in model.head_state_dict().items())
