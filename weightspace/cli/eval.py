"""``weightspace eval``: score checkpoints on an evaluation suite (results go to the results store)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from weightspace.cli.common import console, err_console


def eval_command(
    checkpoints: List[str] = typer.Argument(..., help="Checkpoint folders, .safetensors/.pt files or hf-hub:ORG/NAME[@REV]."),
    suite: str = typer.Option(..., "--suite", "-s", help="Suite YAML, or a name in recipes/suites (e.g. demo)."),
    rho: Optional[float] = typer.Option(None, "--rho", help="Prediction ensembling: ρ·z_CLIP + (1−ρ)·z_video per view (Open-VCLIP)."),
    clip_base: Optional[str] = typer.Option(None, "--clip-base", help="Frozen CLIP for --rho / --wise-ft-alpha (default: the checkpoint's recorded base)."),
    wise_ft_alpha: Optional[float] = typer.Option(None, "--wise-ft-alpha", help="Score the WiSE-FT merge (1−α)·θ_CLIP + α·θ_ckpt instead."),
    store: Optional[Path] = typer.Option(None, "--store", help="Results store (default $WEIGHTSPACE_HOME/results.sqlite or ./weightspace_results.sqlite)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not read or write the results store."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write eval_results.json here (a list when several checkpoints)."),
    force: bool = typer.Option(False, "--force", help="Re-score even if the store has this checkpoint and suite."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Evaluation caches (default $WEIGHTSPACE_CACHE/eval or ~/.cache/weightspace/eval)."),
    tfm: bool = typer.Option(False, "--tfm", help="MoTE temporal feature modulation (checkpoints with a MoTE head; also `tfm: true` in a suite)."),
) -> None:
    """Score checkpoints on a suite: top-1/top-5 per split, HM / mean±std summaries, multi-view."""
    from weightspace.errors import ConfigError
    from weightspace.eval.evaluator import open_evaluator
    from weightspace.eval.results import write_eval_results

    if no_store and store is not None:
        raise ConfigError("--store and --no-store are exclusive")
    if (rho is not None) and not 0.0 <= rho <= 1.0:
        raise ConfigError(f"--rho {rho}: must be in [0, 1]")
    with open_evaluator(suite, store=False if no_store else store, cache_dir=cache_dir, progress=True, tfm=tfm) as ev:
        if wise_ft_alpha is None:
            results = [ev.evaluate(c, rho=rho, clip_base=clip_base, force=force) for c in checkpoints]
        else:
            from weightspace.selection.wise_ft import evaluate_wise_ft

            results = [evaluate_wise_ft(ev, c, wise_ft_alpha, clip_base=clip_base, rho=rho, force=force)
                       for c in checkpoints]
    for r in results:
        console.print(results_table(r))
        if r.missing:
            first = f" (first: {r.failures[0]})" if r.failures else ""
            err_console.print(f"[yellow]warning:[/yellow] {r.ref}: {r.missing} video(s) could not be read and were "
                              f"left out of the scores (see the 'missing' column){first}", highlight=False,
                              soft_wrap=True)
    if out is not None:
        write_eval_results(results, out)
        console.print(f"wrote {out}", highlight=False)


def results_table(result):
    from rich.table import Table

    src = " (from the results store)" if result.from_store else f" ({result.seconds:.1f} s)"
    title = f"{result.info.get('name') or result.ref} on {result.suite}" + (f" {result.variant}" if result.variant else "")
    table = Table(title=title + src, caption=f"score {_pct(result.score())} (mean of the benchmarks' primary scores), %")
    for col in ("benchmark", "protocol", "split", "top1", "top5", "hm", "n", "missing"):
        table.add_column(col, justify="left" if col in ("benchmark", "protocol", "split") else "right")
    cells: dict[tuple[str, str], dict] = {}
    for row in result.rows:
        c = cells.setdefault((row.benchmark, row.split), {"protocol": row.protocol})
        c[row.metric] = row.value
        if row.n is not None:
            c["n"], c["missing"] = row.n, row.missing
    for (bench, split), c in cells.items():
        table.add_row(bench, c["protocol"], split, *(_pct(c.get(m)) for m in ("top1", "top5", "hm")),
                      str(c.get("n", "")), str(c.get("missing", "")))
    return table


def _pct(v) -> str:
    return "" if v is None else ("—" if v != v else f"{100 * v:.1f}")
