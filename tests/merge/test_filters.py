import pytest

from weightspace.errors import ConfigError
from weightspace.merge.filters import KeyFilter

KEYS = ["visual.proj", "visual.ln_pre.bias", "transformer.resblocks.0.attn.in_proj_weight", "logit_scale",
        "prompt_learner.ctx"]


def test_no_patterns_select_everything():
    assert all(KeyFilter()(k) for k in KEYS)


def test_tags_and_globs():
    f = KeyFilter(include=["visual", "logit_scale"], exclude=["*.bias"])
    assert [k for k in KEYS if f(k)] == ["visual.proj", "logit_scale"]
    assert [k for k in KEYS if KeyFilter(exclude=["text", "extra"])(k)] == ["visual.proj", "visual.ln_pre.bias",
                                                                          "logit_scale"]


def test_typos_and_empty_patterns_are_refused():
    with pytest.raises(ConfigError, match="exclude pattern 'vision.*' matches no key"):
        KeyFilter(exclude=["vision.*"]).check_against(KEYS)
    with pytest.raises(ConfigError, match="empty pattern"):
        KeyFilter(include=[" "])
