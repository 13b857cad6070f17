"""``weightspace train RECIPE.yaml [--set key=value ...]``: fine-tune a CLIP video learner from a recipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import typer

from weightspace.cli.common import console, parse_assignments


def train(
    recipe: Path = typer.Argument(..., help="Training recipe (YAML), e.g. weightspace/recipes/demo/meta.yaml."),
    set_: Optional[List[str]] = typer.Option(
        None, "--set", help="Override a recipe key, e.g. --set optim.lr=1e-5 --set strategy.delta=0.5 (repeatable)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate the recipe and print the resolved config; train nothing."),
    nproc: int = typer.Option(
        1, "--nproc", min=1,
        help="Processes: DDP through torchrun, one per GPU (gloo on CPU). "
        "Same as: torchrun --standalone --nproc_per_node N -m cli train RECIPE.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start over, deleting this output's earlier training files."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train from a recipe: epoch snapshots, online GWA, metrics.jsonl, loss_curve.png.

    Re-running the same command resumes from the last saved state. Strategies: plain, meta (Open-MeDe);
    regularisers: iwo (Open-VCLIP), rfd (FROSTER).
    """
    from weightspace.train.config import load_config

    overrides = parse_assignments(set_)
    cfg = load_config(recipe, overrides)
    if dry_run:
        import yaml

        console.print(f"[green]ok[/green] {recipe}: recipe is valid; resolved config:", highlight=False)
        console.print(yaml.safe_dump(cfg.to_dict(), sort_keys=False).rstrip(), highlight=False, markup=False)
        return
    if nproc > 1 and "WORLD_SIZE" not in os.environ:
        from weightspace.train.distributed import torchrun_command

        args = ["train", str(recipe), *[a for item in set_ or [] for a in ("--set", item)]]
        args += ["--overwrite"] * overwrite + ["--quiet"] * quiet
        code = subprocess.call(torchrun_command(nproc, args))
        if code:
            raise typer.Exit(code)
        return
    from weightspace.train.trainer import Trainer

    result = Trainer(cfg, progress=not quiet, overwrite=overwrite).run()
    if int(os.environ.get("RANK", "0")) != 0:
        return
    if result.resumed_from is not None and result.final_loss is None:
        console.print(f"{result.output}: training already complete", highlight=False)
    console.print(f"snapshots: {len(result.snapshots)} in {result.output / 'snapshots'}", highlight=False)
    if result.gwa is not None:
        console.print(f"GWA:       {result.gwa}", highlight=False)
    console.print(f"metrics:   {result.metrics}", highlight=False)
    if result.loss_curve is not None:
        console.print(f"loss plot: {result.loss_curve}", highlight=False)
    sys.stdout.flush()
