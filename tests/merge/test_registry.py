import pytest

from weightspace.errors import ConfigError
from weightspace.merge import available_methods, get_method
from weightspace.merge.registry import InputsInfo


def test_all_methods_are_registered_with_a_reference():
    assert available_methods() == ["average", "dare", "gwa", "iso-c", "iso-cts", "task-arith", "ties", "tsv-m",
                                   "wise-ft"]
    for name in available_methods():
        m = get_method(name)
        assert m.reference and m.base in ("required", "optional")


def test_unknown_method_names_it_and_lists_the_others():
    with pytest.raises(ConfigError, match="unknown merge method 'soup' .*average, dare"):
        get_method("soup")


def test_unknown_option_names_the_option_and_the_known_ones():
    with pytest.raises(ConfigError, match=r"method 'ties': unknown key 'k' \(options: weights, density, scope, aggregate, lambda\)"):
        get_method("ties").resolve_params({"k": 0.2}, InputsInfo(2, True))


@pytest.mark.parametrize("name", ["task-arith", "ties", "dare", "wise-ft", "iso-c", "iso-cts", "tsv-m"])
def test_methods_on_task_vectors_need_a_base(name):
    with pytest.raises(ConfigError, match="needs a base model"):
        get_method(name).resolve_params({}, InputsInfo(1, False))
