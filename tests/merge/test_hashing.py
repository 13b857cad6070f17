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


def _merge_counting_hashes(monkeypatch, d, out, cache):
    """Run a task-arith merge; return the files the engine hashed from their bytes and the manifest."""
    import json

    import weightspace.merge.engine as engine
    from weightspace.checkpoint import MANIFEST_NAME
    from weightspace.merge import merge

    hashed = []

    class Spy(engine.FileHasher):
        def __init__(self, path, worker):
            hashed.append(path.parent.name)
            super().__init__(path, worker)

    monkeypatch.setattr(engine, "FileHasher", Spy)
    merge("task-arith", [d / "a", d / "b"], base=d / "base", out=d / out, hash_cache=cache)
    return sorted(hashed), json.loads((d / out / MANIFEST_NAME).read_text())


def test_cache_skips_untouched_files_and_rehashes_touched_ones(family, monkeypatch):
    from weightspace.checkpoint import WEIGHTS_NAME, sha256_file
    from weightspace.merge.hashing import HashCache

    d, _ = family
    path = d / "cache" / "hashes.json"
    hashed, _ = _merge_counting_hashes(monkeypatch, d, "m1", HashCache(path))
    assert hashed == ["a", "b", "base"]
    hashed, man = _merge_counting_hashes(monkeypatch, d, "m2", HashCache(path))  # a fresh process reads the file
    assert hashed == []
    assert [e["sha256"] for e in man["inputs"]] == [sha256_file(d / n / WEIGHTS_NAME) for n in ("base", "a", "b")]

    st = os.stat(d / "a" / WEIGHTS_NAME)
    os.utime(d / "a" / WEIGHTS_NAME, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched: same bytes
    hashed, _ = _merge_counting_hashes(monkeypatch, d, "m3", HashCache(path))
    assert hashed == ["a"]

    # replaced by a file of the same size and mtime but other bytes (a new inode): hashed again, new sha
    w = d / "b" / WEIGHTS_NAME
    st = os.stat(w)
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 1  # inside a float tensor
    tmp = w.with_suffix(".new")
    tmp.write_bytes(bytes(data))
    os.replace(tmp, w)
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns))
    hashed, man = _merge_counting_hashes(monkeypatch, d, "m4", HashCache(path))
    assert hashed == ["b"] and man["inputs"][2]["sha256"] == hashlib.sha256(bytes(data)).hexdigest()


def test_merge_output_is_cached_and_a_corrupt_cache_counts_as_empty(family, tmp_path):
    from weightspace.checkpoint import WEIGHTS_NAME, sha256_file
    from weightspace.merge import merge
    from weightspace.merge.hashing import HashCache, file_stamp

    d, _ = family
    path = tmp_path / "hashes.json"
    out = merge("average", [d / "a", d / "b"], out=d / "soup", hash_cache=HashCache(path))
    w = out / WEIGHTS_NAME
    assert HashCache(path).get(w, file_stamp(w)) == sha256_file(w)
    path.write_text("{not json")
    assert HashCache(path).get(w, file_stamp(w)) is None
    merge("average", [d / "a", out], out=d / "soup2", hash_cache=HashCache(path))  # rewrites it, valid again
    assert HashCache(path).get(w, file_stamp(w)) == sha256_file(w)
