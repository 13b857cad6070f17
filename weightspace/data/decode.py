"""Reading frames: video files through PyAV, frame folders (``{:06d}.jpg``, 1-indexed) through PIL.

Both sources give ``num_frames()`` and ``read(indices) -> uint8 [N, H, W, 3]``; indices past the real end
(when a container over-reports its length) repeat the last decoded frame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from weightspace.errors import WeightspaceError

FRAME_TEMPLATE = "{:06d}.jpg"


class VideoReadError(WeightspaceError):
    """A video or frame folder cannot be read (missing, corrupt, empty)."""


class FrameSource(Protocol):
    path: Path

    def num_frames(self) -> int: ...
    def read(self, indices: Sequence[int]) -> np.ndarray: ...


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class VideoFile:
    """A video container decoded with PyAV."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._count: int | None = None

    def _open(self):
        import av

        if not self.path.is_file():
            raise VideoReadError(f"{self.path}: no such video file")
        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VideoReadError(f"{self.path}: cannot open ({_first_line(exc)})") from exc
        if not container.streams.video:
            container.close()
            raise VideoReadError(f"{self.path}: no video stream")
        return container

    def num_frames(self) -> int:
        """Frame count; webm/mkv report 0, so count demuxed packets, then fall back to duration x rate."""
        if self._count is None:
            import av

            with self._open() as container:
                stream = container.streams.video[0]
                count = stream.frames
                if count <= 0:
                    try:
                        count = sum(1 for p in container.demux(stream) if p.size > 0)
                    except av.FFmpegError:
                        count = 0
                if count <= 0 and container.duration and stream.average_rate:
                    count = int(round(container.duration / 1e6 * float(stream.average_rate)))
            if count <= 0:
                raise VideoReadError(f"{self.path}: video has no frames")
            self._count = count
        return self._count

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Decode sequentially and keep the wanted frames, stopping after the last one."""
        import av

        wanted_set = set(int(i) for i in indices)
        if not wanted_set:
            raise ValueError("no frame indices requested")
        wanted = sorted(wanted_set)
        got: dict[int, np.ndarray] = {}
        last = None
        with self._open() as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for i, frame in enumerate(container.decode(stream)):
                    if i in wanted_set:
                        got[i] = frame.to_ndarray(format="rgb24")
                    last = i, frame
                    if i >= wanted[-1]:
                        break
            except (av.FFmpegError, ValueError) as exc:
                if not got:
                    raise VideoReadError(f"{self.path}: cannot decode ({_first_line(exc)})") from exc
            if last is None:
                raise VideoReadError(f"{self.path}: no decodable frames")
            if wanted[-1] > last[0]:  # the container over-reported its length
                fill = got.get(last[0])
                if fill is None:
                    fill = last[1].to_ndarray(format="rgb24")
                for i in wanted:
                    if i > last[0]:
                        got[i] = fill
        return np.stack([got[int(i)] for i in indices])


class FrameFolder:
    """A folder of JPEG frames named ``{:06d}.jpg`` starting at ``start_index`` (mmaction rawframes)."""

    def __init__(self, path: str | os.PathLike, num_frames: int | None = None, *, template: str = FRAME_TEMPLATE, start_index: int = 1):
        self.path = Path(path)
        self.template = template
        self.start_index = start_index
        self._count = num_frames

    def num_frames(self) -> int:
        if self._count is None:
            if not self.path.is_dir():
                raise VideoReadError(f"{self.path}: no such frame folder")
            self._count = sum(1 for p in self.path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if self._count <= 0:
            raise VideoReadError(f"{self.path}: frame folder is empty")
        return self._count

    def read(self, indices: Sequence[int]) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        out: dict[int, np.ndarray] = {}
        for i in sorted(set(int(i) for i in indices)):
            file = self.path / self.template.format(i + self.start_index)
            try:
                with Image.open(file) as img:
                    out[i] = np.asarray(img.convert("RGB"))
            except (OSError, UnidentifiedImageError) as exc:
                raise VideoReadError(f"{file}: cannot read frame ({_first_line(exc)})") from exc
        return np.stack([out[int(i)] for i in indices])


def open_source(path: str | os.PathLike, num_frames: int | None = None) -> FrameSource:
    """A folder (or a rawframes entry with a frame count) is a frame folder; anything else a video file."""
    path = Path(path)
    if num_frames is not None or path.is_dir():
        return FrameFolder(path, num_frames)
    return VideoFile(path)
