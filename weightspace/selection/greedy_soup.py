"""Greedy soup (Wortsman et al. 2022, "Model soups", Recipe 1) driven by the evaluator.

Sort the candidates by held-out score; start the soup with the best; for each next candidate, add it
only if the uniform average of the soup plus it scores *strictly* higher on the held-out benchmark.
``greedy_select`` is the algorithm over any scorer; ``greedy_soup`` wires it to an ``Evaluator``
restricted to the suite's held-out benchmark. Trial soups are averaged in memory (``MemoryMerge``, the
engine's own per-key function) and never written; the chosen soup is written by the engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Sequence

from weightspace.errors import ConfigError
from weightspace.eval.evaluator import Evaluator, as_suite
from weightspace.selection.memory_merge import MemoryMerge


@dataclass
class GreedySoupResult:
    ingredients: list
    score: float  # held-out score of the final soup
    history: list[dict] = field(default_factory=list)  # {"candidate", "score", "accepted"} per step
    checkpoint: Path | None = None
    benchmark: str | None = None


def greedy_select(
    candidates: Sequence[Hashable],
    individual: Callable[[Hashable], float],
    soup_score: Callable[[list], float],
) -> GreedySoupResult:
    """The greedy-soup selection; ``soup_score(ingredients)`` scores their uniform average."""
    if not candidates:
        raise ConfigError("greedy soup: no candidates")
    scores = {c: individual(c) for c in candidates}
    ranked = sorted(candidates, key=lambda c: -scores[c] if scores[c] == scores[c] else float("inf"))  # stable: ties keep input order
    soup, best = [ranked[0]], scores[ranked[0]]
    history = [{"candidate": ranked[0], "score": best, "accepted": True}]
    for c in ranked[1:]:
        s = soup_score(soup + [c])
        accepted = s > best  # strictly better only (Wortsman et al. 2022)
        history.append({"candidate": c, "score": s, "accepted": accepted})
        if accepted:
            soup, best = soup + [c], s
    return GreedySoupResult(soup, best, history)


def greedy_soup(
    candidates: Sequence[str | os.PathLike],
    suite,
    *,
    out: str | os.PathLike,
    heldout: str | None = None,
    store=None,
    evaluator: Evaluator | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> GreedySoupResult:
    """Greedy soup of checkpoint folders, scored on the held-out benchmark; the soup is written to ``out``."""
    from weightspace.merge import merge

    if Path(out).exists() and not overwrite:  # fail before the scoring work, not after it
        raise ConfigError(f"{out}: already exists (use overwrite to replace it)")
    full = as_suite(evaluator.suite if evaluator else suite)
    bench = heldout or full.heldout or full.benchmarks[0].name
    evaluator = evaluator or Evaluator(full, store=store, progress=progress)
    only = [bench]  # scored on the held-out benchmark alone (stored as the sub-suite <suite>:<bench>)
    refs = [str(c) for c in candidates]

    def soup_score(ingredients: list) -> float:
        return MemoryMerge("average", ingredients, None, {}, None, None).scored(evaluator, record=False,
                                                                                benchmarks=only).score(bench)

    result = greedy_select(refs, lambda c: evaluator.score(c, bench, benchmarks=only), soup_score)
    result.benchmark = bench
    result.checkpoint = merge("average", result.ingredients, out=out, overwrite=overwrite, progress=False)
    return result
