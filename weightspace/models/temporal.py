"""Temporal modules: how a CLIP image tower turns a clip of T frames into T frame embeddings.

A temporal module is a registered component (``TEMPORAL``; options declared once in its ``Params``).
It gives the per-frame CLIP embeddings and may own a video head (``build_head``), whose weights are
saved beside open_clip's in the checkpoint (``temporal.*`` keys, see ``weightspace.checkpoint``):

- ``none``: every frame through the stock visual tower on its own (frozen-CLIP / ViFi-CLIP baseline);
  this is open_clip's own ``visual(x)`` call, so features equal ``encode_image`` bit for bit.
- ``vclip``: Open-VCLIP's "expand temporal view" (Weng et al., ICML 2023; ``expand_temporal_view`` in
  their ``torch_utils/functional.py``): in every ViT block the queries of frame t attend to the keys and
  values of frames t-1, t and t+1. As in the original, the neighbour keys/values are taken *after* the
  in-projection and are zero at clip edges, so at the first/last frame the N padded keys still take
  softmax weight (score 0) and add nothing to the output. Hence ``vclip`` with T=1 is *not* plain CLIP.
- ``mote``: per-frame CLIP features, then MoTE's mixture of temporal experts head (``models/mote.py``).

A module is given as its name (``vclip``) or a mapping with ``name`` plus options (``{name: mote, layers: 4}``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from weightspace.errors import ConfigError
from weightspace.schema import shorten
from weightspace.train.registry import Pluggable, Registry


def frames_none(visual: nn.Module, video: torch.Tensor) -> torch.Tensor:
    """[B,T,3,H,W] -> [B,T,D]: each frame through the unchanged visual tower."""
    b, t = video.shape[:2]
    return visual(video.flatten(0, 1)).view(b, t, -1)


def expand_temporal_view(x: torch.Tensor, num_frames: int) -> torch.Tensor:
    """[B*T, H, N, d] -> [B*T, H, 3N, d]: frame t's tokens followed by frame t-1's and t+1's (zeros at the edges)."""
    bt, h, n, d = x.shape
    x = x.view(bt // num_frames, num_frames, h, n, d)
    # one output buffer written in place: a third of the memory traffic of three torch.cat calls (the eval hot path)
    out = x.new_empty(bt // num_frames, num_frames, h, 3, n, d)
    out[:, :, :, 0] = x
    out[:, 1:, :, 1] = x[:, :-1]
    out[:, :1, :, 1] = 0
    out[:, :-1, :, 2] = x[:, 1:]
    out[:, -1:, :, 2] = 0
    return out.view(bt, h, 3 * n, d)


def neighbour_attention(attn: nn.MultiheadAttention, x: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Self-attention of ``attn`` (its own in/out projections) with keys/values over frames t-1, t, t+1.

    ``x``: [B*T, N, W] token sequences, frames of one clip consecutive. Returns [B*T, N, W].
    """
    bt, n, w = x.shape
    h = attn.num_heads
    q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (y.reshape(bt, n, h, w // h).transpose(1, 2) for y in (q, k, v))  # [B*T, H, N, d]
    k = expand_temporal_view(k, num_frames)
    v = expand_temporal_view(v, num_frames)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=attn.dropout if attn.training else 0.0)
    out = out.transpose(1, 2).reshape(bt, n, w)
    return F.linear(out, attn.out_proj.weight, attn.out_proj.bias)


def _vclip_block(block: nn.Module, x: torch.Tensor, num_frames: int) -> torch.Tensor:
    # open_clip ResidualAttentionBlock.forward with the attention swapped for the neighbour view
    x = x + block.ls_1(neighbour_attention(block.attn, block.ln_1(x), num_frames))
    return x + block.ls_2(block.mlp(block.ln_2(x)))


def frames_vclip(visual: nn.Module, video: torch.Tensor) -> torch.Tensor:
    """[B,T,3,H,W] -> [B,T,D]: open_clip's ViT forward with neighbour-frame attention in every block."""
    b, t = video.shape[:2]
    x = visual._embeds(video.flatten(0, 1))  # conv1, class + positional embedding, patch dropout, ln_pre
    use_ckpt = visual.transformer.grad_checkpointing and torch.is_grad_enabled()
    for block in visual.transformer.resblocks:
        x = checkpoint(_vclip_block, block, x, t, use_reentrant=False) if use_ckpt else _vclip_block(block, x, t)
    pooled, _ = visual._pool(x)  # ln_post + token/avg/attentional pooling, as open_clip does it
    if visual.proj is not None:
        pooled = pooled @ visual.proj
    return pooled.view(b, t, -1)


def check_vclip(visual: nn.Module) -> None:
    """``vclip`` re-runs open_clip's ViT itself: refuse towers it does not know how to run."""
    from open_clip.transformer import ResidualAttentionBlock, VisionTransformer

    if not isinstance(visual, VisionTransformer):
        raise ConfigError(f"temporal 'vclip': needs an open_clip VisionTransformer image tower, not {type(visual).__name__}")
    for i, block in enumerate(visual.transformer.resblocks):
        if not isinstance(block, ResidualAttentionBlock) or hasattr(block, "ln_1_kv"):
            raise ConfigError(f"temporal 'vclip': visual block {i} is a {type(block).__name__}, only standard blocks are supported")
        if not block.attn._qkv_same_embed_dim:
            raise ConfigError(f"temporal 'vclip': visual block {i} has separate q/k/v projections")


class Temporal(Pluggable):
    """A temporal module: ``frames`` ([B,T,3,H,W] -> [B,T,D] unnormalised), ``check``, and an optional head."""

    def frames(self, visual: nn.Module, video: torch.Tensor) -> torch.Tensor:
        return frames_none(visual, video)

    def check(self, visual: nn.Module) -> None:
        pass

    def build_head(self, clip_model: nn.Module, model_cfg: dict) -> nn.Module | None:
        """The trainable video head over the frame embeddings (None: the module has no weights)."""
        return None

    def config(self) -> str | dict:
        """What ``weightspace.json`` records: the bare name, or name + every option."""
        params = self.params.model_dump()
        return {"name": self.name, **params} if params else self.name


TEMPORAL: Registry[Temporal] = Registry("temporal module")


@TEMPORAL.register
class NoTemporal(Temporal):
    name = "none"
    reference = "frozen CLIP / ViFi-CLIP: each frame through open_clip's visual tower"


@TEMPORAL.register
class VCLIP(Temporal):
    name = "vclip"
    reference = "Open-VCLIP expand_temporal_view: frame t attends to t-1, t, t+1 in every ViT block (ICML'23)"

    def frames(self, visual, video):
        return frames_vclip(visual, video)

    def check(self, visual):
        check_vclip(visual)


def get_temporal(name: str) -> type[Temporal]:
    try:
        return TEMPORAL.get(name)
    except ConfigError:
        raise ConfigError(f"temporal {name!r}: unknown temporal module (choose from {', '.join(TEMPORAL.names())})") from None


def make_temporal(spec: "str | dict | Temporal", source: str | None = None, key: str = "temporal") -> Temporal:
    """A temporal module from its name or ``{name, **options}`` (options checked, defaults filled in)."""
    if isinstance(spec, Temporal):
        return spec
    where = f"{source}: " if source else ""
    if isinstance(spec, str):
        name, given = spec, {}
    elif isinstance(spec, dict) and isinstance(spec.get("name"), str):
        name, given = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    else:
        raise ConfigError(f"{where}key {key!r}: expected a temporal module name or a mapping with 'name', got {shorten(spec)}")
    try:
        cls = get_temporal(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}key {key!r}: {exc}") from None
    return cls(cls.check_params(given, key, source))


from weightspace.models import mote  # noqa: E402,F401  (registers ``mote``)
