"""What an evaluation produces: score rows, and the ``eval_results.json`` document.

Row metrics are ``top1``/``top5``/``hm`` (fractions in [0, 1]); per-split rows also carry ``n``
(videos scored) and ``missing`` (videos that could not be read: reported, never silently scored).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

from weightspace.atomic import write_json
from weightspace.eval.protocols import get_protocol


@dataclass
class Row:
    protocol: str
    benchmark: str
    split: str
    metric: str
    value: float
    n: int | None = None
    missing: int | None = None


@dataclass
class EvalResult:
    """All scores of one checkpoint (or one prediction-ensemble variant of it) on one suite."""

    ref: str
    sha256: str
    suite: str
    suite_hash: str
    rows: list[Row]
    variant: str = ""  # "" or e.g. "ens(rho=0.5,clip=1a2b3c4d5e6f)" for prediction ensembling
    info: dict = field(default_factory=dict)  # method, params, parents (from the checkpoint's metadata)
    from_store: bool = False  # True when the store answered and no model ran
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)  # unreadable videos (not kept in the store)

    def value(self, benchmark: str, split: str, metric: str) -> float:
        for r in self.rows:
            if (r.benchmark, r.split, r.metric) == (benchmark, split, metric):
                return r.value
        raise KeyError(f"{benchmark}/{split}/{metric}")

    def benchmarks(self) -> list[tuple[str, str]]:
        """(benchmark, protocol) in suite order."""
        seen: dict[str, str] = {}
        for r in self.rows:
            seen.setdefault(r.benchmark, r.protocol)
        return list(seen.items())

    def benchmark_score(self, benchmark: str) -> float:
        """The protocol's primary score (HM for base-to-novel / out-of-context, mean top-1 for cross-dataset)."""
        proto = dict(self.benchmarks())[benchmark]
        split, metric = get_protocol(proto).primary
        return self.value(benchmark, split, metric)

    def score(self, benchmark: str | None = None) -> float:
        """One benchmark's primary score, or the mean of all benchmarks' primary scores."""
        if benchmark is not None:
            return self.benchmark_score(benchmark)
        vals = [self.benchmark_score(b) for b, _ in self.benchmarks()]
        return sum(vals) / len(vals) if vals else math.nan

    @property
    def missing(self) -> int:
        return sum(r.missing or 0 for r in self.rows if r.metric == "top1" and r.missing is not None)

    def to_json(self) -> dict:
        rows = []
        for r in self.rows:
            d = asdict(r)
            rows.append({k: v for k, v in d.items() if v is not None or k == "value"})
        return {
            "checkpoint": {"ref": self.ref, "sha256": self.sha256},
            "suite": self.suite,
            "suite_hash": self.suite_hash,
            "variant": self.variant,
            "results": rows,
            "scores": {b: self.benchmark_score(b) for b, _ in self.benchmarks()},
            "score": self.score(),
            "missing_videos": self.missing,
            "missing_paths": self.failures[:50],
            "provenance": self.info,
        }


def write_eval_results(results: list[EvalResult], path: str | os.PathLike) -> None:
    """Write ``eval_results.json`` (one result: the object; several: a list of them), atomically."""
    docs = [r.to_json() for r in results]
    write_json(path, docs[0] if len(docs) == 1 else docs)
