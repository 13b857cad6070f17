"""Load a helper module of another test folder by path (test folders are not packages), once per session."""

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def load_sibling(relpath: str, name: str):
    """``load_sibling("merge/fakes.py", "merge_fakes")``: the module, shared with any earlier loader of ``name``."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / relpath)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
