"""Training regularisers, by name: ``iwo`` (Open-VCLIP), ``rfd`` (FROSTER), ``wmr`` (MoTE)."""

from weightspace.train.regularisers.base import REGULARISERS, Regulariser
from weightspace.train.regularisers import iwo, rfd, wmr  # noqa: F401,E402  (each registers itself)


def get_regulariser(name: str) -> type[Regulariser]:
    return REGULARISERS.get(name)


def available_regularisers() -> list[str]:
    return REGULARISERS.names()


__all__ = ["Regulariser", "available_regularisers", "get_regulariser"]
