import json

import pytest
import torch

from weightspace.errors import WeightspaceError
from weightspace.eval.evaluator import Evaluator, evaluate, score_checkpoint
from weightspace.eval.store import ResultsStore


@pytest.fixture
def closed(world):
    """The one-split closed-set benchmark of the tiny suite (most tests need one split, not seven)."""
    from weightspace.eval.suite import load_suite

    return load_suite(world).with_benchmarks(["closed"])


def _top1(result):
    return {(r.benchmark, r.split): r.value for r in result.rows if r.metric == "top1"}


@pytest.fixture
def counters(monkeypatch):
    """Count video decodes, text-tower encodes and model constructions."""
    from weightspace.data.dataset import VideoDataset
    from weightspace.models.video_clip import VideoCLIP

    counts = {"decode": 0, "text": 0, "build": 0}
    load, encode, build = VideoDataset.load, VideoCLIP.encode_classes, VideoCLIP.from_pretrained.__func__

    def counted_load(self, i):
        counts["decode"] += 1
        return load(self, i)

    def counted_encode(self, *a, **k):
        counts["text"] += 1
        return encode(self, *a, **k)

    def counted_build(cls, *a, **k):
        counts["build"] += 1
        return build(cls, *a, **k)

    monkeypatch.setattr(VideoDataset, "load", counted_load)
    monkeypatch.setattr(VideoCLIP, "encode_classes", counted_encode)
    monkeypatch.setattr(VideoCLIP, "from_pretrained", classmethod(counted_build))
    return counts


def test_scores_match_a_manual_multiview_evaluation(world, ckpts, tmp_path):
    from weightspace.data import VideoDataset
    from weightspace.models.video_clip import VideoCLIP

    _, fts = ckpts
    result = Evaluator(world, store=False, cache_dir=tmp_path).evaluate(fts[1])
    model = VideoCLIP.from_pretrained(fts[1]).eval()
    ds = VideoDataset(world.parent / "all.txt", world.parent / "all.json", root=world.parent / "videos", num_frames=4,
                      image_size=32, mode="test", temporal_views=2)
    with torch.no_grad():
        correct = 0
        for i in range(len(ds)):
            item = ds[i]
            z = model(item["video"], classnames=ds.classnames, templates="single")["logits"].sum(0)  # sum over views
            correct += int(z.argmax()) == item["label"]
    assert _top1(result)[("closed", "test")] == pytest.approx(correct / len(ds))
    split_vals = [_top1(result)[("target", s)] for s in ("split1", "split2")]
    assert result.value("target", "mean", "top1") == pytest.approx(sum(split_vals) / 2)
    base, novel = _top1(result)[("b2n", "base")], _top1(result)[("b2n", "novel")]
    assert result.value("b2n", "all", "hm") == pytest.approx(0 if base + novel == 0 else 2 * base * novel / (base + novel))
    assert all(r.n == 12 and r.missing == 0 for r in result.rows if r.benchmark == "closed")


def test_second_checkpoint_reuses_clips_text_and_clip_logits(world, ckpts, tmp_path, counters):
    from weightspace.eval.suite import load_suite

    base, fts = ckpts
    suite = load_suite(world).with_benchmarks(["b2n", "closed"])
    ev = Evaluator(suite, store=False, cache_dir=tmp_path)
    ev.evaluate(fts[0], rho=0.5, clip_base=str(base))
    first = dict(counters)
    assert first["decode"] > 0 and first["text"] > 0 and first["build"] == 2  # the model + the frozen CLIP
    ev.evaluate(fts[1], rho=0.5, clip_base=str(base))
    assert counters["decode"] == first["decode"]  # no video decoded again
    assert counters["text"] == first["text"]  # same text tower: class features reused
    assert counters["build"] == first["build"]  # merge loaded into the same model; frozen CLIP not needed
    assert ev.cache.stats["clip_logits_hit"] == ev.cache.stats["clip_logits_miss"] == 3  # one per split
    # a fresh evaluator (a new process) finds the disk caches warm
    Evaluator(suite, store=False, cache_dir=tmp_path).evaluate(fts[2], rho=0.5, clip_base=str(base))
    assert counters["decode"] == first["decode"] and counters["text"] == first["text"]


def test_reevaluating_is_free_and_force_rescores(closed, ckpts, tmp_path, counters):
    _, fts = ckpts
    store = tmp_path / "r.sqlite"
    first = Evaluator(closed, store=store, cache_dir=tmp_path / "c").evaluate(fts[0])
    builds = counters["build"]
    ev = Evaluator(closed, store=store, cache_dir=tmp_path / "c2")
    again = ev.evaluate(fts[0])
    assert again.from_store and ev.logits.model_batches == 0 and counters["build"] == builds
    assert again.rows == first.rows and again.info["method"] == "train" and again.info["parents"]
    forced = ev.evaluate(fts[0], force=True)
    assert not forced.from_store and ev.logits.model_batches > 0 and forced.rows == first.rows
    with ResultsStore(store) as db:
        assert len(db.all_results()) == 1


def test_a_sub_suite_is_scored_and_stored_as_itself(world, ckpts, tmp_path):
    from weightspace.errors import ConfigError
    from weightspace.eval.suite import load_suite

    _, fts = ckpts
    suite = load_suite(world).with_benchmarks(["b2n", "closed"])
    ev = Evaluator(suite, store=tmp_path / "r.sqlite", cache_dir=tmp_path / "c")
    part = ev.evaluate(fts[0], benchmarks=["closed"])
    assert [b for b, _ in part.benchmarks()] == ["closed"] and part.suite == f"{suite.name}:closed"
    assert part.suite_hash == suite.with_benchmarks(["closed"]).content_hash() != suite.content_hash()
    assert ev.suite_of(["b2n", "closed"]) is ev.suite  # the whole suite by its names is the suite itself
    batches = ev.logits.model_batches
    whole = ev.evaluate(fts[0])  # a partial result never answers for the whole suite
    assert not whole.from_store and ev.logits.model_batches > batches
    assert [b for b, _ in whole.benchmarks()] == ["b2n", "closed"]
    assert [r for r in whole.rows if r.benchmark == "closed"] == part.rows
    assert ev.evaluate(fts[0], benchmarks=["closed"]).from_store
    with pytest.raises(ConfigError, match="no benchmark 'nope'"):
        ev.evaluate(fts[0], benchmarks=["nope"])


def test_prediction_ensembling_endpoints(closed, ckpts, tmp_path):
    base, fts = ckpts
    ev = Evaluator(closed, store=False, cache_dir=tmp_path)
    # ρ = 1 is the frozen CLIP alone: the base checkpoint (temporal none) scored directly
    assert _top1(ev.evaluate(fts[1], rho=1.0)) == pytest.approx(_top1(ev.evaluate(base)))
    mixed = ev.evaluate(fts[1], rho=0.5)  # the frozen CLIP defaults to the checkpoint's recorded base
    assert mixed.variant.startswith("ens(rho=0.5,clip=")


def test_missing_videos_are_counted_not_scored(world, tmp_path, ckpts):
    _, fts = ckpts
    d = world.parent
    (tmp_path / "l.txt").write_text((d / "all.txt").read_text() * 2 + "gone.mp4 1\n")  # 1 of 25: under the 5% limit
    (tmp_path / "s.yaml").write_text(f"name: m\nmodel: {{templates: single, num_frames: 4}}\nbenchmarks: [{{name: c, protocol: closed-set, "
                                     f"root: {d / 'videos'}, list: l.txt, classnames: {d / 'all.json'}}}]\n")
    res = evaluate([fts[0]], tmp_path / "s.yaml", store=False, cache_dir=tmp_path / "c")[0]
    top1 = [r for r in res.rows if r.metric == "top1"][0]
    assert (top1.n, top1.missing, res.missing) == (24, 1, 1)
    assert res.to_json()["missing_videos"] == 1 and res.failures[0].endswith("gone.mp4")


def test_a_mostly_unreadable_split_is_refused_naming_the_videos(world, tmp_path, ckpts):
    _, fts = ckpts
    d = world.parent
    (tmp_path / "l.txt").write_text((d / "all.txt").read_text() + "gone.mp4 1\n")  # 1 of 13: over the 5% limit
    (tmp_path / "s.yaml").write_text(f"name: m\nbenchmarks: [{{name: c, protocol: closed-set, "
                                     f"root: {d / 'videos'}, list: l.txt, classnames: {d / 'all.json'}}}]\n")
    with pytest.raises(WeightspaceError, match=r"1 of 13 videos cannot be read .*gone\.mp4"):
        evaluate([fts[0]], tmp_path / "s.yaml", store=False, cache_dir=tmp_path / "c")


def test_label_out_of_range_is_a_one_line_error(world, tmp_path, ckpts):
    _, fts = ckpts
    d = world.parent
    (tmp_path / "l.txt").write_text("v00.mp4 0\nv01.mp4 7\n")  # class-name file has 4 classes
    (tmp_path / "s.yaml").write_text(f"name: m\nbenchmarks: [{{name: c, protocol: closed-set, "
                                     f"root: {d / 'videos'}, list: l.txt, classnames: {d / 'all.json'}}}]\n")
    with pytest.raises(WeightspaceError, match=r"l.txt:2: label 7 out of range \(there are 4 classes") as info:
        evaluate([fts[0]], tmp_path / "s.yaml", store=False, cache_dir=tmp_path / "c")
    assert "\n" not in str(info.value)


def test_eval_results_json_is_what_the_hub_reads(world, ckpts, tmp_path):
    # full suite: every protocol's rows must pass the hub's validation
    from weightspace.eval.results import write_eval_results
    from weightspace.hub import eval_results as hub_reader

    _, fts = ckpts
    doc = score_checkpoint(fts[0], world, store=False, cache_dir=tmp_path)
    assert doc["checkpoint"]["sha256"] and doc["suite"] == "tiny"
    assert {r["metric"] for r in doc["results"]} == {"top1", "top5", "hm"}
    res = evaluate([fts[0]], world, store=False, cache_dir=tmp_path)
    write_eval_results(res, tmp_path / "eval_results.json")
    assert hub_reader.read(tmp_path / "eval_results.json")[0]["scores"] == json.loads(json.dumps(doc["scores"]))


def test_streamed_splits_are_checked_for_readability_once_per_evaluator(world, tmp_path, ckpts, monkeypatch):
    from weightspace.data import VideoDataset

    _, fts = ckpts
    d = world.parent
    (tmp_path / "s.yaml").write_text(f"name: m\nvideo_cache: 'off'\nmodel: {{templates: single, num_frames: 4}}\n"
                                     f"benchmarks: [{{name: c, protocol: closed-set, root: {d / 'videos'}, "
                                     f"list: {d / 'all.txt'}, classnames: {d / 'all.json'}}}]\n")
    checks = []
    original = VideoDataset.check_readable
    monkeypatch.setattr(VideoDataset, "check_readable", lambda self, *a, **k: checks.append(1) or original(self, *a, **k))
    ev = Evaluator(tmp_path / "s.yaml", store=False, cache_dir=tmp_path / "c")
    ev.evaluate(fts[0])
    ev.evaluate(fts[1])  # a second model streams the same videos: no second pass over every file
    assert len(checks) == 1


def test_the_ensemble_variant_of_the_model_just_scored_runs_no_forward_pass(closed, ckpts, tmp_path):
    base, fts = ckpts
    ev = Evaluator(closed, store=False, cache_dir=tmp_path / "c")
    plain = ev.evaluate(fts[1])
    batches = ev.logits.model_batches
    mixed = ev.evaluate(fts[1], rho=0.5, clip_base=str(base))
    assert ev.logits.model_batches == batches and mixed.rows != plain.rows
    fresh = Evaluator(closed, store=False, cache_dir=tmp_path / "c2").evaluate(fts[1], rho=0.5, clip_base=str(base))
    assert mixed.rows == fresh.rows


def test_a_benchmark_reports_the_top_k_its_protocol_options_ask_for(world, ckpts, tmp_path):
    _, fts = ckpts
    d = world.parent
    (tmp_path / "s.yaml").write_text(f"name: m\nmodel: {{templates: single, num_frames: 4}}\nbenchmarks: [{{name: c, "
                                     f"protocol: closed-set, root: {d / 'videos'}, list: {d / 'all.txt'}, "
                                     f"classnames: {d / 'all.json'}, protocol_options: {{topk: [1, 2]}}}}]\n")
    res = evaluate([fts[0]], tmp_path / "s.yaml", store=False, cache_dir=tmp_path / "c")[0]
    assert [r.metric for r in res.rows] == ["top1", "top2"] and res.score() == res.value("c", "test", "top1")
