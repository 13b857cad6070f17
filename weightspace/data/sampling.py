"""Which frames to read: TSN segments or a strided window, for training and multi-view testing.

TSN (Wang et al., ECCV 2016; mmaction ``SampleFrames(clip_len=1, num_clips=T)``, as in ViFi-CLIP): split the
video into T equal segments of length ``seg = n / T``; training takes a uniformly random frame of each segment,
testing the centre ``int(seg * i + seg / 2)``. Multi-view testing takes V temporal views whose offsets inside
each segment are ``(v + 0.5) / V`` of the segment (V = 1 is the centre), times 1 or 3 spatial crops.

Window (SlowFast / Open-VCLIP ``NUM_FRAMES`` x ``SAMPLING_RATE``, e.g. 8 x 16): T frames ``stride`` apart from a
start uniform in ``[0, total − span]`` for training, span = (T − 1)·stride + 1; frames past the end repeat the
last one (SlowFast clamps). Test views place V windows uniformly, the first at frame 0 and the last at the end
(``USE_OFFSET_SAMPLING``); one view is centred.
"""

from __future__ import annotations

import numpy as np

SPATIAL_POSITIONS = {1: ("centre",), 3: ("left", "centre", "right")}
SAMPLERS = ("tsn", "window")


def segment_indices(total: int, num_segments: int, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """T frame indices in ``[0, total)``: random within each segment when ``rng`` is given, else centres."""
    if total <= 0 or num_segments <= 0:
        raise ValueError(f"need total > 0 and num_segments > 0 (got {total}, {num_segments})")
    seg = total / num_segments
    i = np.arange(num_segments)
    offset = rng.random(num_segments) * seg if rng is not None else seg / 2
    return np.minimum((seg * i + offset).astype(np.int64), total - 1)


def view_indices(total: int, num_segments: int, views: int) -> np.ndarray:
    """[V, T] indices: view v takes the frame at fraction ``(v + 0.5) / V`` of every segment."""
    if views <= 0:
        raise ValueError(f"views must be > 0 (got {views})")
    seg = total / num_segments
    i = np.arange(num_segments)[None, :]
    frac = (np.arange(views)[:, None] + 0.5) / views
    return np.minimum((seg * i + seg * frac).astype(np.int64), total - 1)


def spatial_positions(crops: int) -> tuple[str, ...]:
    """Crop positions along the long side for 1 or 3 spatial crops."""
    if crops not in SPATIAL_POSITIONS:
        raise ValueError(f"spatial_crops must be 1 or 3 (got {crops})")
    return SPATIAL_POSITIONS[crops]


def window_indices(total: int, num_frames: int, stride: int, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """T indices ``stride`` apart: a random window start when ``rng`` is given, else the centred window."""
    return window_view_indices(total, num_frames, stride, 1, rng=rng)[0]


def window_view_indices(total: int, num_frames: int, stride: int, views: int, *,
                        rng: np.random.Generator | None = None) -> np.ndarray:
    """[V, T] indices of V windows spread from frame 0 to the end (or one random/centred window)."""
    if total <= 0 or num_frames <= 0 or stride <= 0 or views <= 0:
        raise ValueError(f"need total, num_frames, stride and views > 0 (got {total}, {num_frames}, {stride}, {views})")
    room = max(0, total - ((num_frames - 1) * stride + 1))
    if rng is not None:
        starts = rng.integers(room + 1, size=1)
    elif views == 1:
        starts = np.array([room // 2])
    else:
        starts = np.rint(np.linspace(0, room, views)).astype(np.int64)
    return np.minimum(starts[:, None] + stride * np.arange(num_frames)[None, :], total - 1)


def sample_train(sampler: str, total: int, num_frames: int, stride: int, rng: np.random.Generator) -> np.ndarray:
    return segment_indices(total, num_frames, rng=rng) if sampler == "tsn" else window_indices(total, num_frames, stride, rng=rng)


def sample_views(sampler: str, total: int, num_frames: int, stride: int, views: int) -> np.ndarray:
    return view_indices(total, num_frames, views) if sampler == "tsn" else window_view_indices(total, num_frames, stride, views)
