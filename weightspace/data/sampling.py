"""Which frames to read: TSN segment sampling and multi-view test sampling.

TSN (Wang et al., ECCV 2016; mmaction ``SampleFrames(clip_len=1, num_clips=T)``, as in ViFi-CLIP): split the
video into T equal segments of length ``seg = n / T``; training takes a uniformly random frame of each segment,
testing the centre ``int(seg * i + seg / 2)``. Multi-view testing takes V temporal views whose offsets inside
each segment are ``(v + 0.5) / V`` of the segment (V = 1 is the centre), times 1 or 3 spatial crops.
"""

from __future__ import annotations

import numpy as np

SPATIAL_POSITIONS = {1: ("centre",), 3: ("left", "centre", "right")}


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
