"""Nested progress tasks of one evaluation (decode, forward passes) sharing one live display."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator


class ProgressTasks:
    """``with tasks.task("decode b2n/base", 40) as advance:``; nothing is shown unless ``enabled``."""

    def __init__(self, enabled: bool = False):
        self.enabled = enabled
        self._live = None  # the display while a task is open (started by the first, stopped by the last)

    @contextlib.contextmanager
    def task(self, desc: str, total: int | None) -> Iterator[Callable[[], None]]:
        if not self.enabled:
            yield lambda: None
            return
        if self._live is None:
            from weightspace.progress import progress_bar

            self._live = progress_bar(transient=True)
            self._live.start()
        live = self._live
        task = live.add_task(desc, total=total)
        try:
            yield lambda: live.advance(task)
        finally:
            live.remove_task(task)
            if not live.tasks:
                live.stop()
                self._live = None
