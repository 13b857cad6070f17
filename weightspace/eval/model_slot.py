"""The models an evaluator runs: one scored model (merges of its architecture are loaded into it) and frozen CLIPs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weightspace.checkpoint import Checkpoint
from weightspace.eval.cache import text_tower_digest
from weightspace.eval.suite import ModelDefaults

if TYPE_CHECKING:
    import torch

    from weightspace.models.video_clip import VideoCLIP


@dataclass(frozen=True)
class LoadedModel:
    model: "VideoCLIP"
    identity: str  # weights sha256 + architecture + video settings: what its logits depend on besides the clips
    text_digest: str  # the text tower's digest (class text features are shared by every model with the same one)


def model_text_digest(model: "VideoCLIP") -> str:
    return text_tower_digest(model.clip_state_dict(), (model.model_cfg or {}).get("text_cfg"))


class ModelSlot:
    def __init__(self, defaults: ModelDefaults, device: str = "cpu"):
        self.defaults = defaults
        self.device = device
        self._loaded: LoadedModel | None = None
        self._arch: str | None = None  # the architecture key of the built model
        self._frozen: dict[str, "VideoCLIP"] = {}  # the frozen CLIP for prediction ensembling, by reference

    def load(self, ckpt: Checkpoint, sha256: str, state: dict[str, "torch.Tensor"] | None = None) -> LoadedModel:
        """``ckpt``'s model (or its architecture with ``state``'s weights, identified by ``sha256``), loaded into
        the current model when the architecture matches (a sweep builds one model); the same weights twice in
        a row are not loaded again."""
        from weightspace.models.video_clip import VideoCLIP

        video = ckpt.meta.get("video") if isinstance(ckpt.meta.get("video"), dict) else {}
        temporal = video.get("temporal") or self.defaults.temporal
        arch = json.dumps([ckpt.model_cfg, ckpt.preprocess_cfg, temporal, self.defaults.tfm], sort_keys=True)
        identity = json.dumps([sha256, arch])
        if self._loaded is not None and self._loaded.identity == identity:
            return self._loaded
        reuse = self._loaded is not None and ckpt.model_cfg is not None and arch == self._arch
        model = self._loaded.model if reuse else None
        self._loaded = None  # until the new weights are in: a failed load leaves no stale identity behind
        if model is not None:
            model.load_clip_state(state if state is not None else ckpt)
        else:
            model = VideoCLIP.from_pretrained(ckpt.ref, temporal=temporal).to(self.device).eval()
            self._arch = arch
            if state is not None:
                model.load_clip_state(state)
        model.set_tfm(self.defaults.tfm, ckpt.ref)
        self._loaded = LoadedModel(model, identity, model_text_digest(model))
        return self._loaded

    def frozen_clip(self, ref: str) -> "VideoCLIP":
        """A frozen CLIP (temporal ``none``); one kept at a time."""
        from weightspace.models.video_clip import VideoCLIP

        if ref not in self._frozen:
            self._frozen = {ref: VideoCLIP.from_pretrained(ref, temporal="none").to(self.device).eval()}
        return self._frozen[ref]
