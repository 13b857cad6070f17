import json

import pytest

from .hub_data import eval_doc
from weightspace.errors import ConfigError
from weightspace.hub import eval_results


def test_read_valid(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(eval_doc("a" * 64)))
    [doc] = eval_results.read(path)
    assert len(doc["results"]) == 4


def test_read_a_list_of_documents(tmp_path):
    path = tmp_path / "r.json"
    bad = eval_doc(None)
    bad["results"][0]["value"] = 2
    path.write_text(json.dumps([eval_doc("a" * 64), bad]))
    with pytest.raises(ConfigError, match=r"r.json\[1\]: key 'results.0.value': Input should be less than or equal to 1, got 2"):
        eval_results.read(path)


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.pop("results"), "key 'results': Field required"),
    (lambda d: d["results"][1].pop("split"), "key 'results.1.split': Field required"),
    (lambda d: d["results"][0].update(metric="top3"), "key 'results.0.metric': Input should be 'top1', 'top5' or 'hm', got 'top3'"),
    (lambda d: d["results"][2].update(value=78.1), "key 'results.2.value': Input should be less than or equal to 1, got 78.1"),
    (lambda d: d["results"][2].update(value=True), "key 'results.2.value': Input should be a valid number, got True"),
])
def test_invalid_names_file_and_entry(tmp_path, mutate, match):
    doc = eval_doc(None)
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=match) as exc:
        eval_results.read(path)
    assert str(path) in str(exc.value)


def test_unreadable_json(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read eval results JSON"):
        eval_results.read(path)


def test_results_for_other_weights_are_refused():
    with pytest.raises(ConfigError, match=r"r.json: no eval results of the pushed weights \(sha256 bbbb.*only "
                                          r"results for other weights \(sha256 aaaa"):
        eval_results.for_checkpoint([("r.json", [eval_doc("a" * 64)])], "b" * 64)


def test_picks_the_plain_results_of_these_weights():
    mine, other, variant = eval_doc("a" * 64), eval_doc("c" * 64), eval_doc("a" * 64)
    variant["variant"] = "ens(rho=0.5,clip=1a2b)"
    variant["results"] = variant["results"][:1]
    assert eval_results.for_checkpoint([("r.json", [other, variant, mine])], "a" * 64) is mine
    with pytest.raises(ConfigError, match="only prediction-ensemble variants"):
        eval_results.for_checkpoint([("r.json", [variant])], "a" * 64)


def test_combine_several_files():
    one, two = eval_doc("a" * 64), eval_doc(None)
    two["suite"] = "cross"
    two["results"] = two["results"][:1]
    combined = eval_results.for_checkpoint([("1", [one]), ("2", [two])], "a" * 64)
    assert combined["suite"] == "b2n-tiny, cross"
    assert len(combined["results"]) == 5
    assert len(one["results"]) == 4  # inputs untouched
    assert eval_results.for_checkpoint([], "a" * 64) is None


@pytest.mark.parametrize("mutate, line", [
    (lambda d: d["results"][3].update(vaule=0.5), "unknown key 'results.3.vaule' (known: protocol, benchmark, split,"),
    (lambda d: d["checkpoint"].update(sha=""), "unknown key 'checkpoint.sha' (known: ref, sha256)"),
    (lambda d: d["results"][0].update(value=float("nan")), "key 'results.0.value': Input should be a finite number"),
    (lambda d: d["results"][0].update(benchmark=7), "key 'results.0.benchmark': Input should be a valid string, got 7"),
])
def test_unknown_keys_and_wrong_types_name_the_dotted_key(tmp_path, mutate, line):
    doc = eval_doc("a" * 64)
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as exc:
        eval_results.read(path)
    assert str(exc.value).startswith(f"{path}: {line}")
