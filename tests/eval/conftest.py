"""Session fixtures for the eval tests: the tiny world of ``world.py``."""

import importlib.util
from pathlib import Path

import pytest


def load_world():
    """``tests/eval/world.py`` as a module (also used by tests/cli, which is not on this folder's path)."""
    spec = importlib.util.spec_from_file_location("ws_eval_world", Path(__file__).with_name("world.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    return load_world().make_world(tmp_path_factory.mktemp("eval-world"))


@pytest.fixture(scope="session")
def ckpts(tmp_path_factory):
    return load_world().make_checkpoints(tmp_path_factory.mktemp("eval-ckpts"))
