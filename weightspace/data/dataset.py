"""``VideoDataset``: a list file + class names -> normalised clips, robust to unreadable videos.

``ds[i]`` is ``{"video", "label", "index", "ok"}`` with ``video`` float ``[T, 3, S, S]`` in train mode and
``[V, T, 3, S, S]`` in test mode (V = temporal_views x spatial_crops, temporal-view major). A video that cannot
be read never raises mid-epoch: in train mode another sample, drawn from ``(seed, epoch, index)``, takes its
place (``index`` is then the replacement's; resume stays bit-identical), in test mode it gives a zero clip with
``ok=False``. Either way it is recorded in ``ds.failures`` (also from DataLoader worker processes: they append
to a shared log file) and ``ds.report_failures()`` lists the paths at the end.

One readability rule for training and evaluation: ``ds.check_readable()`` opens every video up front and
raises when more than ``UNREADABLE_LIMIT`` of them cannot be decoded, naming them; fewer are skipped.

Frames: ``sampler`` "tsn" (T segments) or "window" (T frames ``stride`` apart; sampling.py); train-time
``augment`` (transforms.Augmentation) is off unless given.
Train-time randomness is reproducible: frame offsets and augmentation draws come from ``(seed, epoch, index)``;
call ``ds.set_epoch(e)`` each epoch (as with ``DistributedSampler``) for fresh offsets.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from weightspace.data.cache import FrameCache
from weightspace.data.classnames import check_labels, load_classnames
from weightspace.data.decode import FrameSource, VideoReadError, open_source
from weightspace.data.lists import read_list
from weightspace.data.sampling import SAMPLERS, sample_train, sample_views, spatial_positions
from weightspace.data.transforms import CLIP_MEAN, CLIP_STD, Augmentation, crop, normalize, resize_short, to_tensor
from weightspace.errors import ConfigError, one_line

MODES = ("train", "test")
UNREADABLE_LIMIT = 0.05  # fraction of videos that may be unreadable before a data set is refused
REPLACEMENT_TRIES = 20  # replacement draws before an unreadable training sample is an error
_SHOWN_FAILURES = 3  # unreadable paths an error message names
PROGRESS_EVERY_S = 10.0  # check_readable logs its progress this often
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    index: int
    path: str
    reason: str


def _remove_log(path: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # forked DataLoader workers must not delete the parent's log
        try:
            os.unlink(path)
        except OSError:
            pass


class VideoDataset(Dataset):
    """Videos (or frame folders) from a list file, labelled with names from a class-name file."""

    def __init__(
        self,
        list_file: str | os.PathLike,
        classnames_file: str | os.PathLike,
        *,
        root: str | os.PathLike | None = None,
        num_frames: int = 8,
        image_size: int = 224,
        mode: str = "train",
        temporal_views: int = 1,
        spatial_crops: int = 1,
        seed: int = 0,
        sampler: str = "tsn",
        stride: int = 16,
        augment: Augmentation = Augmentation(),
        cache_dir: str | os.PathLike | None = None,
        cache_frames: int | None = None,
        mean: tuple[float, float, float] = CLIP_MEAN,
        std: tuple[float, float, float] = CLIP_STD,
    ):
        if mode not in MODES:
            raise ConfigError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
        if num_frames < 1 or image_size < 1 or temporal_views < 1:
            raise ConfigError("num_frames, image_size and temporal_views must be positive")
        try:
            self.crop_positions = spatial_positions(spatial_crops)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if sampler not in SAMPLERS or stride < 1:
            raise ConfigError(f"sampler {sampler!r}, stride {stride}: expected one of {', '.join(SAMPLERS)} and stride >= 1")
        if cache_dir is not None and sampler != "tsn":
            raise ConfigError("cache_dir keeps a subsample of each video's frames: use sampler 'tsn' with a frame cache")
        if cache_dir is not None and spatial_crops != 1:
            raise ConfigError("cache_dir stores square centre crops; use spatial_crops=1 with a frame cache")
        self.list_file = Path(list_file)
        self.classnames_file = Path(classnames_file)
        self.entries = read_list(self.list_file, root)
        self.classnames: list[str] = load_classnames(self.classnames_file)
        check_labels(self.entries, len(self.classnames), self.list_file, self.classnames_file)
        self.num_frames, self.image_size, self.mode = num_frames, image_size, mode
        self.temporal_views = temporal_views if mode == "test" else 1
        self.spatial_crops = spatial_crops if mode == "test" else 1
        self.seed, self.epoch = seed, 0
        self.sampler, self.stride, self.augment = sampler, stride, augment
        self.unreadable: set[int] = set()  # found by check_readable: skipped without another attempt
        self.mean, self.std = tuple(mean), tuple(std)
        fd, self._log = tempfile.mkstemp(prefix="ws-video-failures-", suffix=".tsv")
        os.close(fd)
        weakref.finalize(self, _remove_log, self._log, os.getpid())
        self.cache = None
        if cache_dir is not None:
            frames = cache_frames or max(2 * num_frames, num_frames * self.temporal_views)
            self.cache = FrameCache.ensure(cache_dir, self.list_file, self.entries, image_size=image_size, frames=frames)

    # -- sizes -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    @property
    def num_views(self) -> int:
        return self.temporal_views * len(self.crop_positions) if self.mode == "test" else 1

    @property
    def labels(self) -> list[int]:
        return [e.label for e in self.entries]

    @property
    def clip_shape(self) -> tuple[int, ...]:
        clip = (self.num_frames, 3, self.image_size, self.image_size)
        return (self.num_views, *clip) if self.mode == "test" else clip

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    # -- loading -----------------------------------------------------------------------------------
    def _source(self, index: int) -> FrameSource:
        e = self.entries[index]
        if self.cache is not None:
            return self.cache.source(index, e.path)
        return open_source(e.path, e.num_frames)

    def load(self, index: int) -> torch.Tensor:
        """The normalised clip; raises ``VideoReadError`` when the video cannot be read."""
        src = self._source(index)
        total = src.num_frames()
        size = self.image_size
        if self.mode == "train":
            rng = np.random.default_rng([self.seed, self.epoch, index])
            frames = src.read(sample_train(self.sampler, total, self.num_frames, self.stride, rng))
            return normalize(self.augment(to_tensor(frames), size, rng), self.mean, self.std)
        idx = sample_views(self.sampler, total, self.num_frames, self.stride, self.temporal_views)
        video = resize_short(to_tensor(src.read(idx.reshape(-1))), size)
        video = video.view(self.temporal_views, self.num_frames, *video.shape[1:])
        views = [crop(v, size, pos) for v in video for pos in self.crop_positions]
        return normalize(torch.stack(views), self.mean, self.std)

    def _record(self, index: int, exc: Exception) -> None:
        path = self.entries[index].path
        reason = " ".join(str(exc).split()).removeprefix(f"{path}: ") or type(exc).__name__
        with open(self._log, "a", encoding="utf-8") as fh:
            fh.write(f"{index}\t{path}\t{reason}\n")

    def _try_load(self, index: int) -> torch.Tensor | None:
        if index in self.unreadable:
            return None
        try:
            return self.load(index)
        except (VideoReadError, OSError, ValueError) as exc:
            self._record(index, exc)
            return None

    def __getitem__(self, index: int) -> dict:
        video = self._try_load(index)
        if video is None and self.mode == "train":  # a seeded replacement, the same in every run and worker
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            for _ in range(REPLACEMENT_TRIES):
                index = int(rng.integers(len(self)))
                if (video := self._try_load(index)) is not None:
                    break
            else:
                raise VideoReadError(f"{self.list_file}: {REPLACEMENT_TRIES} replacements for an unreadable video "
                                     "were unreadable too (see check_readable)")
        ok = video is not None
        return {"video": video if ok else torch.zeros(self.clip_shape), "label": self.entries[index].label,
                "index": index, "ok": ok}

    def check_readable(self, limit: float = UNREADABLE_LIMIT) -> list[Failure]:
        """Open every video and decode its first frame; raise when more than ``limit`` of them fail.

        The unreadable ones are returned (and skipped from then on); the error names the first few.
        """
        bad, last = [], time.perf_counter()
        for i in range(len(self)):
            if time.perf_counter() - last > PROGRESS_EVERY_S:
                log.info("%s: checked %d of %d videos (%d unreadable)", self.list_file, i, len(self), len(bad))
                last = time.perf_counter()
            try:
                src = self._source(i)
                src.num_frames()
                src.read([0])
            except (VideoReadError, OSError, ValueError) as exc:
                self._record(i, exc)
                bad.append(i)
        self.skip(bad)
        fails = [f for f in self.failures if f.index in self.unreadable]
        if len(bad) > limit * len(self):
            shown = ", ".join(f"{Path(f.path).name} ({one_line(str(f.reason), 60)})" for f in fails[:_SHOWN_FAILURES])
            more = f" and {len(fails) - _SHOWN_FAILURES} more" if len(fails) > _SHOWN_FAILURES else ""
            raise VideoReadError(f"{self.list_file}: {len(bad)} of {len(self)} videos cannot be read (more than "
                                 f"the {100 * limit:g}% allowed): {shown}{more}")
        return fails

    def skip(self, indices) -> None:
        """Treat these videos as unreadable without trying them (another process's check_readable)."""
        self.unreadable.update(int(i) for i in indices)

    # -- failures ----------------------------------------------------------------------------------
    @property
    def failures(self) -> list[Failure]:
        """Unreadable videos seen so far (by any process), one per index, in index order."""
        seen: dict[int, Failure] = {}
        with open(self._log, encoding="utf-8") as fh:
            for line in fh:
                idx, path, reason = line.rstrip("\n").split("\t", 2)
                seen.setdefault(int(idx), Failure(int(idx), path, reason))
        return [seen[i] for i in sorted(seen)]

    def report_failures(self) -> str:
        """'' when every video was read, else a message listing every unreadable path and why."""
        fails = self.failures
        if not fails:
            return ""
        used = "other samples were used" if self.mode == "train" else "zero clips were used"
        lines = [f"{len(fails)} of {len(self)} videos in {self.list_file} could not be read ({used}):"]
        lines += [f"  {f.path}: {f.reason}" for f in fails]
        return "\n".join(lines)
