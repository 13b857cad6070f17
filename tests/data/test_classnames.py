import json

import pytest

from weightspace.data.classnames import check_labels, load_classnames
from weightspace.data.lists import ListEntry
from weightspace.errors import WeightspaceError


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("name, text", [
    ("c.json", json.dumps({"1": "b c", "0": "a", "2": "d"})),
    ("c.json", json.dumps(["a", "b c", "d"])),
    ("c.json", json.dumps({"a": "0", "b c": "1", "d": "2"})),  # SSv2 labels.json orientation
    ("c.csv", "id,name\n0,a\n1,b c\n2,d\n"),
    ("c.csv", "0,a\n1,b c\n2,d\n"),
    ("c.txt", "2,d\n0,a\n1,b c\n"),
])
def test_formats(tmp_path, name, text):
    assert load_classnames(_write(tmp_path, name, text)) == ["a", "b c", "d"]


def test_csv_names_may_hold_commas(tmp_path):
    assert load_classnames(_write(tmp_path, "c.csv", 'id,name\n0,"Putting something, somewhere"\n1,x\n')) == [
        "Putting something, somewhere", "x"]


@pytest.mark.parametrize("name, text, match", [
    ("c.json", json.dumps({"0": "a", "2": "b"}), "without gaps"),
    ("c.csv", "0,a\n0,b\n", "appears twice"),
    ("c.csv", "id,name\n0,a\nx,b\n", r"c\.csv:3"),
    ("c.csv", "0,a\n1\n", r"c\.csv:2"),
    ("c.json", "{not json", "invalid JSON"),
    ("c.json", json.dumps({"0": ""}), "empty name"),
    ("c.json", json.dumps({}), "no class names"),
])
def test_errors_name_the_file(tmp_path, name, text, match):
    with pytest.raises(WeightspaceError, match=match):
        load_classnames(_write(tmp_path, name, text))


def test_missing_file(tmp_path):
    with pytest.raises(WeightspaceError, match="not found"):
        load_classnames(tmp_path / "nope.json")


def test_labels_out_of_range_name_file_and_line(tmp_path):
    entries = [ListEntry(tmp_path / "a", 0, 1), ListEntry(tmp_path / "b", 3, 7)]
    check_labels(entries[:1], 3, "l.txt")
    with pytest.raises(WeightspaceError, match=r"l\.txt:7: label 3 out of range \(there are 3 classes"):
        check_labels(entries, 3, "l.txt")
