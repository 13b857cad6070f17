from pathlib import Path

import pytest
import yaml

from weightspace.errors import ConfigError
from weightspace.train.config import TrainConfig, apply_overrides, load_config

RECIPES = Path(__file__).resolve().parents[2] / "weightspace" / "recipes"


def _training_recipes() -> list[Path]:
    """Every YAML under recipes/ that is a training recipe (has a top-level ``strategy``)."""
    out = []
    for path in sorted(RECIPES.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and "strategy" in data:
            out.append(path)
    return out


def test_recipe_paths_resolve_against_the_recipe_file(tmp_path, monkeypatch):
    (tmp_path / "r").mkdir()
    recipe = tmp_path / "r" / "x.yaml"
    recipe.write_text("data: {train: lists/train.txt, classnames: names.json}\nmodel: {init: ../ckpt/clip}\noutput: out\n")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(recipe)
    assert cfg.data.train == str(tmp_path / "r" / "lists" / "train.txt")
    assert cfg.data.classnames == str(tmp_path / "r" / "names.json")
    assert cfg.model.init == str(tmp_path / "ckpt" / "clip")
    assert cfg.output == "out"  # outputs are relative to where the command runs
    assert cfg.source == str(recipe)


def test_overrides_nested_list_and_yaml_numbers(tmp_path):
    recipe = tmp_path / "x.yaml"
    recipe.write_text("strategy: meta\noptim: {lr: 1e-4}\nregularisers: [{name: iwo}]\n")
    cfg = load_config(recipe, {"strategy.delta": 0.5, "regularisers.0.high": 0.4, "epochs": 3})
    assert cfg.optim.lr == pytest.approx(1e-4)  # YAML 1.1 reads 1e-4 as a string
    assert cfg.strategy.name == "meta" and cfg.strategy.params == {"tasks": 4, "task_batch_size": None, "inner": "optimizer", "alpha": None, "delta": 0.5, "log_ratio_every": 50}
    assert cfg.regularisers[0].params == {"low": 0.0, "high": 0.4, "weight": 0.5}
    assert cfg.epochs == 3


@pytest.mark.parametrize("overrides, key", [
    ({"optim.lrr": 1}, "optim.lrr"),
    ({"strategy.deltaa": 1}, "strategy.deltaa"),
    ({"strategy.name": "nope"}, "strategy.name"),
    ({"regularisers.0.name": "nope"}, "regularisers.0.name"),
    ({"epochs": "many"}, "epochs"),
    ({"amp": "fp8"}, "amp"),
    ({"regularisers.0.high": 2.0}, "regularisers.0.high"),
    ({"data.sampler": "slowfast"}, "data.sampler"),
    ({"data.short_side": [256, 224]}, "data.short_side"),
    ({"data.color_jitter": 1.5}, "data.color_jitter"),
    ({"data.max_unreadable": 2.0}, "data.max_unreadable"),
    ({"epochs": float("nan")}, "epochs"),
    ({"optim.lr": float("inf")}, "optim.lr"),
    ({"optim.lr": "inf"}, "optim.lr"),
    ({"optim.weight_decay": 1e39}, "optim.weight_decay"),
    ({"gwa.mu": "1e200"}, "gwa.mu"),
    ({"strategy.delta": float("nan")}, "strategy.delta"),
    ({"strategy.delta": 1e39}, "strategy"),  # options.py: "key 'strategy': delta: 1e+39 overflows float32"
])
def test_bad_keys_and_values_give_one_line_naming_the_key(tmp_path, overrides, key):
    recipe = tmp_path / "x.yaml"
    recipe.write_text("strategy: meta\nregularisers: [{name: iwo}]\n")
    with pytest.raises(ConfigError) as exc:
        load_config(recipe, overrides)
    msg = str(exc.value)
    assert "\n" not in msg and str(recipe) in msg and repr(key) in msg


def test_short_forms_take_parameters_from_set():
    cfg = load_config({"strategy": "meta", "regularisers": ["rfd"]}, {"strategy.delta": 0.3, "regularisers.0.beta": 1.0})
    assert cfg.strategy.params["delta"] == 0.3 and cfg.regularisers[0].params == {"beta": 1.0, "alpha": 0.1, "prompts": "froster"}


def test_set_into_a_missing_list_item_is_refused():
    with pytest.raises(ConfigError, match="regularisers.3"):
        apply_overrides({"regularisers": []}, {"regularisers.3.weight": 1})


def test_config_round_trips_through_to_dict():
    cfg = load_config({"strategy": {"name": "meta", "delta": 2.0}, "regularisers": ["rfd"], "data": {"train": "builtin:source_b"}})
    again = load_config(cfg.to_dict())
    assert again.to_dict() == cfg.to_dict()
    assert isinstance(load_config(cfg), TrainConfig)


def test_paper_and_demo_recipes_are_present():
    names = {p.relative_to(RECIPES).as_posix() for p in _training_recipes()}
    for want in ["openmede/k400_cross_dataset.yaml", "openmede/b2n_k400.yaml", "openmede/b2n_hmdb.yaml",
                 "openmede/b2n_ucf.yaml", "openmede/b2n_ssv2.yaml", "openvclip/k400_iwo.yaml",
                 "froster/k400_rfd.yaml", "demo/plain.yaml", "demo/meta.yaml"]:
        assert want in names


@pytest.mark.parametrize("path", _training_recipes(), ids=lambda p: p.relative_to(RECIPES).as_posix())
def test_every_training_recipe_validates(path):
    cfg = load_config(path)  # dry run: schema, ranges, strategy/regulariser parameters; no data needed
    assert cfg.epochs >= 1 and cfg.batch_size >= 1


def test_paper_recipes_carry_the_published_settings():
    cfg = load_config(RECIPES / "openmede" / "k400_cross_dataset.yaml")
    assert (cfg.model.init, cfg.model.pretrained, cfg.data.num_frames) == ("ViT-B-16", "openai", 8)
    assert (cfg.epochs, cfg.batch_size, cfg.optim.warmup_epochs) == (22, 64, 2)
    assert cfg.optim.lr == pytest.approx(3.33e-6) and cfg.optim.weight_decay == pytest.approx(0.01)
    assert cfg.strategy.name == "meta" and (cfg.gwa.mu, cfg.gwa.sigma, cfg.gwa.first_epoch) == (15, 10, 2)
    meta = cfg.strategy.params  # the paper: 4 tasks x (8 support + 8 query), AdamW-synchronised inner step
    assert (meta["tasks"], meta["task_batch_size"], meta["inner"]) == (4, 8, "optimizer")
    assert (cfg.data.sampler, cfg.data.stride, cfg.data.short_side, cfg.data.flip) == ("window", 16, [224, 256], True)
    # FROSTER's B2N scripts: K400 32, HMDB 32, UCF 64, SSv2 32
    for name, batch in {"k400": 32, "hmdb": 32, "ucf": 64, "ssv2": 32}.items():
        b2n = load_config(RECIPES / "openmede" / f"b2n_{name}.yaml")
        assert (b2n.epochs, b2n.batch_size) == (12, batch), name
    assert not load_config(RECIPES / "openmede" / "b2n_ssv2.yaml").data.flip  # SSv2 labels name directions
    sources = sorted(p.stem for p in (RECIPES / "task_arith").glob("train_*.yaml"))
    assert sources == ["train_hmdb51", "train_k700", "train_ucf101", "train_xdviolence"]
    assert {load_config(RECIPES / "task_arith" / f"{s}.yaml").batch_size for s in sources} == {2}  # published
    assert load_config(RECIPES / "openvclip" / "k400_iwo.yaml").regularisers[0].name == "iwo"
    froster = load_config(RECIPES / "froster" / "k400_rfd.yaml").regularisers[0].params
    assert (froster["beta"], froster["prompts"]) == (2.0, "froster")


@pytest.mark.parametrize("body, line", [
    ("optim: {lr: 1e-4, betaz: [0.9, 0.99]}\n", "unknown key 'optim.betaz' (known: lr, final_lr, warmup_start_lr,"),
    ("model: {temporal: {name: mote, layerz: 2}}\n", "unknown key 'model.temporal.layerz' (options: layers,"),
    ("regularisers: [{name: iwo}, {name: rfd, betta: 1}]\n", "unknown key 'regularisers.1.betta' (options: beta,"),
    ("data: {flip: 'yes'}\n", "key 'data.flip': Input should be a valid boolean, got 'yes'"),
    ("epochs: 2.5\n", "key 'epochs': Input should be a valid integer, got 2.5"),
    ("data: {short_side: [224, '256']}\n", "key 'data.short_side.1': Input should be a valid integer, got '256'"),
    ("optim: {lr: .nan}\n", "key 'optim.lr': Input should be a finite number, got nan"),
    ("gwa: {mu: -.inf}\n", "key 'gwa.mu': Input should be a finite number, got -inf"),
    ("optim: {betas: [0.9, .inf]}\n", "key 'optim.betas.1': Input should be a finite number, got inf"),
    ("source: x.yaml\n", "unknown key 'source'"),  # set by the loader, not a recipe key
])
def test_recipe_errors_name_the_file_and_the_dotted_key(tmp_path, body, line):
    recipe = tmp_path / "x.yaml"
    recipe.write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_config(recipe)
    assert str(exc.value).startswith(f"{recipe}: {line}")


def test_set_edits_nested_keys_before_validation(tmp_path):
    recipe = tmp_path / "x.yaml"
    recipe.write_text("data: {num_frames: 4}\n")
    cfg = load_config(recipe, {"data.short_side": [224, 256], "gwa.mu": 2.5, "model.temporal": {"name": "mote"},
                               "model.temporal.layers": 2})
    assert (cfg.data.num_frames, cfg.data.short_side, cfg.gwa.mu) == (4, [224, 256], 2.5)
    assert cfg.model.temporal["name"] == "mote" and cfg.model.temporal["layers"] == 2
    assert load_config(recipe).gwa.mu == 15.0  # the file itself is not changed


@pytest.mark.parametrize("overrides, line", [
    ({"data.nope.deeper": 1}, "unknown key 'data.nope' (known: train, classnames,"),
    ({"gwa.sigmaa": 1.0}, "unknown key 'gwa.sigmaa' (known: enabled, mu, sigma,"),
    ({"data.num_frames.x": 1}, "--set data.num_frames.x: 'data.num_frames' is not a mapping"),
])
def test_set_of_an_unknown_key_names_the_file_and_the_key(tmp_path, overrides, line):
    recipe = tmp_path / "x.yaml"
    recipe.write_text("data: {num_frames: 4}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(recipe, overrides)
    assert str(exc.value).startswith(f"{recipe}: {line}")
