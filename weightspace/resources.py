"""Files that ship inside the package (recipes, suites, model-card templates), found with importlib.resources.

Every lookup goes through ``shipped`` so the commands work the same from a source checkout, an editable
install or a wheel, whatever the current folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from weightspace.errors import ConfigError

RECIPES = "recipes"
SUITES = (RECIPES, "suites")
DEMO_PIPELINE = (RECIPES, "demo", "pipeline.yaml")
MODEL_CARDS = "model_cards"


def _root() -> Path:
    root = files("weightspace")
    if not isinstance(root, Path):  # a zip import: the commands read these files from disk
        raise ConfigError(f"weightspace is installed as an archive ({root}); install it as a folder (pip install)")
    return root


def shipped(*parts: str) -> Path:
    """The shipped file or folder ``parts`` (e.g. ``shipped("recipes", "demo")``); missing -> ConfigError."""
    path = _root().joinpath(*parts)
    if not path.exists():
        raise ConfigError(f"{'/'.join(parts)}: not found in the installed weightspace package ({path}); "
                          "reinstall weightspace")
    return path
