import hashlib
import os

import pytest

from weightspace.merge.hashing import FileHashes


def test_background_hashes_are_the_files_sha256_and_a_file_started_twice_is_hashed_once(tmp_path, monkeypatch):
    import weightspace.merge.hashing as hashing

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"f{i}.bin")
        paths[-1].write_bytes(os.urandom(9_000_000 + i))  # more than one read buffer
    real, calls = hashing.sha256_file, []
    monkeypatch.setattr(hashing, "sha256_file", lambda p: calls.append(p) or real(p))
    hashes = FileHashes(threads=2)
    try:
        for p in paths + paths[:1]:
            hashes.start(p)
        assert [hashes.result(p) for p in paths] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    finally:
        hashes.close()
    assert sorted(calls) == sorted(paths)


def test_a_file_that_cannot_be_read_fails_when_its_hash_is_asked_for(tmp_path):
    hashes = FileHashes(threads=1)
    try:
        hashes.start(tmp_path / "gone.bin")
        with pytest.raises(FileNotFoundError):
            hashes.result(tmp_path / "gone.bin")
    finally:
        hashes.close()


def _merge_counting_hashes(monkeypatch, d, out, cache):
    """Run a task-arith merge; return the files the engine hashed from their bytes and the manifest."""
    import json

    import weightspace.merge.engine as engine
    from weightspace.checkpoint import MANIFEST_NAME
    from weightspace.merge import merge

    hashed = []

    class Spy(engine.FileHashes):
        def start(self, path):
            hashed.append(path.parent.name)
            super().start(path)

    monkeypatch.setattr(engine, "FileHashes", Spy)
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


def test_a_checkpoint_with_a_head_file_is_named_by_both_files_whether_hashed_or_cached(tmp_path):
    import json

    import torch

    from merge.fakes import MODEL_CFG, clip_like_state
    from weightspace.checkpoint import (
        HEAD_NAME, MANIFEST_NAME, WEIGHTS_NAME, combined_sha256, save_checkpoint, sha256_file,
    )
    from weightspace.merge import merge
    from weightspace.merge.hashing import HashCache, file_stamp

    def identity(folder):
        return combined_sha256(sha256_file(folder / WEIGHTS_NAME), folder / HEAD_NAME)

    for name, seed in (("base", 0), ("a", 1)):
        head = torch.randn(3, generator=torch.Generator().manual_seed(seed))
        save_checkpoint(tmp_path / name, {**clip_like_state(seed), "temporal.w": head}, model_cfg=MODEL_CFG)
    cache = tmp_path / "hashes.json"
    for out in ("m1", "m2"):  # m1 hashes both weights files, m2 finds them in the cache
        merge("task-arith", [tmp_path / "a"], base=tmp_path / "base", out=tmp_path / out, hash_cache=HashCache(cache))
        man = json.loads((tmp_path / out / MANIFEST_NAME).read_text())
        assert [e["sha256"] for e in man["inputs"]] == [identity(tmp_path / "base"), identity(tmp_path / "a")]
    w = tmp_path / "m2" / WEIGHTS_NAME
    assert man["output"]["weights_sha256"] == identity(tmp_path / "m2")
    assert HashCache(cache).get(w, file_stamp(w)) == sha256_file(w)  # the weights file's own hash is cached
