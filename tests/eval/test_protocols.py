import pytest

from weightspace.errors import ConfigError
from weightspace.eval.protocols import PROTOCOLS, get_protocol


def test_summaries_hand_computed():
    b2n = get_protocol("base-to-novel").summarize({"base": 0.8, "novel": 0.4})
    assert b2n == [("all", "hm", pytest.approx(2 * 0.8 * 0.4 / 1.2))]
    cross = dict(((s, m), v) for s, m, v in get_protocol("cross-dataset").summarize({"s1": 0.5, "s2": 0.7}))
    assert cross[("mean", "top1")] == pytest.approx(0.6)
    assert cross[("std", "top1")] == pytest.approx(0.1)
    ooc = get_protocol("out-of-context").summarize({"in_context": 0.9, "out_of_context": 0.3})
    assert ooc == [("all", "hm", pytest.approx(0.45))]
    assert get_protocol("closed-set").summarize({"test": 0.5}) == []


def test_split_names_and_primary():
    cfg = {"splits": [{"list": "a", "classnames": "n"}, {"name": "x", "list": "b", "classnames": "n"}]}
    assert [n for n, _ in get_protocol("cross-dataset").splits(cfg, "w")] == ["split1", "x"]
    assert {p.name: p.primary for p in PROTOCOLS.values()} == {
        "base-to-novel": ("all", "hm"), "cross-dataset": ("mean", "top1"),
        "out-of-context": ("all", "hm"), "closed-set": ("test", "top1")}


def test_bad_configs_name_the_place():
    with pytest.raises(ConfigError, match="bench: needs 'novel"):
        get_protocol("base-to-novel").splits({"base": {}}, "bench")
    with pytest.raises(ConfigError, match="unique"):
        get_protocol("cross-dataset").splits({"splits": [{"name": "mean"}]}, "bench")
    with pytest.raises(ConfigError, match="unknown protocol 'zero-shot'"):
        get_protocol("zero-shot")


def test_chance_is_the_primary_score_of_random_guessing():
    # base-to-novel: HM(1/6, 1/3) = 2/(6+3) = 2/9; cross-dataset: mean(1/12, 1/4) = 1/6
    assert get_protocol("base-to-novel").chance({"base": 6, "novel": 3}) == pytest.approx(2 / 9)
    assert get_protocol("cross-dataset").chance({"a": 12, "b": 4}) == pytest.approx(1 / 6)
    assert get_protocol("out-of-context").chance({"in_context": 12, "out_of_context": 12}) == pytest.approx(1 / 12)
    assert get_protocol("closed-set").chance({"test": 5}) == pytest.approx(0.2)


def test_score_turns_per_view_logits_into_rows_and_the_primary_score():
    import torch

    from weightspace.eval.protocols import SplitLogits

    # 3 videos x 2 views x 3 classes; views are summed, then top-k over the videos that were read
    z = torch.tensor([[[2.0, 0.0, 0.0], [1.0, 0.0, 0.0]],   # class 0
                      [[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]],   # class 1 (views disagree; the sum picks 1)
                      [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])  # unreadable: left out
    base = SplitLogits("base", z, torch.tensor([0, 2, 1]), torch.tensor([True, True, False]))
    novel = SplitLogits("novel", z[:2], torch.tensor([1, 1]), torch.tensor([True, True]))
    scored = get_protocol("base-to-novel").score("b", [base, novel], options={"topk": [1, 2]})
    rows = {(r.split, r.metric): (r.value, r.n, r.missing) for r in scored.rows}
    assert rows[("base", "top1")] == (0.5, 2, 1) and rows[("base", "top2")] == (1.0, 2, 1)
    assert rows[("novel", "top1")] == (0.5, 2, 0)
    assert scored.primary == rows[("all", "hm")][0] == pytest.approx(0.5)
    assert all(r.protocol == "base-to-novel" and r.benchmark == "b" for r in scored.rows)
    test = SplitLogits("test", z[:2], torch.tensor([0, 1]), torch.tensor([True, True]))
    mean = get_protocol("closed-set").score("c", [test], aggregate="softmax-mean")
    assert mean.primary == 1.0 and [r.metric for r in mean.rows] == ["top1", "top5"]


def test_options_are_declared_once_and_checked():
    proto = get_protocol("cross-dataset")
    assert proto.options() == {"topk": [1, 5]} and "topk=[1, 5]" in proto.describe()
    for bad, msg in (({"topk": [2, 5]}, "including 1"), ({"topk": [1, 1]}, "distinct"), ({"k": 1}, "unknown key 'protocol_options.k'"),
                     ([1], "expected a mapping")):
        with pytest.raises(ConfigError, match=msg):
            proto.options(bad, source="suite.yaml")
