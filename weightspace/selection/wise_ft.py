"""WiSE-FT of a checkpoint with its zero-shot CLIP, scored in memory (or written, then scored)."""

from __future__ import annotations

import os

from weightspace.checkpoint import open_checkpoint
from weightspace.errors import ConfigError
from weightspace.eval.evaluator import Evaluator, recorded_base
from weightspace.eval.results import EvalResult
from weightspace.selection.memory_merge import MemoryMerge


def evaluate_wise_ft(evaluator: Evaluator, ref: str | os.PathLike, alpha: float, *, clip_base: str | None = None,
                     out: str | os.PathLike | None = None, **kw) -> EvalResult:
    """θ = (1−α)·θ_CLIP + α·θ_ckpt (Wortsman et al. 2022, Eq. 1) scored on ``evaluator``'s suite; written to
    ``out`` by the merge engine if given, else never written. ``kw``: ``Evaluator.evaluate``'s options."""
    base = clip_base or recorded_base(open_checkpoint(ref))
    if base is None:
        raise ConfigError("--wise-ft-alpha needs --clip-base (the checkpoint records no base model)")
    if out is not None:
        from weightspace.merge import merge

        return evaluator.evaluate(merge("wise-ft", [str(ref)], base=str(base), out=out, params={"alpha": alpha},
                                        progress=False), **kw)
    mem = MemoryMerge("wise-ft", [str(ref)], base, {}, None, None)
    return mem.scored(evaluator, {"alpha": alpha}, label=f"wise-ft(alpha={alpha:g}) {ref} + {base}", **kw)
