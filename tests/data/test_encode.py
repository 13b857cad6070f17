import pytest

from weightspace.data.decode import VideoFile
from weightspace.data.encode import write_video

from .conftest import frame_ids, gray_frames


def test_round_trip_keeps_size_and_frames(tmp_path):
    write_video(tmp_path / "a.mp4", gray_frames(6, 16, 20), fps=5)
    v = VideoFile(tmp_path / "a.mp4")
    frames = v.read(range(6))
    assert frames.shape == (6, 16, 20, 3)
    assert frame_ids(frames).tolist() == list(range(6))


def test_odd_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "a.mp4", gray_frames(2, 15, 20))
