"""One progress helper: a rich bar on a terminal, periodic log lines when output is a file or a pipe."""

import logging

from rich.console import Console
from rich.progress import Progress

from weightspace.progress import LogProgress, progress_bar


def test_a_terminal_gets_a_rich_bar_and_a_pipe_gets_log_lines():
    assert isinstance(progress_bar(console=Console(force_terminal=True)), Progress)
    assert isinstance(progress_bar(console=Console(force_terminal=False)), LogProgress)


def test_log_lines_are_periodic_and_the_end_is_always_reported(caplog):
    caplog.set_level(logging.INFO, logger="weightspace.progress")
    with LogProgress(every=3600) as bar:
        task = bar.add_task("[bold]merge (ties)", total=4, loss=float("nan"))
        for _ in range(4):
            bar.update(task, advance=1, loss=0.5)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("merge (ties): 4/4 (100%), 00:00:00") and "loss=0.5" in lines[0]
    caplog.clear()
    bar = LogProgress(every=0)
    task = bar.add_task("caching", total=None)
    bar.advance(task)
    bar.advance(task)
    assert [r.getMessage()[:10] for r in caplog.records] == ["caching: 1", "caching: 2"]


def test_disabled_progress_reports_nothing(caplog):
    caplog.set_level(logging.INFO, logger="weightspace.progress")
    with progress_bar(enabled=False, console=Console(force_terminal=True)) as bar:
        bar.update(bar.add_task("x", total=1), advance=1)
    assert caplog.records == []


def test_cli_tables_are_not_folded_when_not_a_terminal():
    from weightspace.cli.common import LOG_WIDTH, _console

    assert _console().width == LOG_WIDTH  # pytest captures stdout: not a terminal
