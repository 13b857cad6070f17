"""``weightspace merge``: merge checkpoints with a registered method, or run a YAML recipe."""

from __future__ import annotations

from typing import List, Optional

import typer

from weightspace.cli.common import console, parse_assignments
from weightspace.errors import ConfigError

_RECIPE_SUFFIXES = (".yaml", ".yml")


def merge(
    inputs: List[str] = typer.Argument(..., help="Input checkpoints (folder, .safetensors, .pt, hf-hub:ORG/NAME), "
                                            "or one recipe .yaml."),
    method: Optional[str] = typer.Option(None, "--method", "-m", help="Merge method (listed above, with its options)."),
    base: Optional[str] = typer.Option(None, "--base", "-b", help="Base (pre-trained) checkpoint."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Output checkpoint folder (must not exist)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Method option KEY=VALUE (repeatable), e.g. lambda=0.3."),
    include: Optional[List[str]] = typer.Option(None, "--include", help="Merge only keys matching this glob or tag "
                                                                        "(visual/text/logit_scale/extra); repeatable."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Do not merge keys matching this glob or tag; "
                                                                        "they are copied from the base. Repeatable."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="Output float dtype: float32 | float16 | bfloat16."),
    missing_in_base: Optional[str] = typer.Option(
        None, "--missing-in-base", help="Keys the inputs have but the base lacks (e.g. a temporal head): error "
                                        "(default) | drop | keep:N (take input N's tensor, N from 1)."),
    allow_nonfinite: bool = typer.Option(False, "--allow-nonfinite", help="Write NaN/Inf outputs (or a --dtype "
                                                                          "overflow) with a warning, not an error."),
    device: str = typer.Option("cpu", "--device", help="Where the per-key arithmetic runs: cpu | cuda[:N]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
    eval_suite: Optional[str] = typer.Option(None, "--eval", help="Score the output on this suite right after merging "
                                                                   "(YAML or a name in recipes/suites, e.g. demo)."),
    sweep: Optional[str] = typer.Option(None, "--sweep", help="Merge and score at each value, e.g. lambda=0.1:1.5:0.1 "
                                                              "or alpha=0.3,0.5; the best goes to OUTPUT/<name>=<v>. Needs --eval."),
    store: Optional[str] = typer.Option(None, "--store", help="Results store for --eval/--sweep (default: the evaluator's)."),
    keep_all: bool = typer.Option(False, "--keep-all", help="With --sweep: write every point, not only the best "
                                                            "(points are scored in memory either way)."),
    score_all: bool = typer.Option(False, "--score-all", help="With --sweep: score every point on the whole suite "
                                                              "(default: on the objective, the best on the whole suite)."),
) -> None:
    # the docstring is generated from the method registry below (_help)
    from weightspace.merge import load_recipe, merge as run_merge

    if len(inputs) == 1 and inputs[0].lower().endswith(_RECIPE_SUFFIXES):
        job = load_recipe(inputs[0])
    else:
        bad = [i for i in inputs if i.lower().endswith(_RECIPE_SUFFIXES)]
        if bad:
            raise ConfigError(f"{bad[0]}: a recipe must be the only positional argument")
        job = {"method": None, "inputs": list(inputs), "base": None, "params": {}, "include": [], "exclude": [],
               "dtype": None, "missing_in_base": None, "out": None}
    job["method"] = method or job["method"]
    job["base"] = base or job["base"]
    job["out"] = output or job["out"]
    job["params"] = {**job["params"], **parse_assignments(set_)}
    job["include"] = include or job["include"]
    job["exclude"] = exclude or job["exclude"]
    job["dtype"] = dtype or job["dtype"]
    job["missing_in_base"] = missing_in_base or job["missing_in_base"]
    if not job["method"]:
        raise ConfigError("--method is required (or give a recipe with 'method')")
    if not job["out"]:
        raise ConfigError("-o/--output is required (or give a recipe with 'output')")
    if sweep is not None:
        _sweep(job, sweep, eval_suite, store, keep_all, score_all)
        return
    out = run_merge(job["method"], job["inputs"], base=job["base"], out=job["out"], params=job["params"],
                    include=job["include"], exclude=job["exclude"], dtype=job["dtype"], overwrite=overwrite,
                    missing_in_base=job["missing_in_base"], allow_nonfinite=allow_nonfinite, device=device)
    console.print(f"merged {len(job['inputs'])} input(s) with {job['method']} -> {out}", highlight=False)
    if eval_suite is not None:
        from weightspace.cli.eval import results_table
        from weightspace.eval.evaluator import evaluate

        console.print(results_table(evaluate([out], eval_suite, store=store)[0]))


def _help() -> str:
    """The command's help: usage, then every registered method with its reference and options."""
    from weightspace.merge import available_methods, get_method

    lines = ["Merge INPUTS with --method onto --base into -o; or `weightspace merge RECIPE.yaml`.",
             "Command-line options override the recipe's (--set adds to its params, --include/--exclude replace).",
             "Methods (--method NAME, options with --set KEY=VALUE):"]
    for name in available_methods():
        m = get_method(name)
        lines.append(f"{name}, base {m.base} ({m.reference}): {m.describe()}")
    return "\n\n".join(lines)


merge.__doc__ = _help()


def _sweep(job: dict, spec: str, eval_suite: str | None, store: str | None, keep_all: bool, score_all: bool) -> None:
    """``--sweep NAME=...``: each value scored, the best (``--keep-all``: each) written to OUTPUT/NAME=V."""
    from weightspace.selection.sweep import parse_sweep, run_sweep

    if eval_suite is None:
        raise ConfigError("--sweep needs --eval SUITE (each point is scored)")
    if job["dtype"]:
        raise ConfigError("--sweep does not take --dtype (sweep points keep the inputs' dtype)")
    param, values = parse_sweep(spec)
    if param in job["params"]:
        raise ConfigError(f"--sweep {param}: also given with --set/recipe params; give it once")
    result = run_sweep(job["method"], job["inputs"], base=job["base"], param=param, values=values, suite=eval_suite,
                       out_dir=job["out"], params=job["params"], include=job["include"], exclude=job["exclude"],
                       store=store, write="all" if keep_all else "best", score_all=score_all)
    objective = result.objective or "suite mean"
    for p in result.points:
        console.print(f"{param}={p.value:g}  score({objective})={100 * p.result.score(result.objective):.1f}  "
                      f"{p.checkpoint or '(scored in memory, not written)'}", highlight=False)
    console.print(f"best {param}={result.best.value:g}; plot {result.plot}; summary {result.summary}", highlight=False)
