"""``weightspace synth`` through ``weightspace.cli.main.main``, on the miniature worlds (the default ones take ~30 s)."""

import json

import pytest

from weightspace.cli.main import main
from weightspace.data.synthetic import worlds as worlds_mod


@pytest.fixture
def tiny_defaults(monkeypatch):
    monkeypatch.setattr(worlds_mod, "default_specs", worlds_mod.tiny_specs)


def test_synth_builds_worlds_and_prints_a_table(tmp_path, tiny_defaults, capsys):
    assert main(["synth", "--out", str(tmp_path), "--seed", "2", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    for name in ("source_a", "source_b", "target"):
        assert name in out
    root = tmp_path / "worlds" / "seed-2"
    doc = json.loads((root / "target" / "world.json").read_text())
    assert doc["seed"] == 2 and doc["counts"]["novel_val"] == 4
    stamp = (root / "target" / "world.json").stat().st_mtime_ns
    assert main(["synth", "--out", str(tmp_path), "--seed", "2", "--workers", "1"]) == 0
    assert (root / "target" / "world.json").stat().st_mtime_ns == stamp  # cached: not regenerated
    assert main(["synth", "--out", str(tmp_path), "--seed", "2", "--workers", "1", "--force"]) == 0
    assert (root / "target" / "world.json").stat().st_mtime_ns != stamp


def test_correlation_option_reaches_the_specs(tmp_path, tiny_defaults):
    assert main(["synth", "--out", str(tmp_path), "--correlation", "1.0", "--workers", "1"]) == 0
    (folder,) = (tmp_path / "worlds").glob("seed-0-*")  # not the default worlds' folder
    rows = [r.split(",") for r in (folder / "source_a" / "videos.csv").read_text().splitlines()[1:]]
    biased = [r for r in rows if r[1] != "decorrelated_val"]  # that split shows every scene by design
    assert biased and all(r[4] == r[5] for r in biased)  # scene == preferred scene


@pytest.mark.parametrize("args, message", [(["--correlation", "1.5"], "--correlation"), (["--workers", "0"], "--workers")])
def test_bad_options_are_one_line_errors(tmp_path, args, message, capsys):
    assert main(["synth", "--out", str(tmp_path), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "worlds").exists()
