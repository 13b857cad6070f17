"""``weightspace demo``: the main job end to end on the built-in world."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Output folder (re-running resumes and skips finished steps)."),
    pipeline: Path | None = typer.Option(
        None, "--pipeline", help="Pipeline recipe: the runs, merges, suite and sweeps (default: the shipped "
        "weightspace/recipes/demo/pipeline.yaml; copy it to change them)."),
    cache_root: Path | None = typer.Option(None, "--cache", help="Cache for the worlds and tiny CLIP (default $WEIGHTSPACE_CACHE or ~/.cache/weightspace)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the built-in world and tiny CLIP."),
    seeds: int = typer.Option(1, "--seeds", help="Repeat every training run with this many seeds (seed, seed+1, ...); scores are mean ± std."),
    quick: bool = typer.Option(False, "--quick", help="Miniature worlds and short training (a smoke run of the whole pipeline)."),
) -> None:
    """Build the world and tiny CLIP, train, merge, score everything, print the leaderboard, write a report."""
    from weightspace.cli.common import console
    from weightspace.demo import run_demo

    run_demo(out, pipeline=pipeline, cache_root=cache_root, seed=seed, seeds=seeds, quick=quick, console=console)
