"""Training strategies, by name: ``plain``, ``accumulate`` (plain with gradient accumulation) and ``meta``
(Open-MeDe cross-batch meta-optimisation)."""

from weightspace.train.strategies.base import STRATEGIES, Strategy
from weightspace.train.strategies import accumulate, meta, plain  # noqa: F401,E402  (each registers itself)


def get_strategy(name: str) -> type[Strategy]:
    return STRATEGIES.get(name)


def available_strategies() -> list[str]:
    return STRATEGIES.names()


__all__ = ["Strategy", "available_strategies", "get_strategy"]
