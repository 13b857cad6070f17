"""A push publishes no machine paths, and the license comes from the user or the parents."""

import json

import pytest

from .hub_data import MODEL_CFG, tiny_state
from weightspace.checkpoint import MANIFEST_NAME, META_NAME, make_meta, save_checkpoint
from weightspace.errors import ConfigError
from weightspace.hub.public import public, public_name
from weightspace.hub.push import push


@pytest.mark.parametrize("text, expected", [
    ("/home/alice/runs/ucf/epoch_3", "epoch_3"), ("~/ckpts/clip.safetensors", "clip.safetensors"),
    ("/tmp/pytest-1/merged/", "merged"), (r"C:\models\soup", "soup"), ("../runs/x", "x"),
    ("local-dir:/srv/a/b", "b"), ("hf-hub:org/name@v1", "hf-hub:org/name@v1"), ("builtin:tiny-clip", "builtin:tiny-clip"),
    ("ties", "ties"), ("runs/demo/plain", "runs/demo/plain"),
])
def test_public_name(text, expected):
    assert public_name(text) == expected


def test_public_walks_documents():
    doc = {"inputs": [{"ref": "/home/a/x", "sha256": "f" * 64}], "n": 3, "recipe": {"output": "/scratch/b/out"}}
    assert public(doc) == {"inputs": [{"ref": "x", "sha256": "f" * 64}], "n": 3, "recipe": {"output": "out"}}


def _home_tree(tmp_path):
    """A merge whose parents, base and recipe live under a 'home' folder."""
    home = tmp_path / "home" / "alice"
    parent = save_checkpoint(home / "runs" / "ucf", tiny_state(1), model_cfg=MODEL_CFG,
                             meta={**make_meta(), "license": "apache-2.0"})
    out = save_checkpoint(home / "merged", tiny_state(0), model_cfg=MODEL_CFG,
                          meta=make_meta(base={"ref": str(home / "clip"), "sha256": "e" * 64},
                                         provenance={"recipe": {"output": str(home / "merged")}}))
    manifest = {"method": "average", "inputs": [{"ref": str(parent.folder), "sha256": parent.sha256(), "role": "input"}],
                "output": {"path": str(home / "merged"), "weights_sha256": out.sha256()}}
    (out.folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    return home, out.folder


def test_uploaded_files_name_no_local_path(tmp_path):
    home, folder = _home_tree(tmp_path)
    push(folder, "org/soup", dry_run_dir=tmp_path / "staged")
    for f in (tmp_path / "staged").iterdir():
        if f.suffix in (".json", ".md"):
            text = f.read_text()
            assert str(tmp_path) not in text and "/home/" not in text, f.name
    manifest = json.loads((tmp_path / "staged" / MANIFEST_NAME).read_text())
    assert manifest["inputs"][0]["ref"] == "ucf" and len(manifest["inputs"][0]["sha256"]) == 64
    card = (tmp_path / "staged" / "README.md").read_text()
    assert "`ucf`" in card and "license: apache-2.0" in card  # the parent's license


def test_license_from_the_user_wins_and_is_recorded(tmp_path):
    _, folder = _home_tree(tmp_path)
    push(folder, "org/soup", dry_run_dir=tmp_path / "staged", license="mit")
    assert json.loads((tmp_path / "staged" / META_NAME).read_text())["license"] == "mit"


def test_no_license_anywhere_is_refused(tmp_path):
    ckpt = save_checkpoint(tmp_path / "c", tiny_state(0), model_cfg=MODEL_CFG, meta=make_meta())
    with pytest.raises(ConfigError, match="--license is required"):
        push(ckpt.folder, "org/x", dry_run_dir=tmp_path / "staged")
    assert not (tmp_path / "staged").exists()
