"""Fixtures: tiny videos whose frame t has the flat gray level 4*t, so decoded frame indices can be read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from weightspace.data.encode import write_video

STEP = 4  # gray step per frame; >= 4 survives the YUV round trip exactly (libx264, measured: a step of 2 gave ±1 errors)


def gray_frames(n: int, h: int = 24, w: int = 32) -> np.ndarray:
    return np.stack([np.full((h, w, 3), STEP * t, np.uint8) for t in range(n)])


def frame_ids(frames) -> np.ndarray:
    """The frame index encoded in uint8 [..., H, W, 3] frames (mean gray level / STEP)."""
    arr = np.asarray(frames, dtype=float)
    return np.rint(arr.reshape(*arr.shape[:-3], -1).mean(-1) / STEP).astype(int)


@pytest.fixture
def make_video(tmp_path):
    def make(name: str, n: int = 20, h: int = 24, w: int = 32) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, gray_frames(n, h, w))
        return path

    return make


@pytest.fixture
def make_frame_folder(tmp_path):
    from PIL import Image

    def make(name: str, n: int = 10, h: int = 24, w: int = 32) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True)
        for t, frame in enumerate(gray_frames(n, h, w)):
            Image.fromarray(frame).save(folder / f"{t + 1:06d}.jpg", quality=100)
        return folder

    return make
