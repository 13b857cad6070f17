"""The main job end to end on the built-in world: ``weightspace demo``.

What is trained, merged and scored is the pipeline recipe (``recipes/demo/pipeline.yaml``, or a copy:
``--pipeline FILE``; ``weightspace.demo_pipeline``):

1. worlds + the tiny CLIP (``weightspace.data.synthetic``, cached);
2. the pipeline's training runs, repeated for each of ``seeds`` training seeds (the shipped one: ``plain``,
   ``accumulate`` (Open-MeDe's gradient-accumulation baseline), ``meta`` and ``mote`` on source_a, ``plain``
   on every other source world: the task vectors for task arithmetic);
3. its merges per seed (offline GWA over a run's snapshots, WiSE-FT, a task-arithmetic λ sweep selected on
   the sources' validation sets, never on the target, TIES, Iso-C, TSV-M);
4. every run, merge and variant (CLIP prediction ensembling, temporal feature modulation) scored on its
   suite (the shipped one: base-to-novel, zero-shot target, two out-of-context splits, sources, source_a's
   scene-decorrelated split);
5. a seed leaderboard (mean ± std), findings that claim a difference only beyond two standard errors,
   the world checks, ``report/findings.json``, plots and a Hub dry-run folder for the best merge.

Every step is cached in the output folder: re-running the command skips finished steps (training
resumes mid-run). Progress goes to ``<out>/demo.log`` as well as the terminal. ``quick=True`` runs the same
pipeline on miniature worlds with short training (tests).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from weightspace.atomic import claim_dir, write_json, write_text
from weightspace.data.synthetic.refs import BuiltinRef
from weightspace.demo_pipeline import ZERO_SHOT, LoadedPipeline, load_pipeline, recipe_value
from weightspace.errors import ConfigError
from weightspace.refs import parse_ref
from weightspace.yaml_file import read_yaml_mapping

logger = logging.getLogger(__name__)

# the world checks' targets (issue: motion learnable by fine-tuning, static bias visible zero-shot)
MOTION_GAIN, MOTION_CHANCE_X = 0.25, 3.0
BIAS_CHANCE_X, BIAS_GAP = 2.0, 0.15


@dataclass
class DemoResult:
    out: Path
    report: Path
    leaderboard_png: Path
    best_merge: str
    hub_dry_run: Path
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> benchmark -> mean score over seeds
    findings: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0


def _step(console, title: str) -> None:
    console.rule(f"[bold]{title}")
    logger.info("== %s", title)


def _worlds_and_clip(cache_root, seed: int, quick: bool, progress: bool):
    from weightspace.data.synthetic import ensure_tiny_clip, ensure_worlds, tiny_specs
    from weightspace.data.synthetic.tiny_clip import PretrainConfig

    specs = tiny_specs() if quick else None
    worlds = ensure_worlds(cache_root, seed, specs=specs, progress=progress)
    config = PretrainConfig(seed=seed, steps=40, pool_videos=120, batch_size=32) if quick else None
    clip = ensure_tiny_clip(cache_root, seed, config=config, worlds=worlds, progress=progress)
    return worlds, clip


def demo_suite(suite: Path, worlds, out: Path, only: str | None = None) -> Path:
    """The ``suite`` file pointed at these worlds; splits of worlds that don't exist are dropped. With ``only``,
    just that benchmark (a sweep selects on its objective alone, so it scores nothing else)."""
    doc = read_yaml_mapping(suite, "suite")
    if only:
        doc = {**doc, "name": f"{doc['name']}-{only}", "heldout": only,
               "benchmarks": [b for b in doc["benchmarks"] if b["name"] == only]}

    def exists(split: dict) -> bool:
        ref = parse_ref(split["list"])
        return not isinstance(ref, BuiltinRef) or ref.name in worlds

    def resolve(split: dict) -> dict:
        return {**split, **{k: str(worlds.resolve(split[k])) for k in ("list", "classnames")
                            if isinstance(parse_ref(split[k]), BuiltinRef)}}

    for bench in doc["benchmarks"]:
        if "splits" in bench:
            bench["splits"] = [resolve(s) for s in bench["splits"] if exists(s)]
        for part in ("base", "novel", "in_context", "out_of_context"):
            if part in bench:
                bench[part] = resolve(bench[part])
    path = out / (f"suite_{only}.yaml" if only else "suite.yaml")
    write_text(path, yaml.safe_dump(doc, sort_keys=False))
    return path


def _train_all(pipeline: LoadedPipeline, worlds, clip: Path, out: Path, seed: int, quick: bool, progress: bool) -> dict:
    from weightspace.train import train

    results = {}
    for name, run in pipeline.spec.runs.items():
        overrides = {"model.init": str(clip)}
        if run.world is not None:
            if run.world not in worlds:
                continue
            w = worlds[run.world]
            overrides.update({"data.train": str(w.list_file("train")), "data.classnames": str(w.classnames_file("train"))})
        overrides.update({"output": str(out / "train" / f"seed-{seed}" / name), "seed": seed})
        if quick:
            overrides.update(pipeline.spec.quick)
        label = f"{name} (seed {seed})"
        t0 = time.perf_counter()
        results[name] = train(pipeline.recipes[name], overrides, progress=progress)
        logger.info("train %s: done in %.0f s", label, time.perf_counter() - t0)
    return results


def _merge_once(method: str, inputs: list, out: Path, **kw) -> str:
    """Merge unless ``out`` already holds this merge (the demo is re-runnable)."""
    from weightspace.checkpoint import MANIFEST_NAME
    from weightspace.merge import merge

    if not (out / MANIFEST_NAME).is_file():
        merge(method, [str(i) for i in inputs], out=out, overwrite=out.exists(), **kw)
    return str(out)


def _loss_curves(runs: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from weightspace.atomic import atomic_path
    from weightspace.train.plot import read_metrics

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for name, res in runs.items():
        epochs = [m for m in read_metrics(res.metrics) if m.get("kind") == "epoch"]
        ax.plot([m["epoch"] for m in epochs], [m["loss"] for m in epochs], "o-", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (epoch mean)")
    ax.set_title("demo training runs (seed 0)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def _md_table(header: list[str], rows: list[list]) -> str:
    fmt = [" | ".join(header), " | ".join("---" for _ in header)]
    fmt += [" | ".join(f"{c:.1f}" if isinstance(c, float) else str(c) for c in row) for row in rows]
    return "\n".join(f"| {line} |" for line in fmt)


def _models_of_seed(pipeline: LoadedPipeline, seed: int, worlds, clip: Path, out: Path, evaluator, selectors: dict,
                    quick: bool, progress: bool):
    """Train, merge and score everything that depends on the training seed."""
    from weightspace.selection.sweep import run_sweep

    spec = pipeline.spec
    runs = _train_all(pipeline, worlds, clip, out, seed, quick, progress)
    refs = {n: str(runs[n].snapshots[-1]) for n in runs}
    names = {n: run.what for n, run in spec.runs.items()}
    merges = out / "merges" / f"seed-{seed}"
    sweeps = {}
    t0 = time.perf_counter()
    for key, m in spec.merges.items():
        if m.snapshots is not None:
            inputs = runs[m.snapshots].snapshots if m.snapshots in runs else []
        else:
            inputs = [refs[n] for n in m.of if n in refs]
        if not inputs:
            logger.info("merge %s (seed %d): skipped, none of its inputs was trained", key, seed)
            continue
        params = {**m.params, **_params_from_run(pipeline, key, runs.get(m.snapshots))}
        base = str(clip) if m.base else None
        if m.sweep is not None:
            selector = selectors[m.sweep.objective]
            sweeps[key] = run_sweep(m.method, inputs, base=base, param=m.sweep.param, values=m.sweep.values,
                                    suite=selector.suite, out_dir=merges / f"{key}_sweep", params=params,
                                    objective=m.sweep.objective, store=selector.store, evaluator=selector,
                                    progress=progress)
            refs[key] = str(sweeps[key].best.checkpoint)
            logger.info("merge %s (seed %d): %s = %g", key, seed, m.sweep.param, sweeps[key].best.value)
        else:
            refs[key] = _merge_once(m.method, inputs, merges / key, base=base, params=params, progress=progress)
        names[key] = m.description(len(inputs))
    logger.info("merges (seed %d) done in %.0f s", seed, time.perf_counter() - t0)
    t0 = time.perf_counter()
    scored = {}
    ensembles = {}
    for k, v in refs.items():
        scored[k] = evaluator.evaluate(v, label=f"{k}/seed-{seed}")
        logger.info("scored %s (seed %d): suite mean %.1f%%", k, seed, 100 * scored[k].score())
        for key, variant in spec.variants.items():  # right after its model: the evaluator still holds its logits
            if variant.of == k and variant.rho is not None:
                ensembles[key] = evaluator.evaluate(v, rho=variant.rho, clip_base=str(clip), label=f"{key}/seed-{seed}")
    for key, variant in spec.variants.items():
        if variant.of not in refs:
            continue
        names[key] = variant.what
        if variant.rho is not None:
            scored[key] = ensembles[key]
            continue
        from weightspace.eval.evaluator import Evaluator

        tfm = Evaluator(evaluator.suite.with_tfm(), store=evaluator.store, cache=evaluator.cache, progress=progress)
        scored[key] = tfm.evaluate(refs[variant.of], label=f"{key}/seed-{seed}")
    logger.info("scoring (seed %d) done in %.0f s", seed, time.perf_counter() - t0)
    return runs, refs, names, scored, sweeps


def chance_levels(suite) -> dict[str, float]:
    """Each benchmark's primary score for uniform random guessing."""
    from weightspace.data.classnames import load_classnames
    from weightspace.eval.protocols import get_protocol

    return {b.name: get_protocol(b.protocol).chance({s.name: len(load_classnames(s.classnames)) for s in b.splits})
            for b in suite.benchmarks}


def _split_stat(results: list, bench: str, split: str):
    from weightspace.eval.leaderboard import Stat

    values = [r.value(bench, split, "top1") for r in results]
    videos = next((row.n for row in results[0].rows if (row.benchmark, row.split, row.metric) == (bench, split, "top1")), None)
    return Stat.of(values), videos


# the comparisons the demo reports: (a, b, benchmark, split, what it asks)
CLAIMS = (
    ("meta_gwa", "plain", "ooc_neutral", "out_of_context", "meta + GWA vs plain fine-tuning, out of context (neutral scenes)"),
    ("meta_gwa", "plain", "ooc_swapped", "out_of_context", "meta + GWA vs plain fine-tuning, out of context (swapped scenes)"),
    ("meta", "accumulate", "ooc_neutral", "out_of_context", "meta vs gradient accumulation (same samples per update), out of context"),
    ("plain_gwa", "plain", "target", "val", "GWA vs the last epoch (plain), held-out target"),
    ("meta_gwa", "meta", "target", "val", "GWA vs the last epoch (meta), held-out target"),
    ("plain", "clip", "decorrelated", "source_a", "plain fine-tuning vs zero-shot, scene-decorrelated source_a (motion learnt)"),
    ("task_arith", "plain", "target", "val", "task arithmetic vs the source_a model, held-out target"),
    ("task_arith", "source_b", "target", "val", "task arithmetic vs the source_b model, held-out target"),
    ("task_arith", "source_c", "target", "val", "task arithmetic vs the source_c model, held-out target"),
)


def _findings(groups: dict, chance: dict, seeds: int) -> dict:
    """``findings.json``: every row's mean/std/n per benchmark, the world checks and the claims (fractions)."""
    from weightspace.eval.leaderboard import Stat, difference, verdict

    rows = {}
    for key, results in groups.items():
        stats = {b: Stat.of([r.benchmark_score(b) for r in results]) for b, _ in results[0].benchmarks()}
        stats["score"] = Stat.of([r.score() for r in results])
        rows[key] = {b: {"mean": st.mean, "std": st.std, "n": st.n} for b, st in stats.items()}
    claims = []
    for a, b, bench, split, what in CLAIMS:
        if a not in groups or b not in groups or bench not in dict(groups[a][0].benchmarks()):
            continue
        (sa, videos), (sb, _) = _split_stat(groups[a], bench, split), _split_stat(groups[b], bench, split)
        diff, se = difference(sa, sb, videos)
        claims.append({"a": a, "b": b, "benchmark": bench, "split": split, "question": what, "a_mean": sa.mean,
                       "b_mean": sb.mean, "difference": diff, "standard_error": se, "videos": videos,
                       "verdict": verdict(diff, se)})
    clip, plain = groups["clip"], groups["plain"]
    zs = _split_stat(clip, "decorrelated", "source_a")[0].mean
    ft = _split_stat(plain, "decorrelated", "source_a")[0].mean
    motion_chance, bias_chance = chance["decorrelated"], chance["ooc_neutral"]  # top-1 / HM of equal top-1 chances
    ic, oc = (_split_stat(clip, "ooc_neutral", s)[0].mean for s in ("in_context", "out_of_context"))
    checks = {
        "motion": {"zero_shot": zs, "fine_tuned": ft, "chance": motion_chance,
                   "meets_target": ft - zs >= MOTION_GAIN and ft >= MOTION_CHANCE_X * motion_chance},
        "static_bias": {"in_context": ic, "ooc_neutral": oc, "chance": bias_chance,
                        "meets_target": oc >= BIAS_CHANCE_X * bias_chance and ic - oc >= BIAS_GAP},
    }
    return {"seeds": seeds, "chance": chance, "rows": rows, "world_checks": checks, "claims": claims}


def _claim_line(c: dict) -> str:
    if c["verdict"] == "no measurable difference":
        outcome = "no measurable difference"
    else:
        outcome = f"{c['a']} is {c['verdict']}"
    return (f"- {c['question']}: {c['a']} {100 * c['a_mean']:.1f} vs {c['b']} {100 * c['b_mean']:.1f} "
            f"(difference {100 * c['difference']:+.1f}, 2 SE = {200 * c['standard_error']:.1f}) -> {outcome}.")


def _report(out: Path, board, findings: dict, chance: dict, sweeps: dict[str, list], board_png: Path, loss_png: Path,
            best: str, hub_dir: Path, seconds: float) -> Path:
    report = out / "report"
    benches = board.benchmarks
    seeds = findings["seeds"]

    def cell(row, col):
        return f"{100 * row[col]:.1f}" + (f" ± {100 * row[col + '_std']:.1f}" if row["n"] > 1 else "")

    table = _md_table(["model", "what it is", "n", *benches, "mean"],
                      [[r["name"], r["method"], r["n"], *(cell(r, b) for b in benches), cell(r, "score")] for r in board.rows]
                      + [["chance", "uniform random guess", "", *(f"{100 * chance[b]:.1f}" for b in benches),
                          f"{100 * sum(chance.values()) / len(chance):.1f}"]])
    motion, bias = findings["world_checks"]["motion"], findings["world_checks"]["static_bias"]
    lines = [
        "# weightspace demo report", "",
        f"Built-in world, tiny CLIP, CPU, {seeds} training seed(s). Wall time {seconds / 60:.1f} min. Scores are top-1 /",
        "harmonic means in %, mean ± std over seeds (the zero-shot CLIP is seed-independent): b2n = HM of base and",
        "novel; target = top-1 on the held-out world; ooc_neutral / ooc_swapped = HM of in-context and out-of-context",
        "top-1 (held-out neutral scenes / another action's scene); sources = mean top-1 over the source validation",
        "sets; decorrelated = top-1 on source_a with every action on every scene equally often.", "",
        table, "",
        "## World checks", "",
        f"- Motion is learnable: on source_a's decorrelated split, zero-shot {100 * motion['zero_shot']:.1f}, plain "
        f"fine-tuning {100 * motion['fine_tuned']:.1f} (chance {100 * motion['chance']:.1f}; target: +25 points and 3x "
        f"chance) -> {'met' if motion['meets_target'] else 'NOT met'}.",
        f"- Static bias: zero-shot tiny CLIP on the target's videos, in context {100 * bias['in_context']:.1f}, on "
        f"neutral scenes {100 * bias['ooc_neutral']:.1f} (chance {100 * bias['chance']:.1f}; target: 2x chance and "
        f"15 points below in context) -> {'met' if bias['meets_target'] else 'NOT met'}.", "",
        "## Findings", "",
        "A difference is claimed only when it exceeds two standard errors of the difference (seed-to-seed spread",
        "plus the binomial sampling error of a top-1 on the split's videos).", "",
        *(_claim_line(c) for c in findings["claims"]),
        *(f"- `{name}`: {runs[0].param} chosen on the {runs[0].objective} benchmark, per seed: "
          f"{', '.join(f'{s.best.value:g}' for s in runs)}." for name, runs in sweeps.items()),
        f"- Best merge (suite mean): `{best}`; Hub dry-run folder: `{hub_dir}`.", "",
        "## Plots", "",
        f"![leaderboard]({board_png.name})", f"![loss curves]({loss_png.name})",
        *(f"![{name} sweep]({Path(runs[0].plot).name})" for name, runs in sweeps.items()), "",
    ]
    path = report / "report.md"
    write_text(path, "\n".join(lines))
    return path


def _log_to(path: Path) -> logging.Handler:
    """Send the library's log (INFO and up) to ``path`` for the duration of the demo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger("weightspace")
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def run_demo(out: str | Path = "runs/demo", *, pipeline: str | Path | None = None, cache_root: str | Path | None = None,
             seed: int = 0, seeds: int = 1, quick: bool = False, progress: bool = True, console=None) -> DemoResult:
    """Run the ``pipeline`` recipe (default: the shipped one) into ``out`` (re-runnable: finished steps are
    skipped); training is repeated with ``seeds`` seeds (``seed``, ``seed + 1``, ...), the world and the tiny
    CLIP come from ``seed``."""
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds}: must be >= 1")
    loaded = load_pipeline(pipeline)
    out = claim_dir(out)
    handler = _log_to(out / "demo.log")
    try:
        return _run(loaded, out, cache_root, seed, seeds, quick, progress, console)
    finally:
        logging.getLogger("weightspace").removeHandler(handler)
        handler.close()


def _run(pipeline: LoadedPipeline, out: Path, cache_root, seed: int, seeds: int, quick: bool, progress: bool,
         console) -> DemoResult:
    import shutil

    from rich.console import Console

    from weightspace.eval.evaluator import Evaluator
    from weightspace.eval.leaderboard import plot_png, render, seed_board, write_csv, write_json_file
    from weightspace.eval.results import write_eval_results
    from weightspace.eval.store import ResultsStore
    from weightspace.hub.push import push

    console = console or Console()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    spec = pipeline.spec

    _step(console, "1/5 built-in world and tiny CLIP")
    worlds, clip = _worlds_and_clip(cache_root, seed, quick, progress)
    suite = demo_suite(pipeline.suite, worlds, out)
    timings["world_and_tiny_clip"] = time.perf_counter() - t0

    store = ResultsStore(out / "results.sqlite")
    evaluator = Evaluator(suite, store=store, progress=progress)
    chance = chance_levels(evaluator.suite)
    selectors = {obj: Evaluator(demo_suite(pipeline.suite, worlds, out, only=obj), store=store, cache=evaluator.cache,
                                progress=progress)
                 for obj in spec.sweep_objectives}
    clip_result = evaluator.evaluate(str(clip), label=ZERO_SHOT)
    per_seed = []
    for s in range(seed, seed + seeds):
        _step(console, f"2-4/5 seed {s}: training ({', '.join(spec.runs)}), merging, scoring")
        t1 = time.perf_counter()
        per_seed.append(_models_of_seed(pipeline, s, worlds, clip, out, evaluator, selectors, quick, progress))
        timings[f"seed_{s}"] = time.perf_counter() - t1
    runs0, refs0, names, _, _ = per_seed[0]
    names = {ZERO_SHOT: spec.zero_shot, **names}
    groups = {ZERO_SHOT: [clip_result], **{k: [p[3][k] for p in per_seed] for k in per_seed[0][3]}}
    for k, r in per_seed[0][3].items():
        if k not in spec.variants or spec.variants[k].rho is None:  # an ensemble's scores are not one checkpoint's
            write_eval_results([r], out / "eval" / f"{k}.json")
    write_eval_results([clip_result], out / "eval" / f"{ZERO_SHOT}.json")

    _step(console, "5/5 leaderboard, report, Hub dry run")
    board = seed_board(evaluator.suite.name, groups, names)
    console.print(render(board))
    report = out / "report"
    write_csv([board], report / "leaderboard.csv")
    write_json_file([board], report / "leaderboard.json")
    board_png = report / "leaderboard.png"
    plot_png([board], board_png)
    loss_png = _loss_curves(runs0, report / "loss_curves.png")
    sweeps = {name: [p[4][name] for p in per_seed] for name in per_seed[0][4]}
    for runs in sweeps.values():
        shutil.copyfile(runs[0].plot, report / Path(runs[0].plot).name)
    mean_score = {r["name"]: r["score"] for r in board.rows}
    merged = [k for k in spec.merges if k in mean_score]
    if not merged:
        raise ConfigError(f"{pipeline.source}: merges: none was made (their inputs' runs were all skipped)")
    best = max(merged, key=lambda k: mean_score[k])
    hub_dir = out / "hub_dry_run"
    push(refs0[best], f"weightspace-demo/{best.replace('_', '-')}", dry_run_dir=hub_dir, overwrite=True,
         license="mit",  # everything in the demo (world, tiny CLIP, merges) is generated by weightspace (MIT)
         eval_results=[str(out / "eval" / f"{best}.json")])
    findings = _findings(groups, chance, seeds)
    seconds = time.perf_counter() - t0
    findings["timings_s"] = {**{k: round(v, 1) for k, v in timings.items()}, "total": round(seconds, 1)}
    write_json(report / "findings.json", findings)
    report_md = _report(out, board, findings, chance, sweeps, board_png, loss_png, refs0[best], hub_dir, seconds)
    logger.info("demo done in %.1f min: %s", seconds / 60, report_md)
    console.print(f"report: {report_md}\nbest merge: {best} ({refs0[best]})\nHub dry run: {hub_dir}\n"
                  f"total {seconds / 60:.1f} min")
    scores = {r["name"]: {b: r[b] for b in board.benchmarks} for r in board.rows}
    return DemoResult(out, report_md, board_png, best, hub_dir, scores, findings, seconds)


def _params_from_run(pipeline: LoadedPipeline, merge: str, run) -> dict:
    """A merge's ``params_from_run``: values of the run's resolved recipe (what its snapshots were trained with)."""
    from weightspace.checkpoint import open_checkpoint

    wanted = pipeline.spec.merges[merge].params_from_run
    if not wanted:
        return {}
    recipe = open_checkpoint(run.snapshots[-1]).meta["provenance"]["recipe"]
    return {option: recipe_value(recipe, dotted, f"{pipeline.source}: merges.{merge}.params_from_run.{option}")
            for option, dotted in wanted.items()}
