"""Tiny test data for the Hub tests: a CLIP-like state dict, its config, an eval results document, a token."""

from __future__ import annotations

import torch

TOKEN = "hf_weightspaceTestToken0123456789abcdef"
MODEL_CFG = {"embed_dim": 8, "vision_cfg": {"image_size": 16, "layers": 1, "width": 16, "patch_size": 8},
             "text_cfg": {"context_length": 4, "vocab_size": 10, "width": 8, "heads": 1, "layers": 1}}


def tiny_state(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "visual.conv1.weight": torch.randn(16, 3, 8, 8, generator=g),
        "visual.proj": torch.randn(16, 8, generator=g),
        "transformer.resblocks.0.attn.in_proj_weight": torch.randn(24, 8, generator=g).to(torch.bfloat16),
        "token_embedding.weight": torch.randn(10, 8, generator=g).half(),
        "positional_embedding": torch.randn(4, 8, generator=g),
        "logit_scale": torch.tensor(4.6052),
    }


def eval_doc(sha: str | None) -> dict:
    return {
        "checkpoint": {"ref": "merged", "sha256": sha},
        "suite": "b2n-tiny",
        "results": [
            {"protocol": "base2novel", "benchmark": "UCF101", "split": "base", "metric": "top1", "value": 0.8123},
            {"protocol": "base2novel", "benchmark": "UCF101", "split": "base", "metric": "top5", "value": 0.95},
            {"protocol": "base2novel", "benchmark": "UCF101", "split": "novel", "metric": "top1", "value": 0.5},
            {"protocol": "base2novel", "benchmark": "UCF101", "split": "all", "metric": "hm", "value": 0.6188},
        ],
    }
