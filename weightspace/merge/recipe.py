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
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from weightspace.refs import PathRef
from weightspace.schema import FieldError, Schema, ref_value, validate
from weightspace.yaml_file import read_yaml_mapping


def _resolve_ref(ref: str, info: ValidationInfo) -> str:
    if not ref:
        raise ValueError(f"must be a path or hf-hub: reference, got {ref!r}")
    parsed = ref_value(ref)
    if not isinstance(parsed, PathRef):  # hf-hub:, builtin: are not files beside the recipe
        return ref
    return str(info.context["base"] / Path(parsed.path).expanduser())  # an absolute path survives the join


Ref = Annotated[str, AfterValidator(_resolve_ref)]  # a checkpoint path (relative to the recipe) or hf-hub: reference
Patterns = Annotated[list[str], BeforeValidator(lambda value: [value] if isinstance(value, str) else value)]


class InputDoc(Schema):
    """An input with its weight (inputs given as a bare reference weigh 1 when any other has a weight)."""

    path: Ref
    weight: float = 1.0


class RecipeDoc(Schema):
    """A merge recipe file (the schema in the module docstring)."""

    method: str
    base: Ref | None = None
    inputs: list[Ref | InputDoc] = Field(min_length=1)
    params: dict = Field(default_factory=dict)  # the method's options, checked by the method
    include: Patterns = Field(default_factory=list)
    exclude: Patterns = Field(default_factory=list)
    dtype: str | None = None
    missing_in_base: str | None = None
    output: Ref | None = None

    @model_validator(mode="after")
    def _weights_once(self) -> "RecipeDoc":
        if "weights" in self.params and self.weights() is not None:
            raise FieldError("params.weights", "weights given both per input and in 'params'; give them once")
        return self

    def weights(self) -> list[float] | None:
        """One weight per input (default 1) if any input gives ``weight``; checked as the method's 'weights'."""
        if all(isinstance(item, str) for item in self.inputs):
            return None
        return [1.0 if isinstance(item, str) else item.weight for item in self.inputs]


def load_recipe(path: str | os.PathLike) -> dict:
    """Read a recipe into the keyword arguments of ``weightspace.merge.merge`` (``output`` -> ``out``)."""
    path = Path(path)
    doc = validate(RecipeDoc, read_yaml_mapping(path, "recipe"), source=str(path), context={"base": path.parent})
    weights = doc.weights()
    return {
        "method": doc.method,
        "inputs": [item if isinstance(item, str) else item.path for item in doc.inputs],
        "base": doc.base,
        "params": doc.params if weights is None else {**doc.params, "weights": weights},
        "include": doc.include,
        "exclude": doc.exclude,
        "dtype": doc.dtype,
        "missing_in_base": doc.missing_in_base,
        "out": doc.output,
    }
