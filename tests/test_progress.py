"""One progress helper: a rich bar on a terminal, periodic log lines when output is a file or a pipe."""

import io
import logging

import pytest
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


def test_a_terminal_bar_logs_the_same_lines_marked_as_shown_by_it(caplog, monkeypatch):
    from weightspace import progress
    from weightspace.progress import BarProgress, not_shown_by_bar

    monkeypatch.setattr(progress, "LOG_EVERY", 3600)
    caplog.set_level(logging.INFO, logger="weightspace.progress")
    screen = io.StringIO()
    with progress_bar(console=Console(force_terminal=True, file=screen, width=100)) as bar:
        assert isinstance(bar, BarProgress)
        task = bar.add_task("[bold]merge (ties)", total=4, loss=float("nan"))
        for _ in range(3):
            bar.update(task, advance=1, loss=0.5)
        bar.advance(task)
    assert "merge (ties)" in screen.getvalue()  # the bar itself
    [record] = caplog.records
    assert record.getMessage().startswith("merge (ties): 4/4 (100%)") and "loss=0.5" in record.getMessage()
    assert record.shown_by_bar and not not_shown_by_bar(record)


@pytest.mark.parametrize("terminal", [False, True])
def test_each_progress_line_reaches_a_log_file_once_and_the_terminal_shows_it_once(tmp_path, monkeypatch, capsys,
                                                                                  terminal):
    from weightspace import progress
    from weightspace.cli.common import configure_logging

    monkeypatch.setattr(progress, "LOG_EVERY", 0)
    root = logging.getLogger("weightspace")
    saved = root.handlers[:], root.level, root.propagate
    log_file = logging.FileHandler(tmp_path / "run.log", encoding="utf-8")
    try:
        configure_logging()  # the CLI's stderr handler
        root.addHandler(log_file)
        screen = io.StringIO()
        with progress_bar(console=Console(force_terminal=terminal, file=screen)) as bar:
            task = bar.add_task("caching", total=3)
            for _ in range(3):
                bar.advance(task)
    finally:
        log_file.close()
        root.handlers[:], root.level, root.propagate = saved
    lines = (tmp_path / "run.log").read_text().splitlines()
    assert [line[:12] for line in lines] == ["caching: 1/3", "caching: 2/3", "caching: 3/3"]
    stderr = capsys.readouterr().err
    assert stderr.count("caching: ") == (0 if terminal else 3)  # on a terminal the bar shows progress instead
    assert ("caching" in screen.getvalue()) == terminal
