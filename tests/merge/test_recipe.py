import pytest

from weightspace.errors import ConfigError
from weightspace.merge import load_recipe


def test_paths_resolve_relative_to_the_recipe(tmp_path):
    (tmp_path / "r").mkdir()
    recipe = tmp_path / "r" / "m.yaml"
    recipe.write_text("method: ties\nbase: ../ckpt/base\ninputs: [a, /abs/b, 'hf-hub:org/x@v1']\n"
                      "params: {density: 0.3}\ninclude: visual\noutput: out/merged\n")
    job = load_recipe(recipe)
    assert job["method"] == "ties" and job["params"] == {"density": 0.3}
    assert job["base"] == str(tmp_path / "r" / "../ckpt/base")
    assert job["inputs"] == [str(tmp_path / "r" / "a"), "/abs/b", "hf-hub:org/x@v1"]
    assert job["include"] == ["visual"] and job["exclude"] == []
    assert job["out"] == str(tmp_path / "r" / "out/merged")


@pytest.mark.parametrize("text,match", [
    ("method: ties\ninputs: [a]\nlamda: 1\n", "unknown key 'lamda' \\(known: method, base, inputs"),
    ("inputs: [a]\n", "key 'method': Field required"),
    ("method: ties\ninputs: []\n", "key 'inputs': List should have at least 1 item"),
    ("method: ties\ninputs: [a]\nparams: [1]\n", "key 'params': Input should be a valid dictionary"),
    ("method: [\n", "invalid YAML"),
    ("method: ties\ninputs: [{path: a, weigth: 1}]\n", r"unknown key 'inputs.0.weigth' \(known: path, weight\)"),
    ("method: ties\ninputs: [{weight: 1}]\n", r"key 'inputs.0.path': Field required"),
    ("method: ties\ninputs: [{path: a, weight: 2}]\nparams: {weights: [1]}\n", "weights given both per input"),
])
def test_bad_recipes_name_the_file_and_field(tmp_path, text, match):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(text)
    with pytest.raises(ConfigError, match=match) as exc:
        load_recipe(recipe)
    assert str(recipe) in str(exc.value)


def test_example_recipes_are_valid():
    from pathlib import Path

    from weightspace.merge import get_method
    from weightspace.merge.registry import InputsInfo

    recipes = sorted((Path(__file__).parents[2] / "weightspace" / "recipes" / "merge").glob("*.yaml"))
    assert len(recipes) >= 6
    for path in recipes:
        job = load_recipe(path)
        method = get_method(job["method"])
        metas = [{"provenance": {"epoch": i + 1}} for i in range(len(job["inputs"]))]
        method.resolve_params(job["params"], InputsInfo(len(job["inputs"]), job["base"] is not None, metas,
                                                        job["inputs"]))
        assert job["out"], path


def test_per_input_weights_are_collected_in_input_order(tmp_path):
    recipe = tmp_path / "m.yaml"
    recipe.write_text("method: tsv-m\nbase: b\ninputs: [{path: x, weight: 0.5}, y, {path: z, weight: 2}]\n"
                      "missing_in_base: keep:1\n")
    job = load_recipe(recipe)
    assert job["inputs"] == [str(tmp_path / n) for n in "xyz"]
    assert job["params"] == {"weights": [0.5, 1.0, 2.0]} and job["missing_in_base"] == "keep:1"


def test_shipped_lodo_recipes_load_and_their_options_resolve():
    from pathlib import Path

    from weightspace.merge import get_method
    from weightspace.merge.registry import InputsInfo

    recipes = sorted((Path(__file__).resolve().parents[2] / "weightspace" / "recipes" / "merge").glob("lodo_*.yaml"))
    sources = {"k700", "ucf101", "hmdb51", "xdviolence"}
    held_out = {}
    for r in recipes:
        job = load_recipe(r)
        get_method(job["method"]).resolve_params(job["params"], InputsInfo(len(job["inputs"]), True))
        held = r.stem.rpartition("_heldout_")[2]
        # robust-ovar's leave-one-dataset-out: the three other sources, never the held-out one
        assert {Path(i).parents[1].name for i in job["inputs"]} == sources - {held}, r.name
        held_out.setdefault(job["method"], set()).add(held)
    assert held_out == {m: sources for m in ("task-arith", "iso-c", "tsv-m")}



@pytest.mark.parametrize("text, line", [
    ("method: ties\ninputs: [a, {path: b, wieght: 2}]\n", "unknown key 'inputs.1.wieght' (known: path, weight)"),
    ("method: ties\ninputs: [a, {path: b, weight: .nan}]\n", "key 'inputs.1.weight': Input should be a finite number, got nan"),
    ("method: ties\ninputs: [a, {path: b, weight: 1e39}]\n", "key 'inputs.1.weight': 1e+39 overflows float32"),
    ("method: ties\ninputs: [a, 5]\n", "key 'inputs.1': Input should be a valid string or a valid dictionary"),
    ("method: ties\ninputs: [a, '']\n", "key 'inputs.1': must be a path or hf-hub: reference, got ''"),
    ("method: ties\ninputs: [a]\ninclude: [visual, 3]\n", "key 'include.1': Input should be a valid string, got 3"),
])
def test_recipe_errors_name_the_file_and_the_dotted_key(tmp_path, text, line):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_recipe(recipe)
    assert str(exc.value).startswith(f"{recipe}: {line}")


def test_references_are_kept_and_malformed_ones_name_the_file_and_field(tmp_path):
    recipe = tmp_path / "m.yaml"
    recipe.write_text("method: average\nbase: builtin:tiny-clip\ninputs: ['local-dir:a', 'hf-hub:org/x']\n")
    job = load_recipe(recipe)
    assert job["base"] == "builtin:tiny-clip"
    assert job["inputs"] == [str(tmp_path / "a"), "hf-hub:org/x"]
    recipe.write_text("method: average\ninputs: ['hf-hub:org/x@']\n")
    with pytest.raises(ConfigError) as exc:
        load_recipe(recipe)
    assert str(exc.value) == (f"{recipe}: key 'inputs.0': 'hf-hub:org/x@': expected hf-hub:ORG/NAME[@REVISION], "
                              "the revision is empty or malformed")
