import pytest

from weightspace.errors import ConfigError
from weightspace.models.prompts import (
    KINETICS_TEMPLATES,
    SINGLE_TEMPLATE,
    TEMPLATES,
    format_prompts,
    get_templates,
    resolve_templates,
    template_spec,
)


def test_kinetics_templates_are_the_28_clip_ones():
    assert len(KINETICS_TEMPLATES) == len(set(KINETICS_TEMPLATES)) == 28
    assert KINETICS_TEMPLATES[0] == "a photo of {}."
    assert "a demonstration of a person practicing {}." in KINETICS_TEMPLATES
    assert "a example of a person during {}." in KINETICS_TEMPLATES
    assert all(t.count("{}") == 1 for t in KINETICS_TEMPLATES)


def test_get_templates_registry():
    assert get_templates("single") == (SINGLE_TEMPLATE,)
    assert get_templates("kinetics") == KINETICS_TEMPLATES
    assert set(TEMPLATES) >= {"single", "kinetics"}
    with pytest.raises(ConfigError, match="unknown template set"):
        get_templates("nope")


def test_resolve_and_spec_round_trip():
    assert resolve_templates(["x {} y"]) == ("x {} y",)
    assert template_spec(resolve_templates("kinetics")) == "kinetics"
    assert template_spec(["x {} y"]) == ["x {} y"]
    with pytest.raises(ConfigError, match="must be a string containing"):
        resolve_templates(["no slot"])
    with pytest.raises(ConfigError, match="empty"):
        resolve_templates([])


def test_format_prompts_is_class_major():
    assert format_prompts(["run", "jump"], ["a {}.", "b {}."]) == ["a run.", "b run.", "a jump.", "b jump."]
