"""``weightspace push`` (checkpoint -> Hub repo with model card) and ``weightspace pull`` (Hub id -> local folder)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from weightspace.cli.common import console


def push(
    checkpoint: str = typer.Argument(..., help="Checkpoint folder, .safetensors or hf-hub:ORG/NAME\\[@REV]."),
    repo: str = typer.Option(..., "--repo", help="Target Hub repo, ORG/NAME."),
    private: bool = typer.Option(False, "--private",
                                 help="Create the repo as private (an existing repo keeps its visibility)."),
    revision: Optional[str] = typer.Option(None, "--revision",
                                           help="Branch to commit to (created from main if missing)."),
    dry_run: Optional[Path] = typer.Option(None, "--dry-run", metavar="DIR",
                                           help="Write the files that would be uploaded to DIR; no network."),
    eval_results: Optional[List[Path]] = typer.Option(
        None, "--eval-results", help="eval_results.json to publish (repeatable; default: the checkpoint's own)."),
    license: Optional[str] = typer.Option(None, "--license", help="License id for the model card (default: the one "
                                                                   "the checkpoint or its parents record; else required)."),
    message: Optional[str] = typer.Option(None, "--message", "-m", help="Commit message."),
    card_template: Optional[Path] = typer.Option(
        None, "--card-template", help="Jinja2 template for the card body (default: model_cards/merged_model.md.j2)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --dry-run folder of an earlier dry run."),
) -> None:
    """Publish a checkpoint to the Hugging Face Hub in one commit: open_clip layout, manifest, eval results, model card."""
    from rich.table import Table

    from weightspace.hub.push import push as push_checkpoint

    result = push_checkpoint(
        checkpoint, repo, private=private, revision=revision, dry_run_dir=dry_run,
        eval_results=eval_results or None, license=license, commit_message=message, card_template=card_template,
        overwrite=overwrite,
    )
    table = Table(title=f"{'planned' if dry_run else 'committed'}: {repo}" + (f"@{revision}" if revision else ""))
    for col in ("file", "size", "sha256"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for f in result.plan.files:
        table.add_row(f.path, f"{f.size:,}", f.sha256[:16])
    console.print(table)
    if result.dry_run_dir is not None:
        console.print(f"dry run: wrote {len(result.plan.files)} files to {result.dry_run_dir} (nothing uploaded)",
                      highlight=False, soft_wrap=True)
    else:
        if result.deleted:
            console.print(f"deleted (stale from an earlier push): {', '.join(result.deleted)}", highlight=False)
        console.print(f"pushed: {result.commit_url}", highlight=False, soft_wrap=True)


def pull(
    ref: str = typer.Argument(..., help="hf-hub:ORG/NAME\\[@REV]"),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Copy the checkpoint into this new folder (default: print the cache path)."),
) -> None:
    """Download a checkpoint from the Hub into the Hugging Face cache, verify its hash, optionally copy it out."""
    from weightspace.hub.pull import copy_out, download

    folder = download(ref)
    if out is not None:
        folder = copy_out(folder, out)
    console.print(str(folder), highlight=False, soft_wrap=True)
