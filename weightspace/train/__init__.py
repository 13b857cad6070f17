"""Training: ``train(recipe, overrides) -> TrainResult`` behind ``weightspace train``.

Strategies (``plain``, ``meta`` = Open-MeDe cross-batch meta-optimisation) and regularisers (``iwo``,
``rfd``) are registries; every epoch writes a snapshot, an online GWA is written at the end, and
re-running resumes. Modules: ``config`` (recipes), ``trainer`` (the loop), ``components`` (what a run
trains), ``plan`` (step arithmetic), ``output`` (the run folder), ``recipe_diff``, ``resume`` and ``state``
(exact resume), ``provenance``, ``metrics``, ``plot``, ``learner`` (loss and backward), ``strategies/``,
``regularisers/``, ``gwa``, ``data``, ``optim``, ``distributed``, ``progress``. Imported lazily:
``import weightspace.train`` is cheap.
"""

from __future__ import annotations

from weightspace._lazy import lazy_exports

_EXPORTS = {
    "train": "trainer",
    "Trainer": "trainer",
    "TrainResult": "output",
    "StepInfo": "trainer",
    "TrainConfig": "config",
    "load_config": "config",
    "OnlineGWA": "gwa",
    "get_strategy": "strategies",
    "available_strategies": "strategies",
    "get_regulariser": "regularisers",
    "available_regularisers": "regularisers",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
