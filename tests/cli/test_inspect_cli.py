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


def test_any_tag_gets_its_own_size_and_task_vector_norm(ckpts, capsys, monkeypatch):
    import torch

    import weightspace.merge.summary as summary
    import weightspace.merge.task_vector as task_vector
    from weightspace.checkpoint import key_tag, open_checkpoint, save_safetensors

    def tagged(key):  # a tag the checkpoint format may add (MoTE's ``temporal`` head)
        return "temporal" if key.startswith("temporal.") else key_tag(key)

    monkeypatch.setattr(summary, "key_tag", tagged)
    monkeypatch.setattr(task_vector, "key_tag", tagged)
    paths = {}
    for i, name in enumerate(("base", "a", "b")):
        sd = open_checkpoint(ckpts / name).state_dict()
        sd["temporal.proj.weight"] = torch.full((2, 5), float(i))  # τ_a = 1, τ_b = 2 everywhere (10 entries)
        paths[name] = ckpts / f"{name}_head.safetensors"
        save_safetensors(paths[name], sd)
    code = main(["inspect", str(paths["a"]), str(paths["b"]), "--base", str(paths["base"]), "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    assert rep["checkpoints"][0]["parameters_by_tag"]["temporal"] == 10  # the head (the int step buffer is tagged extra)
    norms = rep["task_vectors"]["norms"]
    assert norms[0]["temporal"] == pytest.approx(10 ** 0.5) and norms[1]["temporal"] == pytest.approx(2 * 10 ** 0.5)
    # a head the base lacks has no task vector: inspect still reports the rest
    code = main(["inspect", str(paths["a"]), str(paths["b"]), "--base", str(ckpts / "base"), "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0 and "temporal" not in rep["task_vectors"]["norms"][0]
