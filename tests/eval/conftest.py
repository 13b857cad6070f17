"""Session fixtures for the eval tests: the tiny world of ``world.py`` (loaded by the ``eval_world`` fixture)."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def world(eval_world, tmp_path_factory) -> Path:
    return eval_world.make_world(tmp_path_factory.mktemp("eval-world"))


@pytest.fixture(scope="session")
def ckpts(eval_world, tmp_path_factory):
    return eval_world.make_checkpoints(tmp_path_factory.mktemp("eval-ckpts"))
