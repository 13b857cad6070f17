"""The Hub against the real producers and consumers: a merge output from ``weightspace.merge`` and open_clip's
own ``hf-hub:`` loader reading what ``push`` wrote."""

import pytest
import torch

from .hub_data import MODEL_CFG, tiny_state
from weightspace.checkpoint import MANIFEST_NAME, make_meta, open_checkpoint, save_checkpoint
from weightspace.errors import CheckpointError
from weightspace.hub.push import push


def test_real_merge_output_round_trips_and_verifies(fake_hub, tmp_path):
    from weightspace.merge import merge

    float_state = lambda seed: {k: v.float() for k, v in tiny_state(seed).items()}  # noqa: E731
    a = save_checkpoint(tmp_path / "a", float_state(1), model_cfg=MODEL_CFG, meta=make_meta()).folder
    b = save_checkpoint(tmp_path / "b", float_state(2), model_cfg=MODEL_CFG, meta=make_meta()).folder
    out = merge("average", [a, b], out=tmp_path / "soup", progress=False)
    push(out, "org/soup", license="mit")
    card = fake_hub.files("org/soup")["README.md"].decode()
    assert "- average" in card and "| method | `average` |" in card
    pulled = open_checkpoint("hf-hub:org/soup")
    assert pulled.sha256() == open_checkpoint(out).sha256()
    # the manifest's own output hash is what catches a changed file
    fake_hub.tamper("org/soup", "weightspace.json", b"{}")
    data = bytearray(fake_hub.files("org/soup")["open_clip_model.safetensors"])
    data[-1] ^= 0xFF
    fake_hub.tamper("org/soup", "open_clip_model.safetensors", bytes(data))
    with pytest.raises(CheckpointError, match=f"but {MANIFEST_NAME} records"):
        open_checkpoint("hf-hub:org/soup")


def test_open_clip_loads_the_pushed_repo(fake_hub, tmp_path, monkeypatch):
    import open_clip
    from huggingface_hub import constants

    from weightspace.models.factory import model_config, register_configs

    register_configs()
    model = open_clip.create_model("ws-tiny-clip")
    ckpt = save_checkpoint(tmp_path / "tiny", model.state_dict(), model_cfg=model_config("ws-tiny-clip"),
                           preprocess_cfg={"mean": [0.5] * 3, "std": [0.5] * 3}, meta=make_meta())
    push(ckpt.folder, "org/tiny-clip", license="mit")
    # open_clip calls hf_hub_download without an endpoint: point huggingface_hub's default at the fake Hub
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        fake_hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    loaded, _, preprocess = open_clip.create_model_and_transforms("hf-hub:org/tiny-clip")
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    assert list(preprocess.transforms[-1].mean) == [0.5, 0.5, 0.5]
    assert open_clip.get_tokenizer("hf-hub:org/tiny-clip")(["a video"]).shape == (1, 32)


def test_evaluator_output_is_published(fake_hub, merged_ckpt, tmp_path):
    from weightspace.eval.results import EvalResult, Row, write_eval_results

    sha = open_checkpoint(merged_ckpt).sha256()
    rows = [Row("base-to-novel", "ucf", "base", "top1", 0.9, 10, 0),
            Row("base-to-novel", "ucf", "novel", "top1", 0.6, 10, 0),
            Row("base-to-novel", "ucf", "all", "hm", 0.72)]
    plain = EvalResult(str(merged_ckpt), sha, "b2n", "h", rows)
    ensemble = EvalResult(str(merged_ckpt), sha, "b2n", "h", [Row("base-to-novel", "ucf", "all", "hm", 0.8)],
                          variant="ens(rho=0.5)")
    path = tmp_path / "eval_results.json"
    write_eval_results([plain, ensemble], path)  # a list: the weights' own scores and an ensemble variant
    push(merged_ckpt, "org/tiny", eval_results=[path])
    published = fake_hub.files("org/tiny")["eval_results.json"].decode()
    assert '"variant": ""' in published and "ens(rho" not in published
    card = fake_hub.files("org/tiny")["README.md"].decode()
    assert "value: 80.0" not in card and "72.0" in card  # HM: in the body table, not in model-index
