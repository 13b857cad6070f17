import pytest
import sqlite3

from weightspace.eval.results import EvalResult, Row
from weightspace.eval.store import ResultsStore, default_store_path


def _result(sha="a" * 64, value=0.5, variant="", suite_hash="h1"):
    rows = [Row("closed-set", "b", "test", "top1", value, 10, 1), Row("closed-set", "b", "test", "top5", 1.0, 10, 1)]
    info = {"name": "ft", "method": "ties", "params": {"k": 0.2}, "parents": ["x", "y"]}
    return EvalResult("ckpt/ft", sha, "s", suite_hash, rows, variant, info, seconds=2.0)


def test_round_trip_and_replace(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as db:
        db.put(_result())
        db.put(_result(variant="ens(rho=0.5,clip=abc)", value=0.7))
    with ResultsStore(path) as db:
        got = db.lookup("a" * 64, "h1")
        assert got.from_store and got.rows == _result().rows and got.info["parents"] == ["x", "y"]
        assert got.score() == 0.5 and got.missing == 1
        assert db.lookup("a" * 64, "h1", "ens(rho=0.5,clip=abc)").score() == 0.7
        assert db.lookup("a" * 64, "h2") is None
        db.put(_result(value=0.9))  # --force: replaces, never duplicates
        assert db.lookup("a" * 64, "h1").score() == 0.9
        assert len(db.all_results("s")) == 2
        assert db.suites() == ["s"]
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM results").fetchone()[0] == 4


def test_put_replacing_an_earlier_identity_keeps_one_entry(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as db:
        db.put(_result(sha="m" * 64))  # scored in memory
        db.put(_result(sha="b" * 64, value=0.6, variant="ens(rho=0.5,clip=abc)"))
        db.put(_result(sha="f" * 64), replaces="m" * 64)  # the same weights, written to a file
        assert db.lookup("m" * 64, "h1") is None and db.lookup("f" * 64, "h1").score() == 0.5
        assert db.checkpoint_info("m" * 64) == {} and db.lookup("b" * 64, "h1", "ens(rho=0.5,clip=abc)") is not None
        assert sorted(r.sha256 for r in db.all_results()) == ["b" * 64, "f" * 64]


def test_default_path(monkeypatch, tmp_path):
    monkeypatch.setenv("WEIGHTSPACE_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "results.sqlite"
    monkeypatch.delenv("WEIGHTSPACE_HOME")
    assert default_store_path().name == "weightspace_results.sqlite"


def test_a_file_that_is_not_sqlite_is_a_one_line_error(tmp_path):
    from weightspace.errors import WeightspaceError
    from weightspace.eval.store import ResultsStore

    path = tmp_path / "results.sqlite"
    path.write_bytes(b"not a database, just text " * 100)
    with pytest.raises(WeightspaceError, match="results.sqlite: not a usable results store"):
        ResultsStore(path)
