"""Selection: merge and evaluation driven together (λ/α sweeps, greedy soups, WiSE-FT scored in memory).

It sits above both ``weightspace.merge`` and ``weightspace.eval``; neither imports it. Public API
(imported lazily, so ``import weightspace.selection`` does not pull in torch)::

    run_sweep(method, inputs, *, base, param, values, suite, out_dir, ...) -> SweepResult
    parse_sweep("lambda=0.1:1.5:0.1") -> ("lambda", [0.1, ..., 1.5])
    greedy_soup(candidates, suite, *, out, ...) -> GreedySoupResult
    evaluate_wise_ft(evaluator, ref, alpha, *, clip_base=None, out=None) -> EvalResult
    MemoryMerge(method, inputs, base, params, include, exclude).state(params)  # a merge never written
"""

from __future__ import annotations

from weightspace._lazy import lazy_exports

_EXPORTS = {
    "run_sweep": "sweep",
    "parse_sweep": "sweep",
    "SweepResult": "sweep",
    "greedy_soup": "greedy_soup",
    "greedy_select": "greedy_soup",
    "GreedySoupResult": "greedy_soup",
    "evaluate_wise_ft": "wise_ft",
    "MemoryMerge": "memory_merge",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
