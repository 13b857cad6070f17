"""End to end: the whole demo pipeline on miniature worlds (``weightspace demo --quick``)."""

import json

import pytest

from weightspace.demo import run_demo

MODELS = {"clip", "plain", "accumulate", "meta", "source_b", "plain_gwa", "accumulate_gwa", "meta_gwa", "meta_gwa_wiseft",
          "task_arith", "ties", "iso_c", "tsv_m", "meta_gwa_ens", "mote", "mote_tfm"}
BENCHMARKS = {"b2n", "target", "ooc_neutral", "ooc_swapped", "sources", "decorrelated"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    return root, run_demo(root / "out", cache_root=root / "cache", quick=True, progress=False)


def test_demo_scores_every_model_and_merge(demo):
    _, res = demo
    assert set(res.scores) == MODELS
    for name, scores in res.scores.items():
        assert set(scores) == BENCHMARKS, name
        assert all(0.0 <= v <= 1.0 for v in scores.values()), name


def test_findings_json_has_seed_statistics_world_checks_and_claims(demo):
    _, res = demo
    doc = json.loads((res.report.parent / "findings.json").read_text())
    assert doc["seeds"] == 1 and set(doc["rows"]) == MODELS  # seed statistics: test_findings_from_seed_groups_hand_computed
    assert doc["rows"]["plain"]["target"]["n"] == 1 and doc["rows"]["clip"]["target"]["std"] == 0.0
    motion, bias = doc["world_checks"]["motion"], doc["world_checks"]["static_bias"]
    assert set(motion) >= {"zero_shot", "fine_tuned", "chance"} and set(bias) >= {"in_context", "ooc_neutral", "chance"}
    assert motion["chance"] == pytest.approx(1 / 4) and bias["chance"] == pytest.approx(1 / 4)  # tiny worlds: 4 actions
    assert all(0.0 <= v <= 1.0 for v in [*motion.values(), *bias.values()] if not isinstance(v, bool))
    # fine_tuned is the demo's plain run: the mean over seeds of its decorrelated source_a top-1
    assert motion["fine_tuned"] == pytest.approx(doc["rows"]["plain"]["decorrelated"]["mean"])
    for claim in doc["claims"]:
        beyond = abs(claim["difference"]) > 2 * claim["standard_error"]
        assert (claim["verdict"] != "no measurable difference") == beyond
    assert doc["chance"]["target"] == pytest.approx(1 / 4)


def test_demo_writes_report_plots_and_hub_folder(demo):
    _, res = demo
    text = res.report.read_text()
    assert "## Findings" in text and "task arithmetic" in text and "## World checks" in text and "chance" in text
    for png in ("leaderboard.png", "loss_curves.png", "sweep_lambda.png"):
        assert (res.report.parent / png).stat().st_size > 1000, png
    rows = json.loads((res.report.parent / "leaderboard.json").read_text())[0]["rows"]
    assert {r["name"] for r in rows} == MODELS and all("score_std" in r for r in rows)  # one row per model, over seeds
    log = (res.out / "demo.log").read_text()
    assert "train plain (seed 0): done" in log and "train meta (seed 0): done" in log and "train mote (seed 0): done" in log
    card = (res.hub_dry_run / "README.md").read_text()
    assert "model-index" in card and "library_name: open_clip" in card
    assert (res.hub_dry_run / "open_clip_model.safetensors").is_file()
    manifest = json.loads((res.hub_dry_run / "merge_manifest.json").read_text())
    assert manifest["method"] in {"gwa", "wise-ft", "task-arith", "ties", "iso-c", "tsv-m"}


def test_demo_rerun_skips_finished_steps(demo):
    root, first = demo
    snapshot = root / "out" / "train" / "seed-0" / "meta" / "snapshots" / "epoch_002" / "open_clip_model.safetensors"
    before = snapshot.stat().st_mtime_ns
    again = run_demo(root / "out", cache_root=root / "cache", quick=True, progress=False)
    assert snapshot.stat().st_mtime_ns == before  # nothing retrained
    assert again.scores == first.scores and again.best_merge == first.best_merge


def test_the_demo_runs_what_its_pipeline_names(demo, tmp_path):
    import yaml

    from weightspace.resources import DEMO_PIPELINE, shipped

    root, _ = demo
    doc = yaml.safe_load(shipped(*DEMO_PIPELINE).read_text())
    doc["runs"] = {n: doc["runs"][n] for n in ("plain", "source_b", "source_c")}  # the quick worlds lack source_c
    doc["merges"] = {"plain_gwa": doc["merges"]["plain_gwa"],
                     "ties": {**doc["merges"]["ties"], "of": ["plain", "source_b", "source_c"]}}
    doc["variants"] = {}
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(doc))
    res = run_demo(tmp_path / "out", pipeline=tmp_path / "small.yaml", cache_root=root / "cache", quick=True,
                   progress=False)
    assert set(res.scores) == {"clip", "plain", "source_b", "plain_gwa", "ties"}
    assert sorted(p.name for p in (tmp_path / "out" / "train" / "seed-0").iterdir()) == ["plain", "source_b"]
    manifest = json.loads((tmp_path / "out" / "merges" / "seed-0" / "ties" / "merge_manifest.json").read_text())
    assert [i["role"] for i in manifest["inputs"]] == ["base", "input", "input"] and manifest["params"]["density"] == 0.2
    gwa = json.loads((tmp_path / "out" / "merges" / "seed-0" / "plain_gwa" / "merge_manifest.json").read_text())
    assert (gwa["params"]["mu"], gwa["params"]["sigma"]) == (1.5, 1.0)  # the quick run's own online GWA
    assert "## Findings" in res.report.read_text() and "sweep" not in res.report.read_text()


def _result(name, target, oc_neutral, decorrelated):
    from weightspace.eval.results import EvalResult, Row

    rows = [Row("cross-dataset", "target", "val", "top1", target, 100), Row("cross-dataset", "target", "mean", "top1", target),
            Row("out-of-context", "ooc_neutral", "in_context", "top1", 0.6, 100),
            Row("out-of-context", "ooc_neutral", "out_of_context", "top1", oc_neutral, 100),
            Row("out-of-context", "ooc_neutral", "all", "hm", 0.5),
            Row("cross-dataset", "decorrelated", "source_a", "top1", decorrelated, 240),
            Row("cross-dataset", "decorrelated", "mean", "top1", decorrelated)]
    return EvalResult(f"/ck/{name}", name * 8, "demo", "h", rows)


def test_findings_from_seed_groups_hand_computed():
    from weightspace.demo import _findings

    groups = {"clip": [_result("c", 0.5, 0.2, 0.10)],
              "plain": [_result("p", 0.40, 0.10, 0.50), _result("q", 0.44, 0.14, 0.40)],
              "meta_gwa": [_result("m", 0.42, 0.30, 0.45), _result("n", 0.42, 0.34, 0.45)]}
    doc = _findings(groups, {"target": 1 / 12, "ooc_neutral": 1 / 12, "decorrelated": 1 / 12}, seeds=2)
    assert doc["rows"]["plain"]["target"] == {"mean": pytest.approx(0.42), "std": pytest.approx(0.02 * 2 ** 0.5), "n": 2}
    motion = doc["world_checks"]["motion"]
    assert motion["zero_shot"] == 0.10 and motion["fine_tuned"] == pytest.approx(0.45) and motion["meets_target"]
    bias = doc["world_checks"]["static_bias"]
    assert (bias["in_context"], bias["ooc_neutral"]) == (0.6, 0.2) and bias["meets_target"]  # 0.2 >= 2/12, 0.4 gap
    claims = {(c["a"], c["b"], c["benchmark"]): c for c in doc["claims"]}
    ooc = claims[("meta_gwa", "plain", "ooc_neutral")]
    # 0.32 vs 0.12: se² = (0.02·√2)²/2 · 2 + (0.32·0.68 + 0.12·0.88)/100
    assert ooc["difference"] == pytest.approx(0.20) and ooc["verdict"] == "higher"
    assert ooc["standard_error"] == pytest.approx((2 * 0.0008 / 2 + (0.32 * 0.68 + 0.12 * 0.88) / 100) ** 0.5)
    same = claims[("meta_gwa", "plain", "target")] if ("meta_gwa", "plain", "target") in claims else None
    assert same is None  # only the listed comparisons
    assert claims[("plain", "clip", "decorrelated")]["verdict"] == "higher"


def test_seeds_must_be_positive(tmp_path):
    from weightspace.errors import ConfigError

    with pytest.raises(ConfigError, match="--seeds 0"):
        run_demo(tmp_path / "out", seeds=0, progress=False)
    assert not (tmp_path / "out").exists()
