"""Results store: one SQLite file, keyed by checkpoint sha256 + suite content hash + variant.

Default location: ``$WEIGHTSPACE_HOME/results.sqlite`` when that variable is set, otherwise
``./weightspace_results.sqlite`` (results belong to the experiment folder they were made in).
Re-evaluating a checkpoint already in the store is a lookup; ``--force`` re-scores and replaces.
Checkpoints carry their method, parameters and parents (read from ``merge_manifest.json`` /
``weightspace.json``) so the leaderboard can show where every score came from.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from weightspace.errors import WeightspaceError
from weightspace.eval.results import EvalResult, Row

STORE_NAME = "results.sqlite"
LOCAL_STORE = "weightspace_results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    sha256 TEXT PRIMARY KEY, ref TEXT NOT NULL, name TEXT, method TEXT, params TEXT, parents TEXT, updated REAL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT NOT NULL, suite TEXT NOT NULL, suite_hash TEXT NOT NULL,
    variant TEXT NOT NULL DEFAULT '', ref TEXT, seconds REAL, created REAL,
    UNIQUE (sha256, suite_hash, variant)
);
CREATE TABLE IF NOT EXISTS results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, protocol TEXT, benchmark TEXT, split TEXT,
    metric TEXT, value REAL, n INTEGER, missing INTEGER
);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id);
"""


def default_store_path() -> Path:
    home = os.environ.get("WEIGHTSPACE_HOME")
    return Path(home) / STORE_NAME if home else Path(LOCAL_STORE)


class ResultsStore:
    """Thin wrapper over the SQLite file; every write is one transaction."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30)
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:  # e.g. "file is not a database"
            self._db.close()
            raise WeightspaceError(f"{self.path}: not a usable results store ({exc}); give another --store") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def lookup(self, sha256: str, suite_hash: str, variant: str = "") -> EvalResult | None:
        run = self._db.execute(
            "SELECT id, ref, suite, seconds FROM runs WHERE sha256=? AND suite_hash=? AND variant=?",
            (sha256, suite_hash, variant)).fetchone()
        if run is None:
            return None
        return self._result(run[0], sha256, run[1], run[2], suite_hash, variant, run[3])

    def _result(self, run_id, sha256, ref, suite, suite_hash, variant, seconds) -> EvalResult:
        rows = [Row(*r) for r in self._db.execute(
            "SELECT protocol, benchmark, split, metric, value, n, missing FROM results WHERE run_id=? ORDER BY rowid",
            (run_id,))]
        return EvalResult(ref, sha256, suite, suite_hash, rows, variant, self.checkpoint_info(sha256),
                          from_store=True, seconds=seconds or 0.0)

    def checkpoint_info(self, sha256: str) -> dict:
        row = self._db.execute("SELECT ref, name, method, params, parents FROM checkpoints WHERE sha256=?",
                               (sha256,)).fetchone()
        if row is None:
            return {}
        return {"ref": row[0], "name": row[1], "method": row[2], "params": json.loads(row[3] or "{}"),
                "parents": json.loads(row[4] or "[]")}

    def put(self, result: EvalResult, *, replaces: str | None = None) -> None:
        """Insert (or replace) one evaluation and its checkpoint's provenance.

        ``replaces``: the sha256 the same weights were stored under before (a sweep point scored in
        memory, then written); that evaluation is dropped, so the leaderboard lists the weights once.
        """
        info = result.info
        with self._db:
            if replaces is not None:
                self._db.execute("DELETE FROM runs WHERE sha256=? AND suite_hash=? AND variant=?",
                                 (replaces, result.suite_hash, result.variant))
                self._db.execute("DELETE FROM checkpoints WHERE sha256=? AND NOT EXISTS "
                                 "(SELECT 1 FROM runs WHERE runs.sha256=checkpoints.sha256)", (replaces,))
            self._db.execute(
                "INSERT INTO checkpoints (sha256, ref, name, method, params, parents, updated) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(sha256) DO UPDATE SET ref=excluded.ref, name=excluded.name, method=excluded.method, "
                "params=excluded.params, parents=excluded.parents, updated=excluded.updated",
                (result.sha256, result.ref, info.get("name"), info.get("method"),
                 json.dumps(info.get("params") or {}, sort_keys=True), json.dumps(info.get("parents") or []),
                 time.time()))
            self._db.execute("DELETE FROM runs WHERE sha256=? AND suite_hash=? AND variant=?",
                             (result.sha256, result.suite_hash, result.variant))
            cur = self._db.execute(
                "INSERT INTO runs (sha256, suite, suite_hash, variant, ref, seconds, created) VALUES (?,?,?,?,?,?,?)",
                (result.sha256, result.suite, result.suite_hash, result.variant, result.ref, result.seconds, time.time()))
            self._db.executemany(
                "INSERT INTO results (run_id, protocol, benchmark, split, metric, value, n, missing) VALUES (?,?,?,?,?,?,?,?)",
                [(cur.lastrowid, r.protocol, r.benchmark, r.split, r.metric, r.value, r.n, r.missing) for r in result.rows])

    def all_results(self, suite: str | None = None) -> list[EvalResult]:
        """Every stored evaluation (optionally of one suite name), newest suite version per (sha, variant) first."""
        q = "SELECT id, sha256, ref, suite, suite_hash, variant, seconds FROM runs"
        args: tuple = ()
        if suite is not None:
            q, args = q + " WHERE suite=?", (suite,)
        runs = self._db.execute(q + " ORDER BY created DESC", args).fetchall()
        return [self._result(i, sha, ref, s, h, v, sec) for i, sha, ref, s, h, v, sec in runs]

    def suites(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT suite FROM runs ORDER BY suite")]
