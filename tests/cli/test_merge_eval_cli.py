"""``weightspace merge --eval`` and ``--sweep``: every merge scored from the merge command."""

import json

import pytest

from weightspace.cli.main import main


@pytest.fixture(scope="module")
def setup(eval_world, tmp_path_factory):
    root = tmp_path_factory.mktemp("merge-eval-cli")
    suite = eval_world.make_world(root / "world")
    base, fts = eval_world.make_checkpoints(root / "ckpts", n=2)
    return root, suite, base, fts


def test_merge_eval_scores_the_output_and_records_it(setup, capsys):
    root, suite, base, fts = setup
    out, store = root / "ta", root / "r.sqlite"
    args = ["merge", "--method", "task-arith", *map(str, fts), "--base", str(base), "-o", str(out),
            "--set", "lambda=0.5", "--eval", str(suite), "--store", str(store)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "merged 2 input(s) with task-arith" in text and "top1" in text
    assert main(["leaderboard", "--store", str(store), "--json", str(root / "lb.json")]) == 0
    (board,) = json.loads((root / "lb.json").read_text())
    assert [r["method"] for r in board["rows"]] == ["task-arith"]


def test_merge_sweep_scores_each_value_and_writes_the_best(setup, capsys):
    root, suite, base, fts = setup
    out = root / "sweep"
    args = ["merge", "--method", "task-arith", *map(str, fts), "--base", str(base), "-o", str(out),
            "--sweep", "lambda=0.5:1.0:0.5", "--eval", str(suite), "--store", str(root / "s.sqlite")]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "lambda=0.5" in text and "lambda=1" in text and "best lambda=" in text
    assert "scored in memory, not written" in text
    doc = json.loads((out / "sweep.json").read_text())
    assert [p["value"] for p in doc["points"]] == [0.5, 1.0]
    best = f"lambda={doc['best']:g}"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [best]
    assert (out / "sweep_lambda.png").stat().st_size > 1000


def test_merge_sweep_score_all_scores_every_point_on_the_whole_suite(setup):
    root, suite, base, fts = setup
    out = root / "sweep-score-all"
    args = ["merge", "--method", "task-arith", *map(str, fts), "--base", str(base), "-o", str(out),
            "--sweep", "lambda=0.5,1", "--eval", str(suite), "--store", str(root / "s.sqlite"), "--score-all"]
    assert main(args) == 0
    doc = json.loads((out / "sweep.json").read_text())
    every = doc["scored_at_every_point"]
    assert len(every) > 1 and all(sorted(p["scores"]) == sorted(every) for p in doc["points"])


def test_merge_sweep_keep_all_writes_every_point(setup, capsys):
    root, suite, base, fts = setup
    out = root / "sweep-all"
    args = ["merge", "--method", "task-arith", *map(str, fts), "--base", str(base), "-o", str(out),
            "--sweep", "lambda=0.5,1", "--eval", str(suite), "--store", str(root / "s.sqlite"), "--keep-all"]
    assert main(args) == 0
    assert "not written" not in capsys.readouterr().out
    assert (out / "lambda=0.5" / "merge_manifest.json").is_file() and (out / "lambda=1" / "merge_manifest.json").is_file()


def test_sweep_needs_eval_and_a_single_setting(setup, capsys):
    root, suite, base, fts = setup
    common = ["merge", "--method", "task-arith", *map(str, fts), "--base", str(base), "-o", str(root / "x")]
    assert main(common + ["--sweep", "lambda=0.1,0.2"]) == 1
    assert "--sweep needs --eval" in capsys.readouterr().err
    assert main(common + ["--sweep", "lambda=0.1,0.2", "--set", "lambda=1", "--eval", str(suite)]) == 1
    assert "give it once" in capsys.readouterr().err
    assert not (root / "x").exists()
