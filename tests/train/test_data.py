import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.train.config import DataConfig
from weightspace.train.data import EpochSampler, epoch_permutation, resolve_data


def test_permutation_depends_only_on_seed_and_epoch():
    a = epoch_permutation(50, seed=3, epoch=1)
    assert torch.equal(a, epoch_permutation(50, seed=3, epoch=1))
    assert not torch.equal(a, epoch_permutation(50, seed=3, epoch=2))
    assert sorted(a.tolist()) == list(range(50))


def test_ranks_get_disjoint_equal_shards_and_resume_skips_done_samples():
    perm = epoch_permutation(11, seed=0, epoch=0)
    r0, r1 = list(EpochSampler(perm, 0, 2)), list(EpochSampler(perm, 1, 2))
    assert len(r0) == len(r1) == 5 and not set(r0) & set(r1)
    assert r0 == perm[0:10:2].tolist()
    assert list(EpochSampler(perm, 0, 2, start=3)) == r0[3:]


def test_unshuffled_order_is_the_list_order_every_epoch():
    assert epoch_permutation(5, seed=3, epoch=0, shuffle=False).tolist() == [0, 1, 2, 3, 4]
    assert torch.equal(epoch_permutation(5, seed=3, epoch=2, shuffle=False), torch.arange(5))


class _World:
    """The two files a built-in world split names, in a temporary folder."""

    def __init__(self, folder):
        self.folder = folder

    def list_file(self, split):
        return self.folder / f"{split}.txt"

    def classnames_file(self, split):
        return self.folder / f"{split}_classnames.json"


@pytest.fixture
def builtin_world(monkeypatch, tmp_path):
    from weightspace.data.synthetic import worlds

    for name in ("train.txt", "train_classnames.json", "base_train.txt", "base_train_classnames.json"):
        (tmp_path / name).write_text("x")
    monkeypatch.setattr(worlds, "ensure_worlds", lambda: {"source_a": _World(tmp_path)})
    return tmp_path


def test_builtin_training_data_is_a_split_with_its_class_names(builtin_world):
    src = resolve_data(DataConfig(train="builtin:source_a"))
    assert (src.train, src.classnames, src.root) == (builtin_world / "train.txt", builtin_world / "train_classnames.json", None)
    src = resolve_data(DataConfig(train="builtin:source_a/base_train"))
    assert (src.train, src.classnames) == (builtin_world / "base_train.txt", builtin_world / "base_train_classnames.json")
    src = resolve_data(DataConfig(train="builtin:source_a", classnames=str(builtin_world / "train.txt")))
    assert src.classnames == builtin_world / "train.txt"


def test_local_training_data(tmp_path):
    for name in ("list.txt", "names.json"):
        (tmp_path / name).write_text("x")
    src = resolve_data(DataConfig(train=f"local-dir:{tmp_path / 'list.txt'}", classnames=str(tmp_path / "names.json")))
    assert (src.train, src.classnames) == (tmp_path / "list.txt", tmp_path / "names.json")


@pytest.mark.parametrize("train, message", [
    ("hf-hub:org/name", "data.train 'hf-hub:org/name': expected a list file or builtin:WORLD[/SPLIT]"),
    ("builtin:", "data.train: 'builtin:': expected builtin:tiny-clip or builtin:WORLD"),
    ("hf_hub:org/name", "data.train: 'hf_hub:org/name': unknown reference scheme 'hf_hub:'"),
])
def test_training_data_that_is_no_list_is_one_line(train, message):
    with pytest.raises(ConfigError) as exc:
        resolve_data(DataConfig(train=train, classnames="names.json"))
    assert str(exc.value).startswith(message)
