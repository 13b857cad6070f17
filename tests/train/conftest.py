"""Fixtures for training tests: a tiny CLIP checkpoint (session), the in-memory video set, one thread."""

import pytest
import torch

from .fakes import TINY_CFG, TensorVideos


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    """A randomly initialised tiny CLIP saved as a weightspace checkpoint folder."""
    from weightspace.checkpoint import save_checkpoint
    from weightspace.models.factory import build_clip

    torch.manual_seed(0)
    model = build_clip(TINY_CFG)
    out = tmp_path_factory.mktemp("tiny") / "clip"
    save_checkpoint(out, model.state_dict(), model_cfg=TINY_CFG)
    return out


@pytest.fixture
def videos():
    return TensorVideos()


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models on a shared 2-core machine run ~10x faster single-threaded (no OpenMP sync)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
