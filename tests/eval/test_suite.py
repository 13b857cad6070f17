from pathlib import Path

import pytest

from weightspace.errors import ConfigError
from weightspace.eval.suite import expand_vars, find_suite, load_suite
from weightspace.resources import SUITES, shipped

SUITES_DIR = shipped(*SUITES)


def test_tiny_suite_parses_with_relative_paths(world):
    suite = load_suite(world).validate()
    assert [(b.name, b.protocol) for b in suite.benchmarks] == [
        ("b2n", "base-to-novel"), ("target", "cross-dataset"), ("ooc", "out-of-context"), ("closed", "closed-set")]
    b2n = suite.benchmark("b2n")
    assert [s.name for s in b2n.splits] == ["base", "novel"]
    assert Path(b2n.splits[0].list) == world.parent / "base.txt"
    assert Path(b2n.splits[0].root) == world.parent / "videos"
    assert b2n.model.temporal_views == 2 and b2n.model.num_frames == 4 and b2n.model.templates == "single"
    assert suite.heldout_benchmark.name == "target"


def test_content_hash_follows_list_contents(tmp_path):
    (tmp_path / "a.txt").write_text("v.mp4 0\n")
    (tmp_path / "n.json").write_text('{"0": "x"}')
    (tmp_path / "s.yaml").write_text("name: s\nbenchmarks: [{name: b, protocol: closed-set, list: a.txt, classnames: n.json}]\n")
    h1 = load_suite(tmp_path / "s.yaml").content_hash()
    assert load_suite(tmp_path / "s.yaml").content_hash() == h1
    (tmp_path / "a.txt").write_text("v.mp4 0\nw.mp4 0\n")
    h2 = load_suite(tmp_path / "s.yaml").content_hash()
    assert h2 != h1
    tfm = load_suite(tmp_path / "s.yaml").with_tfm()  # MoTE's TFM scores are stored apart
    assert tfm.model.tfm and tfm.benchmarks[0].model.tfm and tfm.content_hash() != h2


def test_env_vars_expand_with_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("WS_T_ROOT", "/data")
    monkeypatch.delenv("WS_T_UNSET", raising=False)
    assert expand_vars("${WS_T_ROOT}/x") == "/data/x"
    assert expand_vars("${WS_T_UNSET:-/d}/x") == "/d/x"
    assert expand_vars("${WS_T_UNSET}/x") == "${WS_T_UNSET}/x"
    (tmp_path / "s.yaml").write_text("name: s\nbenchmarks: [{name: b, protocol: closed-set, "
                                     "list: '${WS_T_UNSET}/a.txt', classnames: n.json}]\n")
    suite = load_suite(tmp_path / "s.yaml").validate(check_files=False)
    with pytest.raises(ConfigError, match=r"benchmarks\[b\].test.list: environment variable WS_T_UNSET is not set"):
        suite.validate()


@pytest.mark.parametrize("body, match", [
    ("name: s\nbenchmarks: []\n", "key 'benchmarks': List should have at least 1 item"),
    ("name: s\nbenchmark: []\n", "unknown key"),
    ("name: s\nbenchmarks: [{name: b, protocol: closed-set, list: a.txt}]\n", "needs 'list' and 'classnames'"),
    ("name: s\nmodel: {views: {temporal: 0}}\nbenchmarks: [{name: b, protocol: closed-set, list: a, classnames: n}]\n",
     "key 'model.views.temporal': Input should be greater than or equal to 1"),
    ("name: s\nbenchmarks: [{name: b, protocol: b2n, list: a, classnames: n}]\n", "unknown protocol 'b2n'"),
    ("name: s\nheldout: nope\nbenchmarks: [{name: b, protocol: closed-set, list: a, classnames: n}]\n", "no benchmark 'nope'"),
    ("name: [\n", "invalid YAML"),
    ("name: s\nmodel: {tfm: 1}\nbenchmarks: [{name: b, protocol: closed-set, list: a, classnames: n}]\n",
     "key 'model.tfm': Input should be a valid boolean"),
    ("name: s\nbenchmarks: [{name: b, protocol: closed-set, list: a, classnames: n, tfm: true}]\n", "unknown key"),
])
def test_bad_suites_one_line_errors(tmp_path, body, match):
    (tmp_path / "s.yaml").write_text(body)
    with pytest.raises(ConfigError, match=match) as info:
        load_suite(tmp_path / "s.yaml")
    assert "\n" not in str(info.value)


def test_missing_file_named_by_validate(tmp_path):
    (tmp_path / "s.yaml").write_text("name: s\nbenchmarks: [{name: b, protocol: closed-set, list: a.txt, classnames: n.json}]\n")
    with pytest.raises(ConfigError, match=r"benchmarks\[b\].test.list: .*a.txt does not exist"):
        load_suite(tmp_path / "s.yaml").validate()


def test_every_shipped_suite_parses():
    files = sorted(SUITES_DIR.glob("*.yaml"))
    names = {load_suite(f).validate(check_files=False).name for f in files}
    assert {"demo", "cross_dataset_k400", "b2n_k400", "b2n_hmdb", "b2n_ucf", "b2n_ssv2", "ooc_scuba"} <= names
    k = load_suite(SUITES_DIR / "cross_dataset_k400.yaml")
    assert [len(b.splits) for b in k.benchmarks] == [3, 3, 3] and k.video_cache == "off"
    assert k.model.temporal_views == 3 and k.model.spatial_crops == 1
    assert find_suite("demo") == SUITES_DIR / "demo.yaml"
    with pytest.raises(ConfigError, match="no such file"):
        find_suite("no-such-suite")


_B2N = "{name: b, protocol: base-to-novel, base: {list: a, classnames: n}, novel: {list: a, classnames: n}}"


@pytest.mark.parametrize("body, line", [
    ("name: s\nbenchmarks: [{name: b, protocol: base-to-novel, base: {list: a, classnames: n, lst: x}}]\n",
     "unknown key 'benchmarks.0.base.lst' (known: name, list, classnames, root, options)"),
    ("name: s\nbenchmarks: [{name: c, protocol: cross-dataset, splits: [{list: a, classnames: n}, {list: a, clasnames: n}]}]\n",
     "unknown key 'benchmarks.0.splits.1.clasnames' (known: name, list, classnames, root, options)"),
    ("name: s\nmodel: {views: {temporal: 2, crop: 1}}\nbenchmarks: [" + _B2N + "]\n",
     "unknown key 'model.views.crop' (known: temporal, crops)"),
    ("name: s\nmodel: {batch_size: '16'}\nbenchmarks: [" + _B2N + "]\n",
     "key 'model.batch_size': Input should be a valid integer, got '16'"),
    ("name: s\nbenchmarks: [{name: b, protocol: base-to-novel, num_frames: .nan, base: {list: a, classnames: n}}]\n",
     "key 'benchmarks.0.num_frames': Input should be a valid integer, got nan"),
    ("name: s\nbenchmarks: [{name: b, protocol: base-to-novel, base: {list: 5, classnames: n}}]\n",
     "key 'benchmarks.0.base.list': Input should be a valid string, got 5"),
    ("name: s\nbenchmarks: [" + _B2N + ", " + _B2N + "]\n", "key 'benchmarks.1.name': duplicate benchmark name 'b'"),
    ("name: s\nbenchmarks: [{name: b, protocol: base-to-novel, base: {list: a, classnames: n}}]\n",
     "key 'benchmarks.0': needs 'novel: {list: ..., classnames: ...}'"),  # the protocol's own check
])
def test_suite_errors_name_the_file_and_the_dotted_key(tmp_path, body, line):
    (tmp_path / "s.yaml").write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_suite(tmp_path / "s.yaml")
    assert str(exc.value) == f"{tmp_path / 's.yaml'}: {line}"


def test_references_in_suites_stay_references_and_local_dir_is_relative(tmp_path):
    (tmp_path / "s.yaml").write_text("name: s\nbenchmarks: [{name: b, protocol: closed-set, "
                                     "list: 'builtin:target/val.txt', classnames: 'local-dir:n.json'}]\n")
    split = load_suite(tmp_path / "s.yaml").benchmarks[0].splits[0]
    assert (split.list, split.classnames) == ("builtin:target/val.txt", str(tmp_path / "n.json"))
    (tmp_path / "s.yaml").write_text("name: s\nbenchmarks: [{name: b, protocol: closed-set, "
                                     "list: 'builtins:target/val.txt', classnames: n.json}]\n")
    with pytest.raises(ConfigError) as exc:
        load_suite(tmp_path / "s.yaml")
    assert str(exc.value).startswith(f"{tmp_path / 's.yaml'}: key 'benchmarks.0.list': 'builtins:target/val.txt': "
                                     "unknown reference scheme 'builtins:'")


def test_protocol_options_are_parsed_checked_and_hashed_only_when_not_the_defaults(tmp_path):
    (tmp_path / "a.txt").write_text("v.mp4 0\n")
    (tmp_path / "n.json").write_text('{"0": "x"}')

    def suite(options: str):
        (tmp_path / "s.yaml").write_text(f"name: s\nbenchmarks: [{{name: b, protocol: closed-set, list: a.txt, "
                                         f"classnames: n.json{options}}}]\n")
        return load_suite(tmp_path / "s.yaml")

    plain = suite("")
    assert plain.benchmarks[0].protocol_options == {"topk": [1, 5]}
    assert suite(", protocol_options: {topk: [1, 5]}").content_hash() == plain.content_hash()
    top1 = suite(", protocol_options: {topk: [1]}")
    assert top1.benchmarks[0].protocol_options == {"topk": [1]} and top1.content_hash() != plain.content_hash()
    with pytest.raises(ConfigError, match=r"s\.yaml: unknown key 'benchmarks\.0\.protocol_options\.k'"):
        suite(", protocol_options: {k: 1}")
