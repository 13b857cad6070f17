"""Frame transforms: resize the short side, crop (centre / left / right / random), CLIP normalisation, augmentation.

Frames come in as uint8 ``[T, H, W, 3]`` and leave as float ``[T, 3, S, S]``. ``Augmentation`` holds the
training-time options of the official configs (SlowFast ``spatial_sampling``: short side jittered in
``TRAIN_JITTER_SCALES``, a random crop, a horizontal flip; plus colour jitter), one random draw per clip.
By default only the random crop is on: in the built-in world left and right are different actions.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def crop(video: torch.Tensor, size: int, position: str | float | tuple[float, float] = "centre") -> torch.Tensor:
    """A square ``size`` crop: along the long side at left/centre/right or a fraction in [0, 1], or at
    (top, left) fractions of the free room in both axes."""
    h, w = video.shape[-2:]
    if isinstance(position, tuple):
        top, left = (int(round((n - size) * f)) for n, f in zip((h, w), position))
        return video[..., top : top + size, left : left + size]
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


def hflip(video: torch.Tensor) -> torch.Tensor:
    return video.flip(-1)


def color_jitter(video: torch.Tensor, brightness: float, contrast: float, saturation: float) -> torch.Tensor:
    """torchvision's adjust_brightness/contrast/saturation rules on float [T, 3, H, W] in [0, 1], in that
    order; contrast blends with the clip's mean gray level (one factor set per clip)."""
    gray_w = torch.tensor((0.299, 0.587, 0.114), dtype=video.dtype).view(1, 3, 1, 1)  # ITU-R 601, as torchvision
    video = (video * brightness).clamp_(0, 1)
    mean = (video * gray_w).sum(1, keepdim=True).mean((-3, -2, -1), keepdim=True)
    video = (contrast * video + (1 - contrast) * mean).clamp_(0, 1)
    gray = (video * gray_w).sum(1, keepdim=True)
    return (saturation * video + (1 - saturation) * gray).clamp_(0, 1)


@dataclass(frozen=True)
class Augmentation:
    """Training-time spatial augmentation; a random draw per clip from ``rng``, nothing drawn for what is off."""

    short_side: tuple[int, int] | None = None  # jitter the resized short side in [lo, hi] (then crop randomly)
    random_crop: bool = True  # else a centre crop
    flip: bool = False  # horizontal, with probability 1/2
    color_jitter: float = 0.0  # brightness, contrast and saturation factors uniform in [1 − s, 1 + s]

    def __call__(self, video: torch.Tensor, size: int, rng: np.random.Generator) -> torch.Tensor:
        short = size if self.short_side is None else int(rng.integers(self.short_side[0], self.short_side[1] + 1))
        video = resize_short(video, short)
        if not self.random_crop:
            video = crop(video, size, "centre")
        elif short == size:
            video = crop(video, size, float(rng.random()))
        else:
            video = crop(video, size, (float(rng.random()), float(rng.random())))
        if self.flip and rng.random() < 0.5:
            video = hflip(video)
        if self.color_jitter > 0:
            s = self.color_jitter
            video = color_jitter(video, *rng.uniform(1 - s, 1 + s, size=3))
        return video
