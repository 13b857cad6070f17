"""The main job end to end on the built-in world: ``weightspace demo``.

1. worlds + the tiny CLIP (``weightspace.data.synthetic``, cached);
2. training from ``recipes/demo``: ``plain`` and ``meta`` on source_a (epoch snapshots + online GWA), and
   ``plain`` on every other source world (the task vectors for task arithmetic);
3. merges: offline GWA over each run's snapshots, WiSE-FT of the meta GWA with the tiny CLIP, a task
   arithmetic λ sweep across the source models (λ chosen on the sources' validation sets, never on the
   target), TIES across the same models;
4. every model and merge scored on ``recipes/suites/demo.yaml`` (base-to-novel, zero-shot target,
   out-of-context, sources), plus CLIP prediction ensembling of the meta GWA;
5. leaderboard, a report folder (markdown + PNG plots) and a Hub dry-run folder for the best merge.

Every step is cached in the output folder: re-running the command skips finished steps (training
resumes mid-run). ``quick=True`` runs the same pipeline on miniature worlds with short training (tests).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from weightspace.atomic import claim_dir, write_text
from weightspace.data.synthetic import BUILTIN
from weightspace.errors import ConfigError
from weightspace.resources import RECIPES, SUITES, shipped

# training runs: name -> (recipe in recipes/demo, world it trains on)
RUNS = {"plain": ("plain.yaml", "source_a"), "meta": ("meta.yaml", "source_a"),
        "source_b": ("source_b.yaml", "source_b"), "source_c": ("source_c.yaml", "source_c")}
LAMBDAS = tuple(round(0.1 * i, 1) for i in range(1, 11))  # task-arithmetic sweep 0.1..1.0
WISE_FT_ALPHA = 0.5  # Open-VCLIP's test-time patching ratio for B/16 (seed_methods §2.3)
RHO = 0.5  # prediction-ensemble weight on frozen CLIP logits
QUICK_TRAIN = {"epochs": 2, "batch_size": 4, "data.num_frames": 4, "state_every": 2,
               "gwa.mu": 1.5, "gwa.sigma": 1.0}


@dataclass
class DemoResult:
    out: Path
    report: Path
    leaderboard_png: Path
    best_merge: str
    hub_dry_run: Path
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> benchmark -> score
    findings: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0


def _step(console, title: str) -> None:
    console.rule(f"[bold]{title}")


def _worlds_and_clip(cache_root, seed: int, quick: bool, progress: bool):
    from weightspace.data.synthetic import ensure_tiny_clip, ensure_worlds, tiny_specs
    from weightspace.data.synthetic.tiny_clip import PretrainConfig

    specs = tiny_specs() if quick else None
    worlds = ensure_worlds(cache_root, seed, specs=specs, progress=progress)
    config = PretrainConfig(seed=seed, steps=40, pool_videos=120, batch_size=32) if quick else None
    clip = ensure_tiny_clip(cache_root, seed, config=config, worlds=worlds, progress=progress)
    return worlds, clip


def demo_suite(worlds, out: Path) -> Path:
    """``recipes/suites/demo.yaml`` pointed at these worlds; splits of worlds that don't exist are dropped."""
    doc = yaml.safe_load(shipped(*SUITES, "demo.yaml").read_text(encoding="utf-8"))

    def exists(split: dict) -> bool:
        return split["list"][len(BUILTIN):].partition("/")[0] in worlds

    def resolve(split: dict) -> dict:
        return {**split, **{k: str(worlds.resolve(split[k])) for k in ("list", "classnames")}}

    for bench in doc["benchmarks"]:
        if "splits" in bench:
            bench["splits"] = [resolve(s) for s in bench["splits"] if exists(s)]
        for part in ("base", "novel", "in_context", "out_of_context"):
            if part in bench:
                bench[part] = resolve(bench[part])
    path = out / "suite.yaml"
    write_text(path, yaml.safe_dump(doc, sort_keys=False))
    return path


def _train_all(worlds, clip: Path, out: Path, quick: bool, progress: bool) -> dict:
    from weightspace.train import train

    results = {}
    for name, (recipe, world) in RUNS.items():
        if world not in worlds:
            continue
        w = worlds[world]
        overrides = {"model.init": str(clip), "data.train": str(w.list_file("train")),
                     "data.classnames": str(w.classnames_file("train")), "output": str(out / "train" / name)}
        if quick:
            overrides.update(QUICK_TRAIN)
        results[name] = train(shipped(RECIPES, "demo", recipe), overrides, progress=progress)
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
    ax.set_title("demo training runs")
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


def _findings(scored: dict, sources: list[str], ta_name: str) -> dict:
    """The two questions the demo answers, from the measured scores (fractions)."""
    ooc = {k: scored[k].value("ooc", "out_of_context", "top1") for k in ("plain", "plain_gwa", "meta", "meta_gwa")}
    target = {k: scored[k].benchmark_score("target") for k in [*sources, ta_name]}
    return {
        "ooc_top1": ooc,
        "meta_gwa_beats_plain_ooc": ooc["meta_gwa"] > ooc["plain"],
        "target_top1": target,
        "task_arithmetic_wins": all(target[ta_name] > target[s] for s in sources),
    }


def _report(out: Path, names: dict, scored: dict, findings: dict, sweep, board_png: Path, loss_png: Path,
            best: str, hub_dir: Path, seconds: float) -> Path:
    report = out / "report"
    benches = [b for b, _ in next(iter(scored.values())).benchmarks()]
    rows = sorted(scored.items(), key=lambda kv: -kv[1].score())
    table = _md_table(["model", "what it is", *benches, "mean"],
                      [[k, names[k], *(100 * r.benchmark_score(b) for b in benches), 100 * r.score()] for k, r in rows])
    ooc, tgt = findings["ooc_top1"], findings["target_top1"]
    lines = [
        "# weightspace demo report", "",
        f"Built-in world, tiny CLIP, CPU. Wall time {seconds / 60:.1f} min. Scores are top-1 / harmonic means in %,",
        "primary score per benchmark (b2n: HM of base and novel; target: zero-shot top-1 on the held-out world;",
        "ooc: HM of in-context and out-of-context top-1; sources: mean top-1 over the source validation sets).", "",
        table, "",
        "## Findings", "",
        f"- Out of context (top-1): plain {100 * ooc['plain']:.1f}, plain+GWA {100 * ooc['plain_gwa']:.1f}, "
        f"meta {100 * ooc['meta']:.1f}, meta+GWA {100 * ooc['meta_gwa']:.1f} -> meta+GWA "
        f"{'beats' if findings['meta_gwa_beats_plain_ooc'] else 'does not beat'} plain fine-tuning out of context.",
        "- Held-out target (zero-shot top-1): " + ", ".join(f"{k} {100 * v:.1f}" for k, v in tgt.items())
        + f" -> task arithmetic {'beats' if findings['task_arithmetic_wins'] else 'does not beat'} every single source model.",
        f"- Task-arithmetic λ chosen on the sources' validation sets: {sweep.best.value:g}.",
        f"- Best merge (suite mean): `{best}`; Hub dry-run folder: `{hub_dir}`.", "",
        "## Plots", "",
        f"![leaderboard]({board_png.name})", f"![loss curves]({loss_png.name})", f"![lambda sweep]({Path(sweep.plot).name})", "",
    ]
    path = report / "report.md"
    write_text(path, "\n".join(lines))
    return path


def run_demo(out: str | Path = "runs/demo", *, cache_root: str | Path | None = None, seed: int = 0,
             quick: bool = False, progress: bool = True, console=None) -> DemoResult:
    """Run the whole demo into ``out`` (re-runnable: finished steps are skipped)."""
    import shutil

    from rich.console import Console

    from weightspace.eval.evaluator import Evaluator
    from weightspace.eval.leaderboard import leaderboard, plot_png, render, write_csv, write_json_file
    from weightspace.eval.results import write_eval_results
    from weightspace.eval.store import ResultsStore
    from weightspace.eval.sweep import run_sweep
    from weightspace.hub.push import push

    console = console or Console()
    t0 = time.perf_counter()
    out = Path(out)
    claim_dir(out)
    shipped(RECIPES, "demo")

    _step(console, "1/5 built-in world and tiny CLIP")
    worlds, clip = _worlds_and_clip(cache_root, seed, quick, progress)
    suite = demo_suite(worlds, out)

    _step(console, "2/5 training (plain, meta, one model per source world)")
    runs = _train_all(worlds, clip, out, quick, progress)
    sources = [n for n in RUNS if n not in ("meta",) and n in runs]  # plain = the source_a model
    finals = {n: str(runs[n].snapshots[-1]) for n in runs}

    _step(console, "3/5 merging")
    merges = out / "merges"
    refs = {"clip": str(clip), **finals}
    names = {"clip": "tiny CLIP, zero-shot", "plain": "plain fine-tuning, last epoch",
             "meta": "Open-MeDe meta, last epoch", "source_b": "plain on source_b", "source_c": "plain on source_c"}
    for run in ("plain", "meta"):
        refs[f"{run}_gwa"] = _merge_once("gwa", runs[run].snapshots, merges / f"{run}_gwa",
                                         params=_gwa_params(runs[run]), progress=progress)
        names[f"{run}_gwa"] = f"GWA over {run} snapshots"
    refs["meta_gwa_wiseft"] = _merge_once("wise-ft", [refs["meta_gwa"]], merges / "meta_gwa_wiseft", base=str(clip),
                                          params={"alpha": WISE_FT_ALPHA}, progress=progress)
    names["meta_gwa_wiseft"] = f"WiSE-FT(meta GWA, CLIP), alpha={WISE_FT_ALPHA}"
    store = ResultsStore(out / "results.sqlite")
    evaluator = Evaluator(suite, store=store, progress=progress)
    source_models = [finals[s] for s in sources]
    sweep = run_sweep("task-arith", source_models, base=str(clip), param="lambda", values=LAMBDAS, suite=suite,
                      out_dir=merges / "task_arith_sweep", objective="sources", store=store, evaluator=evaluator,
                      progress=progress)
    refs["task_arith"] = str(sweep.best.checkpoint)
    names["task_arith"] = f"task arithmetic over {len(sources)} sources, lambda={sweep.best.value:g}"
    refs["ties"] = _merge_once("ties", source_models, merges / "ties", base=str(clip), params={"density": 0.2},
                               progress=progress)
    names["ties"] = f"TIES over {len(sources)} sources, density 0.2"

    _step(console, "4/5 scoring every model and merge")
    scored = {k: evaluator.evaluate(v, label=k) for k, v in refs.items()}
    scored["meta_gwa_ens"] = evaluator.evaluate(refs["meta_gwa"], rho=RHO, clip_base=str(clip), label="meta_gwa")
    names["meta_gwa_ens"] = f"meta GWA + CLIP prediction ensemble, rho={RHO}"
    for k, r in scored.items():
        if k != "meta_gwa_ens":
            write_eval_results([r], out / "eval" / f"{k}.json")

    _step(console, "5/5 leaderboard, report, Hub dry run")
    boards = leaderboard(store, suite=evaluator.suite.name)
    for b in boards:
        console.print(render(b))
    report = out / "report"
    write_csv(boards, report / "leaderboard.csv")
    write_json_file(boards, report / "leaderboard.json")
    board_png = report / "leaderboard.png"
    plot_png(boards, board_png)
    loss_png = _loss_curves(runs, report / "loss_curves.png")
    shutil.copyfile(sweep.plot, report / Path(sweep.plot).name)
    merge_keys = ("plain_gwa", "meta_gwa", "meta_gwa_wiseft", "task_arith", "ties")
    best = max(merge_keys, key=lambda k: scored[k].score())
    hub_dir = out / "hub_dry_run"
    push(refs[best], f"weightspace-demo/{best.replace('_', '-')}", dry_run_dir=hub_dir, overwrite=True,
         license="mit",  # everything in the demo (world, tiny CLIP, merges) is generated by weightspace (MIT)
         eval_results=[str(out / "eval" / f"{best}.json")])
    findings = _findings(scored, sources, "task_arith")
    seconds = time.perf_counter() - t0
    report_md = _report(out, names, scored, findings, sweep, board_png, loss_png, refs[best], hub_dir, seconds)
    console.print(f"report: {report_md}\nbest merge: {best} ({refs[best]})\nHub dry run: {hub_dir}\n"
                  f"total {seconds / 60:.1f} min")
    return DemoResult(out, report_md, board_png, best, hub_dir,
                      {k: {b: r.benchmark_score(b) for b, _ in r.benchmarks()} for k, r in scored.items()},
                      findings, seconds)


def _gwa_params(run) -> dict:
    """The GWA the trainer ran online (its resolved recipe's mu/sigma/include_base), done offline."""
    from weightspace.checkpoint import open_checkpoint

    gwa = open_checkpoint(run.snapshots[-1]).meta["provenance"]["recipe"]["gwa"]
    return {k: gwa[k] for k in ("mu", "sigma", "include_base")}
