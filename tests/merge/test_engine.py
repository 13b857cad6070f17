import json

import pytest
import torch

from merge.fakes import MODEL_CFG, make_bare, make_ckpt
from weightspace.checkpoint import MANIFEST_NAME, META_NAME, WEIGHTS_NAME, open_checkpoint, sha256_file
from weightspace.errors import CheckpointError, ConfigError
from weightspace.merge import gaussian_weights, merge
from weightspace.merge.methods.ties import ties_merge


def _sd(path):
    return open_checkpoint(path).state_dict()


def _f(sd):
    return {k: v for k, v in sd.items() if v.is_floating_point()}


def test_task_arith_matches_the_formula_and_copies_integers(family):
    d, sds = family
    out = merge("task-arith", [d / "a", d / "b"], base=d / "base", out=d / "out", params={"lambda": 0.5})
    got = _sd(out)
    for k, b in _f(sds["base"]).items():
        assert torch.allclose(got[k], b + 0.5 * ((sds["a"][k] - b) + (sds["b"][k] - b)), atol=1e-6), k
    assert torch.equal(got["prompt_learner.step"], sds["base"]["prompt_learner.step"])
    assert got["prompt_learner.step"].dtype == torch.int64


def test_output_is_a_loadable_checkpoint_with_manifest_and_provenance(family):
    d, _ = family
    out = merge("average", [d / "a", d / "b"], base=d / "base", out=d / "soup")
    ckpt = open_checkpoint(out)
    assert ckpt.model_cfg == MODEL_CFG
    assert ckpt.meta["video"] == {"temporal": "vclip", "num_frames": 8}
    prov = ckpt.meta["provenance"]
    assert prov["kind"] == "merge" and prov["method"] == "average"
    assert [p["ref"] for p in prov["parents"]] == [str(d / "base"), str(d / "a"), str(d / "b")]
    assert ckpt.meta["base_model"] == {"ref": str(d / "base"), "sha256": sha256_file(d / "base" / WEIGHTS_NAME)}
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert man["method"] == "average" and man["params"] == {"weights": None, "normalize": True}
    assert [(e["role"], e["sha256"]) for e in man["inputs"]] == [
        (role, sha256_file(d / name / WEIGHTS_NAME)) for role, name in [("base", "base"), ("input", "a"), ("input", "b")]]
    assert man["output"]["weights_sha256"] == sha256_file(out / WEIGHTS_NAME)
    assert man["weightspace_version"] and man["created"]
    assert man["keys"] == {"merged": 8, "copied": 1}


def test_gwa_reads_epochs_from_provenance_and_records_them(family):
    d, sds = family
    out = merge("gwa", [d / "a", d / "b", d / "c"], out=d / "gwa", params={"mu": 2, "sigma": 1})
    w = gaussian_weights([1, 2, 3], 2, 1)
    got = _sd(out)
    for k in _f(sds["a"]):
        assert torch.allclose(got[k], w[0] * sds["a"][k] + w[1] * sds["b"][k] + w[2] * sds["c"][k], atol=1e-6)
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert [e.get("epoch") for e in man["inputs"]] == [1, 2, 3]
    assert man["derived"]["coefficients"] == pytest.approx(w)


def test_ties_whole_model_scope_uses_one_threshold_per_task(family):
    d, sds = family
    out = merge("ties", [d / "a", d / "b"], base=d / "base", out=d / "ties", params={"density": 0.3})
    base = _f(sds["base"])
    cuts = []
    for name in ("a", "b"):
        flat = torch.cat([(sds[name][k] - b).abs().flatten() for k, b in base.items()])
        cuts.append(float(flat.topk(int(0.3 * flat.numel())).values[-1]))
    got = _sd(out)
    for k, b in base.items():
        assert torch.allclose(got[k], ties_merge(b, [sds["a"][k], sds["b"][k]], thresholds=cuts), atol=1e-6), k
    assert json.loads((out / MANIFEST_NAME).read_text())["derived"]["thresholds"] == pytest.approx(cuts)


def test_include_filter_copies_other_keys_from_the_base(family):
    d, sds = family
    out = merge("task-arith", [d / "a"], base=d / "base", out=d / "vis", include=["visual"])
    got = _sd(out)
    for k, b in sds["base"].items():
        if k.startswith("visual."):
            assert torch.allclose(got[k], sds["a"][k], atol=1e-6)
        else:
            assert torch.equal(got[k], b), k


def test_exclude_globs_and_tags(family):
    d, sds = family
    out = merge("wise-ft", [d / "a"], base=d / "base", out=d / "ex", exclude=["*_bias", "logit_scale"])
    got = _sd(out)
    assert torch.equal(got["visual.transformer.resblocks.0.attn.in_proj_bias"],
                       sds["base"]["visual.transformer.resblocks.0.attn.in_proj_bias"])
    assert torch.equal(got["logit_scale"], sds["base"]["logit_scale"])
    assert torch.allclose(got["visual.proj"], (sds["base"]["visual.proj"] + sds["a"]["visual.proj"]) / 2)


def test_a_pattern_matching_nothing_is_refused(family):
    d, _ = family
    with pytest.raises(ConfigError, match="include pattern 'visul.*' matches no key"):
        merge("average", [d / "a", d / "b"], out=d / "x", include=["visul.*"])
    assert not (d / "x").exists()


def test_the_same_input_twice_counts_twice(family):
    d, sds = family
    got = _sd(merge("average", [d / "a", d / "a", d / "b"], out=d / "dup"))
    k = "visual.proj"
    assert torch.allclose(got[k], (2 * sds["a"][k] + sds["b"][k]) / 3, atol=1e-6)


def test_dtype_option_and_mixed_dtypes(family, tmp_path):
    d, sds = family
    half = make_ckpt(tmp_path / "half", 5, base=sds["base"], dtype=torch.float16)
    with pytest.raises(CheckpointError, match=r"half: key '.*' is F16, .* has F32 \(give --dtype"):
        merge("average", [d / "a", tmp_path / "half"], out=d / "mixed")
    out = merge("average", [d / "a", tmp_path / "half"], out=d / "mixed", dtype="bfloat16")
    got = _sd(out)
    assert got["visual.proj"].dtype == torch.bfloat16 and got["prompt_learner.step"].dtype == torch.int64
    expect = (sds["a"]["visual.proj"] + half["visual.proj"].float()) / 2
    assert torch.allclose(got["visual.proj"].float(), expect, atol=2e-2)


def test_bare_safetensors_and_legacy_inputs(family, tmp_path):
    d, sds = family
    bare = make_bare(tmp_path / "a.safetensors", {"module." + k: v for k, v in sds["a"].items()})
    legacy = tmp_path / "b.pt"
    torch.save({"state_dict": sds["b"], "epoch": 3}, legacy)
    out = merge("average", [bare, legacy], base=d / "base", out=d / "mixed-kinds")
    got = _sd(out)
    assert torch.allclose(got["visual.proj"], (sds["a"]["visual.proj"] + sds["b"]["visual.proj"]) / 2)
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert man["inputs"][2]["sha256"] == sha256_file(legacy)


def test_differing_integer_tensors_are_an_error_and_leave_nothing(family):
    d, sds = family
    sd = dict(sds["b"], **{"prompt_learner.step": torch.tensor([9, 9, 9])})
    (d / "src").mkdir()
    make_bare(d / "src" / "odd.safetensors", sd)
    with pytest.raises(CheckpointError, match="odd.safetensors: integer tensor 'prompt_learner.step' differs"):
        merge("average", [d / "a", d / "src" / "odd.safetensors"], out=d / "bad")
    assert sorted(p.name for p in d.iterdir()) == ["a", "b", "base", "c", "src"]  # no output, no temp folder


def test_overwrite_replaces_an_existing_output(family):
    d, _ = family
    merge("average", [d / "a", d / "b"], out=d / "o")
    with pytest.raises(ConfigError, match="already exists"):
        merge("average", [d / "a", d / "c"], out=d / "o")
    merge("average", [d / "a", d / "c"], out=d / "o", overwrite=True)
    assert json.loads((d / "o" / META_NAME).read_text())["provenance"]["parents"][1]["ref"] == str(d / "c")
    with pytest.raises(ConfigError, match="is the input"):
        merge("average", [d / "a", d / "o"], out=d / "o", overwrite=True)


def _with_head(d, name, sds, seed):
    """An input carrying a video head (``temporal.*`` keys) that the base does not have."""
    g = torch.Generator().manual_seed(seed)
    sd = {**sds[name], "temporal.proj.weight": torch.randn(3, 4, generator=g), "temporal.ids": torch.arange(3)}
    return make_bare(d / f"{name}_head.safetensors", sd)


def test_keys_missing_from_the_base_are_an_error_unless_excluded_or_kept(family):
    d, sds = family
    a, b = _with_head(d, "a", sds, 1), _with_head(d, "b", sds, 2)
    with pytest.raises(CheckpointError, match=r"key 'temporal.proj.weight' of the inputs is not in the base \(--exclude"):
        merge("task-arith", [a, b], base=d / "base", out=d / "o1")
    assert not (d / "o1").exists()
    # excluded: the output has the base's keys; the rest is merged as usual
    got = _sd(merge("task-arith", [a, b], base=d / "base", out=d / "o2", exclude=["temporal.proj.*", "temporal.ids"]))
    assert set(got) == set(sds["base"])
    # keep:2 takes the second input's head; dtype and integer values preserved
    out = merge("task-arith", [a, b], base=d / "base", out=d / "o3", missing_in_base="keep:2")
    got, head_b = _sd(out), open_checkpoint(b).state_dict()
    assert torch.equal(got["temporal.proj.weight"], head_b["temporal.proj.weight"])
    assert torch.equal(got["temporal.ids"], torch.arange(3))
    k = "visual.proj"
    assert torch.allclose(got[k], sds["base"][k] + (sds["a"][k] - sds["base"][k]) + (sds["b"][k] - sds["base"][k]),
                          atol=1e-6)
    assert json.loads((out / META_NAME).read_text())["provenance"]["missing_in_base"] == "keep:2"
    assert "temporal.ids" not in _sd(merge("task-arith", [a, b], base=d / "base", out=d / "o4",
                                           missing_in_base="drop"))
    for bad in ("keep:3", "keep:0", "keep", "first"):
        with pytest.raises(ConfigError, match="option 'missing_in_base': expected error, drop or keep:N with N in 1..2"):
            merge("task-arith", [a, b], base=d / "base", out=d / "o5", missing_in_base=bad)


def test_inputs_that_disagree_on_extra_keys_name_the_key(family):
    d, sds = family
    a = _with_head(d, "a", sds, 1)
    with pytest.raises(CheckpointError, match="key 'temporal.ids' is missing"):
        merge("task-arith", [a, d / "b"], base=d / "base", out=d / "o", missing_in_base="keep:1")


def test_nonfinite_outputs_name_the_key_unless_allowed(family, caplog):
    d, sds = family
    with pytest.raises(CheckpointError, match=r"key 'visual.conv1.weight': --dtype float16 overflows to Inf \(\d+ entries, \|value\| up to"):
        merge("task-arith", [d / "a"], base=d / "base", out=d / "o1", params={"lambda": 1e6}, dtype="float16")
    assert not (d / "o1").exists()
    sd = {**sds["a"], "visual.proj": torch.full_like(sds["a"]["visual.proj"], float("nan"))}
    bad = make_bare(d / "nan.safetensors", sd)
    with pytest.raises(CheckpointError, match=r"key 'visual.proj': the merged tensor has 32 NaN/Inf entries of 32 "
                                              r"\(--allow-nonfinite"):
        merge("task-arith", [bad], base=d / "base", out=d / "o2")
    with caplog.at_level("WARNING", logger="weightspace.merge.engine"):
        out = merge("task-arith", [bad], base=d / "base", out=d / "o3", allow_nonfinite=True)
    assert torch.isnan(_sd(out)["visual.proj"]).all() and "written anyway" in caplog.text


def test_cuda_asked_for_without_cuda_is_a_clear_error(family, monkeypatch):
    import weightspace.merge.engine as engine

    d, _ = family
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    started = []
    monkeypatch.setattr(engine.FileHashes, "start", lambda self, path: started.append(path))
    with pytest.raises(ConfigError, match=r"device 'cuda': CUDA is not available here"):
        merge("task-arith", [d / "a"], base=d / "base", out=d / "o", device="cuda")
    with pytest.raises(ConfigError, match=r"device 'tpu': expected cpu, cuda or cuda:N"):
        merge("task-arith", [d / "a"], base=d / "base", out=d / "o", device="tpu")
    assert started == []  # refused before any input was hashed
    monkeypatch.undo()
    assert merge("task-arith", [d / "a"], base=d / "base", out=d / "o", device="cpu").exists()


# iso-c and tsv-m with the parameters suggested for the demo's three-source merges
@pytest.mark.parametrize("method, params", [("iso-c", {"scale": 1.0}), ("iso-cts", {"common_fraction": 0.5}),
                                            ("tsv-m", {"alpha": 1.0, "svd_exclude": ["text_projection"]})])
def test_svd_methods_through_the_engine_match_the_per_key_function(family, method, params):
    from weightspace.merge import get_method
    from weightspace.merge.registry import InputsInfo, KeyJob

    d, sds = family
    out = merge(method, [d / "a", d / "b", d / "c"], base=d / "base", out=d / method, params=params)
    got = _sd(out)
    m = get_method(method)
    p = m.resolve_params(params, InputsInfo(3, True))
    for k, b in _f(sds["base"]).items():
        want = m.merge_key(KeyJob(k, [sds[n][k] for n in "abc"], b, p))
        assert torch.allclose(got[k], want, atol=1e-5), k
        assert not torch.allclose(got[k], b), k  # every merged key moved


class _Chosen(list):
    """The name of the arrays each merge computed on (a spy on ``choose_arrays``)."""

    def __init__(self, monkeypatch):
        import weightspace.merge.engine as engine

        super().__init__()
        self._monkeypatch, self._engine, real = monkeypatch, engine, engine.choose_arrays
        monkeypatch.setattr(engine, "choose_arrays", lambda *args: self._seen(real(*args)))

    def _seen(self, arrays):
        self.append(arrays.name)
        return arrays

    def force_torch(self) -> None:
        from weightspace.merge.arrays import TorchArrays

        self._monkeypatch.setattr(self._engine, "choose_arrays",
                                  lambda *args: self._seen(TorchArrays(torch.device("cpu"))))


@pytest.fixture
def chosen(monkeypatch):
    return _Chosen(monkeypatch)


def _outputs(out):
    """What a merge wrote, less the manifest's creation time."""
    man = json.loads((out / MANIFEST_NAME).read_text())
    del man["created"]
    files = sorted(p.name for p in out.iterdir())
    return files, (out / WEIGHTS_NAME).read_bytes(), (out / META_NAME).read_text(), man


def _plain_family(tmp_path, dtype=torch.float32):
    base = make_ckpt(tmp_path / "base", 0, dtype=dtype)
    for i, name in enumerate("abc", start=1):
        make_ckpt(tmp_path / name, 100 + i, base=base, epoch=i, dtype=dtype)
    return tmp_path


def _head_family(tmp_path):
    """Checkpoint folders with a video head file (temporal_head.safetensors) beside the CLIP weights."""
    from weightspace.checkpoint import save_checkpoint

    base = make_ckpt(tmp_path / "plain", 0)
    for i, name in enumerate(["base", "a", "b", "c"]):
        g = torch.Generator().manual_seed(i)
        sd = {k: v + 0.1 * i * torch.randn(v.shape, generator=g) if v.is_floating_point() else v
              for k, v in base.items()}
        save_checkpoint(tmp_path / name, {**sd, "temporal.proj.weight": torch.randn(3, 4, generator=g)},
                        model_cfg=MODEL_CFG)
    return tmp_path


# every method that computes on numpy, on float32, float16 and head-carrying inputs, with copied keys
@pytest.mark.parametrize("method, params, with_base, n", [
    ("task-arith", {"lambda": 0.3, "weights": [1.0, 0.7, -0.4]}, True, 3),
    ("task-arith", {"variant": "mean"}, True, 3),
    ("average", {"weights": [1, 2, 3]}, False, 3),
    ("gwa", {"mu": 2, "sigma": 1, "epochs": [1, 2, 3]}, False, 3),
    ("wise-ft", {"alpha": 0.3}, True, 1),
])
@pytest.mark.parametrize("inputs", ["float32", "float16", "head"])
def test_numpy_and_torch_write_the_same_bytes(tmp_path, chosen, method, params, with_base, n, inputs):
    d = _head_family(tmp_path) if inputs == "head" else _plain_family(tmp_path, getattr(torch, inputs))
    kwargs = dict(base=d / "base" if with_base else None, params=params, exclude=["visual.proj"])
    ins = [d / x for x in "abc"[:n]]
    first = _outputs(merge(method, ins, out=d / "np", **kwargs))
    chosen.force_torch()
    second = _outputs(merge(method, ins, out=d / "pt", **kwargs))
    assert chosen == ["numpy", "torch"]
    assert first == second
    if inputs == "head":
        assert "temporal_head.safetensors" in first[0]


def test_torch_computes_what_numpy_cannot(family, tmp_path, chosen):
    d, sds = family
    merge("tsv-m", [d / "a", d / "b"], base=d / "base", out=d / "svd")  # an SVD method
    make_ckpt(tmp_path / "bf16", 5, base=sds["base"], dtype=torch.bfloat16)
    merge("average", [d / "a", tmp_path / "bf16"], out=d / "bf", dtype="float32")  # numpy has no bfloat16
    merge("average", [d / "a", d / "b"], out=d / "to-bf", dtype="bfloat16")
    legacy = tmp_path / "b.pt"
    torch.save(sds["b"], legacy)
    merge("average", [d / "a", legacy], out=d / "pt")  # a legacy pickle is read by torch
    assert chosen == ["torch"] * 4
    merge("average", [d / "a", d / "b"], out=d / "f64", dtype="float64")
    assert chosen[-1] == "numpy"


def test_a_numpy_merge_never_imports_torch_from_the_library_or_the_cli(family, tmp_path):
    import subprocess
    import sys
    import textwrap

    d, sds = family
    code = textwrap.dedent(f"""
        import sys
        from weightspace.cli.main import main
        assert main(["merge", "-m", "task-arith", "-b", {str(d / "base")!r}, {str(d / "a")!r}, {str(d / "b")!r},
                     "-o", {str(d / "cli")!r}, "--set", "lambda=0.5"]) == 0
        from weightspace.merge import merge
        merge("average", [{str(d / "a")!r}, {str(d / "b")!r}], out={str(d / "lib")!r}, progress=False)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
        assert not heavy, heavy[:5]
    """)
    env = {**__import__("os").environ, "WEIGHTSPACE_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    k = "visual.proj"
    b = sds["base"][k]
    assert torch.allclose(_sd(d / "cli")[k], b + 0.5 * ((sds["a"][k] - b) + (sds["b"][k] - b)), atol=1e-6)
    assert torch.allclose(_sd(d / "lib")[k], (sds["a"][k] + sds["b"][k]) / 2, atol=1e-6)
