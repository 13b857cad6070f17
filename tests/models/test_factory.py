import pytest

from weightspace.errors import ConfigError
from weightspace.models.factory import model_config, preprocess_config, tokenizer_for


def test_preprocess_config_size_from_architecture_and_overlay_wins():
    cfg = model_config("ws-tiny-clip")
    pp = preprocess_config(cfg)
    assert pp["size"] == cfg["vision_cfg"]["image_size"] == 48
    assert len(pp["mean"]) == len(pp["std"]) == 3
    over = preprocess_config(cfg, {"mean": [0.5, 0.5, 0.5], "size": 64, "unknown": 1})
    assert over["size"] == 64 and list(over["mean"]) == [0.5, 0.5, 0.5] and "unknown" not in over


def test_tokenizer_for_uses_context_length_offline():
    cfg = model_config("ws-tiny-clip")
    tok = tokenizer_for(cfg)
    ids = tok(["a video of a person spinning."])
    assert ids.shape == (1, cfg["text_cfg"]["context_length"])
    assert ids[0, 0] == 49406 and 49407 in ids[0].tolist()  # SOT ... EOT


def test_tokenizer_for_unavailable_hf_tokenizer_is_one_line_error():
    cfg = model_config("ws-tiny-clip")
    cfg["text_cfg"]["hf_tokenizer_name"] = "no-such-org/no-such-tokenizer"
    with pytest.raises(ConfigError, match="hf_tokenizer_name 'no-such-org/no-such-tokenizer'") as info:
        tokenizer_for(cfg)
    assert "\n" not in str(info.value)


def test_openai_tag_records_quick_gelu_and_its_preprocessing():
    from weightspace.models.factory import model_config, tagged_configs

    model_cfg, preprocess_cfg = tagged_configs("ViT-B-16", "openai")
    assert model_cfg["quick_gelu"] is True and "quick_gelu" not in model_config("ViT-B-16")
    assert preprocess_cfg["mean"] == [0.48145466, 0.4578275, 0.40821073] and preprocess_cfg["interpolation"] == "bicubic"
