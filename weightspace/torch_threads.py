"""The one way weightspace sets torch's intra-op thread count: for a block (``torch_threads``), or by timing
the work itself (``ThreadTuner``).

Neither one nor two threads is right everywhere on a shared 2-core machine. Evaluation (ws-tiny-clip
``vclip``, 8-frame 48 px clips, benchmarks/eval_bench.py): one thread 11.7 vs two 8.2 videos/s at load
10-12, 13.9 vs 8.7 at load 9.5 and 48.2 vs 27.3 at load 3.3, but two threads the faster near idle (108.5
vs 56.9 videos/s forward only at load 1.3). The SVDs of Iso-C and TSV-M (ViT-B/16 shapes: 768x3072,
768x768, 3072x768): two threads 1.47x as fast as one at load 1.1. So ``ThreadTuner`` times each candidate
on work that has to be done anyway, keeps the fastest, and probes again every ``every`` batches because
the load of a shared machine changes.
"""

from __future__ import annotations

import contextlib
import time
from typing import Iterator, Sequence


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch threads; the caller's count is restored after, even on error."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_candidates() -> tuple[int, ...]:
    import torch

    most = max(1, torch.get_num_threads())
    return tuple(dict.fromkeys((most, 1)))  # the default first, then one thread


class ThreadTuner:
    """``with tuner.batch(n):`` runs one batch of ``n`` items at the thread count being probed or chosen."""

    def __init__(self, candidates: Sequence[int] | None = None, every: int = 64):
        self.candidates = tuple(candidates) if candidates else default_candidates()
        if not self.candidates or any(not isinstance(c, int) or c < 1 for c in self.candidates):
            raise ValueError(f"thread candidates must be positive integers, got {self.candidates!r}")
        self.every = every
        self.seconds_per_item: dict[int, float] = {}
        self.choice = self.candidates[0]
        self._probe: list[int] = list(self.candidates)
        self._since = 0

    def _next(self) -> int:
        if self._probe:
            return self._probe[0]
        if self._since >= self.every and len(self.candidates) > 1:
            self._probe = list(self.candidates)
            self._since = 0
            return self._probe[0]
        return self.choice

    @contextlib.contextmanager
    def batch(self, items: int) -> Iterator[int]:
        threads = self._next()
        # measured, not assumed (module doc); the caller's count is restored after
        with torch_threads(threads):
            t0 = time.perf_counter()
            yield threads  # an error in the block propagates from here: nothing below is timed
            elapsed = time.perf_counter() - t0
        if self._probe and self._probe[0] == threads:
            self._probe.pop(0)
            self.seconds_per_item[threads] = elapsed / max(1, items)
            if not self._probe:
                self.choice = min(self.seconds_per_item, key=self.seconds_per_item.get)
        else:
            self._since += 1

