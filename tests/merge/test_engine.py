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
    assert torch.equal(got["temporal.step"], sds["base"]["temporal.step"])
    assert got["temporal.step"].dtype == torch.int64


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
    assert got["visual.proj"].dtype == torch.bfloat16 and got["temporal.step"].dtype == torch.int64
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
    sd = dict(sds["b"], **{"temporal.step": torch.tensor([9, 9, 9])})
    (d / "src").mkdir()
    make_bare(d / "src" / "odd.safetensors", sd)
    with pytest.raises(CheckpointError, match="odd.safetensors: integer tensor 'temporal.step' differs"):
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
