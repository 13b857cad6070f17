"""YAML merge recipes: the file form of ``weightspace merge``.

    method: ties
    base: ../ckpts/clip-b16          # paths are relative to this file; hf-hub:ORG/NAME, builtin: stay as is
    inputs: [ft_k400, ft_ssv2]
    params: {density: 0.2, lambda: 1.0}
    include: [visual]                # optional, as are exclude, dtype, missing_in_base, output
    output: merged/ties-k400-ssv2

An input may carry its weight (``weights`` of task-arith, ties, tsv-m, average), which is collected
into ``params.weights`` in input order; inputs without one weigh 1::

    inputs:
      - {path: ft_k400, weight: 0.5}
      - ft_ssv2
"""

from __future__ import annotations

import os
from pathlib import Path

from weightspace.errors import ConfigError
from weightspace.refs import PathRef, parse_ref
from weightspace.yaml_file import read_yaml_mapping

RECIPE_KEYS = ("method", "base", "inputs", "params", "include", "exclude", "dtype", "missing_in_base", "output")
INPUT_KEYS = ("path", "weight")


def _resolve_ref(ref, where: Path, field: str, path: Path) -> str:
    if not isinstance(ref, (str, os.PathLike)) or not str(ref):
        raise ConfigError(f"{path}: {field!r} must be a path or hf-hub: reference, got {ref!r}")
    ref = str(ref)
    parsed = parse_ref(ref, f"{path}: {field!r}")
    if not isinstance(parsed, PathRef):  # hf-hub:, builtin: are not files beside the recipe
        return ref
    return str(where / Path(parsed.path).expanduser())  # an absolute path survives the join


def _patterns(doc: dict, field: str, path: Path) -> list[str]:
    value = doc.get(field) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {field!r} must be a pattern or a list of patterns")
    return value


def _inputs(items: list, where: Path, path: Path) -> tuple[list[str], list | None]:
    """The input references and, if any input gives ``weight``, one weight per input (default 1)."""
    refs, weights = [], []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            unknown = sorted(set(item) - set(INPUT_KEYS))
            if unknown or "path" not in item:
                raise ConfigError(f"{path}: inputs[{i}] must be a path or a mapping with 'path' and optional 'weight'"
                                  + (f" (unknown key {unknown[0]!r})" if unknown else ""))
            refs.append(_resolve_ref(item["path"], where, f"inputs[{i}].path", path))
            weights.append(item.get("weight", 1.0))
        else:
            refs.append(_resolve_ref(item, where, f"inputs[{i}]", path))
            weights.append(None)
    if all(w is None for w in weights):
        return refs, None
    return refs, [1.0 if w is None else w for w in weights]  # checked as the method's 'weights' option


def load_recipe(path: str | os.PathLike) -> dict:
    """Read a recipe into the keyword arguments of ``weightspace.merge.merge`` (``output`` -> ``out``)."""
    path = Path(path)
    doc = read_yaml_mapping(path, "recipe")
    unknown = sorted(set(doc) - set(RECIPE_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown recipe key {unknown[0]!r} (known: {', '.join(RECIPE_KEYS)})")
    if not isinstance(doc.get("method"), str):
        raise ConfigError(f"{path}: 'method' is required (a method name)")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ConfigError(f"{path}: 'inputs' must be a non-empty list of checkpoints")
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: 'params' must be a mapping of option: value")
    where = path.parent
    refs, weights = _inputs(inputs, where, path)
    if weights is not None:
        if "weights" in params:
            raise ConfigError(f"{path}: weights given both per input and in 'params'; give them once")
        params = {**params, "weights": weights}
    return {
        "method": doc["method"],
        "inputs": refs,
        "base": _resolve_ref(doc["base"], where, "base", path) if doc.get("base") is not None else None,
        "params": params,
        "include": _patterns(doc, "include", path),
        "exclude": _patterns(doc, "exclude", path),
        "dtype": doc.get("dtype"),
        "missing_in_base": doc.get("missing_in_base"),
        "out": _resolve_ref(doc["output"], where, "output", path) if doc.get("output") is not None else None,
    }
