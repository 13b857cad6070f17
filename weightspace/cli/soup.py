"""``weightspace soup``: a greedy soup (Wortsman et al. 2022) selected on a suite's held-out benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from weightspace.cli.common import console, err_console


def soup(
    candidates: List[str] = typer.Argument(..., help="Candidate checkpoints (same architecture, e.g. a hyperparameter sweep)."),
    suite: str = typer.Option(..., "--suite", "-s", help="Suite YAML or name; selection uses its held-out benchmark."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder for the soup (must not exist)."),
    heldout: Optional[str] = typer.Option(None, "--heldout", help="Benchmark to select on (default: the suite's 'heldout')."),
    store: Optional[Path] = typer.Option(None, "--store", help="Results store for the candidates' scores."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
) -> None:
    """Add candidates best-first, keeping each only if the uniform soup's held-out score strictly improves."""
    from weightspace.selection.greedy_soup import greedy_soup

    result = greedy_soup(candidates, suite, out=output, heldout=heldout, store=store, overwrite=overwrite,
                         progress=err_console.is_terminal)
    for step in result.history:
        mark = "[green]kept[/green]" if step["accepted"] else "[dim]skipped[/dim]"
        console.print(f"{mark}  {100 * step['score']:.1f}  {step['candidate']}")
    console.print(f"soup of {len(result.ingredients)} on {result.benchmark}: {100 * result.score:.1f} -> {result.checkpoint}",
                  highlight=False)
