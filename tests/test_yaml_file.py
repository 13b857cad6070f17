"""The one YAML reader: alias bombs refused before any work, YAML 1.2 floats, one-line errors."""

import pytest

from weightspace.errors import ConfigError, InputError
from weightspace.yaml_file import MAX_NODES, load_yaml, parse_value, read_yaml_mapping

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    assert len(BOMB) < 500  # 10**9 strings once expanded
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    with pytest.raises(ConfigError, match=f"bomb.yaml: YAML aliases expand beyond {MAX_NODES:,} nodes"):
        read_yaml_mapping(path, "recipe")
    with pytest.raises(ConfigError, match="--set lambda: YAML aliases expand"):
        parse_value(BOMB.replace("\n", ", ").join("{}"), "--set lambda")


def test_small_aliases_are_fine():
    assert load_yaml("a: &x [1, 2]\nb: *x\n", "r") == {"a": [1, 2], "b": [1, 2]}


def test_a_recursive_alias_is_refused():
    with pytest.raises(ConfigError, match="r: recursive YAML alias"):
        load_yaml("a: &x [1, *x]\n", "r")


@pytest.mark.parametrize("text, value", [("1e-4", 1e-4), ("5e-1", 0.5), ("-2E+3", -2000.0), ("1.5", 1.5), (".5", 0.5),
                                         ("1_000.5", 1000.5), (".inf", float("inf")), ("3", 3), ("0x10", 16),
                                         ("1e", "1e"), ("e5", "e5"), ("true", True), ("[1e-3, 2]", [1e-3, 2])])
def test_numbers_are_read_as_yaml_1_2_numbers(text, value):
    got = parse_value(text, "--set x")
    assert got == value and type(got) is type(value)
    assert load_yaml(f"x: {text}\n", "r")["x"] == value


def test_nan_is_a_float_for_the_options_to_refuse():
    v = parse_value(".nan", "--set x")
    assert isinstance(v, float) and v != v


def test_text_that_is_not_yaml_stays_a_string():
    assert parse_value("a: b: c", "--set x") == "a: b: c"


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("a: 1\nb: [\n")
    with pytest.raises(ConfigError, match=r"r.yaml: invalid YAML at line \d+"):
        read_yaml_mapping(path, "recipe")


def test_deep_nesting_is_one_line_error():
    with pytest.raises(ConfigError, match="r: YAML nested too deeply"):
        load_yaml("[" * 100_000 + "]" * 100_000, "r")


def test_non_utf8_and_fifo_recipes_are_input_errors(tmp_path):
    import os

    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("lambda: 0.5 # café\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin1.yaml: recipe is not UTF-8 text"):
        read_yaml_mapping(bad, "recipe")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="pipe.yaml: suite is a FIFO, expected a regular file"):
        read_yaml_mapping(fifo, "suite")
    with pytest.raises(InputError, match="nope.yaml: recipe not found"):
        read_yaml_mapping(tmp_path / "nope.yaml", "recipe")
