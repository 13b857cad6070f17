import math

import pytest

from weightspace.errors import ConfigError
from weightspace.options import Options, describe_options, opt, parse_options


class Demo(Options):
    alpha: float = opt(0.5, ge=0, le=1, help="mixing weight")
    steps: int = opt(3, ge=1, help="how many steps")
    names: list[str] = opt(["a"], help="names")
    scale: float | None = opt(None, gt=0, help="optional scale")


def test_defaults_filled_and_yaml_strings_read_as_numbers():
    p = parse_options(Demo, {"alpha": "5e-1", "scale": "1e-4"})
    assert (p.alpha, p.steps, p.names, p.scale) == (0.5, 3, ["a"], 1e-4)


@pytest.mark.parametrize("given, needle", [
    ({"alpah": 0.1}, "unknown key 'm.alpah' (options: alpha, steps, names, scale)"),
    ({"alpha": 2.0}, "key 'm.alpha': Input should be less than or equal to 1"),
    ({"alpha": math.nan}, "key 'm.alpha'"),
    ({"scale": math.inf}, "key 'm.scale'"),
    ({"scale": 1e39}, "overflows float32"),
    ({"steps": 0}, "key 'm.steps': Input should be greater than or equal to 1"),
    ({"steps": 1.5}, "key 'm.steps'"),
    ({"names": "x" * 10_000}, "..."),
])
def test_bad_values_are_one_line_errors_naming_the_key(given, needle):
    with pytest.raises(ConfigError) as exc:
        parse_options(Demo, given, key="m", source="r.yaml")
    msg = str(exc.value)
    assert msg.startswith("r.yaml: ") and needle in msg and "\n" not in msg and len(msg) < 200


def test_describe_lists_every_option_once_in_order():
    rows = describe_options(Demo)
    assert [r.name for r in rows] == ["alpha", "steps", "names", "scale"]
    assert rows[0].line() == "alpha=0.5 (float, >= 0, <= 1): mixing weight"
    assert rows[3].default is None and rows[3].bounds == "> 0"
