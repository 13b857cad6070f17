"""Evaluation protocols: which splits a benchmark has, and how its per-view logits become scores.

Each protocol is one entry in ``PROTOCOLS``: ``splits(cfg)`` names the splits in a suite's benchmark
entry, ``score`` turns each split's per-view logits and labels into rows (top-k per split, then the
protocol's summary rows from ``summarize``), and ``primary`` is the (split, metric) that ranks models on
that benchmark; ``chance`` is that score for random guessing. Options are declared once in ``Params``
(``weightspace.options``) and set per benchmark in a suite as ``protocol_options``.
Adding a protocol = one splits/summary function pair here + its test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from pydantic import field_validator

from weightspace.errors import ConfigError
from weightspace.eval.metrics import harmonic_mean, mean_std, topk_accuracy
from weightspace.options import Options, describe_options, opt, parse_options

if TYPE_CHECKING:
    import torch

    from weightspace.eval.results import Row

SUMMARY = "all"  # split name of summary rows (HM)


class ProtocolParams(Options):
    """Options every protocol takes (a protocol with more subclasses this)."""

    topk: list[int] = opt([1, 5], min_length=1, help="top-k accuracies reported per split (top-1 ranks models)")

    @field_validator("topk")
    @classmethod
    def _ks(cls, ks: list[int]) -> list[int]:
        if 1 not in ks or any(k < 1 for k in ks) or len(set(ks)) != len(ks):
            raise ValueError("expected distinct positive integers including 1")
        return ks


@dataclass(frozen=True)
class SplitLogits:
    """One split as a protocol sees it: per-view logits [N, V, C], labels [N], and which videos were read [N]."""

    name: str
    logits: "torch.Tensor"
    labels: "torch.Tensor"
    ok: "torch.Tensor"


@dataclass(frozen=True)
class BenchmarkScore:
    rows: list["Row"]
    primary: float


@dataclass(frozen=True)
class Protocol:
    name: str
    splits: Callable[[dict, str], list[tuple[str, dict]]]  # (benchmark cfg, where) -> [(split name, split cfg)]
    summarize: Callable[[dict[str, float]], list[tuple[str, str, float]]]  # top-1 per split -> [(split, metric, value)]
    primary: tuple[str, str]
    Params: type[ProtocolParams] = ProtocolParams  # the options, declared once

    def options(self, given: dict | None = None, *, key: str = "protocol_options", source: str | None = None) -> dict:
        """``given`` with defaults filled in; unknown keys and bad values refused naming ``source`` and ``key``."""
        return parse_options(self.Params, given, key=key, source=source).model_dump()

    def describe(self) -> str:
        return "; ".join(o.line() for o in describe_options(self.Params)) or "no options"

    def score(self, benchmark: str, splits: Sequence[SplitLogits], *, aggregate: str = "sum",
              options: dict | None = None) -> BenchmarkScore:
        """Rows (top-k of each split over the videos that were read, then the summary rows) and the primary score.

        Views are combined by ``aggregate`` after any per-view ensembling the caller did (``ensemble.py``).
        """
        from weightspace.eval.ensemble import aggregate_views
        from weightspace.eval.results import Row

        ks = self.options(options)["topk"]
        rows: list[Row] = []
        top1: dict[str, float] = {}
        for s in splits:
            n_ok = int(s.ok.sum())
            acc = topk_accuracy(aggregate_views(s.logits, aggregate)[s.ok], s.labels[s.ok], ks)
            top1[s.name] = acc[1]
            rows += [Row(self.name, benchmark, s.name, f"top{k}", acc[k], n_ok, len(s.ok) - n_ok) for k in ks]
        rows += [Row(self.name, benchmark, split, metric, value) for split, metric, value in self.summarize(top1)]
        values = {(r.split, r.metric): r.value for r in rows}
        return BenchmarkScore(rows, values[self.primary])

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
