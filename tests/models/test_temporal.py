import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from weightspace.errors import ConfigError
from weightspace.models.temporal import (
    TEMPORAL,
    frames_none,
    frames_vclip,
    get_temporal,
    make_temporal,
    neighbour_attention,
)


def slow_neighbour_attention(attn: nn.MultiheadAttention, x: torch.Tensor, T: int) -> torch.Tensor:
    """Open-VCLIP expand_temporal_view written out: per clip, frame, head; keys/values of t-1, t, t+1
    concatenated after the in-projection, zero vectors for frames outside the clip."""
    bt, n, w = x.shape
    h = attn.num_heads
    d = w // h
    wq, wk, wv = attn.in_proj_weight.chunk(3)
    bq, bk, bv = attn.in_proj_bias.chunk(3)
    q, k, v = x @ wq.T + bq, x @ wk.T + bk, x @ wv.T + bv
    out = torch.zeros_like(x)
    for b in range(bt // T):
        for t in range(T):
            i = b * T + t
            keys, vals = [], []
            for s in (t - 1, t, t + 1):
                if 0 <= s < T:
                    keys.append(k[b * T + s])
                    vals.append(v[b * T + s])
                else:
                    keys.append(torch.zeros(n, w))
                    vals.append(torch.zeros(n, w))
            K, V = torch.cat(keys), torch.cat(vals)  # [3N, W]
            for hh in range(h):
                sl = slice(hh * d, (hh + 1) * d)
                scores = q[i, :, sl] @ K[:, sl].T / math.sqrt(d)
                out[i, :, sl] = torch.softmax(scores, dim=-1) @ V[:, sl]
    return out @ attn.out_proj.weight.T + attn.out_proj.bias


def test_registry():
    assert set(TEMPORAL.names()) == {"none", "vclip", "mote"}
    assert make_temporal("vclip").config() == "vclip"  # no options: recorded as the bare name
    assert make_temporal({"name": "mote", "layers": 2}).config()["layers"] == 2
    with pytest.raises(ConfigError, match="unknown temporal module"):
        get_temporal("timesformer")
    with pytest.raises(ConfigError, match="unknown key 'temporal.depth'"):
        make_temporal({"name": "mote", "depth": 2})
    with pytest.raises(ConfigError, match="temporal.experts"):
        make_temporal({"name": "mote", "experts": 0})


def test_neighbour_attention_matches_slow_reference():
    torch.manual_seed(0)
    attn = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    nn.init.normal_(attn.in_proj_bias)
    x = torch.randn(2 * 3, 5, 16)  # 2 clips x 3 frames, 5 tokens
    got = neighbour_attention(attn, x, 3)
    want = slow_neighbour_attention(attn, x, 3)
    assert torch.allclose(got, want, atol=1e-5)


def _uniform_attention(width: int) -> nn.MultiheadAttention:
    """q = k = 0 (all scores equal), v = x, out = identity: output = average of the visible values."""
    attn = nn.MultiheadAttention(width, 2, batch_first=True)
    with torch.no_grad():
        attn.in_proj_weight.zero_()
        attn.in_proj_weight[2 * width:] = torch.eye(width)
        attn.in_proj_bias.zero_()
        attn.out_proj.weight.copy_(torch.eye(width))
        attn.out_proj.bias.zero_()
    return attn


def test_edge_frames_zero_padding_hand_case():
    # Uniform scores: a frame sees 3N keys; padded ones carry zero values but still take 1/(3N) weight.
    n, w = 4, 6
    attn = _uniform_attention(w)
    x = torch.randn(3, n, w)  # one clip, T=3
    out = neighbour_attention(attn, x, 3)
    mean = [x[t].mean(0) for t in range(3)]
    assert torch.allclose(out[1], ((mean[0] + mean[1] + mean[2]) / 3).expand(n, w), atol=1e-6)
    assert torch.allclose(out[0], ((mean[0] + mean[1]) / 3).expand(n, w), atol=1e-6)
    assert torch.allclose(out[2], ((mean[1] + mean[2]) / 3).expand(n, w), atol=1e-6)
    single = neighbour_attention(attn, x[:1], 1)  # T=1: two padded frames, a third of plain attention
    assert torch.allclose(single[0], (mean[0] / 3).expand(n, w), atol=1e-6)


def slow_vclip_tower(visual, video):
    """open_clip ViT forward written block by block with the slow neighbour attention."""
    b, t = video.shape[:2]
    x = visual._embeds(video.flatten(0, 1))
    for blk in visual.transformer.resblocks:
        x = x + slow_neighbour_attention(blk.attn, blk.ln_1(x), t)
        x = x + blk.mlp(blk.ln_2(x))
    x = visual.ln_post(x[:, 0])
    return (x @ visual.proj).view(b, t, -1)


def test_vclip_tower_matches_slow_reference(make_clip, video):
    visual = make_clip().visual
    video = video[:, :3]
    with torch.no_grad():
        assert torch.allclose(frames_vclip(visual, video), slow_vclip_tower(visual, video), atol=1e-5)


def test_none_is_open_clip_per_frame(make_clip, video):
    clip = make_clip()
    with torch.no_grad():
        got = frames_none(clip.visual, video)
        for t in range(video.shape[1]):
            assert torch.allclose(got[:, t], clip.encode_image(video[:, t]), atol=1e-6)


def test_vclip_identical_frames_inner_equals_clip(make_clip):
    # Three copies of the same keys/values leave softmax attention unchanged, so with identical frames only
    # the padded edges differ from CLIP, and that difference spreads one frame per block: with 2 blocks and
    # T=5 the centre frame is plain CLIP, its neighbours are not.
    clip = make_clip()
    assert len(clip.visual.transformer.resblocks) == 2
    frame = torch.randn(1, 1, 3, 32, 32)
    with torch.no_grad():
        got = frames_vclip(clip.visual, frame.expand(1, 5, 3, 32, 32).contiguous())
        ref = clip.encode_image(frame[:, 0])
    assert torch.allclose(got[0, 2], ref[0], atol=1e-5)
    assert not torch.allclose(got[0, 1], ref[0], atol=1e-4)
    assert not torch.allclose(got[0, 0], ref[0], atol=1e-4)


def test_vclip_is_order_sensitive_but_reversal_equivariant(make_clip, video):
    clip = make_clip()
    with torch.no_grad():
        base = F.normalize(frames_vclip(clip.visual, video), dim=-1)
        rev = F.normalize(frames_vclip(clip.visual, video.flip(1)), dim=-1)
        shuffled = F.normalize(frames_vclip(clip.visual, video[:, [0, 2, 1, 3]]), dim=-1)
        none = F.normalize(frames_none(clip.visual, video), dim=-1)
        none_shuffled = F.normalize(frames_none(clip.visual, video[:, [0, 2, 1, 3]]), dim=-1)
    assert not torch.allclose(base, none, atol=1e-3)  # frames differ: neighbours change the features
    # the neighbour set {t-1, t+1} is symmetric in time, so reversing the clip reverses the output
    assert torch.allclose(rev.flip(1), base, atol=1e-5)
    assert not torch.allclose(shuffled.mean(1), base.mean(1), atol=1e-3)
    assert torch.allclose(none_shuffled.mean(1), none.mean(1), atol=1e-6)


def test_vclip_rejects_custom_blocks():
    import open_clip

    clip = open_clip.CLIP(
        embed_dim=16,
        vision_cfg={"image_size": 16, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8, "qk_norm": True},
        text_cfg={"context_length": 8, "vocab_size": 49408, "width": 16, "heads": 1, "layers": 1},
    )
    make_temporal("none").check(clip.visual)
    with pytest.raises(ConfigError, match="only standard blocks"):
        make_temporal("vclip").check(clip.visual)
