import json

import numpy as np

from weightspace.data import cache as cache_mod
from weightspace.data.cache import FrameCache
from weightspace.data.decode import VideoReadError
from weightspace.data.lists import read_list

from .conftest import frame_ids


def _list(tmp_path, make_video):
    make_video("a.mp4", n=16, h=24, w=24)
    make_video("b.mp4", n=8, h=24, w=24)
    (tmp_path / "bad.mp4").write_bytes(b"broken" * 20)
    lst = tmp_path / "l.txt"
    lst.write_text("a.mp4 0\nb.mp4 1\nbad.mp4 1\n")
    return lst, read_list(lst)


def test_build_then_reuse(tmp_path, make_video, monkeypatch):
    lst, entries = _list(tmp_path, make_video)
    cache = FrameCache.ensure(tmp_path / "c", lst, entries, image_size=24, frames=8)
    assert cache.frames.shape == (3, 8, 24, 24, 3) and cache.frames.dtype == np.uint8
    assert cache.ok == [True, True, False] and "bad.mp4" in cache.reasons[2]
    # K = 8 segment centres of a 16-frame video are frames 1, 3, ..., 15; a video of 8 frames is kept whole
    assert frame_ids(cache.source(0, entries[0].path).read(range(8))).tolist() == [1, 3, 5, 7, 9, 11, 13, 15]
    assert frame_ids(cache.source(1, entries[1].path).read([0, 7])).tolist() == [0, 7]
    try:
        cache.source(2, entries[2].path)
        raise AssertionError("expected VideoReadError")
    except VideoReadError as exc:
        assert "bad.mp4" in str(exc)
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".u8")
    assert json.loads((tmp_path / "c" / files[0]).read_text())["shape"] == [3, 8, 24, 24, 3]

    def no_decoding(*a, **k):
        raise AssertionError("cache was rebuilt")

    monkeypatch.setattr(cache_mod, "open_source", no_decoding)
    again = FrameCache.ensure(tmp_path / "c", lst, entries, image_size=24, frames=8)
    assert np.array_equal(np.asarray(again.frames), np.asarray(cache.frames))


def test_key_changes_with_size_frames_and_paths(tmp_path, make_video):
    lst, entries = _list(tmp_path, make_video)
    names = {cache_mod.cache_name(lst, entries, 24, 8), cache_mod.cache_name(lst, entries, 16, 8),
             cache_mod.cache_name(lst, entries, 24, 4), cache_mod.cache_name(lst, entries[:2], 24, 8)}
    assert len(names) == 4


def test_square_frames_resize_and_centre_crop():
    frames = np.zeros((1, 20, 40, 3), np.uint8)
    frames[:, :, 10:30] = 200  # centre half bright
    out = cache_mod.square_frames(frames, 10)
    assert out.shape == (1, 10, 10, 3)
    assert out[:, :, 1:-1].min() >= 195 and out.min() > 150  # the centre crop sees the bright half (edges antialiased)
