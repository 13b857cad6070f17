import pytest
import torch
from open_clip.transformer import VisionTransformer

from weightspace.eval import frame_chunks
from weightspace.eval.frame_chunks import clips_per_forward, frame_activation_bytes


def vit(width: int, heads: int) -> VisionTransformer:
    return VisionTransformer(image_size=48, patch_size=8, width=width, layers=1, heads=heads, mlp_ratio=4.0,
                             output_dim=16)


def test_the_largest_activation_of_a_frame_by_hand():
    # 48 px / 8 px patches = 36 patches + the class token = 37 tokens, float32
    assert frame_activation_bytes(vit(128, 4)) == 37 * 512 * 4  # MLP hidden 4 x 128 > scores 4 heads x 3 x 37
    assert frame_activation_bytes(vit(64, 8)) == 37 * 888 * 4  # scores 8 x 3 x 37 = 888 > MLP hidden 256


def test_clips_per_forward_keeps_a_chunk_under_the_budget():
    per_frame = 37 * 512 * 4
    assert clips_per_forward(vit(128, 4), 8, "cpu") == (8 << 20) // (per_frame * 8) == 13
    assert clips_per_forward(vit(128, 4), 10 ** 6, "cpu") == 1  # at least one clip, however long
    assert clips_per_forward(vit(128, 4), 8, "cuda:0") is None  # the GPU's caching allocator keeps its memory
    assert clips_per_forward(torch.nn.Linear(3, 3), 8, "cpu") is None  # not a ViT: not sized


def test_chunked_encoding_scores_as_one_forward_pass(world, ckpts, tmp_path, monkeypatch):
    from weightspace.eval.evaluator import Evaluator
    from weightspace.models.video_clip import VideoCLIP

    def scored(budget: int):
        monkeypatch.setattr(frame_chunks, "ACTIVATION_BUDGET", budget)
        calls.clear()
        return Evaluator(world, store=False, cache_dir=tmp_path).evaluate(ckpts[1][0]).rows

    calls = []
    encode = VideoCLIP.encode_frames
    monkeypatch.setattr(VideoCLIP, "encode_frames", lambda self, x, **kw: calls.append(len(x)) or encode(self, x, **kw))
    whole = scored(1 << 40)
    assert max(calls) > 1  # whole batches
    chunked = scored(1)
    assert set(calls) == {1}  # one clip per forward pass
    for a, b in zip(chunked, whole, strict=True):
        assert (a.benchmark, a.split, a.metric) == (b.benchmark, b.split, b.metric)
        assert a.value == pytest.approx(b.value, abs=1e-9)
