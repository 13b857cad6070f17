"""Evaluation: open-vocabulary protocols, caches, a results store, leaderboards (sweeps and soups: ``selection``).

Public API (imported lazily, so ``import weightspace.eval`` does not pull in torch)::

    evaluate(checkpoints, suite, *, store=None, rho=None, clip_base=None, force=False) -> list[EvalResult]
    score_checkpoint(ref, suite, store=None, **kw) -> dict          # the eval_results.json document
    Evaluator(suite, store=..., cache_dir=...).evaluate(ref)         # keeps caches across checkpoints
    get_protocol(name).score(benchmark, split_logits) -> BenchmarkScore   # rows + the primary score
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
    "get_protocol": "protocols",
    "leaderboard": "leaderboard",
    "Leaderboard": "leaderboard",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
