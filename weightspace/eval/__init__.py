"""Evaluation: open-vocabulary protocols, caches, a results store, leaderboards, sweeps, greedy soup.

Public API (imported lazily, so ``import weightspace.eval`` does not pull in torch)::

    evaluate(checkpoints, suite, *, store=None, rho=None, clip_base=None, wise_ft_alpha=None, force=False)
        -> list[EvalResult]
    score_checkpoint(ref, suite, store=None, **kw) -> dict          # the eval_results.json document
    Evaluator(suite, store=..., cache_dir=...).evaluate(ref)         # keeps caches across checkpoints
    run_sweep(method, inputs, *, base, param, values, suite, out_dir, ...) -> SweepResult
    greedy_soup(candidates, suite, *, out, ...) -> GreedySoupResult
    load_suite(path), ResultsStore(path), leaderboard(store, suite=None)
"""

from __future__ import annotations

from weightspace._lazy import lazy_exports

_EXPORTS = {
    "evaluate": "evaluator",
    "score_checkpoint": "evaluator",
    "Evaluator": "evaluator",
    "EvalResult": "results",
    "Row": "results",
    "write_eval_results": "results",
    "load_suite": "suite",
    "find_suite": "suite",
    "Suite": "suite",
    "ResultsStore": "store",
    "default_store_path": "store",
    "EvalCache": "cache",
    "run_sweep": "sweep",
    "parse_sweep": "sweep",
    "SweepResult": "sweep",
    "greedy_soup": "greedy_soup",
    "greedy_select": "greedy_soup",
    "GreedySoupResult": "greedy_soup",
    "leaderboard": "leaderboard",
    "Leaderboard": "leaderboard",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
