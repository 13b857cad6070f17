"""The run's ``metrics.jsonl``: one JSON line per logged step and per epoch, consistent with the resume state."""

from __future__ import annotations

import json
from pathlib import Path

from weightspace.atomic import write_text


class MetricsLog:
    def __init__(self, path: Path, lines: int = 0):
        self.path = path
        self.lines = lines  # lines that belong to this run (a resumed run: those up to its state)

    def append(self, record: dict) -> None:
        if self.lines == 0 and self.path.exists():  # a fresh run: stale lines of a killed one go
            self.path.unlink()
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        self.lines += 1

    def truncate(self) -> None:
        """Drop lines written after the state we resume from (a kill may leave them)."""
        if self.path.exists():
            kept = self.path.read_text(encoding="utf-8").splitlines(keepends=True)[: self.lines]
            write_text(self.path, "".join(kept))
