"""``weightspace inspect``: metadata, parameter counts, task-vector norms and cosine similarities."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from weightspace.cli.common import console


def _fmt_count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else str(n)


def _render(report: dict) -> None:
    from rich.table import Table

    rows = report["checkpoints"] + ([report["base"]] if report["base"] else [])
    meta = Table(title="checkpoints")
    for col in ("checkpoint", "kind", "keys", "parameters", "dtypes", "provenance", "base model", "sha256"):
        meta.add_column(col)
    for r in rows:
        prov = r["provenance"]
        prov_s = " ".join(f"{k}={prov[k]}" for k in ("kind", "method", "epoch") if k in prov)
        base_ref = (r["base_model"] or {}).get("ref", "") if isinstance(r["base_model"], dict) else ""
        dt = ", ".join(sorted(r["dtypes"]))
        meta.add_row(r["ref"] + (" (base)" if r is report["base"] else ""), r["kind"], str(r["keys"]),
                     _fmt_count(r["parameters"]), dt, prov_s, base_ref, r["sha256"][:12])
    console.print(meta)

    tags = sorted({t for r in rows for t in r["parameters_by_tag"]})
    counts = Table(title="parameters per tag")
    counts.add_column("checkpoint")
    for t in tags:
        counts.add_column(t, justify="right")
    for r in rows:
        counts.add_row(r["ref"], *(_fmt_count(r["parameters_by_tag"].get(t, 0)) for t in tags))
    console.print(counts)

    tv = report["task_vectors"]
    if tv is None:
        console.print("(give --base to see task-vector norms and cosine similarities)", style="dim")
        return
    tv_tags = [t for t in tv["norms"][0] if t != "total"] + ["total"]
    norms = Table(title="task-vector L2 norms (input - base)")
    norms.add_column("checkpoint")
    for t in tv_tags:
        norms.add_column(t, justify="right")
    for label, n in zip(tv["labels"], tv["norms"]):
        norms.add_row(label, *(f"{n.get(t, 0.0):.4g}" for t in tv_tags))
    console.print(norms)
    cos = Table(title="task-vector cosine similarity")
    cos.add_column("")
    for i in range(len(tv["labels"])):
        cos.add_column(str(i), justify="right")
    for i, (label, row) in enumerate(zip(tv["labels"], tv["cosine"])):
        cos.add_row(f"{i}: {label}", *("-" if v is None else f"{v:.3f}" for v in row))
    console.print(cos)


def inspect(
    checkpoints: List[str] = typer.Argument(..., help="Checkpoints (folder, .safetensors, .pt, hf-hub:ORG/NAME)."),
    base: Optional[str] = typer.Option(None, "--base", "-b", help="Base checkpoint: adds task-vector norms and cosines."),
    include: Optional[List[str]] = typer.Option(None, "--include", help="Task vectors over these keys/tags only."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Leave these keys/tags out of task vectors."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Show metadata, parameter counts per tag and (with --base) task-vector norms and their cosine matrix."""
    from weightspace.merge.summary import summarize

    report = summarize(checkpoints, base=base, include=include, exclude=exclude)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _render(report)
