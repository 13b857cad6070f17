import json

import pytest
import torch

from weightspace.atomic import MARKER
from weightspace.checkpoint import (
    CONFIG_NAME, META_NAME, WEIGHTS_NAME, key_tag, make_meta, normalize_key, open_checkpoint, save_checkpoint,
    save_safetensors, sha256_file,
)
from weightspace.errors import CheckpointError

SD = {"visual.proj": torch.randn(4, 2), "token_embedding.weight": torch.randn(5, 2), "logit_scale": torch.tensor(1.5),
      "step": torch.tensor([3])}
CFG = {"embed_dim": 2}


@pytest.mark.parametrize("raw,key", [("module.visual.proj", "visual.proj"), ("model.module.logit_scale", "logit_scale"),
                                     ("visual.model.x", "visual.model.x"), ("text_projection", "text_projection")])
def test_normalize_key(raw, key):
    assert normalize_key(raw) == key


@pytest.mark.parametrize("key,tag", [
    ("visual.conv1.weight", "visual"), ("logit_scale", "logit_scale"), ("logit_bias", "logit_scale"),
    ("transformer.resblocks.0.ln_1.weight", "text"), ("token_embedding.weight", "text"),
    ("positional_embedding", "text"), ("text.transformer.x", "text"), ("ln_final.bias", "text"),
    ("temporal.blocks.0.ln_1.weight", "temporal"), ("temporal_step", "extra"),
])
def test_key_tag(key, tag):
    assert key_tag(key) == tag


def test_folder_round_trip(tmp_path):
    meta = make_meta(video={"temporal": "vclip"}, provenance={"epoch": 3})
    ckpt = save_checkpoint(tmp_path / "c", SD, model_cfg=CFG, preprocess_cfg={"mean": [0.5]}, meta=meta,
                           extra_files={"extra.json": {"x": 1}})
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted([MARKER, CONFIG_NAME, META_NAME, WEIGHTS_NAME, "extra.json"])
    again = open_checkpoint(tmp_path / "c")
    assert again.model_cfg == CFG and again.preprocess_cfg == {"mean": [0.5]}
    assert again.meta["video"] == {"temporal": "vclip"} and again.meta["provenance"] == {"epoch": 3}
    assert ckpt.sha256() == again.sha256()
    assert again.meta["format_version"] == 1 and again.meta["weightspace_version"]
    sd = again.state_dict()
    assert all(torch.equal(sd[k], v) for k, v in SD.items())
    assert again.sha256() == sha256_file(tmp_path / "c" / WEIGHTS_NAME)
    base_ref = make_meta(base=again)["base_model"]
    assert base_ref == {"ref": str(tmp_path / "c"), "sha256": again.sha256()}


def test_save_refuses_an_existing_folder_unless_overwrite(tmp_path):
    save_checkpoint(tmp_path / "c", SD, model_cfg=CFG)
    with pytest.raises(CheckpointError, match="already exists"):
        save_checkpoint(tmp_path / "c", {"visual.proj": torch.zeros(1)}, model_cfg=CFG)
    assert open_checkpoint(tmp_path / "c").source().keys() == list(SD)
    save_checkpoint(tmp_path / "c", {"visual.proj": torch.zeros(1)}, model_cfg=CFG, overwrite=True)
    assert open_checkpoint(tmp_path / "c").source().keys() == ["visual.proj"]


def test_bare_safetensors_with_prefixes_and_embedded_meta(tmp_path):
    path = tmp_path / "w.safetensors"
    meta = {"model_cfg": CFG, "video": {"num_frames": 8}}
    save_safetensors(path, {"module." + k: v for k, v in SD.items()}, metadata={"weightspace": json.dumps(meta)})
    ckpt = open_checkpoint(path)
    assert ckpt.folder is None and ckpt.model_cfg == CFG and ckpt.meta["video"] == {"num_frames": 8}
    assert sorted(ckpt.source().keys()) == sorted(SD)


def test_keys_that_collide_after_normalisation(tmp_path):
    path = tmp_path / "w.safetensors"
    save_safetensors(path, {"module.visual.proj": torch.zeros(1), "visual.proj": torch.ones(1)})
    with pytest.raises(CheckpointError, match="both normalise to 'visual.proj'"):
        open_checkpoint(path).source()


def test_legacy_pickle_through_the_safe_loader(tmp_path):
    path = tmp_path / "old.pth"
    torch.save({"model": {"module." + k: v for k, v in SD.items()}, "epoch": 4, "optimizer": {"lr": 0.1}}, path)
    ckpt = open_checkpoint(path)
    assert ckpt.is_legacy
    sd = ckpt.state_dict()
    assert sorted(sd) == sorted(SD) and torch.equal(sd["visual.proj"], SD["visual.proj"])


class Custom:  # an arbitrary class: weights_only=True must refuse to unpickle it
    pass


def test_legacy_pickle_with_arbitrary_objects_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": SD, "config": Custom()}, path)
    with pytest.raises(CheckpointError, match="cannot be loaded safely with torch.load\\(weights_only=True\\)") as exc:
        open_checkpoint(path).state_dict()
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_legacy_without_tensors(tmp_path):
    path = tmp_path / "none.pt"
    torch.save({"epoch": 1}, path)
    with pytest.raises(CheckpointError, match="no state dict of tensors"):
        open_checkpoint(path).state_dict()


@pytest.mark.parametrize("make,match", [
    (lambda d: d / "missing", "no such checkpoint"),
    (lambda d: (d / "x.onnx").write_bytes(b"") or d / "x.onnx", "unknown checkpoint type"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "folder has no open_clip_model.safetensors"),
])
def test_unusable_references_name_the_path(tmp_path, make, match):
    with pytest.raises(CheckpointError, match=match):
        open_checkpoint(make(tmp_path))


def test_folder_with_broken_json(tmp_path):
    save_checkpoint(tmp_path / "c", SD, model_cfg=CFG)
    (tmp_path / "c" / META_NAME).write_text("{broken")
    with pytest.raises(CheckpointError, match="weightspace.json: cannot read JSON"):
        open_checkpoint(tmp_path / "c")


def test_open_clip_folder_with_only_the_pickled_bin(tmp_path):
    from weightspace.checkpoint import LEGACY_WEIGHTS_NAME

    folder = tmp_path / "openclip"
    folder.mkdir()
    torch.save({"visual.proj": torch.ones(2, 2), "logit_scale": torch.tensor(4.0)}, folder / LEGACY_WEIGHTS_NAME)
    ckpt = open_checkpoint(folder)
    assert ckpt.weights.name == LEGACY_WEIGHTS_NAME
    assert torch.equal(ckpt.state_dict()["visual.proj"], torch.ones(2, 2))


def test_bare_safetensors_with_bad_weightspace_metadata_is_one_line(tmp_path):
    from weightspace.safetensors_io import save_tensors

    path = tmp_path / "m.safetensors"
    save_tensors(path, {"a": torch.ones(1)}, metadata={"weightspace": "{not json"})
    with pytest.raises(CheckpointError, match="m.safetensors: invalid JSON in the header's 'weightspace' metadata"):
        open_checkpoint(path)


def test_a_fifo_given_as_a_checkpoint_is_refused_without_blocking(tmp_path):
    import os

    from weightspace.safetensors_io import read_header

    fifo = tmp_path / "w.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="w.safetensors: not a regular file or folder"):
        open_checkpoint(fifo)
    with pytest.raises(CheckpointError, match="w.safetensors: not a regular file"):
        read_header(fifo)


@pytest.mark.parametrize("size", [0, 4095, 4096, 10_000])
def test_sha256_file_over_several_mapped_windows(tmp_path, size):
    import hashlib
    import os

    path = tmp_path / "f.bin"
    data = os.urandom(size)
    path.write_bytes(data)
    assert sha256_file(path, window=4096) == hashlib.sha256(data).hexdigest()
