import pytest

from weightspace.eval.evaluator import Evaluator, evaluate, open_evaluator
from weightspace.selection.wise_ft import evaluate_wise_ft


@pytest.fixture
def closed(world):
    """The one-split closed-set benchmark of the tiny suite."""
    from weightspace.eval.suite import load_suite

    return load_suite(world).with_benchmarks(["closed"])


def _top1(result):
    return {(r.benchmark, r.split): r.value for r in result.rows if r.metric == "top1"}


def test_wise_ft_via_merge_engine(closed, ckpts, tmp_path):
    base, fts = ckpts
    with open_evaluator(closed, store=tmp_path / "r.sqlite", cache_dir=tmp_path) as ev:
        res = [evaluate_wise_ft(ev, fts[1], 1.0, clip_base=str(base))]
    assert res[0].info["method"] == "wise-ft" and res[0].info["params"] == {"alpha": 1.0}
    assert _top1(res[0]) == pytest.approx(_top1(evaluate([fts[1]], closed, store=False, cache_dir=tmp_path)[0]))


def test_wise_ft_in_memory_scores_as_the_written_merge(closed, ckpts, tmp_path):
    base, fts = ckpts
    ev = Evaluator(closed, store=False, cache_dir=tmp_path / "c")
    mem = evaluate_wise_ft(ev, fts[1], 0.5, clip_base=str(base))
    disk = evaluate_wise_ft(ev, fts[1], 0.5, clip_base=str(base), out=tmp_path / "w")
    assert (tmp_path / "w" / "merge_manifest.json").is_file() and mem.rows == disk.rows
    assert mem.ref.startswith("wise-ft(alpha=0.5)") and mem.info["parents"] == [str(base), str(fts[1])]
    assert mem.rows != ev.evaluate(fts[1]).rows  # α = 0.5 is not the fine-tune itself
