"""Frame transforms: resize the short side, crop (centre / left / right / random), CLIP normalisation.

Frames come in as uint8 ``[T, H, W, 3]`` and leave as float ``[T, 3, S, S]``. No horizontal flip: in
action recognition (and in the built-in world) left and right are different actions.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# OpenAI CLIP's image statistics (the same values as open_clip.OPENAI_DATASET_MEAN / _STD)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CROP_FRACTIONS = {"left": 0.0, "centre": 0.5, "right": 1.0}


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> float [T, 3, H, W] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)


def resize_short(video: torch.Tensor, size: int) -> torch.Tensor:
    """Scale [T, 3, H, W] so the short side is ``size`` (bilinear, antialiased); no-op when it already is."""
    h, w = video.shape[-2:]
    if min(h, w) == size:
        return video
    scale = size / min(h, w)
    new = (max(size, round(h * scale)), max(size, round(w * scale)))
    return F.interpolate(video, size=new, mode="bilinear", antialias=True, align_corners=False).clamp_(0.0, 1.0)


def crop(video: torch.Tensor, size: int, position: str | float = "centre") -> torch.Tensor:
    """A square ``size`` crop along the long side; ``position`` is left/centre/right or a fraction in [0, 1]."""
    h, w = video.shape[-2:]
    if isinstance(position, str):
        if position not in CROP_FRACTIONS:
            raise ValueError(f"unknown crop position {position!r} (expected one of {sorted(CROP_FRACTIONS)})")
        frac = CROP_FRACTIONS[position]
    else:
        frac = float(position)
    top = int(round((h - size) * (frac if h > w else 0.5)))
    left = int(round((w - size) * (frac if w >= h else 0.5)))
    return video[..., top : top + size, left : left + size]


def normalize(video: torch.Tensor, mean=CLIP_MEAN, std=CLIP_STD) -> torch.Tensor:
    m = torch.tensor(mean, dtype=video.dtype).view(-1, 1, 1)
    s = torch.tensor(std, dtype=video.dtype).view(-1, 1, 1)
    return (video - m) / s
