"""Test-wide set-up: no network, no user caches or tokens leak into tests."""

import os
import tempfile

# Must happen before huggingface_hub is imported anywhere (it reads these once, at import).
_HF_HOME = tempfile.mkdtemp(prefix="ws-test-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_TOKEN", None)
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Tests never read or fill the user's cache (CI has none): worlds, tiny CLIP, eval caches go here.
os.environ["WEIGHTSPACE_CACHE"] = tempfile.mkdtemp(prefix="ws-test-cache-")
os.environ["WEIGHTSPACE_HOME"] = tempfile.mkdtemp(prefix="ws-test-home-")


import pytest  # noqa: E402

from sibling import load_sibling  # noqa: E402


@pytest.fixture(scope="session")
def eval_world():
    """``tests/eval/world.py`` (tiny mp4 world, suite and checkpoints) as a module, for any test folder."""
    return load_sibling("eval/world.py", "ws_eval_world")


@pytest.fixture(scope="session")
def world(eval_world, tmp_path_factory):
    """The tiny world's suite file (eval and selection tests share one per session)."""
    return eval_world.make_world(tmp_path_factory.mktemp("eval-world"))


@pytest.fixture(scope="session")
def ckpts(eval_world, tmp_path_factory):
    """(base, fine-tunes) checkpoints of the tiny world."""
    return eval_world.make_checkpoints(tmp_path_factory.mktemp("eval-ckpts"))
