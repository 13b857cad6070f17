"""Leaderboards from the results store: a rich table, CSV, JSON and a PNG bar chart.

One board per suite (the newest suite version only: scores of an edited suite are not comparable;
``hidden`` counts the older ones). A row is one checkpoint (or prediction-ensemble variant) with its
method, parameters and parents, each benchmark's primary score (HM, mean top-1, ...) and ``score``,
the mean of those. ``seed_board`` folds repeated runs (one result per training seed) into mean ± std rows,
and ``difference`` says whether two such means differ beyond noise.
"""

from __future__ import annotations

import csv
import io
import math
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
    seeds: bool = False  # rows are means over seeds: each score has a ``<column>_std`` and the row an ``n``

    @property
    def columns(self) -> list[str]:
        if not self.seeds:
            return [*FIXED, *self.benchmarks, *TAIL]
        scored = [*self.benchmarks, "score"]
        return [*FIXED, *(c for b in scored for c in (b, f"{b}_std")), "n", "missing", "sha256"]


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (0 for one value) and count of one score over seeds."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> "Stat":
        n = len(values)
        mean = sum(values) / n
        var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
        return cls(mean, math.sqrt(var), n)


def difference(a: Stat, b: Stat, videos: int | None = None) -> tuple[float, float]:
    """``a.mean - b.mean`` and its standard error: the seed-to-seed spread of each mean (std²/n) plus, given the
    number of test ``videos``, the binomial sampling error of each top-1 (p(1-p)/N), so one seed is not noise-free."""
    var = 0.0
    for s in (a, b):
        var += s.std ** 2 / s.n
        if videos:
            p = min(max(s.mean, 0.0), 1.0)
            var += p * (1 - p) / videos
    return a.mean - b.mean, math.sqrt(var)


def verdict(diff: float, se: float) -> str:
    """A difference is claimed only beyond two standard errors."""
    if abs(diff) <= 2 * se:
        return "no measurable difference"
    return "higher" if diff > 0 else "lower"


def seed_board(suite: str, groups: dict[str, list[EvalResult]], names: dict[str, str] | None = None) -> Leaderboard:
    """One row per group (a model trained with several seeds, or an untrained one): mean ± std of every score."""
    names = names or {}
    first = next(iter(groups.values()))[0]
    benches = [b for b, _ in first.benchmarks()]
    rows = []
    for key, results in groups.items():
        row = {"name": key, "method": names.get(key, ""), "params": "", "parents": "", "variant": "",
               "n": len(results), "missing": sum(r.missing for r in results), "sha256": results[0].sha256[:12]}
        for col, get in [*((b, lambda r, b=b: r.benchmark_score(b)) for b in benches), ("score", EvalResult.score)]:
            stat = Stat.of([get(r) for r in results])
            row[col], row[f"{col}_std"] = stat.mean, stat.std
        rows.append(row)
    rows.sort(key=_sort_key("score"))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return Leaderboard(suite, benches, rows, seeds=True)


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
    shown = [c for c in board.columns if c != "sha256" and not c.endswith("_std")
             and (c not in ("variant", "missing", "params", "parents") or any(r.get(c) for r in board.rows))]
    for col in shown:
        numeric = col in board.benchmarks or col in ("score", "rank", "missing")
        table.add_column("#" if col == "rank" else col, justify="right" if numeric else "left",
                         overflow="fold", no_wrap=numeric,
                         style="bold" if col == board.sort else None)
    for row in board.rows:
        table.add_row(*(_short_variant(row[c]) if c == "variant" else _cell(row, c) for c in shown))
    return table


def _cell(row: dict, col: str) -> str:
    std = row.get(f"{col}_std")
    return _fmt(row.get(col)) + (f" ± {100 * std:.1f}" if isinstance(std, float) and row.get("n", 1) > 1 else "")


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
    """Horizontal bars of ``score`` (best at the top), one panel per suite; with error bars (± std over seeds)
    for seed boards, and an axis that starts near the lowest bar when the scores are bunched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [min(len(b.rows), top) for b in boards]
    labelled = [[f"{r['name']} [{r['method']}]" + (f" {r['variant']}" if r["variant"] else "") for r in b.rows[:top]]
                for b in boards]
    widest = max((len(t) for labels in labelled for t in labels), default=0)
    # bars get 5 inches whatever the labels take (about 0.055 inch a character at 8 pt)
    fig, axes = plt.subplots(len(boards), 1, figsize=(5 + 0.055 * widest, 1.2 + 0.32 * sum(heights) + 0.8 * len(boards)),
                             dpi=110, squeeze=False)
    for ax, b, labels in zip(axes[:, 0], boards, labelled):
        rows = b.rows[:top]
        vals = [100 * r["score"] if r["score"] == r["score"] else 0.0 for r in rows]
        errs = [100 * r.get("score_std", 0.0) for r in rows]
        ax.barh(range(len(rows)), vals, xerr=errs if b.seeds else None, color="tab:blue", capsize=2)
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.invert_yaxis()
        for i, (v, e) in enumerate(zip(vals, errs)):
            ax.text(v + e, i, f" {v:.1f}" + (f" ± {e:.1f}" if b.seeds and rows[i].get("n", 1) > 1 else ""),
                    va="center", fontsize=7)
        ax.set_xlabel(f"score (%): mean over {len(b.benchmarks)} benchmarks" + (" (± std over seeds)" if b.seeds else ""))
        ax.set_title(f"{b.suite}")
        ax.set_xlim(*_axis(vals, errs))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def _axis(vals: list[float], errs: list[float]) -> tuple[float, float]:
    """x range: from 0, unless every bar is within the top half of the range (bunched): then from just below the
    lowest, so differences are visible."""
    lo = min((v - e for v, e in zip(vals, errs)), default=0.0)
    hi = max((v + e for v, e in zip(vals, errs)), default=1.0)
    hi = max(hi, 1.0)
    if lo > 0.5 * hi:
        return lo - 0.25 * (hi - lo) - 0.5, hi + 0.3 * (hi - lo) + 1.0
    return 0.0, hi * 1.2
