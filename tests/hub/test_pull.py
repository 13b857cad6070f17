import json

import pytest
import torch

from .hub_data import TOKEN
from .fake_hub import serve, use_fake_hub
from weightspace.checkpoint import MANIFEST_NAME, META_NAME, WEIGHTS_NAME, open_checkpoint
from weightspace.errors import CheckpointError, WeightspaceError
from weightspace.hub import WEIGHTS_SHA_KEY
from weightspace.hub.pull import copy_out, download, recorded_hashes, verify
from weightspace.hub.push import push


def assert_same_tensors(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        assert torch.equal(a[k].reshape(-1).view(torch.uint8), b[k].reshape(-1).view(torch.uint8)), k  # bit for bit


def test_round_trip_bit_for_bit(fake_hub, merged_ckpt):
    push(merged_ckpt, "org/tiny")
    local = open_checkpoint(merged_ckpt)
    pulled = open_checkpoint("hf-hub:org/tiny")
    assert pulled.ref == "hf-hub:org/tiny"
    assert_same_tensors(local.state_dict(), pulled.state_dict())
    assert pulled.sha256() == local.sha256()
    assert pulled.model_cfg == local.model_cfg and pulled.preprocess_cfg == local.preprocess_cfg
    assert pulled.meta["video"] == {"temporal": "vclip", "num_frames": 8}
    assert (pulled.folder / MANIFEST_NAME).is_file() and (pulled.folder / "eval_results.json").is_file()
    # files live in the huggingface_hub cache of this test
    assert "models--org--tiny" in str(pulled.folder)


def test_revision_pins_branch_and_commit(fake_hub, merged_ckpt, plain_ckpt):
    first = push(merged_ckpt, "org/tiny").commit_oid
    push(plain_ckpt, "org/tiny", revision="v2")
    plain = open_checkpoint(plain_ckpt).state_dict()
    merged = open_checkpoint(merged_ckpt).state_dict()
    assert_same_tensors(open_checkpoint("hf-hub:org/tiny@v2").state_dict(), plain)
    assert_same_tensors(open_checkpoint("hf-hub:org/tiny").state_dict(), merged)
    push(plain_ckpt, "org/tiny")  # main moves on; the old commit stays reachable
    assert_same_tensors(open_checkpoint(f"hf-hub:org/tiny@{first}").state_dict(), merged)
    with pytest.raises(WeightspaceError, match="hf-hub:org/tiny@nope: cannot download: revision not found"):
        download("hf-hub:org/tiny@nope")


def test_tampered_weights_fail_verification(fake_hub, merged_ckpt):
    push(merged_ckpt, "org/tiny")
    data = bytearray(fake_hub.files("org/tiny")[WEIGHTS_NAME])
    data[-1] ^= 1  # one bit of the last tensor
    fake_hub.tamper("org/tiny", WEIGHTS_NAME, bytes(data))
    with pytest.raises(CheckpointError) as exc:
        open_checkpoint("hf-hub:org/tiny")
    msg = str(exc.value)
    assert msg.startswith("hf-hub:org/tiny: open_clip_model.safetensors has sha256") and "records" in msg


def test_verify_checks_each_record(tmp_path):
    (tmp_path / WEIGHTS_NAME).write_bytes(b"weights")
    assert verify(tmp_path, label="x") is None  # nothing recorded: nothing to check
    import hashlib

    good = hashlib.sha256(b"weights").hexdigest()
    (tmp_path / META_NAME).write_text(json.dumps({WEIGHTS_SHA_KEY: good}))
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"output": {"weights_sha256": good}}))
    assert recorded_hashes(tmp_path) == {MANIFEST_NAME: good, META_NAME: good}
    assert verify(tmp_path, label="x") == good
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"output": {"weights_sha256": "0" * 64}}))
    with pytest.raises(CheckpointError, match="but merge_manifest.json records 0000"):
        verify(tmp_path, label="x")


def test_cached_pull_works_offline(fake_hub, merged_ckpt, monkeypatch):
    from huggingface_hub import constants

    push(merged_ckpt, "org/tiny")
    online = download("hf-hub:org/tiny")
    n = len(fake_hub.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert download("hf-hub:org/tiny") == online
    assert len(fake_hub.requests) == n


def test_offline_and_not_cached(fake_hub, merged_ckpt, monkeypatch):
    from huggingface_hub import constants

    push(merged_ckpt, "org/tiny")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WeightspaceError) as exc:
        open_checkpoint("hf-hub:org/tiny")
    msg = str(exc.value)
    assert msg.startswith("hf-hub:org/tiny: cannot download: offline mode is on (HF_HUB_OFFLINE=1)")
    assert "\n" not in msg


def test_auth_failure(merged_ckpt, monkeypatch, tmp_path):
    with serve(token=TOKEN) as hub:
        use_fake_hub(monkeypatch, hub, tmp_path / "cache", TOKEN)
        push(merged_ckpt, "org/tiny")
        monkeypatch.setenv("HF_TOKEN", "hf_expired")
        with pytest.raises(WeightspaceError) as exc:
            download("hf-hub:org/tiny")
    msg = str(exc.value)
    assert msg.startswith("hf-hub:org/tiny: cannot download: the Hub refused the credentials (401)")
    assert "hf auth login" in msg and "hf_expired" not in msg and "\n" not in msg


def test_missing_repo(fake_hub):
    with pytest.raises(WeightspaceError, match="hf-hub:org/nothing: cannot download: repository not found"):
        open_checkpoint("hf-hub:org/nothing")


def test_gated_repo(fake_hub, merged_ckpt):
    push(merged_ckpt, "org/tiny")
    fake_hub.gated.add("org/tiny")
    with pytest.raises(WeightspaceError, match="hf-hub:org/tiny: cannot download: the repo is gated; accept its terms"):
        download("hf-hub:org/tiny")


def test_unreachable_hub(monkeypatch, tmp_path):
    with serve() as hub:
        use_fake_hub(monkeypatch, hub, tmp_path / "cache", None)
    with pytest.raises(WeightspaceError, match="cannot reach the Hub at http://127.0.0.1.*not cached locally"):
        download("hf-hub:org/tiny")


def test_repo_without_weights(fake_hub, merged_ckpt):
    push(merged_ckpt, "org/tiny")
    repo = fake_hub.repos["org/tiny"]
    files = dict(fake_hub.files("org/tiny"))
    files.pop(WEIGHTS_NAME)
    repo.commit(files, "main", "drop weights")
    with pytest.raises(CheckpointError, match="the repo has no open_clip_model.safetensors"):
        download("hf-hub:org/tiny")


def test_malformed_hub_id_is_one_line_error():
    with pytest.raises(WeightspaceError, match="expected hf-hub:ORG/NAME"):
        open_checkpoint("hf-hub:org/name@")
    with pytest.raises(WeightspaceError, match="expected ORG/NAME"):
        open_checkpoint("hf-hub:just-a-name")


def test_copy_out_is_self_contained(fake_hub, merged_ckpt, tmp_path):
    push(merged_ckpt, "org/tiny")
    out = copy_out(download("hf-hub:org/tiny"), tmp_path / "copy")
    assert not any(p.is_symlink() for p in out.iterdir())
    assert open_checkpoint(out).sha256() == open_checkpoint(merged_ckpt).sha256()
    with pytest.raises(WeightspaceError, match="already exists"):
        copy_out(download("hf-hub:org/tiny"), out)


def test_open_clip_repo_with_only_the_pickled_bin_is_read_safely(fake_hub, merged_ckpt, tmp_path):
    import io

    from .fake_hub import Repo
    from weightspace.checkpoint import CONFIG_NAME, LEGACY_WEIGHTS_NAME

    sd = open_checkpoint(merged_ckpt).state_dict()
    buf = io.BytesIO()
    torch.save(sd, buf)
    repo = fake_hub.repos.setdefault("openclip/old", Repo())
    repo.commit({LEGACY_WEIGHTS_NAME: buf.getvalue(), CONFIG_NAME: (merged_ckpt / CONFIG_NAME).read_bytes(),
                 "tokenizer.json": b"{}"}, "main", "upload")
    pulled = open_checkpoint("hf-hub:openclip/old")
    assert pulled.weights.name == LEGACY_WEIGHTS_NAME and pulled.model_cfg is not None
    assert_same_tensors(pulled.state_dict(), sd)
    assert not (pulled.folder / "tokenizer.json").exists()  # only what a checkpoint needs
