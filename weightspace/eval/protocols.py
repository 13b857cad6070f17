"""Evaluation protocols: which splits a benchmark has, and which summary scores they give.

Each protocol is one entry in ``PROTOCOLS``: ``splits(cfg)`` names the splits in a suite's
benchmark entry, ``summarize(scores)`` turns per-split top-1 into summary rows, and ``primary``
is the (split, metric) that ranks models on that benchmark; ``chance`` is that score for random guessing. Every split also reports top-1/top-5.
Adding a protocol = one function pair here + its test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from weightspace.errors import ConfigError
from weightspace.eval.metrics import harmonic_mean, mean_std

SUMMARY = "all"  # split name of summary rows (HM)


@dataclass(frozen=True)
class Protocol:
    name: str
    splits: Callable[[dict, str], list[tuple[str, dict]]]  # (benchmark cfg, where) -> [(split name, split cfg)]
    summarize: Callable[[dict[str, float]], list[tuple[str, str, float]]]  # top-1 per split -> [(split, metric, value)]
    primary: tuple[str, str]

    def chance(self, classes: dict[str, int]) -> float:
        """The primary score of a uniform random guesser, from each split's class count."""
        top1 = {split: 1.0 / n for split, n in classes.items()}
        rows = {(split, metric): v for split, metric, v in self.summarize(top1)}
        rows.update({(split, "top1"): v for split, v in top1.items()})
        return rows[self.primary]


def _need(cfg: dict, key: str, where: str) -> dict:
    value = cfg.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: needs '{key}: {{list: ..., classnames: ...}}'")
    return value


def _base_to_novel_splits(cfg: dict, where: str) -> list[tuple[str, dict]]:
    return [("base", _need(cfg, "base", where)), ("novel", _need(cfg, "novel", where))]


def _base_to_novel_summary(top1: dict[str, float]) -> list[tuple[str, str, float]]:
    # HM of base and novel top-1 (ViFi-CLIP, CVPR 2023, base-to-novel protocol)
    return [(SUMMARY, "hm", harmonic_mean(top1["base"], top1["novel"]))]


def _cross_dataset_splits(cfg: dict, where: str) -> list[tuple[str, dict]]:
    splits = cfg.get("splits")
    if not isinstance(splits, list) or not splits or not all(isinstance(s, dict) for s in splits):
        raise ConfigError(f"{where}: needs 'splits: [{{list: ..., classnames: ...}}, ...]'")
    names = [str(s.get("name", f"split{i + 1}")) for i, s in enumerate(splits)]
    if len(set(names)) != len(names) or {"mean", "std"} & set(names):
        raise ConfigError(f"{where}: split names must be unique and not 'mean'/'std'")
    return list(zip(names, splits))


def _cross_dataset_summary(top1: dict[str, float]) -> list[tuple[str, str, float]]:
    # mean ± std over the official splits (Open-VCLIP: UCF/HMDB 3 splits, K600 3×160 classes)
    m, s = mean_std(list(top1.values()))
    return [("mean", "top1", m), ("std", "top1", s)]


def _out_of_context_splits(cfg: dict, where: str) -> list[tuple[str, dict]]:
    return [("in_context", _need(cfg, "in_context", where)), ("out_of_context", _need(cfg, "out_of_context", where))]


def _out_of_context_summary(top1: dict[str, float]) -> list[tuple[str, str, float]]:
    # HM of in-context and out-of-context top-1 (Open-MeDe-style static-bias summary)
    return [(SUMMARY, "hm", harmonic_mean(top1["in_context"], top1["out_of_context"]))]


def _closed_set_splits(cfg: dict, where: str) -> list[tuple[str, dict]]:
    if "list" not in cfg or "classnames" not in cfg:
        raise ConfigError(f"{where}: closed-set needs 'list' and 'classnames'")
    return [("test", {k: cfg[k] for k in ("list", "classnames", "root", "options") if k in cfg})]


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("base-to-novel", _base_to_novel_splits, _base_to_novel_summary, (SUMMARY, "hm")),
        Protocol("cross-dataset", _cross_dataset_splits, _cross_dataset_summary, ("mean", "top1")),
        Protocol("out-of-context", _out_of_context_splits, _out_of_context_summary, (SUMMARY, "hm")),
        Protocol("closed-set", _closed_set_splits, lambda top1: [], ("test", "top1")),
    )
}


def get_protocol(name: str, where: str = "protocol") -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigError(f"{where}: unknown protocol {name!r} (expected one of {', '.join(PROTOCOLS)})") from None
