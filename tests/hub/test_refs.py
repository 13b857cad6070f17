import pytest

from weightspace.errors import WeightspaceError
from weightspace.hub.refs import HubRef, check_repo_id, hub_id_of, parse_hub_ref


@pytest.mark.parametrize("ref, expected", [
    ("hf-hub:org/name", HubRef("org/name", None)),
    ("hf-hub:Org-1/name_2.v3@v1.0", HubRef("Org-1/name_2.v3", "v1.0")),
    ("org/name@refs/pr/3", HubRef("org/name", "refs/pr/3")),
    ("hf-hub:org/name@" + "a" * 40, HubRef("org/name", "a" * 40)),
])
def test_parse_valid(ref, expected):
    assert parse_hub_ref(ref) == expected


@pytest.mark.parametrize("ref", [
    "hf-hub:", "hf-hub:name", "hf-hub:org/name/extra", "hf-hub:org//name", "hf-hub:org/name@",
    "hf-hub:org/na me", "hf-hub:-org/name", "hf-hub:org/name.", "hf-hub:org/a--b", "hf-hub:org/a..b",
    "hf-hub:org/name@a@b",
])
def test_parse_malformed_is_one_line_error(ref):
    with pytest.raises(WeightspaceError) as exc:
        parse_hub_ref(ref)
    assert "\n" not in str(exc.value) and "ORG/NAME" in str(exc.value)


def test_str_round_trips():
    assert str(parse_hub_ref("hf-hub:org/name@dev")) == "hf-hub:org/name@dev"
    assert str(HubRef("org/name")) == "hf-hub:org/name"


def test_hub_id_of_only_for_hub_refs():
    assert hub_id_of("hf-hub:org/name@v2") == "org/name"
    assert hub_id_of("org/name") is None  # a relative local path, not a hub id
    assert hub_id_of("hf-hub:broken") is None


def test_check_repo_id_names_the_option():
    assert check_repo_id("a/b") == "a/b"
    with pytest.raises(WeightspaceError, match="--repo 'nope'"):
        check_repo_id("nope", what="--repo")
