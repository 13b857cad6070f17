"""The resume state: tensors in safetensors, everything else in JSON, written atomically. No pickle.

``OUTPUT/state/`` holds ``state.safetensors`` (trainable parameters, optimiser moments, GWA running
average, RNG byte states, sampler permutation) and ``state.json`` (counters, optimiser hyper-parameters,
Python/NumPy RNG scalars, GWA weights so far, the recipe). Nested Python structures (an optimiser's
``state_dict``) are flattened: each tensor goes to safetensors under its path and is replaced in the
JSON by ``{"__tensor__": key}``; dicts with non-string keys are stored as ``{"__items__": [[k, v], ...]}``.
The folder is replaced with ``atomic_dir(overwrite=True)``, so a kill leaves the previous state or the
new one, never a mixture.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from weightspace.atomic import atomic_dir
from weightspace.errors import WeightspaceError
from weightspace.safetensors_io import code_of, write_streaming

TENSORS_NAME = "state.safetensors"
DOC_NAME = "state.json"
STATE_FORMAT = 1


def flatten(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able copy of ``obj`` with tensors moved into ``tensors`` (keyed by their path)."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: flatten(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[k, flatten(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in the resume state")


def unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        if set(obj) == {"__items__"}:
            return {k: unflatten(v, tensors) for k, v in obj["__items__"]}
        return {k: unflatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    return obj


def rng_state() -> dict:
    """Python, NumPy and torch (CPU + CUDA) generator states of this process."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"].to(torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([t.to(torch.uint8) for t in state["cuda"]])


def save_state(folder: str | Path, tree: dict) -> None:
    """Write a nested structure of tensors and plain values atomically to ``folder``."""
    tensors: dict[str, torch.Tensor] = {}
    doc = {"format": STATE_FORMAT, "tree": flatten(tree, "s", tensors)}
    specs = [(k, code_of(v.dtype), tuple(v.shape)) for k, v in tensors.items()]
    with atomic_dir(folder, overwrite=True) as tmp:
        write_streaming(tmp / TENSORS_NAME, specs, tensors.values(), metadata={"format": "pt"})
        (tmp / DOC_NAME).write_text(json.dumps(doc) + "\n", encoding="utf-8")


def load_state(folder: str | Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        doc = json.loads((folder / DOC_NAME).read_text(encoding="utf-8"))
        tensors = load_file(str(folder / TENSORS_NAME))
    except (OSError, ValueError, SafetensorError) as exc:
        raise WeightspaceError(f"{folder}: unreadable resume state ({exc}); delete it to start over") from None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if fmt != STATE_FORMAT:
        raise WeightspaceError(f"{folder}: resume state format {fmt!r} is not supported")
    try:
        return unflatten(doc["tree"], tensors)
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightspaceError(f"{folder}: corrupt resume state (missing {exc}); delete it to start over") from None
