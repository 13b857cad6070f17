"""sha256 of the merge's input files, on background threads, and a persistent cache of them.

``FileHashes`` hashes each input file from its first byte on a background thread as soon as the
merge has opened it: while the merge computes (and, for the methods that need torch, imports it: ~1.6 s
of one core that leaves the other free), so the hash is rarely what the merge waits for. ``sha256_file`` hashes
mapped windows of the file (memory bounded, no copy) and hashlib releases the GIL.

``HashCache`` remembers each file's sha256 under (path, size, mtime_ns, inode), so a merge whose
inputs were hashed before (by an earlier merge, or as its output) hashes nothing; a file that was
touched, rewritten or replaced is hashed again. It lives in ``$WEIGHTSPACE_CACHE/merge/hashes.json``
(default ``~/.cache/weightspace``), written atomically; an unreadable cache counts as empty.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from weightspace.atomic import atomic_path
from weightspace.cache_root import resolve_cache_root
from weightspace.checkpoint import sha256_file

_CACHE_ENTRIES = 10_000  # files remembered; the least recently stored are dropped first
# One core is left to the merge's own thread (the compute, and the torch import if any): merge_bench.py, first
# merge on 2 cores at load 5.4, 2 hash threads took 1.20x the wall of 1 (they slowed the torch import); with the
# numpy path (no import), at load 4.7-6.5, 1.01x.
HASH_THREADS = max(1, (os.cpu_count() or 2) - 1)
log = logging.getLogger(__name__)


class FileHashes:
    """Background sha256 of files, each hashed once however often it is started."""

    def __init__(self, threads: int | None = None):
        self._pool = ThreadPoolExecutor(max_workers=threads or HASH_THREADS, thread_name_prefix="weightspace-hash")
        self._jobs: dict[Path, Future] = {}

    def start(self, path: Path) -> None:
        if path not in self._jobs:
            self._jobs[path] = self._pool.submit(sha256_file, path)

    def result(self, path: Path) -> str:
        """The hex digest of a started file (waits for it; a read error is raised here)."""
        return self._jobs[path].result()

    def close(self) -> None:
        """Stop: hashes not begun are dropped, running ones finish (a thread cannot be interrupted)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


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
