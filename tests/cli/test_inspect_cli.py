"""``weightspace inspect`` through ``weightspace.cli.main.main``."""

import json

import pytest

from weightspace.cli.main import main
from test_merge_cli import fakes  # the same fake checkpoints as the merge CLI tests


@pytest.fixture
def ckpts(tmp_path):
    base = fakes.make_ckpt(tmp_path / "base", 0)
    fakes.make_ckpt(tmp_path / "a", 1, base=base, epoch=2)
    fakes.make_ckpt(tmp_path / "b", 2, base=base)
    return tmp_path


def test_inspect_tables(ckpts, capsys):
    code = main(["inspect", str(ckpts / "a"), str(ckpts / "b"), "--base", str(ckpts / "base")])
    out = capsys.readouterr().out
    assert code == 0
    for title in ("checkpoints", "parameters per tag", "task-vector L2 norms", "cosine similarity"):
        assert title in out
    assert "epoch=2" in out


def test_inspect_json(ckpts, capsys):
    code = main(["inspect", str(ckpts / "a"), str(ckpts / "b"), "--base", str(ckpts / "base"), "--json",
                 "--exclude", "text"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    cos = rep["task_vectors"]["cosine"]
    assert cos[0][0] == pytest.approx(1.0) and cos[0][1] == pytest.approx(cos[1][0])
    assert "text" not in rep["task_vectors"]["norms"][0]
    assert rep["checkpoints"][0]["parameters"] == rep["base"]["parameters"]


def test_inspect_without_base_and_bad_input(ckpts, capsys):
    assert main(["inspect", str(ckpts / "a")]) == 0
    assert "give --base" in capsys.readouterr().out
    assert main(["inspect", str(ckpts / "missing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing" in err[0]
