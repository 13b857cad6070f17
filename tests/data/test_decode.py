import av
import numpy as np
import pytest

from weightspace.data.decode import FrameFolder, VideoFile, VideoReadError, open_source
from weightspace.data.encode import write_video

from .conftest import frame_ids, gray_frames


def test_mp4_frame_count_and_exact_indices(make_video):
    v = VideoFile(make_video("a.mp4", n=20))
    assert v.num_frames() == 20
    frames = v.read([17, 0, 5, 5, 19])  # any order, repeats allowed
    assert frames.shape == (5, 24, 32, 3) and frames.dtype == np.uint8
    assert frame_ids(frames).tolist() == [17, 0, 5, 5, 19]


def test_webm_reports_zero_frames_and_the_fallback_counts_them(make_video):
    path = make_video("a.webm", n=20)
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 0  # the container really does not know
    v = VideoFile(path)
    assert v.num_frames() == 20
    assert frame_ids(v.read([3, 12])).tolist() == [3, 12]


def test_mkv_and_avi(tmp_path):
    for name in ("a.mkv", "a.avi"):
        write_video(tmp_path / name, gray_frames(12))
        v = VideoFile(tmp_path / name)
        assert v.num_frames() == 12
        assert frame_ids(v.read([11])).tolist() == [11]


def test_indices_past_the_real_end_repeat_the_last_frame(make_video):
    v = VideoFile(make_video("a.mp4", n=10))
    assert frame_ids(v.read([8, 12, 30])).tolist() == [8, 9, 9]


def test_unreadable_videos_raise_video_read_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video" * 50)
    with pytest.raises(VideoReadError, match="bad.mp4"):
        VideoFile(bad).num_frames()
    with pytest.raises(VideoReadError, match="no such video"):
        VideoFile(tmp_path / "missing.mp4").read([0])


def test_frame_folder_is_one_indexed(make_frame_folder):
    folder = make_frame_folder("clip", n=10)
    src = FrameFolder(folder)
    assert src.num_frames() == 10
    assert frame_ids(src.read([0, 9, 4])).tolist() == [0, 9, 4]


def test_frame_folder_errors(tmp_path, make_frame_folder):
    with pytest.raises(VideoReadError, match="no such frame folder"):
        FrameFolder(tmp_path / "none").num_frames()
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoReadError, match="empty"):
        FrameFolder(tmp_path / "empty").num_frames()
    folder = make_frame_folder("clip", n=3)
    with pytest.raises(VideoReadError, match="000004.jpg"):
        FrameFolder(folder).read([3])


def test_open_source_picks_the_kind(tmp_path, make_video, make_frame_folder):
    assert isinstance(open_source(make_video("a.mp4")), VideoFile)
    assert isinstance(open_source(make_frame_folder("f")), FrameFolder)
    assert isinstance(open_source(tmp_path / "later", num_frames=5), FrameFolder)
