"""The one progress display for long steps: periodic log lines, and a rich bar on a terminal.

A bar redrawn in place is unreadable in a log file or CI output, so progress is always reported through
``logging`` (logger ``weightspace.progress``) at most every ``LOG_EVERY`` seconds and when a task
finishes; ``LogProgress`` has rich ``Progress``'s calls (``add_task``, ``update``, ``advance``,
``remove_task``, ``start``/``stop``, use as a context manager). On a terminal ``progress_bar`` returns
``BarProgress``: the bar, logging the same lines marked ``shown_by_bar``, so a log file gets every line
once, terminal or not, and ``not_shown_by_bar`` keeps them off the terminal the bar is drawn on. The
library never prints; the CLI configures where log records go.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import Progress

logger = logging.getLogger("weightspace.progress")
LOG_EVERY = 15.0  # seconds between two progress lines of one task


def progress_bar(*columns, enabled: bool = True, transient: bool = False, console=None):
    """A ``BarProgress`` with ``columns`` on a terminal; ``LogProgress`` when stderr is not one; disabled:
    a ``LogProgress`` that reports nothing."""
    console = console or Console(stderr=True)
    if enabled and console.is_terminal:
        return BarProgress(*columns, console=console, transient=transient)
    return LogProgress(enabled=enabled)


def not_shown_by_bar(record: logging.LogRecord) -> bool:
    """A handler filter for the terminal a bar is drawn on: drops the bar's own log lines."""
    return not getattr(record, "shown_by_bar", False)


@dataclass
class _Task:
    id: int
    description: str
    total: float | None
    completed: float = 0.0
    fields: dict = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    logged: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> bool:
        return self.total is not None and self.completed >= self.total


class LogProgress:
    """rich ``Progress``'s task API, reported as ``description: 12/40 (30%), 0:00:17, loss=1.23`` log lines."""

    def __init__(self, *, enabled: bool = True, every: float | None = None, shown_by_bar: bool = False):
        self.enabled = enabled
        self.every = LOG_EVERY if every is None else every
        self.shown_by_bar = shown_by_bar  # set on each record: a bar shows these lines live
        self._tasks: dict[int, _Task] = {}
        self._next = 0

    # rich Progress compatibility
    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self._tasks.clear()

    @property
    def tasks(self) -> list[_Task]:
        return list(self._tasks.values())

    def add_task(self, description: str, total: float | None = 100.0, completed: float = 0, **fields) -> int:
        task = _Task(self._next, description, total, completed, dict(fields))
        self._tasks[task.id] = task
        self._next += 1
        return task.id

    def remove_task(self, task_id: int) -> None:
        self._tasks.pop(task_id, None)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(self, task_id: int, *, total: float | None = None, completed: float | None = None,
               advance: float | None = None, description: str | None = None, **fields) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        was_finished = task.finished
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        if advance:
            task.completed += advance
        if description is not None:
            task.description = description
        task.fields.update({k: v for k, v in fields.items() if k not in ("visible", "refresh")})
        now = time.monotonic()
        if self.enabled and ((task.finished and not was_finished) or now - task.logged >= self.every):
            task.logged = now
            logger.info(self._line(task, now), extra={"shown_by_bar": self.shown_by_bar})

    @staticmethod
    def _line(task: _Task, now: float) -> str:
        from rich.text import Text

        done = f"{task.completed:g}" + (f"/{task.total:g} ({100 * task.completed / task.total:.0f}%)"
                                         if task.total else "")
        elapsed = time.strftime("%H:%M:%S", time.gmtime(now - task.started))
        extra = "".join(f", {k}={v:.4g}" if isinstance(v, float) else f", {k}={v}" for k, v in task.fields.items())
        return f"{Text.from_markup(task.description).plain}: {done}, {elapsed}{extra}"



class BarProgress(Progress):
    """rich's ``Progress`` that mirrors every task into a ``LogProgress`` whose lines are marked ``shown_by_bar``."""

    def __init__(self, *columns, **kwargs):
        super().__init__(*columns, **kwargs)
        self._log = LogProgress(shown_by_bar=True)
        self._mirror: dict[int, int] = {}  # rich task id -> the log's

    def add_task(self, description: str, start: bool = True, total: float | None = 100.0, completed: float = 0,
                 visible: bool = True, **fields):
        task_id = super().add_task(description, start, total, completed, visible, **fields)
        self._mirror[task_id] = self._log.add_task(description, total, completed, **fields)
        return task_id

    def update(self, task_id, **kwargs) -> None:
        super().update(task_id, **kwargs)
        self._log.update(self._mirror[task_id], **kwargs)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log.advance(self._mirror[task_id], advance)

    def remove_task(self, task_id) -> None:
        super().remove_task(task_id)
        self._log.remove_task(self._mirror.pop(task_id))
