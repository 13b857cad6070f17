"""sha256 of the input files, computed from the bytes the merge reads anyway.

A merge reads every tensor of every input once; hashing the files separately would read them all
again (~0.4 s per ViT-B/16 file). ``FileHasher`` feeds the hash with reads that arrive in file order
and hashes whatever was skipped at the end, so the result is the file's sha256 whatever the read
order. Hashing runs on one background thread (hashlib releases the GIL) with a cap on the bytes
waiting to be hashed, so memory stays bounded. Buffers larger than ``inline`` (e.g. a 100 MB token
embedding) are hashed on the caller's thread after the queue drains: a queued big buffer would keep
one extra large tensor alive exactly when memory peaks.

``HashCache`` remembers each file's sha256 under (path, size, mtime_ns, inode), so a merge whose
inputs were hashed before (by an earlier merge, or as its output) hashes nothing; a file that was
touched, rewritten or replaced is hashed again. It lives in ``$WEIGHTSPACE_CACHE/merge/hashes.json``
(default ``~/.cache/weightspace``), written atomically; an unreadable cache counts as empty.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
from pathlib import Path

from weightspace.atomic import atomic_path
from weightspace.cache_root import resolve_cache_root

_CHUNK = 8 << 20
_CACHE_ENTRIES = 10_000  # files remembered; the least recently stored are dropped first
log = logging.getLogger(__name__)


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


def file_stamp(path: str | os.PathLike) -> list[int]:
    """What identifies a file's content without reading it: size, mtime in ns, inode."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def default_hash_cache() -> Path:
    return resolve_cache_root() / "merge" / "hashes.json"


class HashCache:
    """Persistent sha256 of files keyed by (resolved path, size, mtime_ns, inode)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_hash_cache()
        self._new: dict[str, dict] = {}
        self._entries = self._read()

    def _read(self) -> dict[str, dict]:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable hash cache, ignored (%s)", self.path, exc)
            return {}
        entries = doc.get("files") if isinstance(doc, dict) else None
        if not isinstance(entries, dict):
            return {}
        return {k: e for k, e in entries.items()
                if isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("stamp"), list)}

    def get(self, path: str | os.PathLike, stamp: list[int]) -> str | None:
        entry = self._entries.get(str(Path(path).resolve()))
        return entry["sha256"] if entry is not None and entry["stamp"] == stamp else None

    def put(self, path: str | os.PathLike, stamp: list[int], sha256: str) -> None:
        """Remember ``sha256`` for ``path`` if the file still has the ``stamp`` taken before it was read."""
        try:
            if file_stamp(path) != stamp:
                return  # changed while it was being read: the hash may be of neither version
        except OSError:
            return
        key = str(Path(path).resolve())
        self._entries[key] = self._new[key] = {"stamp": stamp, "sha256": sha256}

    def save(self) -> None:
        """Merge this run's entries into the file on disk (other processes may have added theirs)."""
        if not self._new:
            return
        kept = {k: e for k, e in self._read().items() if k not in self._new and os.path.exists(k)}
        entries = dict(list({**kept, **self._new}.items())[-_CACHE_ENTRIES:])
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_text(json.dumps({"format": "weightspace-hash-cache", "files": entries}))
        except OSError as exc:  # a read-only cache dir must not fail a merge that succeeded
            log.warning("%s: could not save the hash cache (%s)", self.path, exc)
        self._new.clear()
