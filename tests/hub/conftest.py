"""Fixtures for Hub tests: a tiny CLIP-like checkpoint (merged or not) and the loopback fake Hub."""

from __future__ import annotations

import json

import pytest

from .fake_hub import serve, use_fake_hub
from .hub_data import MODEL_CFG, TOKEN, eval_doc, tiny_state
from weightspace.checkpoint import MANIFEST_NAME, make_meta, save_checkpoint


@pytest.fixture
def merged_ckpt(tmp_path):
    """A merge output folder: weights, config, weightspace.json, manifest (with output hash), eval results."""
    out = tmp_path / "merged"
    ckpt = save_checkpoint(out, tiny_state(0), model_cfg=MODEL_CFG,
                           preprocess_cfg={"mean": [0.5] * 3, "std": [0.25] * 3},
                           meta={**make_meta(video={"temporal": "vclip", "num_frames": 8},
                                             provenance={"recipe": "tiny"}), "license": "mit"})
    sha = ckpt.sha256()
    manifest = {  # the shape weightspace.merge.manifest writes
        "format": "weightspace-merge-manifest", "method": "ties", "reference": "Yadav et al. 2023, TIES-Merging",
        "params": {"lambda": 0.4, "density": 0.2}, "include": ["visual"], "exclude": [], "dtype": None,
        "inputs": [{"ref": "hf-hub:laion/tiny-clip", "sha256": "b" * 64, "role": "base"},
                   {"ref": "runs/ucf/epoch_3", "sha256": "c" * 64, "role": "input", "epoch": 3},
                   {"ref": "hf-hub:org/hmdb-ft", "sha256": "d" * 64, "role": "input"}],
        "keys": {"merged": 5, "copied": 1},
        "output": {"weights_sha256": sha},
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    (out / "eval_results.json").write_text(json.dumps(eval_doc(sha)), encoding="utf-8")
    return out


@pytest.fixture
def plain_ckpt(tmp_path):
    """A trained snapshot: no manifest, no eval results, a local base."""
    return save_checkpoint(tmp_path / "snapshot", tiny_state(1), model_cfg=MODEL_CFG,
                           meta={**make_meta(base={"ref": "/data/tiny-clip", "sha256": "e" * 64},
                                             provenance={"epoch": 3}), "license": "mit"}).folder


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    with serve(token=TOKEN) as hub:
        use_fake_hub(monkeypatch, hub, tmp_path / "hf-cache", TOKEN)
        yield hub
