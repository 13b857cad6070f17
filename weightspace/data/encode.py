"""Writing small videos with PyAV (the built-in world, test fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# codec per container; x264 needs even sizes and yuv420p for players to accept it
CODECS = {".mp4": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9", ".avi": "mpeg4"}


def write_video(path: str | os.PathLike, frames: np.ndarray, *, fps: int = 8, codec: str | None = None, crf: int = 18) -> None:
    """Encode uint8 ``[T, H, W, 3]`` frames (H and W even) into ``path``; the container follows the suffix."""
    import av

    path = Path(path)
    frames = np.asarray(frames, dtype=np.uint8)
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:
        raise ValueError(f"{path}: frame size {w}x{h} must be even for yuv420p")
    codec = codec or CODECS.get(path.suffix.lower(), "libx264")
    options = {"g": str(t), "bf": "0", "crf": str(crf), "preset": "veryfast"} if codec == "libx264" else {}
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.thread_type = "NONE"  # tiny frames: threads cost more than they save, and keep output deterministic
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
