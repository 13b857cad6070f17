import pytest

from weightspace.data.lists import parse_line, read_list
from weightspace.errors import WeightspaceError


def _touch(folder, *names):
    for n in names:
        p = folder / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


@pytest.mark.parametrize("line, expected", [
    ("a/b.mp4 3", ("a/b.mp4", 3, None)),
    ("a/b.mp4,3", ("a/b.mp4", 3, None)),
    ("val/acting in play/x.mp4,12", ("val/acting in play/x.mp4", 12, None)),
    ("my video.avi 7", ("my video.avi", 7, None)),
    ("archery/01xSt_000011 150 5", ("archery/01xSt_000011", 5, 150)),
    ("just_a_path.mp4", None),
    ("a.mp4 x", None),
])
def test_parse_line_formats(line, expected):
    assert parse_line(line) == expected


def test_read_list_resolves_against_list_folder_and_root(tmp_path):
    _touch(tmp_path, "lists/v1.mp4", "lists/sub/v2.mp4", "data/v1.mp4", "data/sub/v2.mp4")
    lst = tmp_path / "lists" / "l.txt"
    lst.write_text("# comment\n\nv1.mp4 0\nsub/v2.mp4,1\n")
    entries = read_list(lst)
    assert [e.path for e in entries] == [tmp_path / "lists/v1.mp4", tmp_path / "lists/sub/v2.mp4"]
    assert [e.label for e in entries] == [0, 1]
    assert [e.line for e in entries] == [3, 4]
    rooted = read_list(lst, root=tmp_path / "data")
    assert [e.path for e in rooted] == [tmp_path / "data/v1.mp4", tmp_path / "data/sub/v2.mp4"]


def test_absolute_paths_and_rawframes(tmp_path):
    (tmp_path / "frames" / "clip").mkdir(parents=True)
    _touch(tmp_path, "abs.mp4")
    lst = tmp_path / "l.txt"
    lst.write_text(f"{tmp_path / 'abs.mp4'} 2\nframes/clip 30 1\n")
    a, b = read_list(lst)
    assert a.path == tmp_path / "abs.mp4" and a.num_frames is None
    assert b.path == tmp_path / "frames/clip" and b.num_frames == 30 and b.label == 1


def test_malformed_line_names_file_and_line(tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_text("a.mp4 0\nno_label_here\n")
    with pytest.raises(WeightspaceError, match=r"l\.txt:2: expected"):
        read_list(lst, check_exists=False)


def test_mostly_missing_list_fails_up_front(tmp_path):
    _touch(tmp_path, "ok.mp4")
    lst = tmp_path / "l.txt"
    lst.write_text("ok.mp4 0\ngone1.mp4 0\ngone2.mp4 1\n")
    with pytest.raises(WeightspaceError) as err:
        read_list(lst)
    msg = str(err.value)
    assert "l.txt" in msg and "2 of 3" in msg and "gone1.mp4" in msg and "\n" not in msg


def test_a_few_missing_are_left_to_the_dataset(tmp_path):
    _touch(tmp_path, "a.mp4", "b.mp4")
    lst = tmp_path / "l.txt"
    lst.write_text("a.mp4 0\nb.mp4 0\ngone.mp4 1\n")
    assert len(read_list(lst)) == 3


@pytest.mark.parametrize("text, match", [(None, "not found"), ("\n# only a comment\n", "no entries"), ("a.mp4 -1\n", "negative")])
def test_bad_list_files(tmp_path, text, match):
    lst = tmp_path / "l.txt"
    if text is not None:
        lst.write_text(text)
    with pytest.raises(WeightspaceError, match=match):
        read_list(lst, check_exists=False)


def test_root_must_be_a_folder(tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_text("a.mp4 0\n")
    with pytest.raises(WeightspaceError, match="data root"):
        read_list(lst, root=tmp_path / "nowhere")
