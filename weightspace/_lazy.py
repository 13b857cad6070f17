"""Lazy package exports: a name resolves to its submodule on first access, so importing a package stays
cheap (no torch) and ``weightspace --help`` stays fast."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], object]:
    """A module-level ``__getattr__`` importing ``package.<exports[name]>`` when ``name`` is first used."""

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
