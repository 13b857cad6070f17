"""Leaderboards from the results store: a rich table, CSV, JSON and a PNG bar chart.

One board per suite (the newest suite version only: scores of an edited suite are not comparable;
``hidden`` counts the older ones). A row is one checkpoint (or prediction-ensemble variant) with its
method, parameters and parents, each benchmark's primary score (HM, mean top-1, ...) and ``score``,
the mean of those.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from weightspace.atomic import atomic_path, write_json, write_text
from weightspace.errors import ConfigError
from weightspace.eval.results import EvalResult
from weightspace.eval.store import ResultsStore

FIXED = ("rank", "name", "method", "params", "parents", "variant")
TAIL = ("score", "missing", "sha256")


@dataclass
class Leaderboard:
    suite: str
    benchmarks: list[str]  # score columns, suite order
    rows: list[dict] = field(default_factory=list)
    hidden: int = 0  # results of older versions of this suite
    sort: str = "score"

    @property
    def columns(self) -> list[str]:
        return [*FIXED, *self.benchmarks, *TAIL]


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if not isinstance(v, (list, dict))) if params else ""


def _parents(parents: list) -> str:
    return ", ".join(Path(str(p)).name or str(p) for p in parents)


def _row(r: EvalResult) -> dict:
    info = r.info or {}
    row = {"name": info.get("name") or Path(r.ref).name, "method": info.get("method") or "",
           "params": _params(info.get("params") or {}), "parents": _parents(info.get("parents") or []),
           "variant": r.variant, "ref": r.ref, "sha256": r.sha256[:12], "missing": r.missing}
    for bench, _ in r.benchmarks():
        row[bench] = r.benchmark_score(bench)
    row["score"] = r.score()
    return row


def _sort_key(sort: str):
    def key(row: dict):
        v = row.get(sort)
        if isinstance(v, float):
            return (0, -v if v == v else float("inf"))
        return (1, str(v))
    return key


def leaderboard(store: ResultsStore, suite: str | None = None, sort: str = "score") -> list[Leaderboard]:
    """Boards for one suite name or all suites in the store, rows sorted by ``sort`` (best first)."""
    names = [suite] if suite else store.suites()
    boards = []
    for name in names:
        results = store.all_results(name)
        if not results:
            raise ConfigError(f"{store.path}: no results for suite {name!r} (have: {', '.join(store.suites()) or 'none'})")
        newest = results[0].suite_hash  # all_results is newest first
        current = [r for r in results if r.suite_hash == newest]
        benches = [b for b, _ in current[0].benchmarks()]
        board = Leaderboard(name, benches, [_row(r) for r in current], len(results) - len(current), sort)
        if sort not in board.columns:
            raise ConfigError(f"--sort {sort!r}: expected one of {', '.join(c for c in board.columns if c != 'rank')}")
        board.rows.sort(key=_sort_key(sort))
        for i, row in enumerate(board.rows, 1):
            row["rank"] = i
        boards.append(board)
    return boards


def _fmt(v) -> str:
    if isinstance(v, float):
        return "—" if v != v else f"{100 * v:.1f}"
    return "" if v is None else str(v)


def render(board: Leaderboard):
    """A rich ``Table`` (scores in %)."""
    from rich.table import Table

    caption = f"{len(board.rows)} result(s), sorted by {board.sort}; scores in %"
    if board.hidden:
        caption += f"; {board.hidden} result(s) of older versions of this suite hidden"
    table = Table(title=f"leaderboard: {board.suite}", caption=caption)
    # the table leaves out what CSV/JSON keep (sha256) and columns empty in every row
    shown = [c for c in board.columns if c != "sha256" and (c not in ("variant", "missing", "params", "parents")
                                                           or any(r.get(c) for r in board.rows))]
    for col in shown:
        numeric = col in board.benchmarks or col in ("score", "rank", "missing")
        table.add_column("#" if col == "rank" else col, justify="right" if numeric else "left",
                         overflow="fold", no_wrap=numeric,
                         style="bold" if col == board.sort else None)
    for row in board.rows:
        table.add_row(*(_short_variant(row[c]) if c == "variant" else _fmt(row.get(c)) for c in shown))
    return table


def _short_variant(variant: str) -> str:
    return variant.split(",clip=")[0].replace("ens(rho=", "ρ=") if variant else ""


def write_csv(boards: list[Leaderboard], path: str | os.PathLike) -> None:
    cols = ["suite", *dict.fromkeys(c for b in boards for c in b.columns), "ref"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for b in boards:
        for row in b.rows:
            w.writerow({"suite": b.suite, **row})
    write_text(path, buf.getvalue())


def write_json_file(boards: list[Leaderboard], path: str | os.PathLike) -> None:
    write_json(path, [{"suite": b.suite, "benchmarks": b.benchmarks, "sort": b.sort, "hidden": b.hidden,
                       "rows": [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                                for r in b.rows]} for b in boards])


def plot_png(boards: list[Leaderboard], path: str | os.PathLike, top: int = 30) -> None:
    """Horizontal bars of ``score`` (best at the top), one panel per suite."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [min(len(b.rows), top) for b in boards]
    fig, axes = plt.subplots(len(boards), 1, figsize=(8, 1.2 + 0.32 * sum(heights) + 0.8 * len(boards)),
                             dpi=110, squeeze=False)
    for ax, b in zip(axes[:, 0], boards):
        rows = b.rows[:top]
        labels = [f"{r['name']} [{r['method']}]" + (f" {r['variant']}" if r["variant"] else "") for r in rows]
        vals = [100 * r["score"] if r["score"] == r["score"] else 0.0 for r in rows]
        ax.barh(range(len(rows)), vals, color="tab:blue")
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.invert_yaxis()
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.1f}", va="center", fontsize=7)
        ax.set_xlabel("score (%): mean of " + ", ".join(
            f"{bn}" for bn in b.benchmarks))
        ax.set_title(f"{b.suite}")
        ax.set_xlim(0, max(vals + [1.0]) * 1.15)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
