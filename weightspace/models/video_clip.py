"""``VideoCLIP``: an open_clip CLIP used as a video classifier over class names.

Video side: frames [B,T,3,H,W] go through the image tower with a temporal module (``temporal.py``:
``none``, ``vclip`` or ``mote``), giving per-frame embeddings ``frame_features`` [B,T,D].
Classification follows Open-VCLIP: per-frame logits ``exp(logit_scale) * f_t . W^T`` averaged over
frames, i.e. the logits of the *mean* frame feature. Without a head each f_t is L2-normalised (the mean
is not renormalised). With a video head (MoTE) the head's frames y_t are divided by the norm of their
mean, so the same formula gives MoTE's logits of the normalised mean. ``video_features`` is the mean
L2-normalised, for retrieval and caches; it ranks classes identically.

A head's weights are the submodule ``temporal_head``; in checkpoints its keys are ``temporal.*``
(``head_state_dict``), stored beside open_clip's file. Temporal feature modulation (``tfm``, MoTE,
evaluation only): ``encode_frames`` then returns [B,T,2,D] (CLIP frames and head output), and
``logits`` combines them with the test classes, because the gate depends on them.

Text side: class features W [C,D] are the per-template normalised text embeddings averaged over
templates and renormalised. The text tower is frozen by default and then W is cached per
(class names, templates), refreshed whenever the text weights change in place; with a trainable
text tower (FROSTER-style) it is recomputed, with gradients, whenever ``forward`` gets class names.

Everything a training step needs comes out of one ``forward`` call, so DDP sees every used
parameter. The CLIP's state dict is under the prefix ``model.``, which ``checkpoint.normalize_key`` strips.
"""

from __future__ import annotations

import copy
import os
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.checkpoint import (
    HEAD_PREFIX, META_NAME, Checkpoint, key_tag, make_meta, normalize_key, open_checkpoint, save_checkpoint,
)
from weightspace.errors import CheckpointError, ConfigError
from weightspace.models.factory import load_clip, load_state_into, preprocess_config, tokenizer_for
from weightspace.models.prompts import format_prompts, resolve_templates, template_spec
from weightspace.models.temporal import Temporal, make_temporal

DEFAULT_TEMPORAL = "vclip"
HEAD_MODULE = "temporal_head"  # the attribute holding a temporal module's weights (the optimiser's head groups)
DEFAULT_TEMPLATES = "kinetics"
PROMPTS_PER_BATCH = 512  # bounds text-tower activation memory when encoding many classes x templates


class VideoCLIP(nn.Module):
    def __init__(
        self,
        clip_model: nn.Module,
        *,
        model_cfg: dict,
        temporal: str | dict | Temporal = DEFAULT_TEMPORAL,
        freeze_text: bool = True,
        train_logit_scale: bool = True,
        templates: str | Sequence[str] = DEFAULT_TEMPLATES,
        num_frames: int | None = None,
        preprocess_cfg: dict | None = None,
        source: Checkpoint | None = None,
        tokenizer=None,
    ):
        super().__init__()
        self.model = clip_model
        self._temporal = make_temporal(temporal)
        self._temporal.check(clip_model.visual)
        self.model_cfg = copy.deepcopy(model_cfg)  # the open_clip architecture, saved with the weights
        self.temporal_head = self._temporal.build_head(clip_model, self.model_cfg)
        self.tfm = False  # temporal feature modulation at evaluation (MoTE)
        self.preprocess_cfg = preprocess_config(
            model_cfg, preprocess_cfg or getattr(clip_model.visual, "preprocess_cfg", None)
        )
        self.templates = resolve_templates(templates)
        self.num_frames = num_frames
        self.source = source  # the checkpoint the weights came from, if any (for base_model references)
        self._tokenizer = tokenizer
        self._text_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], torch.Tensor] = {}
        self._text_stamp: tuple[int, ...] = ()  # text weights' version counters the cache was filled at
        self.set_text_trainable(not freeze_text)
        self.model.logit_scale.requires_grad_(train_logit_scale)

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        ref: str | os.PathLike,
        *,
        temporal: str | None = None,
        model_name: str | None = None,
        pretrained: str | None = None,
        freeze_text: bool = True,
        **kwargs,
    ) -> "VideoCLIP":
        """Wrap a CLIP given as in ``load_clip`` (folder, file, ``local-dir:``, ``hf-hub:``, name + tag).

        Video settings not given here (``temporal``, ``templates``, ``num_frames``) come from the
        checkpoint's ``weightspace.json`` "video" section when it has one, else the defaults.
        """
        loaded = load_clip(str(ref), model_name=model_name, pretrained=pretrained)
        ckpt = loaded.checkpoint
        video = _video_section(ckpt) if ckpt is not None else {}
        settings = {k: video[k] for k in ("temporal", "templates", "num_frames") if k in video}
        if temporal is not None:
            settings["temporal"] = temporal
        settings.update(kwargs)
        model = cls(
            loaded.model,
            model_cfg=loaded.model_cfg,
            preprocess_cfg=loaded.preprocess_cfg,
            freeze_text=freeze_text,
            source=ckpt,
            **settings,
        )
        if ckpt is not None:
            saved = make_temporal(video.get("temporal", DEFAULT_TEMPORAL))
            # a checkpoint saved with this head must carry it; a fresh head (MoTE on plain CLIP) starts from its init
            model.load_head_state(ckpt, required=model.has_head and saved.config() == model._temporal.config())
        return model

    # ---- configuration ------------------------------------------------------------------------
    @property
    def temporal(self) -> str:
        return self._temporal.name

    @property
    def clip(self) -> nn.Module:
        return self.model

    @property
    def image_size(self) -> int | tuple[int, int]:
        return self.preprocess_cfg["size"]

    @property
    def has_head(self) -> bool:
        return self.temporal_head is not None

    def video_config(self) -> dict:
        """The ``weightspace.json`` "video" section describing this model."""
        cfg = {"temporal": self._temporal.config(), "templates": template_spec(self.templates)}
        if self.num_frames is not None:
            cfg["num_frames"] = self.num_frames
        return cfg

    def _text_parameters(self):
        return [p for name, p in self.model.named_parameters() if key_tag(name) == "text"]

    @property
    def text_trainable(self) -> bool:
        return any(p.requires_grad for p in self._text_parameters())

    def set_text_trainable(self, trainable: bool) -> None:
        for p in self._text_parameters():
            p.requires_grad_(trainable)
        self.clear_text_cache()

    @property
    def tokenizer(self):
        if self._tokenizer is None:  # built on first use: an eval with cached text features never tokenizes
            self._tokenizer = tokenizer_for(self.model_cfg, self.source.folder if self.source is not None else None)
        return self._tokenizer

    # ---- weights ------------------------------------------------------------------------------
    def clip_state_dict(self) -> dict[str, torch.Tensor]:
        """The CLIP weights under open_clip's key names (what ``save_checkpoint``/``load_clip`` use)."""
        return self.model.state_dict()

    def head_state_dict(self) -> dict[str, torch.Tensor]:
        """The temporal head's weights under ``temporal.*`` keys (empty without a head)."""
        if self.temporal_head is None:
            return {}
        return {HEAD_PREFIX + k: v for k, v in self.temporal_head.state_dict().items()}

    def checkpoint_state_dict(self) -> dict[str, torch.Tensor]:
        """Everything a checkpoint of this model holds: the CLIP's keys and the head's ``temporal.*`` keys."""
        return {**self.clip_state_dict(), **self.head_state_dict()}

    def load_clip_state(self, state: dict[str, torch.Tensor] | Checkpoint | str | os.PathLike) -> None:
        """Replace the weights in place (e.g. with a merge): the CLIP's, and the head's when this model has one.

        A checkpoint must carry this model's head; a state dict may hold the CLIP's keys only.
        """
        if isinstance(state, dict):
            label, tensors = "state dict", {normalize_key(k): v for k, v in state.items()}
        else:
            ckpt = state if isinstance(state, Checkpoint) else open_checkpoint(state)
            label, tensors = ckpt.ref, ckpt.state_dict()
        load_state_into(self.model, tensors, label)
        self.load_head_state(tensors, label, required=self.has_head and not isinstance(state, dict))
        self.clear_text_cache()

    def load_head_state(self, state: dict[str, torch.Tensor] | Checkpoint, label: str = "state dict", *,
                        required: bool) -> None:
        """Load the ``temporal.*`` keys strictly: a missing or unknown head key is an error naming it.

        Without head keys in ``state`` nothing happens unless ``required``.
        """
        if isinstance(state, Checkpoint):
            src = state.source()
            label, state = state.ref, {k: src.read(k) for k in src.keys() if key_tag(k) == "temporal"}
        given = {k[len(HEAD_PREFIX):]: v for k, v in state.items() if key_tag(k) == "temporal"}
        if not given and not required:
            return
        if self.temporal_head is None:
            raise CheckpointError(f"{label}: unknown key {HEAD_PREFIX + next(iter(given))!r} "
                                  f"(temporal {self.temporal!r} has no head)")
        own = self.temporal_head.state_dict()
        for k in own:
            if k not in given:
                raise CheckpointError(f"{label}: missing temporal head key {HEAD_PREFIX + k!r}")
        for k, v in given.items():
            if k not in own:
                raise CheckpointError(f"{label}: unknown temporal head key {HEAD_PREFIX + k!r}")
            if k == "train_class_features":  # its size is the training vocabulary's
                self.temporal_head.train_class_features = v.to(own[k])
            elif tuple(v.shape) != tuple(own[k].shape):
                raise CheckpointError(f"{label}: key {HEAD_PREFIX + k!r} has shape {list(v.shape)}, "
                                      f"the head expects {list(own[k].shape)}")
        self.temporal_head.load_state_dict(given, strict=True)

    def set_tfm(self, on: bool, label: str = "model") -> None:
        """Temporal feature modulation on or off (evaluation; needs a head with a ``gate``, i.e. MoTE)."""
        if on and not hasattr(self.temporal_head, "gate"):
            raise ConfigError(f"{label}: temporal feature modulation needs a MoTE head (temporal is {self.temporal!r})")
        self.tfm = on

    def remember_training_classes(self, classnames: Sequence[str]) -> None:
        """Store the training vocabulary's class features in the head (MoTE's TFM compares test classes to them)."""
        if self.temporal_head is not None and hasattr(self.temporal_head, "train_class_features"):
            self.temporal_head.train_class_features = self.text_features(classnames).detach().clone()

    def save(
        self,
        out: str | os.PathLike,
        *,
        base: Checkpoint | dict | None = None,
        provenance: dict | None = None,
        overwrite: bool = False,
    ) -> Checkpoint:
        """Save as a weightspace checkpoint folder (CLIP weights, head weights, config, "video" section)."""
        meta = make_meta(video=self.video_config(), base=base, provenance=provenance)
        return save_checkpoint(
            out, self.checkpoint_state_dict(), model_cfg=self.model_cfg, preprocess_cfg=self.preprocess_cfg,
            meta=meta, overwrite=overwrite,
        )

    def _apply(self, fn, *args, **kwargs):  # .to()/.half()/.cuda(): cached text features would be stale
        self.clear_text_cache()
        return super()._apply(fn, *args, **kwargs)

    # ---- video --------------------------------------------------------------------------------
    def clip_frames(self, video: torch.Tensor) -> torch.Tensor:
        """[B,T,3,H,W] -> [B,T,D] unnormalised frame embeddings of the image tower (before any head)."""
        if video.dim() != 5:
            raise ValueError(f"video: expected a [B,T,3,H,W] tensor, got shape {list(video.shape)}")
        return self._temporal.frames(self.model.visual, video)

    def head_frames(self, clip_frames: torch.Tensor, routes=None, normalize: bool = True) -> torch.Tensor:
        """y = x + H(x) [B,T,D] from raw CLIP frames; normalised by the norm of its mean over T (see module doc)."""
        y = clip_frames + self.temporal_head(clip_frames, routes)
        return normalize_clip(y) if normalize else y

    def encode_frames(self, video: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """[B,T,3,H,W] -> [B,T,D] per-frame embeddings (normalised unless ``normalize=False``).

        With ``tfm`` on a head in evaluation mode: [B,T,2,D], the raw CLIP frames and the head's output.
        """
        feats = self.clip_frames(video)
        if self.temporal_head is None:
            return F.normalize(feats, dim=-1) if normalize else feats
        if self.tfm and not self.training:
            return torch.stack([feats, self.temporal_head(feats)], dim=2)
        return self.head_frames(feats, normalize=normalize)

    def modulate(self, frame_features: torch.Tensor, class_features: torch.Tensor) -> torch.Tensor:
        """[B,T,2,D] (CLIP frames x, head output H) -> y = x + γ·H normalised as a clip (MoTE §3.4 TFM)."""
        x, h = frame_features.unbind(dim=2)
        gamma = self.temporal_head.gate(x, class_features).to(h.dtype)
        return normalize_clip(x + gamma[:, None, None] * h)

    @staticmethod
    def pool_frames(frame_features: torch.Tensor) -> torch.Tensor:
        """[B,T,D] frame features (from ``encode_frames``) -> [B,D] normalised video features."""
        if frame_features.dim() != 3:
            raise ValueError("pool_frames: temporal feature modulation needs the class features (use logits)")
        if frame_features.shape[1] == 1:
            return frame_features[:, 0]  # already unit norm: keep open_clip's features bit for bit
        return F.normalize(frame_features.mean(dim=1), dim=-1)

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """[B,T,3,H,W] -> [B,D] L2-normalised video embedding."""
        return self.pool_frames(self.encode_frames(video))

    # ---- text ---------------------------------------------------------------------------------
    def clear_text_cache(self) -> None:
        self._text_cache.clear()

    def encode_classes(self, classnames: Sequence[str], templates: Sequence[str]) -> torch.Tensor:
        """[C,D] float32 class embeddings: normalise per template, average over templates, renormalise (no cache)."""
        device = self.model.logit_scale.device
        per_batch = max(1, PROMPTS_PER_BATCH // len(templates))
        out = []
        for i in range(0, len(classnames), per_batch):
            chunk = classnames[i:i + per_batch]
            tokens = self.tokenizer(format_prompts(chunk, templates)).to(device)
            feats = self.model.encode_text(tokens, normalize=True)
            out.append(F.normalize(feats.float().view(len(chunk), len(templates), -1).mean(dim=1), dim=-1))
        return torch.cat(out)  # float32 whatever the autocast context, so cached features fit any later call

    def text_features(self, classnames: Sequence[str], templates: str | Sequence[str] | None = None) -> torch.Tensor:
        """[C,D] L2-normalised class features; cached while the text tower is frozen and unchanged.

        With a trainable text tower they are recomputed on every call, with gradients when grad mode is on.
        """
        classnames = tuple(classnames)
        if not classnames:
            raise ValueError("classnames: empty")
        templates = self.templates if templates is None else resolve_templates(templates)
        if self.text_trainable:
            return self.encode_classes(classnames, templates)
        stamp = tuple(p._version for p in self._text_parameters())  # bumped by every in-place weight change
        if stamp != self._text_stamp:
            self._text_cache.clear()
            self._text_stamp = stamp
        key = (classnames, templates)
        feats = self._text_cache.get(key)
        if feats is None:
            # normal (not inference-mode) tensors: an entry filled during evaluation must serve training too
            with torch.inference_mode(False), torch.no_grad():
                feats = self.encode_classes(classnames, templates)
            self._text_cache[key] = feats
        return feats

    # ---- the one training/eval call -----------------------------------------------------------
    def logits(self, frame_features: torch.Tensor, class_features: torch.Tensor) -> torch.Tensor:
        """Open-VCLIP logits: per-frame logits averaged over frames ([B,T,D], [C,D] -> [B,C]).

        [B,T,2,D] features (``tfm``) are first modulated against these class features.
        """
        class_features = class_features.to(frame_features.dtype)
        if frame_features.dim() == 4:
            frame_features = self.modulate(frame_features, class_features)
        logits = self.model.logit_scale.exp() * frame_features.mean(dim=1) @ class_features.t()
        bias = getattr(self.model, "logit_bias", None)
        return logits + bias if bias is not None else logits

    def forward(
        self,
        video: torch.Tensor,
        class_features: torch.Tensor | None = None,
        classnames: Sequence[str] | None = None,
        templates: str | Sequence[str] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Logits and features for a batch of clips against class features (given, or from ``classnames``).

        Returns ``logits`` [B,C] (scaled by exp(logit_scale)), ``video_features`` [B,D] (L2-normalised),
        ``frame_features`` [B,T,D] (see ``encode_frames``), ``class_features`` [C,D] and ``logit_scale``
        (= exp(logit_scale)); with a head also ``clip_frames`` [B,T,D], the raw image-tower frames.
        With a trainable text tower pass ``classnames`` so the text tower is part of this call (DDP).
        """
        if class_features is None:
            if classnames is None:
                raise ValueError("forward: give class_features or classnames")
            class_features = self.text_features(classnames, templates)
        out = {}
        if self.temporal_head is None:
            frame_features = self.encode_frames(video)
        else:
            out["clip_frames"] = clip = self.clip_frames(video)
            frame_features = self.head_frames(clip)
        return {
            "logits": self.logits(frame_features, class_features),
            "video_features": self.pool_frames(frame_features),
            "frame_features": frame_features,
            "class_features": class_features,
            "logit_scale": self.model.logit_scale.exp(),
            **out,
        }


def normalize_clip(frames: torch.Tensor) -> torch.Tensor:
    """[B,T,D] frames divided by the norm of their mean: their mean is the L2-normalised video feature."""
    return frames / frames.mean(dim=1, keepdim=True).norm(dim=-1, keepdim=True)


def _video_section(ckpt: Checkpoint) -> dict:
    """The "video" section of a checkpoint's weightspace.json, validated (errors name the file)."""
    video = ckpt.meta.get("video") or {}
    where = ckpt.folder / META_NAME if ckpt.folder is not None else ckpt.weights
    if not isinstance(video, dict):
        raise ConfigError(f"{where}: 'video' must be a JSON object")
    if "temporal" in video:
        make_temporal(video["temporal"], str(where), key="video.temporal")
    try:
        if "templates" in video:
            resolve_templates(video["templates"])
    except ConfigError as exc:
        raise ConfigError(f"{where}: video.{exc}") from None
    num_frames = video.get("num_frames")
    if num_frames is not None and (not isinstance(num_frames, int) or num_frames < 1):
        raise ConfigError(f"{where}: video.num_frames must be a positive integer, got {num_frames!r}")
    return video
