import json

import pytest
import yaml

from .hub_data import eval_doc
from weightspace.checkpoint import MANIFEST_NAME, open_checkpoint
from weightspace.errors import ConfigError
from weightspace.hub.card import parents, render_card, results_table


def split_card(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body.lstrip("\n")


def render(folder, **kw):
    ckpt = open_checkpoint(folder)
    manifest_path = folder / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    kw.setdefault("license", "mit")
    return ckpt, render_card("org/tiny-merge", ckpt, weights_sha256=ckpt.sha256(), manifest=manifest, **kw)


def test_merged_card_front_matter(merged_ckpt):
    ckpt, text = render(merged_ckpt, eval_doc=eval_doc(None), license="apache-2.0")
    meta, _ = split_card(text)
    assert meta["library_name"] == "open_clip"
    assert meta["pipeline_tag"] == "video-classification"
    assert meta["license"] == "apache-2.0"
    want = {"weightspace", "merge", "ties", "video-classification", "open-vocabulary-action-recognition"}
    assert want <= set(meta["tags"])
    # only parents that live on the Hub; the local one is in the body
    assert meta["base_model"] == ["laion/tiny-clip", "org/hmdb-ft"]
    assert meta["base_model_relation"] == "merge"
    [index] = meta["model-index"]
    assert index["name"] == "tiny-merge"
    by_split = {r["dataset"]["split"]: r for r in index["results"]}
    assert set(by_split) == {"base", "novel"}  # the HM summary ("all") is no split: body table only
    base = by_split["base"]
    assert base["task"] == {"type": "video-classification", "name": "base2novel"}
    assert base["dataset"]["config"] == "base2novel" and base["dataset"]["type"] == "ucf101"
    assert [(m["type"], m["name"], m["value"], m.get("args")) for m in base["metrics"]] == [
        ("accuracy", "Top-1 accuracy", 81.23, None), ("accuracy", "Top-5 accuracy", 95.0, {"k": 5})]


def test_model_index_parses_back_with_huggingface_hub(merged_ckpt):
    from huggingface_hub import ModelCard

    _, text = render(merged_ckpt, eval_doc=eval_doc(None))
    card = ModelCard(text)
    got = sorted((r.dataset_split, r.metric_type, r.metric_value) for r in card.data.eval_results)
    assert got == [("base", "accuracy", 81.23), ("base", "accuracy", 95.0), ("novel", "accuracy", 50.0)]


def test_merged_card_body(merged_ckpt):
    ckpt, text = render(merged_ckpt, eval_doc=eval_doc(None))
    _, body = split_card(text)
    assert body.startswith("# tiny-merge")
    assert "| method | `ties` |" in body and "| lambda | `0.4` |" in body and "| density | `0.2` |" in body
    assert "| reference | Yadav et al. 2023, TIES-Merging |" in body
    assert '| include | `["visual"]` |' in body and "exclude" not in body  # empty filters are left out
    assert "| keys | 5 merged, 1 copied |" in body
    assert "| `runs/ucf/epoch_3` | input (epoch 3) | `cccccccccccc` |" in body
    assert "[`hf-hub:laion/tiny-clip`](https://huggingface.co/laion/tiny-clip) | base | `bbbbbbbbbbbb`" in body
    assert "| base2novel | UCF101 | base | 81.23 | 95.00 | – |" in body
    assert 'open_clip.create_model_and_transforms("hf-hub:org/tiny-merge")' in body
    assert 'VideoCLIP.from_pretrained("hf-hub:org/tiny-merge")' in body
    assert "weightspace eval hf-hub:org/tiny-merge --suite" in body
    assert ckpt.sha256() in body
    assert "`vclip` temporal module over 8 frames" in body
    assert "method `ties` over 2 input checkpoints" in body
    assert '"recipe"' not in body  # a merge's provenance is its manifest, summarised in the tables


def test_card_for_plain_checkpoint(plain_ckpt):
    _, text = render(plain_ckpt)
    meta, body = split_card(text)
    assert "merge" not in meta["tags"]
    assert "base_model" not in meta and "model-index" not in meta  # local base, no results
    assert "## Merge" not in body and "## Evaluation" not in body
    assert "| `/data/tiny-clip` | base | `eeeeeeeeeeee` |" in body
    assert "temporal module" not in body  # no video section recorded
    assert '"epoch": 3' in body  # provenance


def test_plain_checkpoint_with_hub_base_is_a_finetune(plain_ckpt):
    meta = {"base_model": {"ref": "hf-hub:org/clip@v1", "sha256": "f" * 64}}
    assert parents(meta, None) == [{"ref": "hf-hub:org/clip@v1", "role": "base", "sha256": "f" * 64,
                                    "hub_id": "org/clip"}]
    from weightspace.hub.card import card_data

    data = card_data("org/x", meta=meta, manifest=None, eval_doc=None, license="mit")
    assert data.base_model == ["org/clip"] and data.base_model_relation == "finetune"


def test_pretrained_base_of_snapshots_is_a_parent():
    # GWA over fine-tuning snapshots: the manifest lists only the snapshots; the Hub model they came from is
    # weightspace.json's base_model and belongs in base_model too
    manifest = {"method": "gwa", "inputs": [{"ref": "runs/e1", "sha256": "1" * 64, "role": "input", "epoch": 1}]}
    meta = {"base_model": {"ref": "hf-hub:laion/clip", "sha256": "2" * 64}}
    assert [(p["ref"], p["role"]) for p in parents(meta, manifest)] == [
        ("runs/e1", "input (epoch 1)"), ("hf-hub:laion/clip", "base")]
    from weightspace.hub.card import card_data

    data = card_data("org/x", meta=meta, manifest=manifest, eval_doc=None, license="mit")
    assert data.base_model == ["laion/clip"] and data.base_model_relation == "merge"
    # listed once when the merge's base is the same model
    manifest["inputs"].append({"ref": "hf-hub:laion/clip", "sha256": "2" * 64, "role": "base"})
    assert len(parents(meta, manifest)) == 2


def test_summary_rows_and_duplicates_stay_out_of_model_index():
    from weightspace.hub.card import card_data

    doc = {"results": [{"protocol": "cross-dataset", "benchmark": "UCF", "split": s, "metric": "top1", "value": v}
                       for s, v in (("split1", 0.7), ("mean", 0.7), ("std", 0.01), ("split1", 0.7))]}
    data = card_data("org/x", meta={}, manifest=None, eval_doc=doc, license="mit")
    assert [r.dataset_split for r in data.eval_results] == ["split1"]
    assert [r["split"] for r in results_table(doc)[1]] == ["split1", "mean", "std"]


def test_license_is_required():
    from weightspace.hub.card import card_data

    with pytest.raises(TypeError):
        card_data("org/x", meta={}, manifest=None, eval_doc=None)  # no silent default


def test_results_table_pivots_metrics():
    metrics, rows = results_table(eval_doc(None))
    assert metrics == ["top1", "top5", "hm"]
    assert [(r["split"], r["values"]) for r in rows] == [
        ("base", {"top1": 81.23, "top5": 95.0}), ("novel", {"top1": 50.0}), ("all", {"hm": 61.88})]


def test_custom_template_and_missing_template(merged_ckpt, tmp_path):
    template = tmp_path / "mine.md.j2"
    template.write_text("# {{ name }} by {{ method }} ({{ parents | length }} parents)\n")
    _, text = render(merged_ckpt, template=template)
    assert split_card(text)[1] == "# tiny-merge by ties (3 parents)\n"
    with pytest.raises(ConfigError, match="model card template not found"):
        render(merged_ckpt, template=tmp_path / "missing.j2")
