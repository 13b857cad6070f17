"""Torch's intra-op thread count for evaluation, chosen by timing real batches rather than assumed.

Measured on this 2-core machine shared with other jobs (ws-tiny-clip ``vclip``, 8-frame 48 px clips):
at load average 7-8 one thread encoded 18.4 videos/s and two threads 10.2 (side by side, median of 5);
in benchmarks/eval_bench.py 11.7 vs 8.2 videos/s at load 10-12, 13.9 vs 8.7 at load 9.5 (1,176 videos of the demo
suite; the tuner's own probes 0.060 vs 0.125 s/video) and 48.2 vs 27.3 at load 3.3. On an idle box two are the
faster (issue 15: 356 vs 218 videos/s). Neither count is right everywhere, so ``ThreadTuner`` times
each candidate on the evaluator's own batches (work that has to be done anyway), keeps the fastest,
and probes again every ``every`` batches because the load of a shared machine changes.
"""

from __future__ import annotations

import contextlib
import time
from typing import Iterator, Sequence

from weightspace.torch_threads import torch_threads


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
        # measured, not assumed: at load 10, 1 thread 11.7 vs 2 threads 8.2 videos/s; the caller's count is restored
        # after (training and merging choose their own)
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

