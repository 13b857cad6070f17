import json

import pytest

from weightspace.errors import ConfigError
from weightspace.selection.greedy_soup import greedy_select, greedy_soup


def test_greedy_select_hand_constructed():
    individual = {"a": 0.50, "b": 0.70, "c": 0.60, "d": 0.40}
    soups = {("b", "c"): 0.72, ("b", "c", "a"): 0.72, ("b", "c", "d"): 0.75}
    calls = []

    def soup_score(ingredients):
        calls.append(tuple(ingredients))
        return soups[tuple(ingredients)]

    res = greedy_select(list(individual), individual.__getitem__, soup_score)
    # order by individual score: b, c, a, d; a ties the soup (0.72) and is rejected: strictly better only
    assert calls == [("b", "c"), ("b", "c", "a"), ("b", "c", "d")]
    assert res.ingredients == ["b", "c", "d"] and res.score == 0.75
    assert [h["accepted"] for h in res.history] == [True, True, False, True]


def test_greedy_select_keeps_best_single_model_when_nothing_helps():
    res = greedy_select(["x", "y"], {"x": 0.3, "y": 0.9}.__getitem__, lambda ing: 0.1)
    assert res.ingredients == ["y"] and res.score == 0.9
    with pytest.raises(ConfigError):
        greedy_select([], lambda c: 0.0, lambda i: 0.0)


def test_greedy_soup_with_mocked_scorer(ckpts, world, tmp_path, monkeypatch):
    """The wiring: held-out benchmark, uniform-average trials, final soup written with its manifest."""
    from weightspace.checkpoint import open_checkpoint
    from weightspace.eval.evaluator import Evaluator

    _, fts = ckpts
    seen = []
    scores = {fts[0].name: 0.2, fts[1].name: 0.6, fts[2].name: 0.4}

    def fake_score(self, ref, benchmark=None, **kw):
        seen.append(benchmark)
        return scores[open_checkpoint(ref).folder.name]

    class FakeSoupResult:  # a trial soup, averaged in memory: scored by its parents
        def __init__(self, parents):
            self.parents = parents

        def score(self, benchmark=None):
            seen.append(benchmark)
            return 0.7 if sorted(self.parents) == sorted([str(fts[1]), str(fts[2])]) else 0.1

    monkeypatch.setattr(Evaluator, "score", fake_score)
    monkeypatch.setattr(Evaluator, "evaluate_weights", lambda self, state, *, info, record=True, **kw:
                        FakeSoupResult(info["parents"]) if not record else pytest.fail("a trial soup was recorded"))
    res = greedy_soup(fts, world, out=tmp_path / "soup", store=False)
    assert set(seen) == {"target"}  # the suite's held-out benchmark
    assert res.ingredients == [str(fts[1]), str(fts[2])] and res.score == 0.7
    manifest = json.loads((tmp_path / "soup" / "merge_manifest.json").read_text())
    assert manifest["method"] == "average" and len(manifest["inputs"]) == 2


def test_a_trial_soup_scored_in_memory_scores_as_the_written_soup(ckpts, world, tmp_path):
    from weightspace.eval.evaluator import Evaluator
    from weightspace.eval.suite import load_suite
    from weightspace.merge import merge

    _, fts = ckpts
    res = greedy_soup(fts[:2], world, out=tmp_path / "soup", store=False)
    first, trial = res.history
    written = merge("average", [first["candidate"], trial["candidate"]], out=tmp_path / "trial", progress=False)
    ev = Evaluator(load_suite(world).with_benchmarks(["target"]), store=False)
    assert ev.score(written, "target") == trial["score"]
