import hashlib
import os

from weightspace.merge.hashing import AsyncDigest, FileHasher, HashWorker


def test_file_hash_is_exact_whatever_the_read_order(tmp_path):
    data = os.urandom(10_000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    worker = HashWorker(budget=1000)
    try:
        h = FileHasher(path, worker)
        for start, end in [(100, 3000), (3000, 5000), (0, 100), (7000, 8000), (3000, 5000)]:  # gaps, repeats
            h.feed(start, end, memoryview(data)[start:end])
        assert h.hexdigest() == hashlib.sha256(data).hexdigest()
        d = AsyncDigest(worker)
        d.update(b"abc")
        d.update(memoryview(b"def"))
        assert d.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()
    finally:
        worker.close()
