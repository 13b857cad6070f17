"""Every command that writes a folder refuses to replace what weightspace did not write (one rule: atomic.py)."""

import pytest

from sibling import load_sibling
from weightspace.checkpoint import WEIGHTS_NAME
from weightspace.cli.main import main

fakes = load_sibling("merge/fakes.py", "merge_fakes")


@pytest.fixture
def ckpts(tmp_path):
    base = fakes.make_ckpt(tmp_path / "base", 0)
    fakes.make_ckpt(tmp_path / "a", 1, base=base)
    return tmp_path


def _merge(d, out):
    return ["merge", "--method", "average", str(d / "a"), str(d / "base"), "-o", str(out), "--overwrite"]


@pytest.mark.parametrize("where", ["user folder", "cwd", "dot", "parent of cwd"])
def test_merge_overwrite_refuses_what_weightspace_did_not_write(ckpts, monkeypatch, capsys, where):
    d = ckpts
    work = d / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "notes.txt").write_text("mine")
    monkeypatch.chdir(d if where == "user folder" else work / "sub")
    out = {"user folder": work / "sub", "cwd": work / "sub", "dot": ".", "parent of cwd": ".."}[where]
    assert main(_merge(d, out)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to replace" in err[0], err
    assert (work / "sub" / "notes.txt").read_text() == "mine"


def test_merge_overwrite_replaces_its_own_output(ckpts, capsys):
    d = ckpts
    assert main(_merge(d, d / "out")) == 0
    first = (d / "out" / WEIGHTS_NAME).stat().st_ino
    assert main(_merge(d, d / "out")) == 0, capsys.readouterr().err
    assert (d / "out" / WEIGHTS_NAME).stat().st_ino != first
