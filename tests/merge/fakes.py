"""Tiny fake CLIP-like checkpoints for merge tests (random tensors under open_clip key names)."""

from __future__ import annotations

from pathlib import Path

import torch

from weightspace.checkpoint import make_meta, save_checkpoint, save_safetensors

MODEL_CFG = {"embed_dim": 4, "vision_cfg": {"width": 8}, "text_cfg": {"width": 6}}


def clip_like_state(seed: int, *, dtype=torch.float32, int_value: int = 7) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(shape, generator=g).to(dtype)

    return {
        "visual.conv1.weight": r(8, 3, 2, 2),
        "visual.transformer.resblocks.0.attn.in_proj_weight": r(24, 8),
        "visual.transformer.resblocks.0.attn.in_proj_bias": r(24),
        "visual.proj": r(8, 4),
        "transformer.resblocks.0.mlp.c_fc.weight": r(12, 6),
        "token_embedding.weight": r(10, 6),
        "text_projection": r(6, 4),
        "logit_scale": r(),
        "prompt_learner.step": torch.tensor([int_value, 1, 2], dtype=torch.int64),  # an integer buffer ("extra")
    }


def make_ckpt(path: Path, seed: int, *, base: dict | None = None, scale: float = 0.1, epoch=None,
              dtype=torch.float32, int_value: int = 7, video: dict | None = None) -> dict[str, torch.Tensor]:
    """Save a checkpoint folder; with ``base``, the weights are base + scale·noise. Returns its state dict."""
    sd = clip_like_state(seed, dtype=dtype, int_value=int_value)
    if base is not None:
        sd = {k: (base[k] + scale * v) if v.is_floating_point() else base[k].clone() for k, v in sd.items()}
        sd = {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}
    prov = {"kind": "train", "epoch": epoch} if epoch is not None else {}
    save_checkpoint(path, sd, model_cfg=MODEL_CFG, meta=make_meta(video=video or {"temporal": "vclip", "num_frames": 8},
                                                                  provenance=prov))
    return sd


def make_bare(path: Path, sd: dict[str, torch.Tensor]) -> Path:
    save_safetensors(path, sd)
    return path
