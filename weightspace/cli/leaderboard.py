"""``weightspace leaderboard``: every scored checkpoint with its method, parameters, parents and scores."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from weightspace.cli.common import console


def leaderboard_command(
    store: Optional[Path] = typer.Option(None, "--store", help="Results store (default $WEIGHTSPACE_HOME/results.sqlite or ./weightspace_results.sqlite)."),
    suite: Optional[str] = typer.Option(None, "--suite", help="Only this suite (by name); default: every suite in the store."),
    sort: str = typer.Option("score", "--sort", help="Column to rank by: score, a benchmark name, name, method, ..."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Write the leaderboard as CSV."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the leaderboard as JSON."),
    png_out: Optional[Path] = typer.Option(None, "--png", help="Write a bar chart of the scores (PNG)."),
) -> None:
    """Rank every evaluated checkpoint (scores from `weightspace eval`, `merge --eval`, sweeps)."""
    from weightspace.errors import ConfigError
    from weightspace.eval.leaderboard import leaderboard, plot_png, render, write_csv, write_json_file
    from weightspace.eval.store import ResultsStore, default_store_path

    path = store or default_store_path()
    if not path.is_file():
        raise ConfigError(f"{path}: no results store (run `weightspace eval` first, or pass --store)")
    with ResultsStore(path) as db:
        boards = leaderboard(db, suite, sort)
    for board in boards:
        console.print(render(board))
    for target, write in ((csv_out, write_csv), (json_out, write_json_file), (png_out, plot_png)):
        if target is not None:
            write(boards, target)
            console.print(f"wrote {target}", highlight=False)
