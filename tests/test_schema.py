import math

import pytest
from pydantic import Field, ValidationError, model_validator

from weightspace.errors import ConfigError
from weightspace.schema import FieldError, Schema, error_line, validate


class Leaf(Schema):
    rate: float = 0.5
    steps: int = Field(3, ge=1)


class Node(Schema):
    leaf: Leaf = Field(default_factory=Leaf)
    leaves: list[Leaf] = Field(default_factory=list)
    name: str | list[str] = "a"
    flag: bool = False
    limit: float | None = None

    @model_validator(mode="after")
    def _steps_within_leaves(self):
        if self.leaves and self.leaf.steps > len(self.leaves):
            raise FieldError("leaf.steps", f"must be at most len(leaves)={len(self.leaves)}")
        return self


def _error(data) -> str:
    with pytest.raises(ConfigError) as exc:
        validate(Node, data, source="doc.yaml")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("doc.yaml: ")
    return msg


@pytest.mark.parametrize("data, line", [
    ({"leaves": [{}, {"rat": 1.0}]}, "doc.yaml: unknown key 'leaves.1.rat' (known: rate, steps)"),
    ({"leaf": {"steps": "3"}}, "doc.yaml: key 'leaf.steps': Input should be a valid integer, got '3'"),
    ({"flag": 1}, "doc.yaml: key 'flag': Input should be a valid boolean, got 1"),
    ({"leaf": {"rate": math.nan}}, "doc.yaml: key 'leaf.rate': Input should be a finite number, got nan"),
    ({"leaf": {"rate": -math.inf}}, "doc.yaml: key 'leaf.rate': Input should be a finite number, got -inf"),
    ({"limit": 1e39}, "doc.yaml: key 'limit': 1e+39 overflows float32"),
    ({"leaf": {"steps": 0}}, "doc.yaml: key 'leaf.steps': Input should be greater than or equal to 1, got 0"),
    ({"name": 5}, "doc.yaml: key 'name': Input should be a valid string or a valid list, got 5"),
    ({"name": ["x", 5]}, "doc.yaml: key 'name.1': Input should be a valid string, got 5"),  # the list alternative
    ({"leaf": {"steps": 3}, "leaves": [{}]}, "doc.yaml: key 'leaf.steps': must be at most len(leaves)=1"),
])
def test_errors_are_one_line_naming_the_file_and_the_dotted_key(data, line):
    assert _error(data) == line


def test_an_unknown_key_is_reported_before_the_errors_it_causes():
    class Required(Schema):
        benchmarks: list[int]

    with pytest.raises(ConfigError, match=r"^s.yaml: unknown key 'benchmark' \(known: benchmarks\)$"):
        validate(Required, {"benchmark": []}, source="s.yaml")


def test_null_sections_and_lists_are_empty_but_optional_values_stay_none():
    node = validate(Node, {"leaf": None, "leaves": None, "limit": None})
    assert node.leaf == Leaf() and node.leaves == [] and node.limit is None
    assert "key 'flag'" in _error({"flag": None})  # a scalar is not a section


def test_a_key_prefix_and_no_source():
    with pytest.raises(ValidationError) as exc:
        Leaf.model_validate({"steps": 1.5})
    assert error_line(exc.value, Leaf, key="model.head") == "key 'model.head.steps': Input should be a valid integer, got 1.5"
