"""``weightspace merge`` through ``weightspace.cli.main.main``: flags, recipes, and every bad-input case (item 7)."""

import json
from pathlib import Path

import pytest
import torch

from weightspace.cli.main import main
from sibling import load_sibling
from weightspace.checkpoint import MANIFEST_NAME, WEIGHTS_NAME, open_checkpoint


fakes = load_sibling("merge/fakes.py", "merge_fakes")


@pytest.fixture
def ckpts(tmp_path):
    base = fakes.make_ckpt(tmp_path / "base", 0)
    sds = {"base": base, "a": fakes.make_ckpt(tmp_path / "a", 1, base=base),
           "b": fakes.make_ckpt(tmp_path / "b", 2, base=base)}
    return tmp_path, sds


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_merge_with_flags(ckpts, capsys):
    d, sds = ckpts
    code, out, err = _run(capsys, "merge", "--method", "task-arith", d / "a", d / "b", "--base", d / "base",
                          "-o", d / "out", "--set", "lambda=0.3", "--set", "variant=mean", "--include", "visual")
    assert code == 0, err
    assert "task-arith" in out and str(d / "out") in out
    man = json.loads((d / "out" / MANIFEST_NAME).read_text())
    assert man["params"] == {"lambda": 0.3, "variant": "mean", "weights": None} and man["include"] == ["visual"]
    got = open_checkpoint(d / "out").state_dict()
    b = sds["base"]["visual.proj"]
    assert torch.allclose(got["visual.proj"], b + 0.3 * ((sds["a"]["visual.proj"] - b) + (sds["b"]["visual.proj"] - b)) / 2,
                          atol=1e-6)
    assert torch.equal(got["text_projection"], sds["base"]["text_projection"])


def test_merge_recipe_with_overrides(ckpts, capsys):
    d, _ = ckpts
    (d / "recipes").mkdir()
    recipe = d / "recipes" / "soup.yaml"
    recipe.write_text("method: ties\nbase: ../base\ninputs: [../a, ../b]\nparams: {density: 0.5}\noutput: ../soup\n")
    code, _, err = _run(capsys, "merge", recipe, "--set", "aggregate=sum")
    assert code == 0, err
    man = json.loads((d / "soup" / MANIFEST_NAME).read_text())
    assert man["method"] == "ties" and man["params"]["density"] == 0.5 and man["params"]["aggregate"] == "sum"
    code, _, err = _run(capsys, "merge", recipe, "-o", d / "soup2", "--set", "density=0.25")
    assert code == 0, err
    assert json.loads((d / "soup2" / MANIFEST_NAME).read_text())["params"]["density"] == 0.25


def _corrupt(path: Path) -> Path:
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    return path


def _truncated(d: Path) -> Path:
    data = (d / "b" / WEIGHTS_NAME).read_bytes()
    (d / "trunc.safetensors").write_bytes(data[: len(data) - 100])
    return d / "trunc.safetensors"


def _reshaped(d: Path, sds) -> Path:
    sd = dict(sds["b"], **{"visual.proj": torch.zeros(4, 8)})
    return fakes.make_bare(d / "reshaped.safetensors", sd)


def _fewer_keys(d: Path, sds) -> Path:
    return fakes.make_bare(d / "fewer.safetensors", {k: v for k, v in sds["b"].items() if k != "text_projection"})


def _half(d: Path, sds) -> Path:
    return fakes.make_bare(d / "half.safetensors", {k: v.half() if v.is_floating_point() else v for k, v in sds["b"].items()})


BAD_CASES = {
    # name: (extra argv built from (d, sds), words the one-line message must contain)
    "missing keys": (lambda d, s: ["--method", "average", d / "a", _fewer_keys(d, s)], ["fewer.safetensors", "'text_projection'"]),
    "mismatched shape": (lambda d, s: ["--method", "average", d / "a", _reshaped(d, s)], ["reshaped.safetensors", "'visual.proj'", "shape"]),
    "dtype conflict": (lambda d, s: ["--method", "average", d / "a", _half(d, s)], ["half.safetensors", "F16", "--dtype"]),
    "missing base": (lambda d, s: ["--method", "task-arith", d / "a", d / "b"], ["task-arith", "base"]),
    "base not found": (lambda d, s: ["--method", "task-arith", d / "a", "--base", d / "nope"], ["nope", "no such"]),
    "corrupt safetensors": (lambda d, s: ["--method", "average", d / "a", _corrupt(d / "bad.safetensors")], ["bad.safetensors", "corrupt"]),
    "truncated safetensors": (lambda d, s: ["--method", "average", d / "a", _truncated(d)], ["trunc.safetensors", "truncated"]),
    "output exists": (lambda d, s: ["--method", "average", d / "a", d / "b", "-o", d / "base"], ["base", "already exists"]),
    "output is an input": (lambda d, s: ["--method", "average", d / "a", d / "b", "-o", d / "a", "--overwrite"], ["is the input"]),
    "unknown method": (lambda d, s: ["--method", "soup", d / "a", d / "b"], ["'soup'", "available"]),
    "unknown option": (lambda d, s: ["--method", "ties", d / "a", "--base", d / "base", "--set", "topk=20"], ["'topk'", "ties"]),
    "bad option value": (lambda d, s: ["--method", "dare", d / "a", "--base", d / "base", "--set", "p=1.5"], ["'p'"]),
    "malformed --set": (lambda d, s: ["--method", "ties", d / "a", "--base", d / "base", "--set", "density"], ["--set", "KEY=VALUE"]),
    "bad dtype": (lambda d, s: ["--method", "average", d / "a", d / "b", "--dtype", "int8"], ["'dtype'", "int8"]),
    "bad include": (lambda d, s: ["--method", "average", d / "a", d / "b", "--include", "visual.nothing*"], ["visual.nothing*"]),
    "overflowing option": (lambda d, s: ["--method", "task-arith", d / "a", "--base", d / "base", "--set", "lambda=1e39"],
                           ["lambda", "overflows float32"]),
    "degenerate gwa": (lambda d, s: ["--method", "gwa", d / "a", d / "b", "--set", "epochs=[1,2]", "--set", "sigma=1e-200"],
                       ["'sigma'", "not finite"]),
    "weights of wrong length": (lambda d, s: ["--method", "tsv-m", d / "a", d / "b", "--base", d / "base",
                                              "--set", "weights=[1,2,3]"], ["'weights'", "expected 2 numbers"]),
    "scale <= 0": (lambda d, s: ["--method", "iso-c", d / "a", "--base", d / "base", "--set", "scale=0"], ["'scale'"]),
    "common_fraction = 1": (lambda d, s: ["--method", "iso-cts", d / "a", "--base", d / "base", "--set", "common_fraction=1"],
                            ["'common_fraction'"]),
    "dtype overflow": (lambda d, s: ["--method", "task-arith", d / "a", "--base", d / "base", "--set", "lambda=1e6",
                                     "--dtype", "float16"], ["overflows to Inf", "--allow-nonfinite"]),
    "bad missing-in-base": (lambda d, s: ["--method", "task-arith", d / "a", "--base", d / "base",
                                          "--missing-in-base", "keep:7"], ["missing_in_base", "keep:7"]),
    "bad device": (lambda d, s: ["--method", "task-arith", d / "a", "--base", d / "base", "--device", "gpu"], ["'gpu'"]),
}
if not torch.cuda.is_available():
    BAD_CASES["cuda absent"] = (lambda d, s: ["--method", "task-arith", d / "a", "--base", d / "base", "--device", "cuda"],
                                ["'cuda'", "CUDA is not available"])


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_one_line_naming_the_culprit_and_leaves_nothing(ckpts, capsys, case):
    d, sds = ckpts
    build, words = BAD_CASES[case]
    argv = ["merge", *build(d, sds)]
    if "-o" not in argv:
        argv += ["-o", d / "out"]
    before = sorted(p.name for p in d.iterdir())
    code, _, err = _run(capsys, *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert sorted(p.name for p in d.iterdir()) == before  # no output, no temp folder


def test_help_lists_every_registered_method_with_its_declared_options():
    from weightspace.cli.merge import _help
    from weightspace.merge import available_methods, get_method
    from weightspace.options import describe_options

    text = _help()
    for name in available_methods():
        m = get_method(name)
        assert f"{name}, base {m.base}" in text
        for o in describe_options(m.Params):
            assert o.line() in text, (name, o.name)


def test_yaml_style_numbers_and_per_input_weights_in_a_recipe(ckpts, capsys):
    d, sds = ckpts
    recipe = d / "r.yaml"
    recipe.write_text("method: task-arith\nbase: base\ninputs:\n  - {path: a, weight: 5e-1}\n  - b\n"
                      "params: {lambda: 5e-1}\noutput: out\n")
    code, _, err = _run(capsys, "merge", recipe)
    assert code == 0, err
    man = json.loads((d / "out" / MANIFEST_NAME).read_text())
    assert man["params"]["lambda"] == 0.5 and man["params"]["weights"] == [0.5, 1.0]
    got, b = open_checkpoint(d / "out").state_dict()["visual.proj"], sds["base"]["visual.proj"]
    want = b + 0.5 * (0.5 * (sds["a"]["visual.proj"] - b) + (sds["b"]["visual.proj"] - b))
    assert torch.allclose(got, want, atol=1e-6)
    code, _, err = _run(capsys, "merge", "--method", "task-arith", d / "a", "--base", d / "base", "-o", d / "o2",
                        "--set", "lambda=1e-4")
    assert code == 0, err
    assert json.loads((d / "o2" / MANIFEST_NAME).read_text())["params"]["lambda"] == 1e-4
