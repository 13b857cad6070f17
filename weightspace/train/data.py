"""Training data: the dataset a recipe names, and a resumable, rank-sharded epoch order.

The order of epoch ``e`` is a permutation drawn from ``(seed, e)`` alone, so a resumed run (or
another rank) can rebuild it; the resume state also stores it and the trainer checks they agree.
Each rank takes every ``world``-th index of the permutation (the tail that does not divide evenly
is dropped, so all ranks take the same number of steps); resuming skips the samples of the steps
already done. Augmentation randomness lives in the dataset, keyed by ``(seed, epoch, index)``
(``VideoDataset.set_epoch``), so it does not depend on workers or on where a run was resumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from weightspace.data.synthetic.refs import BuiltinRef
from weightspace.errors import ConfigError
from weightspace.refs import PathRef, parse_ref
from weightspace.train.config import DataConfig



def epoch_permutation(n: int, seed: int, epoch: int, shuffle: bool = True) -> torch.Tensor:
    """The sample order of one epoch; ``shuffle=False`` keeps the list order (Open-MeDe Tab. 10's unshuffled batches)."""
    if not shuffle:
        return torch.arange(n)
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


class EpochSampler(Sampler[int]):
    """This rank's indices of one epoch's permutation, from sample ``start`` on."""

    def __init__(self, permutation: torch.Tensor, rank: int, world_size: int, start: int = 0):
        per_rank = len(permutation) // world_size
        self.indices = permutation[rank::world_size][:per_rank][start:].tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class DataSource:
    """Where the training videos and class names are (after resolving ``builtin:``)."""

    train: Path
    classnames: Path
    root: Path | None


def resolve_data(cfg: DataConfig) -> DataSource:
    """Files behind ``data.train``/``data.classnames``.

    ``builtin:WORLD[/SPLIT]`` names a split of the built-in world (generated and cached on first use
    by ``weightspace.data.synthetic.ensure_worlds``); SPLIT defaults to ``train``. The class names
    default to that split's.
    """
    train = parse_ref(cfg.train, where="data.train")
    if isinstance(train, BuiltinRef):
        try:
            list_file, names_file = train.training_files()
        except ConfigError as exc:
            raise ConfigError(f"data.train {cfg.train!r}: {exc}") from None
        src = DataSource(list_file, Path(cfg.classnames) if cfg.classnames else names_file, None)
    elif isinstance(train, PathRef):
        src = DataSource(train.resolve(), Path(cfg.classnames), Path(cfg.root) if cfg.root else None)
    else:
        raise ConfigError(f"data.train {cfg.train!r}: expected a list file or builtin:WORLD[/SPLIT]")
    for key, path in (("data.train", src.train), ("data.classnames", src.classnames)):
        if not path.is_file():
            raise ConfigError(f"{key}: {path}: no such file")
    if src.root is not None and not src.root.is_dir():
        raise ConfigError(f"data.root: {src.root}: no such folder")
    return src


def build_dataset(cfg: DataConfig, image_size: int, seed: int) -> Dataset:
    from weightspace.data import VideoDataset
    from weightspace.data.transforms import Augmentation

    src = resolve_data(cfg)
    augment = Augmentation(tuple(cfg.short_side) if cfg.short_side else None, cfg.random_crop, cfg.flip, cfg.color_jitter)
    return VideoDataset(
        src.train, src.classnames, root=src.root, num_frames=cfg.num_frames,
        image_size=cfg.image_size or image_size, mode="train", seed=seed,
        sampler=cfg.sampler, stride=cfg.stride, augment=augment,
    )


def make_loader(dataset: Dataset, sampler: EpochSampler, batch_size: int, workers: int, seed: int) -> DataLoader:
    # its own generator: creating an iterator must not draw from the global RNG (resume would shift it)
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, drop_last=True,
        pin_memory=torch.cuda.is_available(), persistent_workers=False,
        generator=torch.Generator().manual_seed(seed),
    )
