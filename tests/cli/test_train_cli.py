"""``weightspace train``: dry run, one-line errors, and one small end-to-end run on real mp4 files."""

import json

import numpy as np
import pytest
import torch

from weightspace.cli.main import main

RECIPE = """\
model: {init: ws-tiny-clip, temporal: vclip, templates: single}   # random init: speed, not accuracy
data: {train: lists/train.txt, classnames: lists/classnames.json, root: videos, num_frames: 2}
optim: {lr: 1e-3, warmup_epochs: 0}
strategy: {name: meta, tasks: 1, task_batch_size: 2}
epochs: 2
batch_size: 2
state_every: 1
gwa: {mu: 1, sigma: 1}
"""


@pytest.fixture
def recipe(tmp_path):
    """4 tiny H.264 videos of 2 classes (a red or a blue square), a list file and class names."""
    from weightspace.data.encode import write_video

    (tmp_path / "videos").mkdir()
    (tmp_path / "lists").mkdir()
    lines = []
    for i in range(4):
        frames = np.zeros((4, 48, 48, 3), np.uint8)
        frames[:, 8:24, 8 + 4 * i:24 + 4 * i, i % 2 * 2] = 255
        write_video(tmp_path / "videos" / f"v{i}.mp4", frames)
        lines.append(f"v{i}.mp4 {i % 2}")
    (tmp_path / "lists" / "train.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "lists" / "classnames.json").write_text(json.dumps({"0": "red square", "1": "blue square"}))
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE + f"output: {tmp_path / 'run'}\n")
    return path


def test_dry_run_prints_the_resolved_recipe_and_writes_nothing(recipe, capsys):
    assert main(["train", str(recipe), "--dry-run", "--set", "strategy.delta=0.5"]) == 0
    out = capsys.readouterr().out
    assert "recipe is valid" in out and "delta: 0.5" in out
    assert str(recipe.parent / "lists" / "train.txt") in out  # relative to the recipe file
    assert not (recipe.parent / "run").exists()


@pytest.mark.parametrize("args, where", [
    (["--set", "optim.lrr=1"], "unknown key 'optim.lrr'"),
    (["--set", "data.nope.x=1"], "recipe.yaml: unknown key 'data.nope' (known: train, classnames,"),
    (["--set", "optim.lr=.nan"], "recipe.yaml: key 'optim.lr': Input should be a finite number, got nan"),
    (["--set", "strategy.name=sgd"], "key 'strategy.name': unknown training strategy 'sgd'"),
    (["--set", "nokey"], "--set 'nokey': expected KEY=VALUE"),
])
def test_bad_input_is_one_line(recipe, capsys, args, where):
    assert main(["train", str(recipe), "--dry-run", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and where in err and "\n" not in err


def test_missing_data_is_one_line_and_leaves_no_output(recipe, capsys):
    assert main(["train", str(recipe), "--quiet", "--set", "data.train=lists/missing.txt"]) == 1
    err = capsys.readouterr().err.strip()
    assert "missing.txt" in err and "\n" not in err
    assert not (recipe.parent / "run" / "snapshots").exists()


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model on a shared CPU: no OpenMP synchronisation
    yield
    torch.set_num_threads(before)


def test_trains_on_real_videos_and_a_rerun_is_a_no_op(recipe, capsys, one_thread):
    assert main(["train", str(recipe), "--quiet"]) == 0
    run = recipe.parent / "run"
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == ["epoch_001", "epoch_002"]
    assert (run / "gwa" / "open_clip_model.safetensors").is_file() and (run / "loss_curve.png").is_file()
    meta = json.loads((run / "snapshots" / "epoch_002" / "weightspace.json").read_text())
    assert meta["provenance"]["dataset"]["size"] == 4 and meta["video"]["num_frames"] == 2
    assert "GWA:" in capsys.readouterr().out
    assert main(["train", str(recipe), "--quiet"]) == 0
    assert "already complete" in capsys.readouterr().out
