"""Weight-space merging: task vectors, a registry of methods, and a streaming executor.

Public API: ``merge(method, inputs, *, base=None, out, params=None, include=None, exclude=None,
dtype=None, overwrite=False, progress=None, missing_in_base=None, allow_nonfinite=False, device=None,
hash_cache=None) -> Path``, ``get_method(name)``, ``available_methods()``,
``gaussian_weights(epochs, mu, sigma)``, ``load_recipe(path)``.
Importing this package does not import torch.
"""

from weightspace.merge.engine import merge
from weightspace.merge.methods.gwa import gaussian_weights
from weightspace.merge.recipe import load_recipe
from weightspace.merge.registry import MergeMethod, available_methods, get_method, register

__all__ = [
    "MergeMethod", "available_methods", "gaussian_weights", "get_method", "load_recipe", "merge",
    "register",
]
