import json

import pytest
import torch

from weightspace.checkpoint import open_checkpoint
from weightspace.errors import ConfigError
from weightspace.merge import merge
from weightspace.train import train

from .fakes import TensorVideos, recipe


class Kill(Exception):
    pass


def _kill_after(step):
    def hook(info):
        if info.global_step == step:
            raise Kill
    return hook


def _weights(path):
    return open_checkpoint(path).state_dict()


def test_plain_run_writes_snapshots_metrics_plot_and_gwa(tiny_clip, tmp_path):
    res = train(recipe(tiny_clip, tmp_path / "run"), dataset=TensorVideos())
    assert [p.name for p in res.snapshots] == ["epoch_001", "epoch_002"]
    snap = open_checkpoint(res.snapshots[1])
    prov = snap.meta["provenance"]
    assert prov["kind"] == "train" and prov["epoch"] == 2 and prov["strategy"] == "plain"
    assert prov["recipe"]["optim"]["lr"] == 1e-3 and prov["dataset"]["size"] == 24
    assert snap.meta["base_model"]["sha256"] == open_checkpoint(tiny_clip).sha256()
    assert snap.meta["video"]["temporal"] == "vclip"
    assert set(snap.state_dict()) == set(_weights(tiny_clip))  # CLIP keys only, mergeable with the base
    lines = [json.loads(x) for x in res.metrics.read_text().splitlines()]
    steps = [m for m in lines if m["kind"] == "step"]
    assert len(steps) == 12 and [m["epoch"] for m in lines if m["kind"] == "epoch"] == [1, 2]
    assert {"loss", "lr", "samples_per_s", "grad_norm"} <= set(steps[0])
    assert steps[0]["lr"] < steps[2]["lr"]  # warm-up
    assert lines[-1]["loss"] < steps[0]["loss"]  # it learns
    assert res.loss_curve.read_bytes()[:4] == b"\x89PNG"
    assert res.gwa is not None and open_checkpoint(res.gwa).meta["provenance"]["kind"] == "train-gwa"
    # text tower frozen: unchanged; visual tower trained
    init, last = _weights(tiny_clip), snap.state_dict()
    assert torch.equal(init["token_embedding.weight"], last["token_embedding.weight"])
    assert not torch.equal(init["visual.conv1.weight"], last["visual.conv1.weight"])


@pytest.mark.parametrize("include_base, first", [(False, 1), (True, 1), (False, 2)])
def test_online_gwa_equals_the_offline_merge_of_the_snapshots(tiny_clip, tmp_path, include_base, first):
    cfg = recipe(tiny_clip, tmp_path / "run", epochs=3,
                 gwa={"mu": 1.5, "sigma": 1.0, "include_base": include_base, "first_epoch": first})
    res = train(cfg, dataset=TensorVideos(n=12))
    offline = merge("gwa", [str(p) for p in res.snapshots[first - 1:]], base=str(tiny_clip) if include_base else None,
                    out=tmp_path / "offline", params={"mu": 1.5, "sigma": 1.0, "include_base": include_base})
    online, ref = _weights(res.gwa), _weights(offline)
    assert set(online) == set(ref)
    for k in ref:
        torch.testing.assert_close(online[k], ref[k], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(online["visual.conv1.weight"], _weights(res.snapshots[-1])["visual.conv1.weight"])


def test_killed_twice_then_resumed_matches_an_uninterrupted_run(tiny_clip, tmp_path):
    # meta + IWO: exercises the optimiser state, the schedule, the torch RNG (λ) and the data position.
    # 24 videos, batch 4, meta: 3 steps per epoch; states at step 2 of each epoch and at epoch ends.
    cfg = recipe(tiny_clip, tmp_path / "x", strategy={"name": "meta", "tasks": 2, "task_batch_size": 2}, regularisers=[{"name": "iwo"}], epochs=2,
                 state_every=2)
    whole = train({**cfg, "output": str(tmp_path / "whole")}, dataset=TensorVideos())
    killed = {**cfg, "output": str(tmp_path / "killed")}
    with pytest.raises(Kill):  # dies after step 1 of epoch 2: the last state is the end of epoch 1
        train(killed, dataset=TensorVideos(), hooks=[_kill_after(4)])
    assert not (tmp_path / "killed" / "gwa").exists() and (tmp_path / "killed" / "snapshots" / "epoch_001").is_dir()
    with pytest.raises(Kill):  # resumes at the epoch boundary, dies after step 3 of epoch 2 (state at step 2)
        train(killed, dataset=TensorVideos(), hooks=[_kill_after(6)])
    res = train(killed, dataset=TensorVideos())
    assert res.resumed_from == (1, 2)
    for name in ("snapshots/epoch_001", "snapshots/epoch_002", "gwa"):
        a, b = _weights(whole.output / name), _weights(res.output / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
    metrics = [json.loads(x) for x in res.metrics.read_text().splitlines()]
    assert [m["step"] for m in metrics if m["kind"] == "step"] == list(range(1, 7))  # no duplicated lines
    losses = [m["loss"] for m in metrics]
    assert losses == [json.loads(x)["loss"] for x in whole.metrics.read_text().splitlines()]
    # finished: another call trains nothing
    again = train(killed, dataset=TensorVideos(), hooks=[_kill_after(1)])
    assert again.final_loss is None and again.resumed_from == (2, 0)


def test_resume_refuses_a_changed_recipe_and_overwrite_starts_over(tiny_clip, tmp_path):
    cfg = recipe(tiny_clip, tmp_path / "run", epochs=1)
    train(cfg, dataset=TensorVideos(n=8))
    with pytest.raises(ConfigError, match="'optim.lr' differs"):
        train(cfg, {"optim.lr": 0.5}, dataset=TensorVideos(n=8))
    res = train(cfg, {"optim.lr": 0.5}, dataset=TensorVideos(n=8), overwrite=True)
    assert res.resumed_from is None and len(res.snapshots) == 1


def test_killed_before_the_first_state_starts_over(tiny_clip, tmp_path):
    cfg = recipe(tiny_clip, tmp_path / "run", epochs=1, state_every=0)
    with pytest.raises(Kill):
        train(cfg, dataset=TensorVideos(n=8), hooks=[_kill_after(1)])
    assert (tmp_path / "run" / "metrics.jsonl").is_file() and not (tmp_path / "run" / "state").exists()
    res = train(cfg, dataset=TensorVideos(n=8))
    lines = [json.loads(x) for x in res.metrics.read_text().splitlines()]
    assert res.resumed_from is None
    assert [m["step"] for m in lines] == [1, 2, 2]  # 2 steps + the epoch record: the stale line is gone


def test_too_small_a_dataset_is_one_line(tiny_clip, tmp_path):
    with pytest.raises(ConfigError, match="fewer than one optimiser step"):
        train(recipe(tiny_clip, tmp_path / "r", strategy={"name": "meta", "tasks": 1}, batch_size=8), dataset=TensorVideos(n=6))
    assert not (tmp_path / "r" / "snapshots").exists()


def test_bf16_autocast_trains_on_cpu_and_fp16_needs_cuda(tiny_clip, tmp_path):
    res = train(recipe(tiny_clip, tmp_path / "bf16", epochs=1, amp="bf16"), dataset=TensorVideos(n=8))
    assert res.final_loss is not None and res.final_loss == res.final_loss  # finite, not NaN
    assert open_checkpoint(res.snapshots[0]).state_dict()["visual.conv1.weight"].dtype == torch.float32
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="fp16.*CUDA"):
            train(recipe(tiny_clip, tmp_path / "fp16", epochs=1, amp="fp16"), dataset=TensorVideos(n=8))


def test_a_data_set_of_unreadable_videos_is_refused_before_training(tiny_clip, tmp_path):
    from weightspace.data import VideoDataset
    from weightspace.errors import WeightspaceError

    for i in range(4):
        (tmp_path / f"v{i}.mp4").write_bytes(b"not a video" * 10)
    (tmp_path / "list.txt").write_text("".join(f"v{i}.mp4 {i % 2}\n" for i in range(4)))
    (tmp_path / "cls.csv").write_text("id,name\n0,a\n1,b\n")
    ds = VideoDataset(tmp_path / "list.txt", tmp_path / "cls.csv", num_frames=2, image_size=16)
    with pytest.raises(WeightspaceError, match=r"4 of 4 videos cannot be read .*v0\.mp4.* and 1 more"):
        train(recipe(tiny_clip, tmp_path / "run", epochs=1), dataset=ds)
    assert not (tmp_path / "run" / "snapshots").exists()


def test_resolve_init_generates_the_tiny_clip_and_passes_other_references(monkeypatch, tmp_path):
    from weightspace.data.synthetic import tiny_clip as tiny_clip_mod
    from weightspace.train.trainer import resolve_init

    monkeypatch.setattr(tiny_clip_mod, "ensure_tiny_clip", lambda: tmp_path / "tiny")
    assert resolve_init("builtin:tiny-clip") == str(tmp_path / "tiny")
    for init in ("hf-hub:org/name@v1", "ViT-B-16", "local-dir:/ckpt", "runs/x/gwa"):
        assert resolve_init(init) == init
    with pytest.raises(ConfigError, match=r"^model\.init 'builtin:source_a': unknown built-in model \(available: builtin:tiny-clip\)"):
        resolve_init("builtin:source_a")
    with pytest.raises(ConfigError, match=r"^model\.init: 'hf-hub:org': hub id 'org': expected ORG/NAME"):
        resolve_init("hf-hub:org")


@pytest.mark.parametrize("terminal", ["0", "1"])
def test_training_progress_reaches_a_log_file_once_per_line_terminal_or_not(tiny_clip, tmp_path, monkeypatch, terminal):
    import logging

    from weightspace import progress

    monkeypatch.setenv("TTY_COMPATIBLE", terminal)  # rich: stderr is (not) a terminal
    monkeypatch.setattr(progress, "LOG_EVERY", 0)
    handler = logging.FileHandler(tmp_path / "run.log", encoding="utf-8")
    root = logging.getLogger("weightspace")
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        res = train(recipe(tiny_clip, tmp_path / "run", epochs=1), dataset=TensorVideos(n=8), progress=True)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
    lines = [line for line in (tmp_path / "run.log").read_text().splitlines() if line.startswith(f"train {res.output}: ")]
    # 8 videos, batch 4: the start and 2 steps, each line once
    assert [line.split(": ")[1].split(",")[0] for line in lines] == ["0/2 (0%)", "1/2 (50%)", "2/2 (100%)"]
