"""``weightspace synth``: build the built-in world (and optionally pretrain the tiny CLIP)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from weightspace.cli.common import console
from weightspace.errors import ConfigError


def synth(
    out: Optional[Path] = typer.Option(None, "--out", help="Cache root (default: $WEIGHTSPACE_CACHE or ~/.cache/weightspace)."),
    seed: int = typer.Option(0, "--seed", help="World seed; everything is deterministic in it."),
    force: bool = typer.Option(False, "--force", help="Regenerate the worlds (and, with --tiny-clip, retrain) even when cached."),
    correlation: Optional[float] = typer.Option(None, "--correlation", help="P(action shown on its preferred scene) in training worlds (default 0.5)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Encoder processes (default: up to 2)."),
    tiny_clip: bool = typer.Option(False, "--tiny-clip", help="Also pretrain the tiny CLIP on the world's frames."),
) -> None:
    """Generate the default worlds (source_a/b/c, target, ooc_neutral, ooc_swapped) as mp4 files + list files."""
    from rich.table import Table

    from weightspace.data.synthetic.worlds import default_specs, ensure_worlds

    if correlation is not None and not 0.0 <= correlation <= 1.0:
        raise ConfigError(f"--correlation {correlation}: must be in [0, 1]")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: must be >= 1")
    worlds = ensure_worlds(out, seed, specs=default_specs() if correlation is None else default_specs(correlation), force=force, workers=workers)
    table = Table(title=f"built-in worlds (seed {seed}) in {worlds.root}")
    for col in ("world", "role", "style", "classes", "base/novel", "train", "val", "scene corr."):
        table.add_column(col, justify="left" if col in ("world", "role", "style") else "right")
    for name, world in worlds.items():
        spec = world.spec
        role = "source" if name in worlds.sources else "target" if name == worlds.target else "out of context" if name in worlds.ooc else ""
        corr = spec.ooc_scenes if spec.out_of_context_of else f"{spec.correlation:.2f}"
        table.add_row(name, role, spec.style, str(len(spec.actions)), f"{len(spec.base)}/{len(spec.novel)}",
                      str(world.counts.get("train", 0)), str(world.counts.get("val", 0)), corr)
    console.print(table)
    if tiny_clip:
        import json

        from weightspace.data.synthetic.tiny_clip import ensure_tiny_clip

        folder = ensure_tiny_clip(out, seed, force=force, worlds=worlds)
        prov = json.loads((folder / "weightspace.json").read_text(encoding="utf-8"))["provenance"]
        console.print(f"tiny CLIP -> {folder}", highlight=False)
        zs = prov.get("zero_shot")
        if zs:
            console.print(
                f"zero-shot top-1 on the target's {zs['classes']} actions: in context {zs['in_context_top1']:.3f}, "
                + ", ".join(f"{k.removesuffix('_top1')} {v:.3f}" for k, v in zs.items() if k.startswith("ooc_"))
                + f" (chance {zs['chance']:.3f})", highlight=False)
