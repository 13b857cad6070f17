"""sha256 of the input files, computed from the bytes the merge reads anyway.

A merge reads every tensor of every input once; hashing the files separately would read them all
again (~0.4 s per ViT-B/16 file). ``FileHasher`` feeds the hash with reads that arrive in file order
and hashes whatever was skipped at the end, so the result is the file's sha256 whatever the read
order. Hashing runs on one background thread (hashlib releases the GIL) with a cap on the bytes
waiting to be hashed, so memory stays bounded. Buffers larger than ``inline`` (e.g. a 100 MB token
embedding) are hashed on the caller's thread after the queue drains: a queued big buffer would keep
one extra large tensor alive exactly when memory peaks.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from pathlib import Path

_CHUNK = 8 << 20


class HashWorker:
    """One background thread that applies ``hasher.update(buffer)`` in submission order."""

    def __init__(self, budget: int = 192 << 20, inline: int = 48 << 20):
        self._budget, self._inline = budget, inline
        self._inflight = 0
        self._cv = threading.Condition()
        self._q: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="weightspace-hash", daemon=True)
        self._thread.start()

    def submit(self, hasher, buf, nbytes: int) -> None:
        if nbytes > self._inline:
            self.drain()  # keeps each hasher's updates in order
            hasher.update(buf)
            return
        with self._cv:
            while self._inflight and self._inflight + nbytes > self._budget:
                self._cv.wait()
            self._inflight += nbytes
        self._q.put((hasher, buf, nbytes))

    def _run(self) -> None:
        while (item := self._q.get()) is not None:
            hasher, buf, nbytes = item
            hasher.update(buf)
            del buf, item
            with self._cv:
                self._inflight -= nbytes
                self._cv.notify_all()
            self._q.task_done()

    def drain(self) -> None:
        self._q.join()

    def close(self) -> None:
        self._q.put(None)
        self._thread.join()


class AsyncDigest:
    """A ``hashlib``-like sink whose ``update`` runs on the worker (for ``write_streaming(digest=...)``)."""

    def __init__(self, worker: HashWorker):
        self._worker = worker
        self._h = hashlib.sha256()

    def update(self, buf) -> None:
        self._worker.submit(self._h, buf, len(buf) if isinstance(buf, bytes) else buf.nbytes)

    def hexdigest(self) -> str:
        self._worker.drain()
        return self._h.hexdigest()


class FileHasher:
    """sha256 of one file, built from positional reads plus a final sweep over unread bytes."""

    def __init__(self, path: str | os.PathLike, worker: HashWorker):
        self.path = Path(path)
        self._worker = worker
        self._h = hashlib.sha256()
        self._pos = 0

    def feed(self, start: int, end: int, buf) -> None:
        """``buf`` holds the file's bytes [start, end); used only if it continues the hashed prefix."""
        if start == self._pos and end > start:
            self._worker.submit(self._h, buf, end - start)
            self._pos = end
        elif start > self._pos:  # a gap: hash it now from disk so later in-order reads still count
            self._sweep(start)
            self.feed(start, end, buf)

    def _sweep(self, until: int | None) -> None:
        with open(self.path, "rb") as fh:
            fh.seek(self._pos)
            while until is None or self._pos < until:
                block = fh.read(_CHUNK if until is None else min(_CHUNK, until - self._pos))
                if not block:
                    break
                self._worker.submit(self._h, block, len(block))
                self._pos += len(block)

    def hexdigest(self) -> str:
        self._sweep(None)
        self._worker.drain()
        return self._h.hexdigest()
