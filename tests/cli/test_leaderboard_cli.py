import csv
import json

from weightspace.cli.main import main
from weightspace.eval.results import EvalResult, Row
from weightspace.eval.store import ResultsStore


def test_leaderboard_prints_and_writes(tmp_path, capsys):
    with ResultsStore(tmp_path / "r.sqlite") as db:
        for name, sha, v in (("soup", "a" * 64, 0.8), ("avg", "b" * 64, 0.6)):
            db.put(EvalResult(name, sha, "demo", "h", [Row("closed-set", "k", "test", "top1", v, 5, 0)], "",
                              {"name": name, "method": name, "params": {"k": 0.2}, "parents": ["p1", "p2"]}))
    files = {ext: tmp_path / f"lb.{ext}" for ext in ("csv", "json", "png")}
    code = main(["leaderboard", "--store", str(tmp_path / "r.sqlite"), "--csv", str(files["csv"]),
                 "--json", str(files["json"]), "--png", str(files["png"])])
    out = capsys.readouterr().out
    assert code == 0 and "leaderboard: demo" in out and out.index("soup") < out.index("avg")
    assert [r["name"] for r in csv.DictReader(files["csv"].open())] == ["soup", "avg"]
    assert json.loads(files["json"].read_text())[0]["rows"][1]["k"] == 0.6
    assert files["png"].read_bytes()[:4] == b"\x89PNG"
    assert main(["leaderboard", "--store", str(tmp_path / "r.sqlite"), "--sort", "name"]) == 0
    out = capsys.readouterr().out
    assert out.index("avg") < out.index("soup")


def test_leaderboard_errors(tmp_path, capsys):
    assert main(["leaderboard", "--store", str(tmp_path / "none.sqlite")]) == 1
    assert "no results store" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()
