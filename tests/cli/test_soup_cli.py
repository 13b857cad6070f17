"""``weightspace soup``: greedy soup from the command line."""

from weightspace.cli.main import main


def test_soup_selects_on_heldout_and_writes_the_soup(eval_world, tmp_path, capsys):
    suite = eval_world.make_world(tmp_path / "world")
    _, fts = eval_world.make_checkpoints(tmp_path / "ckpts", n=3)
    out = tmp_path / "soup"
    assert main(["soup", *map(str, fts), "--suite", str(suite), "-o", str(out), "--store", str(tmp_path / "r.sqlite")]) == 0
    text = capsys.readouterr().out
    assert text.count("kept") >= 1 and "soup of" in text and "on target" in text  # the suite's heldout benchmark
    assert (out / "merge_manifest.json").is_file()
    assert main(["soup", *map(str, fts), "--suite", str(suite), "-o", str(out)]) == 1  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
