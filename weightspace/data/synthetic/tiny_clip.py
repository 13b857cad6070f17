"""The built-in tiny CLIP: ``ws-tiny-clip`` pretrained contrastively on still frames of the world.

Captions name the actor's colour and shape, the scene and the action ("a photo of a red star spinning
clockwise on a brick wall"), for ALL actions, so the text tower knows every action word, as real CLIP does.
The image tower only ever sees single frames: it can learn an action from the actor's prop and trail and, far
more easily, from the scene the action usually co-occurs with, here more often (0.8) than in the training
worlds (``worlds.CORRELATION``). That is the static bias the video methods fight; ``static_bias`` measures it
as zero-shot top-1 on the target's videos in context vs out of context.

Loss: symmetric InfoNCE (Radford et al. 2021, eq. in Fig. 3), ``open_clip.ClipLoss``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from weightspace.data.synthetic.motion import ACTIONS
from weightspace.data.synthetic.render import COLOURS, SHAPES, VideoSpec, render_video
from weightspace.data.synthetic.scenes import SCENE_PHRASES, SCENES
from weightspace.data.synthetic.worlds import (
    PREFERRED_SCENE, TARGET_CORRELATION, Worlds, cache_lock, ensure_worlds, resolve_cache_root,
)
from weightspace.data.transforms import CLIP_MEAN, CLIP_STD
from weightspace.torch_threads import torch_threads

logger = logging.getLogger(__name__)
TINY_CLIP_VERSION = 2
MODEL_NAME = "ws-tiny-clip"
EVAL_TEMPLATES = ("a video of {}.", "a photo of something {}.")
# how often a caption names each attribute (the action is always named)
CAPTION_P = {"colour": 0.75, "shape": 0.75, "subject": 0.9, "scene": 0.7}
_PREFIXES = ("", "a photo of ", "a video of ", "an example of ", "a demonstration of ", "a picture of ")


@dataclass(frozen=True)
class PretrainConfig:
    seed: int = 0
    steps: int = 400
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup: int = 40
    pool_videos: int = 3000  # rendered videos; ``frames_per_video`` random stills of each
    frames_per_video: int = 4
    captions_per_frame: int = 3
    correlation: float = TARGET_CORRELATION  # the held-out target's static bias, stronger than the sources'
    style: str = "any"
    # Fixed, never chosen at run time: the weights differ with the thread count (max |Δ| 4e-4 after 5 steps). Two, as
    # measured near idle: a step takes 0.36 s on 2 threads vs 0.66 s on 1 (load 1.4); on a box loaded to 6-7, 6.4 s vs 1.06 s.
    threads: int = 2


@dataclass
class PretrainResult:
    model: object
    model_cfg: dict
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def caption(spec: VideoSpec, rng: np.random.Generator) -> str:
    """A caption that always names the action and, at random, the colour, shape and scene."""
    colour = spec.colour if rng.random() < CAPTION_P["colour"] else ""
    shape = spec.shape if rng.random() < CAPTION_P["shape"] else "shape"
    subject = " ".join(w for w in ("a", colour, shape) if w) if rng.random() < CAPTION_P["subject"] else "something"
    text = f"{subject} {spec.action}"
    if rng.random() < CAPTION_P["scene"]:
        text += f" on {SCENE_PHRASES[spec.scene]}"
    return _PREFIXES[int(rng.integers(len(_PREFIXES)))] + text


def frame_pool(config: PretrainConfig) -> tuple[np.ndarray, list[list[str]]]:
    """Still frames (uint8 [N, 48, 48, 3]) of random videos over all actions, with several captions each."""
    rng = np.random.default_rng([config.seed, 7001])
    shapes, colours = list(SHAPES), list(COLOURS)
    frames, captions = [], []
    for _ in range(config.pool_videos):
        action = ACTIONS[int(rng.integers(len(ACTIONS)))]
        scene = PREFERRED_SCENE[action]
        if rng.random() >= config.correlation:
            others = [s for s in SCENES if s != scene]
            scene = others[int(rng.integers(len(others)))]
        spec = VideoSpec(action, scene, shapes[int(rng.integers(len(shapes)))], colours[int(rng.integers(len(colours)))], config.style)
        picks = np.sort(rng.choice(16, size=config.frames_per_video, replace=False))
        for frame in render_video(spec, rng, indices=picks):
            frames.append(frame)
            captions.append([caption(spec, rng) for _ in range(config.captions_per_frame)])
    return np.stack(frames), captions


def _normalise(frames_u8: np.ndarray):
    import torch

    x = torch.from_numpy(frames_u8).permute(0, 3, 1, 2).float().div_(255.0)
    return (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)


def tokenizer():
    import open_clip

    from weightspace.models.factory import register_configs

    register_configs()
    return open_clip.get_tokenizer(MODEL_NAME)


def pretrain(config: PretrainConfig = PretrainConfig(), *, progress: bool = True) -> PretrainResult:
    """Train ws-tiny-clip from scratch on a pool of captioned still frames."""
    import open_clip
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from weightspace.progress import progress_bar

    from weightspace.models.factory import build_clip, model_config

    start = time.time()
    with torch_threads(config.threads):
        torch.manual_seed(config.seed)
        model_cfg = model_config(MODEL_NAME)
        model = build_clip(model_cfg)
        tok = tokenizer()
        frames, captions = frame_pool(config)
        images = _normalise(frames)
        tokens = torch.stack([tok(c) for c in captions])  # [N, captions_per_frame, ctx]
        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.98), eps=1e-6)
        # linear warm-up, then cosine decay to 0
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / config.warmup)
                                                  * 0.5 * (1 + math.cos(math.pi * min(1.0, s / config.steps))))
        loss_fn = open_clip.ClipLoss()
        gen = torch.Generator().manual_seed(config.seed)
        losses: list[float] = []
        columns = (TextColumn("[bold]pretraining tiny CLIP"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("loss {task.fields[loss]:.3f}"))
        model.train()
        with progress_bar(*columns, enabled=progress) as bar:
            task = bar.add_task("pretrain", total=config.steps, loss=float("nan"))
            for _ in range(config.steps):
                idx = torch.randint(len(images), (config.batch_size,), generator=gen)
                which = torch.randint(tokens.shape[1], (config.batch_size,), generator=gen)
                img_f, txt_f, scale = model(images[idx], tokens[idx, which])
                loss = loss_fn(img_f, txt_f, scale)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                with torch.no_grad():
                    model.logit_scale.clamp_(0, math.log(100))  # CLIP's clamp at 100
                losses.append(loss.item())
                bar.update(task, advance=1, loss=float(np.mean(losses[-20:])))
                if len(losses) % 50 == 0 or len(losses) == config.steps:  # progress in log files, terminal or not
                    logger.info("pretraining tiny CLIP: step %d/%d, loss %.3f", len(losses), config.steps, np.mean(losses[-20:]))
        model.eval()
    return PretrainResult(model, model_cfg, losses, time.time() - start)


def zero_shot_top1(model, list_file: Path, classnames_file: Path, *, num_frames: int = 8, image_size: int = 48,
                   templates=EVAL_TEMPLATES) -> float:
    """Frame-mean zero-shot top-1 of a CLIP on one list (minimal: the full evaluator lives in weightspace.eval)."""
    import torch

    from weightspace.data.dataset import VideoDataset

    ds = VideoDataset(list_file, classnames_file, num_frames=num_frames, image_size=image_size, mode="test")
    tok = tokenizer()
    with torch.no_grad():
        text = []
        for name in ds.classnames:
            f = model.encode_text(tok([t.format(name) for t in templates]), normalize=True).mean(0)
            text.append(f / f.norm())
        text = torch.stack(text)
        correct = 0
        for start in range(0, len(ds), 32):
            batch = [ds[i] for i in range(start, min(len(ds), start + 32))]
            video = torch.stack([b["video"][0] for b in batch])  # one view: [B, T, 3, S, S]
            feats = model.encode_image(video.flatten(0, 1), normalize=True).view(len(batch), num_frames, -1).mean(1)
            pred = (feats @ text.T).argmax(1)
            correct += int((pred == torch.tensor([b["label"] for b in batch])).sum())
    return correct / len(ds)


def static_bias(model, worlds: Worlds, split: str = "val") -> dict:
    """Zero-shot top-1 on the target's videos: in context, and on each out-of-context world; and chance."""
    target = worlds[worlds.target]
    scores = {"in_context_top1": zero_shot_top1(model, target.list_file(split), target.classnames_file(split))}
    for name in worlds.ooc:
        ooc = worlds[name]
        scores[f"{name}_top1"] = zero_shot_top1(model, ooc.list_file(split), ooc.classnames_file(split))
    n = len(target.classnames(split))
    return {"split": split, "classes": n, "chance": 1.0 / n, **scores}


def _preprocess_cfg(size: int) -> dict:
    return {"size": size, "mode": "RGB", "mean": list(CLIP_MEAN), "std": list(CLIP_STD),
            "interpolation": "bilinear", "resize_mode": "shortest"}


def save_tiny_clip(out: Path, result: PretrainResult, config: PretrainConfig, report: dict | None = None, *, overwrite: bool = False) -> Path:
    from weightspace.checkpoint import make_meta, save_checkpoint

    provenance = {"kind": "pretrain", "recipe": "tiny-clip-still-frames", "version": TINY_CLIP_VERSION,
                  "dataset": "weightspace built-in world (still frames, all actions)", "config": asdict(config),
                  "steps": len(result.losses), "final_loss": float(np.mean(result.losses[-20:])) if result.losses else None,
                  "seconds": round(result.seconds, 1), "zero_shot": report}
    save_checkpoint(out, result.model.state_dict(), model_cfg=result.model_cfg,
                    preprocess_cfg=_preprocess_cfg(result.model_cfg["vision_cfg"]["image_size"]),
                    meta=make_meta(provenance=provenance), overwrite=overwrite)
    return Path(out)


def _is_current(folder: Path, config: PretrainConfig) -> bool:
    import json

    try:
        prov = json.loads((folder / "weightspace.json").read_text(encoding="utf-8"))["provenance"]
    except (OSError, ValueError, KeyError):
        return False
    return prov.get("version") == TINY_CLIP_VERSION and prov.get("config") == asdict(config)


def ensure_tiny_clip(cache_root: str | os.PathLike | None = None, seed: int = 0, *, config: PretrainConfig | None = None,
                     force: bool = False, evaluate: bool = True, worlds: Worlds | None = None, progress: bool = True) -> Path:
    """The checkpoint folder of the pretrained tiny CLIP, training it (and measuring its static bias on ``worlds``,
    by default the default worlds) if needed."""
    config = config or PretrainConfig(seed=seed)
    folder = resolve_cache_root(cache_root) / "tiny_clip" / f"seed-{config.seed}"
    if not force and _is_current(folder, config):
        return folder
    with cache_lock(folder.parent):
        if not force and _is_current(folder, config):  # another process built it while we waited
            return folder
        result = pretrain(config, progress=progress)
        if evaluate:
            worlds = worlds or ensure_worlds(cache_root, config.seed, progress=progress)
        report = static_bias(result.model, worlds) if evaluate else None
        return save_tiny_clip(folder, result, config, report, overwrite=True)
