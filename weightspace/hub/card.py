"""The ``README.md`` model card: YAML metadata for the Hub plus a body rendered from ``model_cards/``.

Front matter (built with huggingface_hub's ``ModelCardData``, so ``model-index`` has the shape the Hub
parses): ``library_name: open_clip``, ``pipeline_tag: video-classification``, ``license``, ``tags`` (with the
merge method), ``base_model`` (parents that are Hub repos; local parents appear in the body with their
hashes), ``base_model_relation`` (merge / finetune) and ``model-index`` with one result per
(protocol, benchmark, split). Metric values in the card, YAML and tables alike, are **percentages**
(the evaluator's fractions times 100, two decimals), the convention of model cards and leaderboards.
The card works for a checkpoint without a merge manifest (e.g. a trained snapshot): merge sections are
left out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from weightspace import __version__
from weightspace.checkpoint import Checkpoint
from weightspace.errors import ConfigError
from weightspace.hub.refs import HubRef, hub_id_of
from weightspace.resources import MODEL_CARDS, shipped

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

DEFAULT_TEMPLATE = "merged_model.md.j2"  # shipped in model_cards/
BASE_TAGS = ["weightspace", "video-classification", "open-vocabulary-action-recognition", "clip"]
# metric -> (Hub metric id, display name, metric args): top-k accuracies are the Hub's standard "accuracy"
METRIC_TYPES = {"top1": ("accuracy", "Top-1 accuracy", None), "top5": ("accuracy", "Top-5 accuracy", {"k": 5}),
                "hm": ("harmonic_mean", "Harmonic mean (top-1)", None)}
# summary rows (HM over base/novel, mean/std over splits; weightspace.eval.protocols) are no data split: table only
SUMMARY_SPLITS = {"all", "mean", "std"}


def percent(fraction: float) -> float:
    return round(100.0 * float(fraction), 2)


def parents(meta: dict, manifest: dict | None) -> list[dict]:
    """[{ref, role, sha256, hub_id}]: the merge manifest's inputs (its base included), then weightspace.json's
    base model unless already listed (e.g. the pretrained CLIP under a GWA of fine-tuning snapshots)."""
    entries = list((manifest or {}).get("inputs") or [])
    base = meta.get("base_model")
    if isinstance(base, dict) and base.get("ref") and base["ref"] not in {e.get("ref") for e in entries}:
        entries.append({**base, "role": "base"})
    rows = []
    for entry in entries:
        role = entry.get("role", "input") + (f" (epoch {entry['epoch']})" if "epoch" in entry else "")
        rows.append({"ref": str(entry["ref"]), "role": role, "sha256": entry.get("sha256") or "",
                     "hub_id": hub_id_of(str(entry["ref"]))})
    return rows


def merge_rows(manifest: dict | None) -> list[tuple[str, str]]:
    """(name, value) rows for the card's merge table: method, reference, parameters, key filters."""
    if not manifest:
        return []
    rows = [("method", f"`{manifest.get('method')}`")]
    if manifest.get("reference"):
        rows.append(("reference", str(manifest["reference"])))
    for key, value in (manifest.get("params") or {}).items():
        rows.append((str(key), f"`{json.dumps(value)}`"))
    for key in ("include", "exclude"):
        if manifest.get(key):
            rows.append((key, f"`{json.dumps(manifest[key])}`"))
    if manifest.get("dtype"):
        rows.append(("dtype", f"`{manifest['dtype']}`"))
    keys = manifest.get("keys") or {}
    if keys:
        rows.append(("keys", ", ".join(f"{n} {what}" for what, n in keys.items())))
    return rows


def results_table(eval_doc: dict | None) -> tuple[list[str], list[dict]]:
    """Pivot the results into rows per (protocol, benchmark, split) with one column per metric."""
    if not eval_doc:
        return [], []
    metrics: list[str] = []
    rows: dict[tuple, dict] = {}
    for r in eval_doc["results"]:
        key = (r["protocol"], r["benchmark"], r["split"])
        rows.setdefault(key, {"protocol": key[0], "benchmark": key[1], "split": key[2], "values": {}})
        rows[key]["values"][r["metric"]] = percent(r["value"])
        if r["metric"] not in metrics:
            metrics.append(r["metric"])
    order = [m for m in METRIC_TYPES if m in metrics]
    return order, list(rows.values())


def card_data(repo_id: str, *, meta: dict, manifest: dict | None, eval_doc: dict | None,
              license: str) -> "ModelCardData":
    """huggingface_hub ``ModelCardData`` for the front matter."""
    from huggingface_hub import EvalResult, ModelCardData

    method = (manifest or {}).get("method")
    tags = BASE_TAGS + (["merge", str(method)] if manifest else [])
    hub_parents = list(dict.fromkeys(p["hub_id"] for p in parents(meta, manifest) if p["hub_id"]))
    relation = ("merge" if manifest else "finetune") if hub_parents else None
    results, seen = [], set()
    for r in (eval_doc or {}).get("results", []):
        key = (r["protocol"], str(r["benchmark"]).lower(), r["split"], r["metric"])
        if r["split"] in SUMMARY_SPLITS or key in seen:
            continue
        seen.add(key)
        metric_id, metric_name, metric_args = METRIC_TYPES[r["metric"]]
        results.append(EvalResult(
            task_type="video-classification", task_name=r["protocol"],
            dataset_type=key[1], dataset_name=f"{r['benchmark']} ({r['split']})",
            dataset_config=r["protocol"], dataset_split=r["split"],
            metric_type=metric_id, metric_name=metric_name, metric_args=metric_args,
            metric_value=percent(r["value"]),
        ))
    return ModelCardData(
        library_name="open_clip", pipeline_tag="video-classification", license=license, tags=tags,
        base_model=hub_parents or None, base_model_relation=relation,
        model_name=repo_id.split("/")[-1], eval_results=results or None,
    )


def render_card(
    repo_id: str,
    ckpt: Checkpoint,
    *,
    weights_sha256: str,
    manifest: dict | None = None,
    eval_doc: dict | None = None,
    license: str,
    template: str | os.PathLike | None = None,
) -> str:
    """The full README.md text: ``---`` YAML ``---`` then the template's body."""
    import jinja2

    template = Path(template) if template else shipped(MODEL_CARDS, DEFAULT_TEMPLATE)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template.parent)), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False,
    )
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # one Markdown table cell
    try:
        body_template = env.get_template(template.name)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"{template}: model card template not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{template}: model card template syntax error at line {exc.lineno} ({exc.message})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{template}: model card template is not UTF-8 text") from None
    meta = ckpt.meta or {}
    metrics, rows = results_table(eval_doc)
    data = card_data(repo_id, meta=meta, manifest=manifest, eval_doc=eval_doc, license=license)
    try:
        body = body_template.render(
            repo_id=repo_id,
            name=repo_id.split("/")[-1],
            hub_ref=str(HubRef(repo_id)),
            manifest=manifest,
            method=(manifest or {}).get("method"),
            n_inputs=sum(1 for e in (manifest or {}).get("inputs") or [] if e.get("role") == "input"),
            merge_rows=merge_rows(manifest),
            parents=parents(meta, manifest),
            metrics=[(m, METRIC_TYPES[m][1]) for m in metrics],
            results=rows,
            suite=(eval_doc or {}).get("suite"),
            video=meta.get("video") or {},
            provenance=meta.get("provenance") or {},
            model_cfg=ckpt.model_cfg or {},
            weights_sha256=weights_sha256,
            license=license,
            weightspace_version=__version__,
            to_json=lambda v: json.dumps(v, indent=2, sort_keys=True),
        )
    except jinja2.TemplateError as exc:  # e.g. an undefined variable in a user template
        raise ConfigError(f"{template}: cannot render the model card template ({exc})") from None
    return f"---\n{data.to_yaml()}\n---\n\n{body.lstrip()}"
