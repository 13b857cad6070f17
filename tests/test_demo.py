"""End to end: the whole demo pipeline on miniature worlds (``weightspace demo --quick``)."""

import json

import pytest

from weightspace.demo import run_demo

MODELS = {"clip", "plain", "meta", "source_b", "plain_gwa", "meta_gwa", "meta_gwa_wiseft", "task_arith", "ties",
          "meta_gwa_ens"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    return root, run_demo(root / "out", cache_root=root / "cache", quick=True, progress=False)


def test_demo_scores_every_model_and_merge(demo):
    _, res = demo
    assert set(res.scores) == MODELS
    for name, scores in res.scores.items():
        assert set(scores) == {"b2n", "target", "ooc", "sources"}, name
        assert all(0.0 <= v <= 1.0 for v in scores.values()), name
    assert set(res.findings) >= {"meta_gwa_beats_plain_ooc", "task_arithmetic_wins"}


def test_demo_writes_report_plots_and_hub_folder(demo):
    _, res = demo
    text = res.report.read_text()
    assert "## Findings" in text and "task arithmetic" in text
    for png in ("leaderboard.png", "loss_curves.png", "sweep_lambda.png"):
        assert (res.report.parent / png).stat().st_size > 1000, png
    rows = json.loads((res.report.parent / "leaderboard.json").read_text())[0]["rows"]
    assert len(rows) == len(MODELS) + 9  # every model and merge, plus the other 9 points of the λ sweep
    card = (res.hub_dry_run / "README.md").read_text()
    assert "model-index" in card and "library_name: open_clip" in card
    assert (res.hub_dry_run / "open_clip_model.safetensors").is_file()
    manifest = json.loads((res.hub_dry_run / "merge_manifest.json").read_text())
    assert manifest["method"] in {"gwa", "wise-ft", "task-arith", "ties"}


def test_demo_rerun_skips_finished_steps(demo):
    root, first = demo
    snapshot = root / "out" / "train" / "meta" / "snapshots" / "epoch_002" / "open_clip_model.safetensors"
    before = snapshot.stat().st_mtime_ns
    again = run_demo(root / "out", cache_root=root / "cache", quick=True, progress=False)
    assert snapshot.stat().st_mtime_ns == before  # nothing retrained
    assert again.scores == first.scores and again.best_merge == first.best_merge
