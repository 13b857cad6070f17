"""User text files (recipes, list files, class names): one-line errors for FIFOs, folders and non-UTF-8 bytes."""

import os

import pytest

from weightspace.data.classnames import load_classnames
from weightspace.data.lists import read_list
from weightspace.errors import InputError
from weightspace.text_file import read_user_text


def test_reads_utf8_with_or_without_bom(tmp_path):
    (tmp_path / "a.txt").write_bytes("\ufeffcafé\n".encode("utf-8"))
    assert read_user_text(tmp_path / "a.txt", "list file") == "café\n"


@pytest.mark.parametrize("reader, what", [(read_list, "list file"), (load_classnames, "class-name file")])
def test_list_and_classname_files(tmp_path, reader, what):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("0,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=f"latin1.csv: {what} is not UTF-8 text \\(byte 5\\)"):
        reader(bad)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=f"pipe.txt: {what} is a FIFO"):
        reader(fifo)
    with pytest.raises(InputError, match=f"{what} is a folder"):
        reader(tmp_path)
    with pytest.raises(InputError, match=f"nope.txt: {what} not found"):
        reader(tmp_path / "nope.txt")
