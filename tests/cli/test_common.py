"""``--set`` and recipe values share one parser: merge and train read ``1e-4`` the same way."""

import json

from sibling import load_sibling
from weightspace.checkpoint import MANIFEST_NAME
from weightspace.cli.common import parse_assignments
from weightspace.cli.main import main

fakes = load_sibling("merge/fakes.py", "merge_fakes")
BOMB = "[" + ", ".join(["&a [x, x, x, x, x, x, x, x, x, x]"] + [f"&{c} [" + ", ".join([f"*{p}"] * 10) + "]"
                                                                 for p, c in zip("abcdefgh", "bcdefghi")]) + "]"


def test_set_values_are_numbers():
    assert parse_assignments(["lambda=1e-4", "alpha=5e-1", "name=x"]) == {"lambda": 1e-4, "alpha": 0.5, "name": "x"}


def test_merge_accepts_exponent_floats_in_recipes_and_set(tmp_path, capsys):
    base = fakes.make_ckpt(tmp_path / "base", 0)
    fakes.make_ckpt(tmp_path / "a", 1, base=base)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("method: task-arith\nbase: base\ninputs: [a]\nparams: {lambda: 5e-1}\noutput: out\n")
    assert main(["merge", str(recipe)]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())["params"]["lambda"] == 0.5
    assert main(["merge", str(recipe), "-o", str(tmp_path / "out2"), "--set", "lambda=1e-4"]) == 0
    assert json.loads((tmp_path / "out2" / MANIFEST_NAME).read_text())["params"]["lambda"] == 1e-4


def test_an_alias_bomb_in_set_is_one_short_line(tmp_path, capsys):
    code = main(["merge", "--method", "average", "a", "b", "-o", str(tmp_path / "o"), "--set", f"w={BOMB}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "alias bomb" in err[0] and len(err[0]) < 200
