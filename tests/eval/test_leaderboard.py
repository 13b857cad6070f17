import csv
import json

import pytest

from weightspace.errors import ConfigError
from weightspace.eval.leaderboard import leaderboard, plot_png, render, write_csv, write_json_file
from weightspace.eval.results import EvalResult, Row
from weightspace.eval.store import ResultsStore


def _res(name, sha, b2n_hm, target, suite_hash="h", method="ties", variant=""):
    rows = [Row("base-to-novel", "b2n", "all", "hm", b2n_hm), Row("cross-dataset", "target", "mean", "top1", target),
            Row("cross-dataset", "target", "split1", "top1", target, 10, 2)]
    info = {"name": name, "method": method, "params": {"k": 0.2, "lambda": 1.0}, "parents": ["/x/ft0", "/x/ft1"]}
    return EvalResult(f"/ck/{name}", sha, "demo", suite_hash, rows, variant, info)


@pytest.fixture
def store(tmp_path):
    db = ResultsStore(tmp_path / "r.sqlite")
    db.put(_res("old", "0" * 64, 0.9, 0.9, suite_hash="older"))
    db.put(_res("m1", "1" * 64, 0.5, 0.7))
    db.put(_res("m2", "2" * 64, 0.8, 0.6, method="average"))
    db.put(_res("m1", "1" * 64, 0.6, 0.7, variant="ens(rho=0.5,clip=abc)"))
    yield db
    db.close()


def test_rows_sorted_with_provenance(store):
    (board,) = leaderboard(store)
    assert board.hidden == 1  # the older suite version is not mixed in
    assert [(r["name"], r["variant"]) for r in board.rows] == [("m2", ""), ("m1", "ens(rho=0.5,clip=abc)"), ("m1", "")]
    top = board.rows[0]
    assert top["score"] == pytest.approx(0.7) and top["method"] == "average" and top["parents"] == "ft0, ft1"
    assert top["params"] == "k=0.2, lambda=1.0" and top["missing"] == 2 and top["rank"] == 1
    (by_target,) = leaderboard(store, "demo", sort="target")
    assert by_target.rows[0]["name"] == "m1"
    with pytest.raises(ConfigError, match="--sort 'nope'"):
        leaderboard(store, sort="nope")
    with pytest.raises(ConfigError, match="no results for suite 'x'"):
        leaderboard(store, "x")


def test_outputs(store, tmp_path):
    from rich.console import Console

    boards = leaderboard(store)
    write_csv(boards, tmp_path / "lb.csv")
    write_json_file(boards, tmp_path / "lb.json")
    plot_png(boards, tmp_path / "lb.png")
    rows = list(csv.DictReader((tmp_path / "lb.csv").open()))
    assert [r["name"] for r in rows] == ["m2", "m1", "m1"] and float(rows[0]["score"]) == pytest.approx(0.7)
    assert rows[0]["suite"] == "demo" and rows[0]["b2n"] == "0.8"
    doc = json.loads((tmp_path / "lb.json").read_text())
    assert doc[0]["benchmarks"] == ["b2n", "target"] and doc[0]["rows"][1]["variant"].startswith("ens(")
    assert (tmp_path / "lb.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = Console(width=200, record=True)
    console.print(render(boards[0]))
    text = console.export_text()
    assert "m2" in text and "80.0" in text and "ρ=0.5" in text


def test_stat_and_difference_hand_computed():
    from weightspace.eval.leaderboard import Stat, difference, verdict

    s = Stat.of([0.5, 0.7, 0.6])
    assert s.mean == pytest.approx(0.6) and s.std == pytest.approx(0.1) and s.n == 3
    assert Stat.of([0.4]) == Stat(0.4, 0.0, 1)
    # seeds only: se² = 0.1²/3 + 0.2²/4 = 0.003333 + 0.01
    diff, se = difference(s, Stat(0.5, 0.2, 4))
    assert diff == pytest.approx(0.1) and se == pytest.approx((0.01 / 3 + 0.01) ** 0.5)
    # one seed each, 100 videos: binomial se² = 0.6·0.4/100 + 0.5·0.5/100 = 0.0049
    diff, se = difference(Stat(0.6, 0.0, 1), Stat(0.5, 0.0, 1), videos=100)
    assert se == pytest.approx(0.07)
    assert verdict(diff, se) == "no measurable difference"  # 0.1 < 2 x 0.07
    assert verdict(0.15, 0.07) == "higher" and verdict(-0.15, 0.07) == "lower"


def test_seed_board_means_stds_and_error_bar_plot(tmp_path):
    from weightspace.eval.leaderboard import _axis, seed_board

    groups = {"a": [_res("a", "1" * 64, 0.8, 0.6), _res("a", "2" * 64, 0.6, 0.6)], "clip": [_res("clip", "3" * 64, 0.5, 0.5)]}
    board = seed_board("demo", groups, {"a": "fine-tuned"})
    a, clip = board.rows
    assert a["name"] == "a" and a["rank"] == 1 and a["n"] == 2 and a["method"] == "fine-tuned"
    assert a["b2n"] == pytest.approx(0.7) and a["b2n_std"] == pytest.approx((0.1 ** 2 + 0.1 ** 2) ** 0.5)
    assert a["score"] == pytest.approx(0.65) and clip["n"] == 1 and clip["score_std"] == 0.0
    assert "b2n_std" in board.columns and "n" in board.columns
    write_csv([board], tmp_path / "s.csv")
    assert list(csv.DictReader((tmp_path / "s.csv").open()))[0]["score_std"]
    plot_png([board], tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert _axis([60.0, 62.0], [1.0, 1.0])[0] > 40  # bunched: the axis does not start at 0
    assert _axis([10.0, 62.0], [1.0, 1.0])[0] == 0.0
