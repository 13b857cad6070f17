"""Clips per forward pass on the CPU: small enough that no activation outgrows malloc's mmap threshold.

glibc serves an allocation above its mmap threshold (raised as it goes to at most 32 MiB on 64-bit) with a
fresh mapping that is page-faulted in again on every forward pass. The demo suite's batches (32 videos x 2
views x 8 frames = 512 frames) make 39 MB MLP activations in ws-tiny-clip: encoding its 1,176 videos took
14.7-16.9 s with 3.8-6.2M minor page faults (7-11 s of system time) against 9.9-10.6 s and under 10k faults
in chunks of 128 frames, side by side at load 1.5-1.9 on 2 cores; chunks of 64 and 256 frames ran as fast as
128. The suite's ``batch_size`` still sets how many clips are read, timed and logged together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

ACTIVATION_BUDGET = 8 << 20  # bytes of the largest activation of one chunk: under a quarter of the 32 MiB ceiling
FLOAT_BYTES = 4  # evaluation runs in float32
KEY_SPAN = 3  # keys per query token, in frames: neighbour-frame attention (vclip) attends over t-1, t, t+1


def frame_activation_bytes(visual: "nn.Module") -> int | None:
    """Bytes of the largest activation one frame makes in an open_clip ViT block: its tokens times the wider
    of the MLP's hidden layer and the attention scores (heads x keys); None for a tower that is not a ViT."""
    from open_clip.transformer import VisionTransformer

    if not isinstance(visual, VisionTransformer) or not len(visual.transformer.resblocks):
        return None
    tokens = visual.positional_embedding.shape[0]  # patches + class token
    block = visual.transformer.resblocks[0]
    hidden = block.mlp.c_fc.out_features
    scores = block.attn.num_heads * KEY_SPAN * tokens
    return tokens * max(hidden, scores) * FLOAT_BYTES


def clips_per_forward(visual: "nn.Module", frames: int, device: str) -> int | None:
    """How many clips of ``frames`` frames one CPU forward pass takes (at least one); None: no limit (the
    GPU's caching allocator keeps its memory, and towers other than a ViT are not sized)."""
    per_frame = frame_activation_bytes(visual) if str(device).startswith("cpu") else None
    if per_frame is None:
        return None
    return max(1, ACTIVATION_BUDGET // (per_frame * max(1, frames)))
