"""Build and load open_clip CLIP models from the references users give.

A reference is one of:
- a weightspace/open_clip checkpoint folder or any reference of ``weightspace.refs`` (``local-dir:PATH``,
  ``hf-hub:ORG/NAME[@REV]``, ``builtin:tiny-clip``): the architecture comes from its ``open_clip_config.json``;
- a bare ``.safetensors`` or legacy ``.pt``/``.pth`` file: give the architecture with ``model_name``;
- an open_clip model name (``ViT-B-16``) with ``pretrained`` = a tag (needs the network) or a file.

Our own architectures (``configs/*.json``, e.g. ``ws-tiny-clip``) are registered with open_clip.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weightspace.checkpoint import Checkpoint, open_checkpoint
from weightspace.errors import CheckpointError, ConfigError
from weightspace.refs import parse_ref

if TYPE_CHECKING:
    import torch

CONFIG_DIR = Path(__file__).parent / "configs"
_registered = False


def register_configs() -> None:
    """Make weightspace's model configs known to open_clip (idempotent)."""
    global _registered
    if not _registered:
        import open_clip

        open_clip.add_model_config(CONFIG_DIR)
        _registered = True


def model_config(name: str) -> dict:
    """The open_clip ``model_cfg`` dict for a registered architecture name."""
    import open_clip

    register_configs()
    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise ConfigError(f"model {name!r}: unknown open_clip architecture (see open_clip.list_models())")
    return copy.deepcopy(cfg)


def build_clip(model_cfg: dict) -> "torch.nn.Module":
    """A randomly initialised open_clip CLIP (or CustomTextCLIP) from a ``model_cfg`` dict."""
    import open_clip

    cfg = copy.deepcopy(model_cfg)
    custom = cfg.pop("custom_text", False) or "hf_model_name" in cfg.get("text_cfg", {})
    if "multimodal_cfg" in cfg:
        raise ConfigError("CoCa models (model_cfg with multimodal_cfg) are not supported")
    cls = open_clip.CustomTextCLIP if custom else open_clip.CLIP
    try:
        return cls(**cfg)
    except TypeError as exc:
        raise ConfigError(f"model_cfg: {exc}") from exc


def load_state_into(model: "torch.nn.Module", state: dict, source: str) -> None:
    """Load CLIP weights strictly over the model's own keys; extra keys (heads, projectors) are ignored."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise CheckpointError(f"{source}: missing {len(missing)} model key(s), e.g. {missing[0]!r}")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{source}: key {k!r} has shape {list(state[k].shape)}, model expects {list(v.shape)}")
    model.load_state_dict({k: state[k] for k in own}, strict=True)


def preprocess_config(model_cfg: dict | None, overlay: dict | None = None) -> dict:
    """open_clip's preprocess settings (size, mean, std, interpolation, ...) for an architecture.

    Defaults are open_clip's (OpenAI mean/std), the size is the vision tower's ``image_size``, and
    ``overlay`` (a checkpoint's ``preprocess_cfg``) wins over both.
    """
    from dataclasses import asdict

    from open_clip.transform import PreprocessCfg, merge_preprocess_dict

    cfg = asdict(PreprocessCfg())
    size = ((model_cfg or {}).get("vision_cfg") or {}).get("image_size")
    if size is not None:
        cfg["size"] = size
    return merge_preprocess_dict(cfg, overlay or {})


def tokenizer_for(model_cfg: dict, folder: Path | None = None):
    """The tokenizer an architecture was trained with (offline ``SimpleTokenizer`` unless the config names an HF one)."""
    import open_clip

    text_cfg = model_cfg.get("text_cfg") or {}
    context_length = text_cfg.get("context_length", 77)
    kwargs = dict(text_cfg.get("tokenizer_kwargs") or {})
    name = text_cfg.get("hf_tokenizer_name")
    if not name:
        return open_clip.SimpleTokenizer(context_length=context_length, **kwargs)
    source = folder if folder is not None and (folder / "tokenizer_config.json").is_file() else name
    try:
        return open_clip.HFTokenizer(
            str(source), context_length=context_length, tokenizer_mode=text_cfg.get("tokenizer_mode"), **kwargs
        )
    except Exception as exc:  # missing `transformers`, or no network for the tokenizer files
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"text_cfg.hf_tokenizer_name {name!r}: cannot build the tokenizer ({reason})") from exc


@dataclass
class LoadedCLIP:
    model: "torch.nn.Module"
    model_cfg: dict
    preprocess_cfg: dict | None
    checkpoint: Checkpoint | None  # None when built from an open_clip pretrained tag


def tagged_configs(name: str, tag: str) -> tuple[dict, dict]:
    """(model_cfg, preprocess_cfg) of an open_clip pretrained tag, as the weights need them.

    Tags can change the architecture: OpenAI's weights need QuickGELU, which the plain config (e.g.
    ``ViT-B-16``) lacks, so a saved checkpoint would otherwise reload with the wrong activation.
    """
    import open_clip

    model_cfg = model_config(name)
    tag_cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    if tag_cfg.get("quick_gelu"):
        model_cfg["quick_gelu"] = True
    preprocess_cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in tag_cfg.items()
                      if k in ("mean", "std", "interpolation", "resize_mode")}
    return model_cfg, preprocess_cfg


def load_clip(ref: str, *, model_name: str | None = None, pretrained: str | None = None) -> LoadedCLIP:
    """Load a CLIP from a checkpoint reference or an open_clip name (+ pretrained tag or file)."""
    parsed = parse_ref(ref)
    is_path = parsed.scheme is not None or Path(ref).exists()
    if not is_path:
        if pretrained and not Path(pretrained).is_file():  # an open_clip tag
            import open_clip

            model_cfg, preprocess_cfg = tagged_configs(ref, pretrained)
            try:
                model = open_clip.create_model(ref, pretrained=pretrained)
            except Exception as exc:  # network or unknown tag: one line, not a traceback
                raise CheckpointError(f"{ref} pretrained={pretrained!r}: cannot load ({exc})") from exc
            return LoadedCLIP(model, model_cfg, preprocess_cfg, None)
        model_cfg = model_config(ref)
        if not pretrained:
            return LoadedCLIP(build_clip(model_cfg), model_cfg, None, None)
        ckpt = open_checkpoint(pretrained)
    else:
        ckpt = open_checkpoint(parsed)
        model_cfg = ckpt.model_cfg or (model_config(model_name) if model_name else None)
        if model_cfg is None:
            raise ConfigError(f"{ref}: no open_clip_config.json beside the weights; pass the architecture (model_name)")
    model = build_clip(model_cfg)
    load_state_into(model, ckpt.state_dict(), ckpt.ref)
    return LoadedCLIP(model, model_cfg, ckpt.preprocess_cfg, ckpt)
