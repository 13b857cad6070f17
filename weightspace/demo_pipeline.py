"""The demo's pipeline as data: which runs with which recipe, which merges of which runs, which suite, sweeps.

Read from ``recipes/demo/pipeline.yaml`` (the shipped one, documented there) or a user's copy
(``weightspace demo --pipeline FILE``). Unknown keys, names that point nowhere and missing files are
refused at load, before anything is trained, with one line naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weightspace.errors import ConfigError
from weightspace.options import Options, opt, parse_options
from weightspace.resources import DEMO_PIPELINE, RECIPES, SUITES, shipped
from weightspace.yaml_file import read_yaml_mapping

ZERO_SHOT = "clip"  # the leaderboard row of the CLIP every run starts from


class Run(Options):
    recipe: str = opt(help="training recipe: a file next to the pipeline, else one shipped in recipes/demo")
    world: str | None = opt(None, help="built-in world it trains on (sets data.*); none: the recipe's data")
    what: str = opt("", help="the leaderboard's description")


class Sweep(Options):
    param: str = opt(help="the merge option swept")
    values: list[float] = opt(min_length=1, help="its values")
    objective: str = opt(help="suite benchmark whose score picks the best value")


class Merge(Options):
    method: str = opt(help="merge method (weightspace merge --help lists them)")
    of: list[str] = opt([], help="inputs: runs (their last snapshot) and earlier merges")
    snapshots: str | None = opt(None, help="inputs: every epoch snapshot of this run (instead of `of`)")
    base: bool = opt(False, help="the CLIP the runs start from is the merge's base")
    params: dict[str, Any] = opt({}, help="the method's options")
    params_from_run: dict[str, str] = opt({}, help="options read from the `snapshots` run's recipe: option: dotted key")
    sweep: Sweep | None = opt(None, help="merge at each value, keep the best")
    what: str = opt("", help="the leaderboard's description ({n}: the number of inputs)")

    def description(self, inputs: int) -> str:
        return self.what.replace("{n}", str(inputs))


class Variant(Options):
    of: str = opt(help="the run or merge scored")
    rho: float | None = opt(None, ge=0, le=1, help="CLIP prediction ensembling: weight on the frozen CLIP's logits")
    tfm: bool = opt(False, help="MoTE's temporal feature modulation")
    what: str = opt("", help="the leaderboard's description")


class Pipeline(Options):
    suite: str = opt(help="evaluation suite: a file next to the pipeline, else one shipped in recipes/suites")
    zero_shot: str = opt("zero-shot CLIP", help="the leaderboard's description of the CLIP row")
    quick: dict[str, Any] = opt({}, help="--quick: recipe overrides for every run")
    runs: dict[str, Run] = opt(min_length=1, help="training runs, by name")
    merges: dict[str, Merge] = opt(min_length=1, help="merges, by name, in order (the best goes to the Hub dry run)")
    variants: dict[str, Variant] = opt({}, help="runs or merges scored another way, by name")

    @property
    def sweep_objectives(self) -> list[str]:
        return list(dict.fromkeys(m.sweep.objective for m in self.merges.values() if m.sweep is not None))


@dataclass(frozen=True)
class LoadedPipeline:
    """A pipeline file's content and the files it names, located."""

    source: str
    spec: Pipeline
    recipes: dict[str, Path]  # run name -> recipe file
    suite: Path


def load_pipeline(path: str | Path | None = None) -> LoadedPipeline:
    """The pipeline in ``path`` (default: the shipped one), checked and with its files located."""
    path = Path(path) if path is not None else shipped(*DEMO_PIPELINE)
    source = str(path)
    spec = parse_options(Pipeline, read_yaml_mapping(path, "pipeline"), source=source)
    _check_names(spec, source)
    here = path.resolve().parent
    recipes = {name: _locate(run.recipe, here, (RECIPES, "demo"), f"{source}: runs.{name}.recipe")
               for name, run in spec.runs.items()}
    return LoadedPipeline(source, spec, recipes, _locate(spec.suite, here, SUITES, f"{source}: suite"))


def _locate(value: str, here: Path, folder: tuple[str, ...], where: str) -> Path:
    for candidate in (here / value, shipped(*folder) / value):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"{where} {value!r}: no such file next to the pipeline or in weightspace/{'/'.join(folder)}")


def _check_names(p: Pipeline, source: str) -> None:
    """Every name a merge or variant uses points at a run or an earlier merge; names are unique."""
    seen: set[str] = {ZERO_SHOT}
    for section, names in (("runs", p.runs), ("merges", p.merges), ("variants", p.variants)):
        for name in names:
            if name in seen:
                raise ConfigError(f"{source}: {section}.{name}: the name is taken (by the zero-shot row, a run or a merge)")
            seen.add(name)
    swept: dict[str, str] = {}
    for i, (name, m) in enumerate(p.merges.items()):
        where = f"{source}: merges.{name}"
        earlier = set(p.runs) | set(list(p.merges)[:i])
        if (m.snapshots is None) == (not m.of):
            raise ConfigError(f"{where}: give its inputs as either 'of' or 'snapshots'")
        if m.snapshots is not None and m.snapshots not in p.runs:
            raise ConfigError(f"{where}.snapshots: {m.snapshots!r} is not a run")
        for ref in m.of:
            if ref not in earlier:
                raise ConfigError(f"{where}.of: {ref!r} is not a run or an earlier merge")
        if m.params_from_run and m.snapshots is None:
            raise ConfigError(f"{where}.params_from_run: needs 'snapshots' (the run to read them from)")
        if m.sweep is not None:
            if m.sweep.param in swept:  # both plots would be report/sweep_<param>.png
                raise ConfigError(f"{where}.sweep.param: {swept[m.sweep.param]!r} sweeps {m.sweep.param!r} already")
            swept[m.sweep.param] = name
    for name, v in p.variants.items():
        where = f"{source}: variants.{name}"
        if v.of not in p.runs and v.of not in p.merges:
            raise ConfigError(f"{where}.of: {v.of!r} is not a run or a merge")
        if (v.rho is None) == (not v.tfm):
            raise ConfigError(f"{where}: give one of 'rho' (ensembling) or 'tfm: true'")


def recipe_value(recipe: dict, dotted: str, where: str) -> Any:
    """``recipe["a"]["b"]`` for ``"a.b"``; a missing key names ``where``."""
    value: Any = recipe
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ConfigError(f"{where}: the run's recipe has no key {dotted!r}")
        value = value[part]
    return value
