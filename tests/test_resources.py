"""Shipped files are found through the package, not the current folder."""

import pytest

from weightspace.errors import ConfigError
from weightspace.resources import MODEL_CARDS, RECIPES, SUITES, shipped


def test_shipped_files_are_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped(*SUITES, "demo.yaml").is_file()
    assert shipped(RECIPES, "demo", "plain.yaml").is_file()
    assert shipped(MODEL_CARDS, "merged_model.md.j2").is_file()


def test_a_missing_shipped_file_is_a_one_line_error():
    with pytest.raises(ConfigError, match="no_such.yaml: not found in the installed weightspace package"):
        shipped(RECIPES, "no_such.yaml")
