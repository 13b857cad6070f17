"""The one YAML reader for recipes, suites and ``--set`` values: bounded, and numbers read as numbers.

- Aliases may not expand a document beyond ``MAX_NODES`` nodes (a "billion laughs" bomb is refused after
  composing, before anything is built or printed), and recursive aliases are refused.
- Floats follow YAML 1.2: ``1e-4`` and ``5e-1`` are numbers (YAML 1.1, PyYAML's default, reads them as
  strings), so a value means the same in a recipe and on the command line, for every command.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from weightspace.errors import ConfigError
from weightspace.text_file import read_user_text

MAX_NODES = 100_000  # expanded scalars + collections; real recipes and suites have a few hundred

# YAML 1.2 core-schema floats (an exponent without a dot included); ints still go to the int resolver
_FLOAT = re.compile(r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _expanded_size(node: yaml.Node, where: str) -> int:
    """Nodes in the document once aliases are expanded; shared nodes are counted per use, cycles refused."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise ConfigError(f"{where}: recursive YAML alias")
        open_.add(key)
        if isinstance(n, yaml.SequenceNode):
            total = 1 + sum(size(c) for c in n.value)
        elif isinstance(n, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in n.value)
        else:
            total = 1
        open_.discard(key)
        sizes[key] = min(total, MAX_NODES + 1)  # saturate: the count itself stays small
        return sizes[key]

    return size(node)


def _problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML{at} ({problem})"


def _load(text: str, where: str):
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, where) > MAX_NODES:
            raise ConfigError(f"{where}: YAML aliases expand beyond {MAX_NODES:,} nodes (refusing an alias bomb)")
        return loader.construct_document(node)
    except RecursionError:
        raise ConfigError(f"{where}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml(text: str, where: str):
    """Parse one YAML document; ``where`` (a file, ``--set key``) names it in one-line ConfigErrors."""
    try:
        return _load(text, where)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: {_problem(exc)}") from None


def parse_value(text: str, where: str):
    """A ``--set``-style value as YAML would read it (numbers, bools, lists); text that is not YAML stays a string."""
    try:
        return _load(text, where)
    except yaml.YAMLError:
        return text


def read_yaml_mapping(path: str | os.PathLike, what: str) -> dict:
    """The YAML mapping in ``path``; unreadable files, invalid YAML or a non-mapping -> ConfigError.

    ``what`` names the document in messages ("recipe", "suite", ...).
    """
    path = Path(path)
    doc = load_yaml(read_user_text(path, what), str(path))
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a {what} must be a YAML mapping")
    return doc
