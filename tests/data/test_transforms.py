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


def test_crop_at_fractions_of_both_axes():
    from weightspace.data.transforms import crop

    grid = (torch.arange(6.0).view(6, 1) * 10 + torch.arange(8.0)).expand(1, 3, 6, 8)  # 10·row + column
    assert crop(grid, 4, (0.0, 1.0))[0, 0, 0, 0].item() == 4  # top row, rightmost columns
    assert crop(grid, 4, (1.0, 0.0))[0, 0, 0, 0].item() == 20  # bottom rows, leftmost column


def test_colour_jitter_by_hand():
    from weightspace.data.transforms import color_jitter

    x = torch.full((1, 3, 2, 2), 0.5)
    assert torch.allclose(color_jitter(x, 1.2, 1.0, 1.0), torch.full_like(x, 0.6))  # brightness scales
    red = torch.zeros(1, 3, 1, 1)
    red[0, 0] = 0.8
    out = color_jitter(red, 1.0, 1.0, 0.0)  # saturation 0: the gray level 0.299·0.8 in every channel
    assert torch.allclose(out.flatten(), torch.full((3,), 0.299 * 0.8))
    two = torch.tensor([0.2, 0.6]).view(1, 1, 1, 2).expand(1, 3, 1, 2).clone()
    assert torch.allclose(color_jitter(two, 1.0, 0.5, 1.0)[0, 0, 0], torch.tensor([0.3, 0.5]))  # halfway to the mean


def test_augmentation_draws_only_for_what_is_on_and_flips_half_the_time():
    from weightspace.data.transforms import Augmentation

    video = torch.rand(2, 3, 12, 16)
    plain = Augmentation()
    a, b = np.random.default_rng(0), np.random.default_rng(0)
    out = plain(video, 8, a)
    b.random()  # off options draw nothing: only the crop position was drawn
    assert out.shape == (2, 3, 8, 8) and a.random() == b.random()
    flips = Augmentation(flip=True)
    rng = np.random.default_rng(1)
    outs = [flips(video, 12, rng) for _ in range(200)]
    flipped = sum(any(torch.equal(o, video[..., i:i + 12].flip(-1)) for i in range(5)) for o in outs)
    assert 60 < flipped < 140
    jitter = Augmentation(short_side=(12, 24))
    sizes = {jitter(video, 12, np.random.default_rng(s)).shape for s in range(20)}
    assert sizes == {(2, 3, 12, 12)}
