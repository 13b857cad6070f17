import json

import pytest

from weightspace.errors import ConfigError
from weightspace.eval.evaluator import Evaluator
from weightspace.selection.sweep import parse_sweep, run_sweep


def test_parse_sweep():
    name, values = parse_sweep("lambda=0.1:1.5:0.1")
    assert name == "lambda" and len(values) == 15 and values[0] == 0.1 and values[-1] == 1.5 and values[4] == 0.5
    assert parse_sweep("alpha=0.2,0.5") == ("alpha", [0.2, 0.5])
    for bad in ("lambda", "lambda=1:0:0.1", "lambda=0:1:0", "x=a,b"):
        with pytest.raises(ConfigError, match="--sweep"):
            parse_sweep(bad)


def test_three_point_sweep_shares_caches_and_resumes(world, ckpts, tmp_path, monkeypatch):
    from weightspace.eval.suite import load_suite

    base, fts = ckpts
    suite = load_suite(world).with_benchmarks(["b2n", "target"])
    ev = Evaluator(suite, store=tmp_path / "r.sqlite", cache_dir=tmp_path / "cache")
    res = run_sweep("task-arith", [str(f) for f in fts[:2]], base=str(base), param="lambda", values=[0.0, 0.5, 1.0],
                    suite=suite, out_dir=tmp_path / "sweep", evaluator=ev, objective="target", score_all=True)
    assert [p.value for p in res.points] == [0.0, 0.5, 1.0]
    assert len({p.result.sha256 for p in res.points}) == 3
    assert ev.cache.stats["videos_miss"] == 2  # base + novel decoded once; target splits reuse their videos
    assert ev.cache.stats["text_miss"] == 3  # 3 class-name sets; the text tower is shared by every merge
    assert res.plot.is_file() and res.plot.stat().st_size > 1000
    doc = json.loads(res.summary.read_text())
    assert [p["value"] for p in doc["points"]] == [0.0, 0.5, 1.0] and doc["objective"] == "target"
    assert doc["best"] == max(res.points, key=lambda p: p.result.score("target")).value
    # points scored in memory score exactly as the same merge written to disk and read back
    from weightspace.merge import merge

    for p in res.points:
        if p.checkpoint is None:
            disk = merge("task-arith", [str(f) for f in fts[:2]], base=str(base), out=tmp_path / f"disk{p.value:g}",
                         params={"lambda": p.value}, progress=False)
            assert p.result.rows == ev.evaluate(disk, force=True, record=False).rows
    # rerun: every point is already merged and scored
    import weightspace.merge

    monkeypatch.setattr(weightspace.merge, "merge", lambda *a, **k: pytest.fail("merged again"))
    batches = ev.logits.model_batches
    again = run_sweep("task-arith", [str(f) for f in fts[:2]], base=str(base), param="lambda", values=[0.0, 0.5, 1.0],
                      suite=suite, out_dir=tmp_path / "sweep", evaluator=ev, objective="target", score_all=True)
    assert ev.logits.model_batches == batches and all(p.result.from_store for p in again.points)


def test_sweep_scores_the_objective_at_each_point_and_the_kept_point_on_the_whole_suite(world, ckpts, tmp_path,
                                                                                         monkeypatch):
    from weightspace.checkpoint import open_checkpoint
    from weightspace.eval.suite import load_suite

    base, fts = ckpts
    suite = load_suite(world).with_benchmarks(["b2n", "target"])
    ev = Evaluator(suite, store=tmp_path / "r.sqlite", cache_dir=tmp_path / "cache")
    computed = []  # (model identity, benchmark) of every split whose logits a forward pass produced
    real = ev.logits.of
    monkeypatch.setattr(ev.logits, "of", lambda loaded, f, k, bench, split: computed.append(
        (loaded.identity, bench.name)) or real(loaded, f, k, bench, split))
    values = [0.0, 0.5, 1.0]
    kw = dict(base=str(base), param="lambda", values=values, suite=suite, evaluator=ev, objective="target")
    res = run_sweep("task-arith", [str(f) for f in fts[:2]], out_dir=tmp_path / "sweep", **kw)
    best = res.best
    assert res.scored == ["target"]
    for p in res.points:
        want = ["b2n", "target"] if p is best else ["target"]
        assert [b for b, _ in p.result.benchmarks()] == want
    assert best.result.suite == suite.name and best.result.sha256 == open_checkpoint(best.checkpoint).sha256()
    assert {p.result.suite for p in res.points if p is not best} == {f"{suite.name}:target"}
    # b2n ran for the kept point only: the other points' forward passes covered the target splits alone
    assert sorted(b for _, b in computed).count("b2n") == 2  # its base and novel splits, once
    assert len({i for i, b in computed if b == "b2n"}) == 1
    doc = json.loads(res.summary.read_text())
    assert doc["scored_at_every_point"] == ["target"]
    assert [sorted(p["scores"]) for p in doc["points"]] == [["b2n", "target"] if p["value"] == doc["best"] else ["target"]
                                                            for p in doc["points"]]
    # the same work, every benchmark at every point, keeps the same point and gives it the same scores
    full = run_sweep("task-arith", [str(f) for f in fts[:2]], out_dir=tmp_path / "sweep-all", score_all=True, **kw)
    assert full.best.value == best.value and full.best.result.rows == best.result.rows
    assert [p.result.score("target") for p in full.points] == [p.result.score("target") for p in res.points]
    # the store keeps the objective's scores of every point (the kept one under its file) and the kept one's suite
    sub = ev.suite_of(["target"]).content_hash()
    assert ev.store.lookup(best.result.sha256, sub).rows == [r for r in best.result.rows if r.benchmark == "target"]
    batches = ev.logits.model_batches
    again = run_sweep("task-arith", [str(f) for f in fts[:2]], out_dir=tmp_path / "sweep", **kw)
    assert ev.logits.model_batches == batches and all(p.result.from_store for p in again.points)
    assert again.best.result.rows == best.result.rows


def test_sweep_merges_to_disk_once_and_lists_each_point_once(world, ckpts, tmp_path, monkeypatch):
    import weightspace.merge
    from weightspace.eval.store import ResultsStore
    from weightspace.eval.suite import load_suite

    base, fts = ckpts
    suite = load_suite(world).with_benchmarks(["target"])
    calls = []
    real = weightspace.merge.merge
    monkeypatch.setattr(weightspace.merge, "merge", lambda *a, **k: calls.append(k["out"]) or real(*a, **k))
    store = ResultsStore(tmp_path / "r.sqlite")
    res = run_sweep("task-arith", [str(f) for f in fts[:2]], base=str(base), param="lambda", values=[0.25, 0.5, 0.75, 1.0],
                    suite=suite, out_dir=tmp_path / "sweep", evaluator=Evaluator(suite, store=store, cache_dir=tmp_path / "c"))
    best = tmp_path / "sweep" / f"lambda={res.best.value:g}"
    assert calls == [best]  # only the chosen point is written
    assert [p.checkpoint for p in res.points if p.checkpoint] == [best]
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir()) == [best.name]
    rows = store.all_results()
    assert len(rows) == 4 and len({r.sha256 for r in rows}) == 4  # the best once, under its file's sha256
    from weightspace.checkpoint import open_checkpoint

    assert open_checkpoint(best).sha256() in {r.sha256 for r in rows}
    assert res.best.result.sha256 == open_checkpoint(best).sha256()


def test_sweep_of_a_whole_model_method_merges_each_point(world, ckpts, tmp_path):
    from weightspace.eval.suite import load_suite

    base, fts = ckpts
    suite = load_suite(world).with_benchmarks(["target"])
    res = run_sweep("ties", [str(f) for f in fts[:2]], base=str(base), param="density", values=[0.2, 0.5], suite=suite,
                    out_dir=tmp_path / "ties", params={"scope": "tensor"}, store=False)  # the fixtures' τ is 0 outside visual
    assert [p.checkpoint.name for p in res.points] == ["density=0.2", "density=0.5"]
    assert len({p.result.sha256 for p in res.points}) == 2


def test_sweep_write_mode_is_checked(world, ckpts, tmp_path):
    base, fts = ckpts
    with pytest.raises(ConfigError, match="write 'some'"):
        run_sweep("task-arith", [str(fts[0])], base=str(base), param="lambda", values=[0.5], suite=world,
                  out_dir=tmp_path / "s", store=False, write="some")


def test_ensembled_sweep_computes_frozen_clip_logits_once(world, ckpts, tmp_path):
    from weightspace.eval.suite import load_suite

    base, fts = ckpts
    suite = load_suite(world).with_benchmarks(["target"])
    ev = Evaluator(suite, store=tmp_path / "r.sqlite", cache_dir=tmp_path / "c")
    res = run_sweep("task-arith", [str(f) for f in fts[:2]], base=str(base), param="lambda", values=[0.3, 0.6, 0.9],
                    suite=suite, out_dir=tmp_path / "s", evaluator=ev, rho=0.5)
    assert all(p.result.variant.startswith("ens(rho=0.5,clip=") for p in res.points)
    assert ev.cache.stats["clip_logits_miss"] == 2 and ev.cache.stats["clip_logits_hit"] == 4  # 2 splits, 3 points
    again = ev.evaluate(res.best.checkpoint, rho=0.5, clip_base=str(base), force=True, record=False)
    assert again.rows == res.best.result.rows and again.variant == res.best.result.variant
    assert res.best.result.info["rho"] == 0.5
    assert ev.store.lookup(res.best.result.sha256, suite.content_hash(), res.best.result.variant) is not None
