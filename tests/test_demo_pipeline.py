"""The demo's pipeline recipe: the shipped one, a user's copy, and one-line errors naming the file and the key."""

import shutil

import pytest
import yaml

from weightspace.demo_pipeline import load_pipeline, recipe_value
from weightspace.errors import ConfigError
from weightspace.resources import DEMO_PIPELINE, shipped


def _shipped_doc() -> dict:
    return yaml.safe_load(shipped(*DEMO_PIPELINE).read_text())


def _write(tmp_path, doc: dict):
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_shipped_pipeline_names_the_demo_runs_merges_and_suite():
    p = load_pipeline()
    assert list(p.spec.runs) == ["plain", "accumulate", "meta", "source_b", "source_c", "mote"]
    assert list(p.spec.merges) == ["plain_gwa", "accumulate_gwa", "meta_gwa", "meta_gwa_wiseft", "task_arith", "ties",
                                   "iso_c", "tsv_m"]
    assert p.recipes["meta"] == shipped("recipes", "demo", "meta.yaml") and p.suite == shipped("recipes", "suites", "demo.yaml")
    sweep = p.spec.merges["task_arith"].sweep
    assert sweep.param == "lambda" and sweep.values == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert p.spec.merges["ties"].of == ["plain", "source_b", "source_c"]  # the YAML anchor
    assert p.spec.merges["ties"].description(2) == "TIES over 2 sources, density 0.2"
    assert p.spec.sweep_objectives == ["sources"]


def test_a_copy_elsewhere_finds_the_shipped_recipes_and_its_own(tmp_path):
    shutil.copy(shipped(*DEMO_PIPELINE), tmp_path / "mine.yaml")
    shutil.copy(shipped("recipes", "demo", "plain.yaml"), tmp_path / "plain.yaml")
    p = load_pipeline(tmp_path / "mine.yaml")
    assert p.recipes["plain"] == tmp_path / "plain.yaml"  # next to the pipeline first
    assert p.recipes["meta"] == shipped("recipes", "demo", "meta.yaml")


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["runs"]["plain"].update(recipee="x.yaml"), r"unknown key 'runs\.plain\.recipee'"),
    (lambda d: d.update(extra=1), r"unknown key 'extra'"),
    (lambda d: d["runs"]["plain"].update(recipe="missing.yaml"), r"runs\.plain\.recipe 'missing\.yaml': no such file"),
    (lambda d: d.update(suite="nope.yaml"), r"suite 'nope\.yaml': no such file"),
    (lambda d: d["merges"]["ties"].update(of=["plain", "nope"]), r"merges\.ties\.of: 'nope' is not a run or an earlier merge"),
    (lambda d: d["merges"]["plain_gwa"].update(of=["meta_gwa_wiseft"]), r"merges\.plain_gwa: give its inputs as either"),
    (lambda d: d["merges"]["meta_gwa_wiseft"].update(of=["tsv_m"]), r"'tsv_m' is not a run or an earlier merge"),
    (lambda d: d["merges"]["ties"].update(params_from_run={"density": "x"}), r"merges\.ties\.params_from_run: needs 'snapshots'"),
    (lambda d: d["merges"]["ties"].update(sweep={"param": "lambda", "values": [1.0], "objective": "sources"}),
     r"merges\.ties\.sweep\.param: 'task_arith' sweeps 'lambda' already"),
    (lambda d: d["merges"]["task_arith"]["sweep"].update(values=[]), r"key 'merges\.task_arith\.sweep\.values'"),
    (lambda d: d["variants"]["meta_gwa_ens"].update(rho=1.5), r"key 'variants\.meta_gwa_ens\.rho'"),
    (lambda d: d["variants"]["mote_tfm"].update(rho=0.5), r"variants\.mote_tfm: give one of 'rho'"),
    (lambda d: d["variants"]["mote_tfm"].update(of="nope"), r"variants\.mote_tfm\.of: 'nope' is not a run or a merge"),
    (lambda d: d["merges"].update(plain=d["merges"]["ties"]), r"merges\.plain: the name is taken"),
    (lambda d: d["runs"].update(clip=d["runs"]["plain"]), r"runs\.clip: the name is taken"),
    (lambda d: d.update(merges={}), r"key 'merges'"),
])
def test_bad_pipelines_are_one_line_naming_the_file_and_key(tmp_path, edit, message):
    doc = _shipped_doc()
    edit(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(ConfigError, match=message) as info:
        load_pipeline(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_recipe_values_are_read_by_dotted_key():
    recipe = {"gwa": {"mu": 1.5, "include_base": False}}
    assert recipe_value(recipe, "gwa.mu", "here") == 1.5 and recipe_value(recipe, "gwa.include_base", "here") is False
    with pytest.raises(ConfigError, match="here: the run's recipe has no key 'gwa.sigma'"):
        recipe_value(recipe, "gwa.sigma", "here")


def test_the_demo_command_refuses_a_bad_pipeline_before_writing_anything(tmp_path, capsys):
    from weightspace.cli.main import main

    doc = _shipped_doc()
    doc["runs"]["plain"]["wrold"] = "source_a"
    path = _write(tmp_path, doc)
    assert main(["demo", "--pipeline", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "runs.plain.wrold" in err and str(path) in err
    assert not (tmp_path / "out").exists()
