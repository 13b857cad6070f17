"""Tiny open_clip CLIPs for the model tests (built in memory: no files, no network)."""

import pytest

TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="session")
def tiny_cfg():
    return TINY_CFG


@pytest.fixture
def make_clip():
    """``make_clip(seed)`` -> a fresh randomly initialised tiny CLIP in eval mode."""
    import torch

    from weightspace.models.factory import build_clip

    def make(seed: int = 0):
        torch.manual_seed(seed)
        return build_clip(TINY_CFG).eval()

    return make


@pytest.fixture
def video():
    import torch

    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 4, 3, 32, 32, generator=g)
