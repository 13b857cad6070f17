"""Speed and memory of the streaming merge engine against the naive way (load all, compute, save_file).

Generates five random ViT-B/16-sized checkpoints (open_clip ViT-B-16 shapes, 149.6M parameters,
~600 MB each) in benchmarks/_work, then runs task arithmetic of 4 inputs onto a base, each variant in
a fresh subprocess (wall time of the merge itself, peak RSS of the process from /proc VmHWM), plus the engine with 16
inputs (the 4 files again under other names: distinct paths, each counted as an input). Prints a
table and PASS/FAIL against the targets: engine wall <= 0.7x naive, peak RSS <= 1.2 GB, RSS with 16
inputs within +10% of 4. Needs ~6 GB of disk; the work dir is removed at the end (--keep to keep it).

    .venv/bin/python benchmarks/merge_bench.py [--keep] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
WALL_RATIO_MAX, RSS_MAX_GB, RSS_GROWTH_MAX = 0.7, 1.2, 1.10


def vit_b16_shapes() -> dict[str, tuple[int, ...]]:
    """open_clip ViT-B-16 state-dict shapes (shared/reference/ecosystem.md §1.4): 302 keys, 149,620,737 params."""
    shapes: dict[str, tuple[int, ...]] = {
        "positional_embedding": (77, 512), "text_projection": (512, 512), "logit_scale": (),
        "visual.class_embedding": (768,), "visual.positional_embedding": (197, 768), "visual.proj": (768, 512),
        "visual.conv1.weight": (768, 3, 16, 16), "visual.ln_pre.weight": (768,), "visual.ln_pre.bias": (768,),
        "visual.ln_post.weight": (768,), "visual.ln_post.bias": (768,), "token_embedding.weight": (49408, 512),
        "ln_final.weight": (512,), "ln_final.bias": (512,),
    }
    for prefix, w in (("visual.transformer", 768), ("transformer", 512)):
        for i in range(12):
            p = f"{prefix}.resblocks.{i}."
            shapes.update({
                p + "ln_1.weight": (w,), p + "ln_1.bias": (w,), p + "attn.in_proj_weight": (3 * w, w),
                p + "attn.in_proj_bias": (3 * w,), p + "attn.out_proj.weight": (w, w), p + "attn.out_proj.bias": (w,),
                p + "ln_2.weight": (w,), p + "ln_2.bias": (w,), p + "mlp.c_fc.weight": (4 * w, w),
                p + "mlp.c_fc.bias": (4 * w,), p + "mlp.c_proj.weight": (w, 4 * w), p + "mlp.c_proj.bias": (w,),
            })
    return shapes


def generate(work: Path) -> tuple[Path, list[Path]]:
    import torch

    from weightspace.checkpoint import save_safetensors

    shapes = vit_b16_shapes()
    files = [work / f"ckpt{i}.safetensors" for i in range(5)]
    if all(f.exists() for f in files):
        return files[0], files[1:]
    gen = torch.Generator().manual_seed(0)
    base = {k: torch.randn(s, generator=gen) * 0.02 for k, s in shapes.items()}
    save_safetensors(files[0], base)
    for f in files[1:]:
        save_safetensors(f, {k: v + torch.randn(v.shape, generator=gen) * 1e-3 for k, v in base.items()})
    return files[0], files[1:]


# Each variant runs as `python merge_bench.py --child VARIANT ...` and prints one JSON line.
NAIVE = """
from safetensors.torch import load_file, save_file
sds = [load_file(p) for p in inputs]
base = load_file(base_path)
merged = {k: b + sum(sd[k] - b for sd in sds) for k, b in base.items()}
save_file(merged, out)
"""


def peak_rss_gb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage: its ru_maxrss carries the parent's peak over fork+exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(variant: str, base: str, inputs: list[str], out: str) -> None:
    import resource

    import torch  # noqa: F401  (imported before the clock starts, in both variants)

    from weightspace.merge import merge

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    rss_before = peak_rss_gb()
    c0 = cpu()
    t0 = time.perf_counter()
    if variant == "naive":
        exec(NAIVE, {"inputs": inputs, "base_path": base, "out": out})
    elif variant == "engine":
        merge("task-arith", inputs, base=base, out=out, progress=False)
    elif variant == "io":  # the floor: read every input file once, write one file of the same size
        with open(out, "wb") as fh:
            for p in [base, *inputs]:
                with open(p, "rb") as src:
                    while block := src.read(64 << 20):
                        if p == base:
                            fh.write(block)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "cpu": cpu() - c0, "peak_rss_gb": peak_rss_gb(), "rss_after_import_gb": rss_before}))


def run(variant: str, base: Path, inputs: list[Path], out: Path, repeat: int) -> dict:
    """Best (minimum) wall and CPU time of ``repeat`` runs (the least disturbed on a shared machine), worst peak RSS."""
    runs = [run_once(variant, base, inputs, out) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall"])
    return {**best, "cpu": min(r["cpu"] for r in runs), "peak_rss_gb": max(r["peak_rss_gb"] for r in runs),
            "walls": [r["wall"] for r in runs]}


def run_once(variant: str, base: Path, inputs: list[Path], out: Path) -> dict:
    for p in [base, *inputs]:  # same page-cache state for every variant
        with open(p, "rb") as fh:
            while fh.read(64 << 20):
                pass
    proc = subprocess.run([sys.executable, __file__, "--child", variant, str(base), str(out), *map(str, inputs)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.exit(f"{variant} failed:\n{proc.stderr}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--keep", action="store_true", help="keep the generated checkpoints")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--repeat", type=int, default=3, help="runs per variant (best wall time is reported)")
    args = ap.parse_args()
    if args.child:
        variant, base, out, *inputs = args.child
        return child(variant, base, inputs, out)

    from rich.console import Console
    from rich.table import Table

    args.work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        base, inputs = generate(args.work)
        print(f"generated 5 ViT-B/16-sized checkpoints in {time.perf_counter() - t0:.1f} s ({args.work})")
        many = []
        for r in range(4):
            for i, f in enumerate(inputs):
                link = args.work / f"copy{r}_{i}.safetensors"
                if not link.exists():
                    link.symlink_to(f.name)
                many.append(link)
        results = {
            "io floor (read 5, write 1)": run("io", base, inputs, args.work / "io.out", args.repeat),
            "naive, 4 inputs": run("naive", base, inputs, args.work / "naive.safetensors", args.repeat),
            "engine, 4 inputs": run("engine", base, inputs, args.work / "engine4", args.repeat),
            "engine, 16 inputs": run("engine", base, many, args.work / "engine16", args.repeat),
        }
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)

    table = Table(title=f"task arithmetic onto a base, ViT-B/16 size ({os.cpu_count()} CPUs, shared machine)")
    for col in ("variant", "merge wall (s)", "all runs (s)", "merge CPU (s)", "peak RSS (GB)", "RSS after import (GB)"):
        table.add_column(col, justify="right" if col != "variant" else "left")
    for name, r in results.items():
        table.add_row(name, f"{r['wall']:.2f}", " ".join(f"{w:.1f}" for w in r["walls"]), f"{r['cpu']:.2f}",
                      f"{r['peak_rss_gb']:.2f}",
                      f"{r['rss_after_import_gb']:.2f}")
    console = Console(width=120)
    console.print(table)
    console.print(f"load average during the run: {os.getloadavg()[0]:.1f} (other jobs share the {os.cpu_count()} cores)")
    naive, e4, e16 = results["naive, 4 inputs"], results["engine, 4 inputs"], results["engine, 16 inputs"]
    checks = [
        ("engine wall / naive wall", e4["wall"] / naive["wall"], f"<= {WALL_RATIO_MAX}", e4["wall"] / naive["wall"] <= WALL_RATIO_MAX),
        ("engine peak RSS (GB), 4 inputs", e4["peak_rss_gb"], f"<= {RSS_MAX_GB}", e4["peak_rss_gb"] <= RSS_MAX_GB),
        ("engine peak RSS (GB), 16 inputs", e16["peak_rss_gb"], f"<= {RSS_MAX_GB}", e16["peak_rss_gb"] <= RSS_MAX_GB),
        ("peak RSS 16 / 4 inputs", e16["peak_rss_gb"] / e4["peak_rss_gb"], f"<= {RSS_GROWTH_MAX}",
         e16["peak_rss_gb"] / e4["peak_rss_gb"] <= RSS_GROWTH_MAX),
    ]
    for name, value, target, ok in checks:
        console.print(f"{name:34s} {value:6.2f}  (target {target})  {'[green]PASS' if ok else '[red]FAIL'}")
    sys.exit(0 if all(c[3] for c in checks) else 1)


if __name__ == "__main__":
    main()
