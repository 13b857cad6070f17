"""``weightspace push`` / ``weightspace pull`` through ``weightspace.cli.main.main`` against the loopback fake Hub."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from weightspace.cli.main import main
from sibling import load_sibling
from weightspace.checkpoint import WEIGHTS_NAME, make_meta, open_checkpoint, save_checkpoint


fake_hub_mod = load_sibling("hub/fake_hub.py", "fake_hub")

TOKEN = "hf_cliTestToken0123456789"
MODEL_CFG = {"embed_dim": 4, "vision_cfg": {"image_size": 8, "layers": 1, "width": 8, "patch_size": 4},
             "text_cfg": {"context_length": 4, "vocab_size": 6, "width": 4, "heads": 1, "layers": 1}}


@pytest.fixture
def ckpt(tmp_path):
    g = torch.Generator().manual_seed(0)
    state = {"visual.proj": torch.randn(8, 4, generator=g), "token_embedding.weight": torch.randn(6, 4, generator=g),
             "logit_scale": torch.tensor(1.0)}
    return save_checkpoint(tmp_path / "ckpt", state, model_cfg=MODEL_CFG, meta={**make_meta(), "license": "mit"}).folder


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with fake_hub_mod.serve(token=TOKEN) as server:
        fake_hub_mod.use_fake_hub(monkeypatch, server, tmp_path / "hf-cache", TOKEN)
        yield server


def test_help_is_fast_and_lists_commands():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "weightspace", "--help"],
                         capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert out.returncode == 0 and "push" in out.stdout and "pull" in out.stdout
    heavy = [m for m in ("torch", "open_clip", "huggingface_hub", "jinja2") if f" {m}\n" in out.stderr]
    assert heavy == []


def test_dry_run(hub, ckpt, tmp_path, capsys):
    out = tmp_path / "staged"
    assert main(["push", str(ckpt), "--repo", "org/tiny", "--dry-run", str(out)]) == 0
    text = capsys.readouterr().out
    assert "planned: org/tiny" in text and WEIGHTS_NAME in text and "nothing uploaded" in text
    assert hub.requests == []
    assert (out / "README.md").is_file() and (out / WEIGHTS_NAME).is_file()


def test_push_then_pull(hub, ckpt, tmp_path, capsys):
    assert main(["push", str(ckpt), "--repo", "org/tiny", "--revision", "v1", "--private", "-m", "first"]) == 0
    assert "pushed: http://127.0.0.1" in capsys.readouterr().out
    assert hub.repos["org/tiny"].private
    copy = tmp_path / "copy"
    assert main(["pull", "hf-hub:org/tiny@v1", "--out", str(copy)]) == 0
    assert capsys.readouterr().out.strip() == str(copy)
    assert open_checkpoint(copy).sha256() == open_checkpoint(ckpt).sha256()
    assert main(["pull", "hf-hub:org/tiny@v1"]) == 0
    assert "models--org--tiny" in capsys.readouterr().out


def test_eval_results_option(hub, ckpt, tmp_path):
    results = tmp_path / "r.json"
    results.write_text(json.dumps({"suite": "s", "results": [
        {"protocol": "closed", "benchmark": "K400", "split": "val", "metric": "top1", "value": 0.5}]}))
    argv = ["push", str(ckpt), "--repo", "org/tiny", "--eval-results", str(results), "--license", "apache-2.0"]
    assert main(argv) == 0
    card = hub.files("org/tiny")["README.md"].decode()
    assert "license: apache-2.0" in card and "value: 50.0" in card


@pytest.mark.parametrize("argv, message", [
    (["push", "{ckpt}", "--repo", "tiny"], "error: --repo 'tiny': expected ORG/NAME"),
    (["push", "{tmp}/missing", "--repo", "org/tiny"], "missing: no such checkpoint"),
    (["pull", "hf-hub:org"], "expected ORG/NAME"),
    (["pull", "hf-hub:org/absent"], "hf-hub:org/absent: cannot download: repository not found"),
])
def test_errors_are_one_line(hub, ckpt, tmp_path, capsys, argv, message):
    argv = [a.format(ckpt=ckpt, tmp=tmp_path) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_token_message_and_no_leak(hub, ckpt, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_badTokenValue42")
    assert main(["push", str(ckpt), "--repo", "org/tiny"]) == 1
    captured = capsys.readouterr()
    assert "refused the credentials (401)" in captured.err
    assert "hf_badTokenValue42" not in captured.err + captured.out
