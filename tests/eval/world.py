"""A tiny evaluation world shared by the eval and CLI tests: mp4s, list/class-name files, a suite, tiny checkpoints."""

import json
from pathlib import Path

TINY_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}
CLASSES = ["move left", "move right", "move up", "move down"]
STEPS = [(-2, 0), (2, 0), (0, -2), (0, 2)]


def _frames(label: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    frames = np.full((8, 32, 32, 3), rng.integers(0, 80), dtype=np.uint8)
    x, y = 12 + int(rng.integers(-3, 4)), 12 + int(rng.integers(-3, 4))
    colour = rng.integers(120, 255, size=3)
    for t in range(8):
        dx, dy = STEPS[label]
        cx, cy = min(max(x + dx * t, 0), 24), min(max(y + dy * t, 0), 24)
        frames[t, cy:cy + 8, cx:cx + 8] = colour
    return frames


def _write_list(path: Path, items) -> Path:
    path.write_text("".join(f"{name} {label}\n" for name, label in items))
    return path


def _write_names(path: Path, names) -> Path:
    path.write_text(json.dumps({str(i): n for i, n in enumerate(names)}))
    return path


def make_world(root: Path) -> Path:
    """12 videos (3 per class) and a suite with one benchmark of every protocol; returns the suite path."""
    from weightspace.data.encode import write_video

    vids = root / "videos"
    vids.mkdir(parents=True)
    items = []
    for i in range(12):
        label = i % 4
        write_video(vids / f"v{i:02d}.mp4", _frames(label, i))
        items.append((f"v{i:02d}.mp4", label))
    _write_names(root / "all.json", CLASSES)
    _write_names(root / "base.json", CLASSES[:2])
    _write_names(root / "novel.json", CLASSES[2:])
    _write_list(root / "all.txt", items)
    _write_list(root / "split1.txt", items[:6])
    _write_list(root / "split2.txt", items[6:])
    _write_list(root / "base.txt", [(n, l) for n, l in items if l < 2])
    _write_list(root / "novel.txt", [(n, l - 2) for n, l in items if l >= 2])
    _write_list(root / "ic.txt", items[:8])
    _write_list(root / "ooc.txt", items[4:])
    suite = root / "suite.yaml"
    suite.write_text(f"""
name: tiny
model: {{templates: single, num_frames: 4, views: {{temporal: 2, crops: 1}}, batch_size: 8}}
heldout: target
benchmarks:
  - name: b2n
    protocol: base-to-novel
    root: videos
    base: {{list: base.txt, classnames: base.json}}
    novel: {{list: novel.txt, classnames: novel.json}}
  - name: target
    protocol: cross-dataset
    root: videos
    splits: [{{list: split1.txt, classnames: all.json}}, {{list: split2.txt, classnames: all.json}}]
  - name: ooc
    protocol: out-of-context
    root: videos
    in_context: {{list: ic.txt, classnames: all.json}}
    out_of_context: {{list: ooc.txt, classnames: all.json}}
  - name: closed
    protocol: closed-set
    root: videos
    list: all.txt
    classnames: all.json
""")
    return suite


def make_checkpoints(root: Path, n: int = 3) -> tuple[Path, list[Path]]:
    """A tiny 'CLIP' base and ``n`` fine-tunes that differ from it in the visual tower only (frozen text)."""
    import torch

    from weightspace.checkpoint import key_tag, make_meta, save_checkpoint
    from weightspace.models.factory import build_clip

    torch.manual_seed(0)
    clip = build_clip(TINY_CFG)
    with torch.no_grad():  # make a random ViT look at its input: no constant tokens, strong patch embedding
        clip.visual.class_embedding.zero_()
        clip.visual.positional_embedding.zero_()
        clip.visual.conv1.weight.mul_(10)
    base_sd = clip.state_dict()
    base = root / "clip"
    save_checkpoint(base, base_sd, model_cfg=TINY_CFG, meta=make_meta(video={"temporal": "none"}))
    fts = []
    for i in range(n):
        g = torch.Generator().manual_seed(100 + i)
        sd = {k: (v + 0.3 * torch.randn(v.shape, generator=g) if key_tag(k) == "visual" and v.is_floating_point() else v)
              for k, v in base_sd.items()}
        out = root / f"ft{i}"
        save_checkpoint(out, sd, model_cfg=TINY_CFG,
                        meta=make_meta(video={"temporal": "vclip"}, base={"ref": str(base), "sha256": "x"},
                                       provenance={"kind": "train", "epoch": i}))
        fts.append(out)
    return base, fts
