import numpy as np
import pytest
import torch

from weightspace.data.transforms import CLIP_MEAN, CLIP_STD, crop, normalize, resize_short, to_tensor


def test_to_tensor_layout_and_range():
    frames = np.zeros((2, 4, 6, 3), np.uint8)
    frames[1, :, :, 2] = 255
    x = to_tensor(frames)
    assert x.shape == (2, 3, 4, 6) and x.dtype == torch.float32
    assert x[1, 2].eq(1.0).all() and x[1, :2].eq(0).all()


def test_normalize_uses_clip_statistics():
    x = torch.ones(1, 3, 2, 2)
    out = normalize(x)
    for c in range(3):
        assert out[0, c, 0, 0].item() == pytest.approx((1 - CLIP_MEAN[c]) / CLIP_STD[c])
    assert normalize(torch.zeros(1, 3, 1, 1), mean=(0.5,) * 3, std=(0.25,) * 3).flatten().tolist() == [-2.0] * 3


def test_resize_short_side():
    assert resize_short(torch.rand(2, 3, 24, 32), 12).shape == (2, 3, 12, 16)
    assert resize_short(torch.rand(1, 3, 40, 30), 15).shape == (1, 3, 20, 15)
    x = torch.rand(1, 3, 8, 8)
    assert resize_short(x, 8) is x
    flat = resize_short(torch.full((1, 3, 20, 20), 0.3), 7)
    assert torch.allclose(flat, torch.full_like(flat, 0.3), atol=1e-6)


def test_crops_along_the_long_side():
    wide = torch.arange(8.0).view(1, 1, 1, 8).expand(1, 3, 4, 8)  # column index as value
    assert crop(wide, 4, "left")[0, 0, 0].tolist() == [0, 1, 2, 3]
    assert crop(wide, 4, "centre")[0, 0, 0].tolist() == [2, 3, 4, 5]
    assert crop(wide, 4, "right")[0, 0, 0].tolist() == [4, 5, 6, 7]
    tall = torch.arange(8.0).view(1, 1, 8, 1).expand(1, 3, 8, 4)
    assert crop(tall, 4, "left")[0, 0, :, 0].tolist() == [0, 1, 2, 3]
    assert crop(tall, 4, 1.0)[0, 0, :, 0].tolist() == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="crop position"):
        crop(wide, 4, "top")
