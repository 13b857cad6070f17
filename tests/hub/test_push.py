import hashlib
import json
import logging

import pytest
import yaml

from .hub_data import TOKEN, eval_doc
from .fake_hub import serve, use_fake_hub
from weightspace.checkpoint import META_NAME, WEIGHTS_NAME, save_safetensors, sha256_file
from weightspace.atomic import MARKER
from weightspace.errors import CheckpointError, ConfigError, OutputError, WeightspaceError
from weightspace.hub import WEIGHTS_SHA_KEY
from weightspace.hub.push import push

REPO_FILES = {".gitattributes", "README.md", "eval_results.json", "merge_manifest.json", "open_clip_config.json",
              "open_clip_model.safetensors", "weightspace.json"}


def test_push_is_one_commit_with_every_file(fake_hub, merged_ckpt):
    result = push(merged_ckpt, "org/tiny")
    posts = [p for m, p in fake_hub.requests if m == "POST"]
    assert posts == ["/api/repos/create", "/api/validate-yaml", "/api/models/org/tiny/preupload/main",
                     "/api/models/org/tiny/commit/main"]
    files = fake_hub.files("org/tiny")
    assert set(files) == REPO_FILES
    assert files[WEIGHTS_NAME] == (merged_ckpt / WEIGHTS_NAME).read_bytes()  # uploaded as is
    meta = json.loads(files[META_NAME])
    assert meta[WEIGHTS_SHA_KEY] == hashlib.sha256(files[WEIGHTS_NAME]).hexdigest()
    assert json.loads(files["merge_manifest.json"])["method"] == "ties"
    assert yaml.safe_load(files["README.md"].decode().split("---\n")[1])["library_name"] == "open_clip"
    assert result.commit_oid == fake_hub.repos["org/tiny"].refs["main"]
    assert result.commit_url.endswith(result.commit_oid)
    assert {f.path: f.sha256 for f in result.plan.files} == {
        p: hashlib.sha256(d).hexdigest() for p, d in files.items() if p != ".gitattributes"}
    # the input folder is untouched
    assert META_NAME in {p.name for p in merged_ckpt.iterdir()}
    assert WEIGHTS_SHA_KEY not in json.loads((merged_ckpt / META_NAME).read_text())


def test_push_again_updates_the_repo(fake_hub, merged_ckpt, plain_ckpt):
    first = push(merged_ckpt, "org/tiny").commit_oid
    result = push(plain_ckpt, "org/tiny", commit_message="snapshot")
    second = result.commit_oid
    assert result.deleted == ("eval_results.json", "merge_manifest.json")
    assert first != second
    files = fake_hub.files("org/tiny")
    assert files[WEIGHTS_NAME] == (plain_ckpt / WEIGHTS_NAME).read_bytes()
    # the merge's manifest and results described other weights: removed in the same commit
    assert "merge_manifest.json" not in files and "eval_results.json" not in files
    assert fake_hub.files("org/tiny", first)[WEIGHTS_NAME] == (merged_ckpt / WEIGHTS_NAME).read_bytes()


def test_push_to_a_new_branch(fake_hub, merged_ckpt, plain_ckpt):
    push(merged_ckpt, "org/tiny")
    push(plain_ckpt, "org/tiny", revision="v2")
    assert ("POST", "/api/models/org/tiny/branch/v2") in fake_hub.requests
    assert fake_hub.files("org/tiny", "v2")[WEIGHTS_NAME] == (plain_ckpt / WEIGHTS_NAME).read_bytes()
    assert fake_hub.files("org/tiny", "main")[WEIGHTS_NAME] == (merged_ckpt / WEIGHTS_NAME).read_bytes()


def test_private_flag_reaches_the_hub(fake_hub, plain_ckpt):
    push(plain_ckpt, "org/secret", private=True)
    assert fake_hub.repos["org/secret"].private


def test_dry_run_writes_the_folder_and_makes_no_request(fake_hub, merged_ckpt, tmp_path):
    out = tmp_path / "staged"
    result = push(merged_ckpt, "org/tiny", dry_run_dir=out)
    assert fake_hub.requests == []
    assert {p.name for p in out.iterdir()} == REPO_FILES - {".gitattributes"} | {MARKER}  # marker: not uploaded
    for f in result.plan.files:
        assert (out / f.path).stat().st_size == f.size
        assert sha256_file(out / f.path) == f.sha256
    assert (out / WEIGHTS_NAME).read_bytes() == (merged_ckpt / WEIGHTS_NAME).read_bytes()
    assert not (out / WEIGHTS_NAME).samefile(merged_ckpt / WEIGHTS_NAME)


def test_dry_run_into_existing_dirs(merged_ckpt, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    push(merged_ckpt, "org/tiny", dry_run_dir=empty)  # an empty folder is fine
    assert (empty / "README.md").is_file()
    before = sorted(p.name for p in empty.iterdir())
    with pytest.raises(WeightspaceError, match="not an empty folder"):
        push(merged_ckpt, "org/tiny", dry_run_dir=empty)
    assert sorted(p.name for p in empty.iterdir()) == before
    push(merged_ckpt, "org/tiny", dry_run_dir=empty, overwrite=True)  # an earlier dry run is replaced
    assert sorted(p.name for p in empty.iterdir()) == before


def test_dry_run_overwrite_never_replaces_a_user_folder(merged_ckpt, tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="user: is not a folder weightspace wrote"):
        push(merged_ckpt, "org/tiny", dry_run_dir=user, overwrite=True)
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]


def test_token_never_leaks(fake_hub, merged_ckpt, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    push(merged_ckpt, "org/tiny", dry_run_dir=tmp_path / "staged")
    push(merged_ckpt, "org/tiny")
    assert f"Bearer {TOKEN}" in fake_hub.auth_headers  # the token was used ...
    out, err = capfd.readouterr()
    places = [caplog.text, out, err] + [d.decode("latin-1") for d in fake_hub.files("org/tiny").values()]
    places += [p.read_bytes().decode("latin-1") for p in (tmp_path / "staged").iterdir()]
    assert not [p for p in places if TOKEN in p]  # ... and written nowhere


def test_no_token_is_a_clear_error(fake_hub, merged_ckpt, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(WeightspaceError, match=r"no Hugging Face token found; set HF_TOKEN or run `hf auth login`"):
        push(merged_ckpt, "org/tiny")
    assert fake_hub.requests == []


def test_rejected_token_is_a_clear_error(fake_hub, merged_ckpt):
    with pytest.raises(WeightspaceError) as exc:
        push(merged_ckpt, "org/tiny", token="hf_wrong")
    msg = str(exc.value)
    assert msg.startswith("org/tiny: cannot push: the Hub refused the credentials (401)") and "\n" not in msg
    assert "hf_wrong" not in msg


def test_rejected_card_metadata(fake_hub, merged_ckpt):
    fake_hub.yaml_errors = ['"license" must be one of [apache-2.0, mit, other]']
    with pytest.raises(WeightspaceError) as exc:
        push(merged_ckpt, "org/tiny", license="nonsense")
    assert str(exc.value) == ('org/tiny: cannot push: the Hub rejected the model card metadata '
                              '("license" must be one of [apache-2.0, mit, other])')
    assert "org/tiny" not in fake_hub.repos or "README.md" not in fake_hub.files("org/tiny")


def test_unreachable_hub(merged_ckpt, monkeypatch, tmp_path):
    with serve() as hub:
        use_fake_hub(monkeypatch, hub, tmp_path / "cache", TOKEN)
    # the server is gone: connection refused
    with pytest.raises(WeightspaceError, match=r"org/tiny: cannot push: cannot reach the Hub at http://127\.0\.0\.1"):
        push(merged_ckpt, "org/tiny")


def test_offline_mode_blocks_push(fake_hub, merged_ckpt, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WeightspaceError, match="offline mode is on"):
        push(merged_ckpt, "org/tiny")
    assert fake_hub.requests == []


def test_eval_results_given_explicitly_replace_the_folder_ones(fake_hub, plain_ckpt, tmp_path):
    from weightspace.checkpoint import open_checkpoint

    doc = eval_doc(open_checkpoint(plain_ckpt).sha256())
    doc["results"] = doc["results"][:1]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    push(plain_ckpt, "org/tiny", eval_results=[path])
    files = fake_hub.files("org/tiny")
    assert json.loads(files["eval_results.json"])["results"] == doc["results"]
    assert "model-index" in files["README.md"].decode()


def test_eval_results_of_other_weights_are_refused(merged_ckpt, tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps(eval_doc("0" * 64)))
    with pytest.raises(ConfigError, match="no eval results of the pushed weights"):
        push(merged_ckpt, "org/tiny", eval_results=[path], dry_run_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bare_safetensors_is_pushed_as_open_clip_layout(fake_hub, tmp_path):
    from .hub_data import MODEL_CFG, tiny_state

    state = {f"module.{k}": v for k, v in tiny_state(2).items()}
    path = tmp_path / "bare.safetensors"
    save_safetensors(path, state, metadata={"weightspace": json.dumps({"model_cfg": MODEL_CFG})})
    push(path, "org/bare", license="mit")
    from safetensors import safe_open
    stored = tmp_path / "stored.safetensors"
    stored.write_bytes(fake_hub.files("org/bare")[WEIGHTS_NAME])
    with safe_open(stored, "pt") as f:
        assert sorted(f.keys()) == sorted(tiny_state(2))  # module. prefixes dropped
        for k, v in tiny_state(2).items():
            assert f.get_tensor(k).equal(v)
    assert json.loads(fake_hub.files("org/bare")["open_clip_config.json"]) == {"model_cfg": MODEL_CFG}


def test_checkpoint_without_model_config_is_refused(tmp_path):
    from .hub_data import tiny_state

    path = tmp_path / "bare.safetensors"
    save_safetensors(path, tiny_state(0))
    with pytest.raises(CheckpointError, match="no open_clip model config"):
        push(path, "org/tiny", dry_run_dir=tmp_path / "out")


def test_bad_repo_id(merged_ckpt, tmp_path):
    with pytest.raises(WeightspaceError, match="--repo 'tiny': expected ORG/NAME"):
        push(merged_ckpt, "tiny", dry_run_dir=tmp_path / "out")
