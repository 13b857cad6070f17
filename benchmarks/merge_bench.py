"""Speed and memory of the streaming merge engine against loading everything (load all, compute, save_file).

Generates five random ViT-B/16-sized checkpoints (open_clip ViT-B-16 shapes, 149.6M parameters,
~600 MB each) in a temporary directory, then runs each variant as a fresh process (``nice -n 5``
is advised on a shared machine): task arithmetic of 4 inputs onto a base, naive vs the engine with
an empty hash cache ("first") and with the inputs hashed before ("repeated"), which computes on numpy
and never imports torch, and the same repeated merge forced onto torch (what that saves); the engine
with 16 inputs (the 4 files again under other names); and iso-c / tsv-m, engine vs a load-everything
run of the same per-key functions. Reports the process wall time (interpreter start to exit, as a user
sees it), the wall and CPU time of the variant's code (its imports included: each variant imports
what it needs, as a user's script or ``weightspace merge`` would; the engine hashes its inputs while
torch is imported), and peak RSS (/proc VmHWM); medians over ``--repeat`` runs.
Targets: first merge <= 1.0x naive process wall, repeated <= 0.8x, peak RSS <= 1.2 GB and within
+10% from 4 to 16 inputs; iso-c / tsv-m no slower than load-everything at <= 1/3 of its peak RSS.
Needs ~6 GB of disk; the work dir is removed at the end (--keep to keep it).

    nice -n 5 .venv/bin/python benchmarks/merge_bench.py [--repeat 3] [--svd-repeat 3] [--keep] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_MAX, REPEATED_MAX, RSS_MAX_GB, RSS_GROWTH_MAX, SVD_WALL_MAX, SVD_RSS_MAX = 1.0, 0.8, 1.2, 1.10, 1.0, 1 / 3


def vit_b16_shapes() -> dict[str, tuple[int, ...]]:
    """open_clip ViT-B-16 state-dict shapes (``open_clip.create_model("ViT-B-16")``): 302 keys, 149,620,737 params."""
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
# The same method's per-key function on fully loaded state dicts: what the engine streams instead.
NAIVE_METHOD = """
from safetensors.torch import load_file, save_file
from weightspace.merge import get_method
from weightspace.merge.registry import InputsInfo, KeyJob
sds = [load_file(p) for p in inputs]
base = load_file(base_path)
m = get_method(method)
p = m.resolve_params({}, InputsInfo(len(sds), True))
merged = {k: m.merge_key(KeyJob(k, [sd[k] for sd in sds], b, p)).contiguous() for k, b in base.items()}
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

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    c0 = cpu()
    t0 = time.perf_counter()
    kind, _, method = variant.partition(":")
    if kind == "naive":
        exec(NAIVE_METHOD if method else NAIVE, {"inputs": inputs, "base_path": base, "out": out, "method": method})
    elif kind.startswith("engine"):
        import weightspace.merge.engine as engine

        if kind == "engine-torch":  # the merge the numpy path replaces: the same arithmetic on torch
            from weightspace.merge.arrays import TorchArrays

            engine.choose_arrays = lambda *args: TorchArrays(engine._resolve_device("cpu"))
        elif kind == "engine2h":
            import weightspace.merge.hashing as hashing

            hashing.HASH_THREADS = 2
        engine.merge(method or "task-arith", inputs, base=base, out=out, progress=False)
    elif kind == "io":  # the floor: read every input file once, write one file of the same size
        with open(out, "wb") as fh:
            for p in [base, *inputs]:
                with open(p, "rb") as src:
                    while block := src.read(64 << 20):
                        if p == base:
                            fh.write(block)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "cpu": cpu() - c0, "peak_rss_gb": peak_rss_gb(), "torch": "torch" in sys.modules}))


def warm(paths: list[Path]) -> None:
    for p in paths:  # same page-cache state for every variant
        with open(p, "rb") as fh:
            while fh.read(64 << 20):
                pass


def run_once(variant: str, base: Path, inputs: list[Path], out: Path, cache: Path) -> dict:
    warm([base, *inputs])
    env = {**os.environ, "WEIGHTSPACE_CACHE": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", variant, str(base), str(out), *map(str, inputs)],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    process_wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"{variant} failed:\n{proc.stderr}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
    return {**res, "process": process_wall}


def summarise(runs: list[dict]) -> dict:
    """Medians of wall and CPU times over the runs, worst peak RSS."""
    return {"process": statistics.median(r["process"] for r in runs), "wall": statistics.median(r["wall"] for r in runs),
            "cpu": statistics.median(r["cpu"] for r in runs), "peak_rss_gb": max(r["peak_rss_gb"] for r in runs),
            "processes": [r["process"] for r in runs]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--keep", action="store_true", help="keep the generated checkpoints")
    ap.add_argument("--work", type=Path, default=None, help="work dir (default: a new temporary dir)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per task-arithmetic variant (medians reported)")
    ap.add_argument("--svd-repeat", type=int, default=3, help="runs per iso-c / tsv-m variant (0: skip them)")
    args = ap.parse_args()
    if args.child:
        variant, base, out, *inputs = args.child
        return child(variant, base, inputs, out)

    from rich.console import Console
    from rich.table import Table

    work = args.work or Path(tempfile.mkdtemp(prefix="ws-merge-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()[0]]
    try:
        t0 = time.perf_counter()
        base, inputs = generate(work)
        print(f"generated 5 ViT-B/16-sized checkpoints in {time.perf_counter() - t0:.1f} s ({work})", flush=True)
        many = []
        for r in range(4):
            for i, f in enumerate(inputs):
                link = work / f"copy{r}_{i}.safetensors"
                if not link.exists():
                    link.symlink_to(f.name)
                many.append(link)
        hashed = work / "cache-warm"
        run_once("engine", base, many, work / "prime", hashed)  # fills the hash cache of the "repeated" runs

        def fresh() -> Path:
            return Path(tempfile.mkdtemp(prefix="cache-", dir=work))

        variants = {  # name: (variant, inputs, cache dir factory); interleaved, one round at a time
            "io floor (read 5, write 1)": ("io", inputs, fresh),
            "naive, 4 inputs": ("naive", inputs, fresh),
            "engine first, 4 inputs": ("engine", inputs, fresh),
            "engine first, 2 hash threads": ("engine2h", inputs, fresh),
            "engine repeated, 4 inputs": ("engine", inputs, lambda: hashed),
            "engine repeated, on torch": ("engine-torch", inputs, lambda: hashed),
            "engine repeated, 16 inputs": ("engine", many, lambda: hashed),
        }
        svd = {f"{who} {m}, 4 inputs": (f"{who}:{m}", inputs, lambda: hashed)
               for m in ("iso-c", "tsv-m") for who in ("naive", "engine")}
        runs: dict[str, list] = {name: [] for name in [*variants, *(svd if args.svd_repeat else {})]}
        for rounds, group in ((args.repeat, variants), (args.svd_repeat, svd)):
            for _ in range(rounds):
                for name, (variant, ins, cache) in group.items():
                    runs[name].append(run_once(variant, base, ins, work / "out", cache()))
                    print(f"  {name}: {json.dumps(runs[name][-1])}", flush=True)
                load.append(os.getloadavg()[0])
        results = {name: summarise(r) for name, r in runs.items()}
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    table = Table(title=f"ViT-B/16-sized checkpoints ({os.cpu_count()} CPUs, shared machine), medians")
    for col in ("variant", "process wall (s)", "all runs (s)", "code wall (s)", "code CPU (s)", "peak RSS (GB)"):
        table.add_column(col, justify="right" if col != "variant" else "left")
    for name, r in results.items():
        table.add_row(name, f"{r['process']:.2f}", " ".join(f"{w:.1f}" for w in r["processes"]), f"{r['wall']:.2f}",
                      f"{r['cpu']:.2f}", f"{r['peak_rss_gb']:.2f}")
    console = Console(width=130)
    console.print(table)
    console.print(f"1-min load average during the run: {min(load):.1f}..{max(load):.1f} "
                  f"(other jobs share the {os.cpu_count()} cores)")
    naive, first, again = results["naive, 4 inputs"], results["engine first, 4 inputs"], results["engine repeated, 4 inputs"]
    e16 = results["engine repeated, 16 inputs"]
    checks = [
        ("first merge / naive (process wall)", first["process"] / naive["process"], FIRST_MAX),
        ("repeated merge / naive (process wall)", again["process"] / naive["process"], REPEATED_MAX),
        ("engine peak RSS (GB), 4 inputs", first["peak_rss_gb"], RSS_MAX_GB),
        ("engine peak RSS (GB), 16 inputs", e16["peak_rss_gb"], RSS_MAX_GB),
        ("peak RSS 16 / 4 inputs", e16["peak_rss_gb"] / again["peak_rss_gb"], RSS_GROWTH_MAX),
    ]
    for m in ("iso-c", "tsv-m") if args.svd_repeat else ():
        n, e = results[f"naive {m}, 4 inputs"], results[f"engine {m}, 4 inputs"]
        checks += [(f"{m}: engine / naive (process wall)", e["process"] / n["process"], SVD_WALL_MAX),
                   (f"{m}: engine / naive peak RSS", e["peak_rss_gb"] / n["peak_rss_gb"], SVD_RSS_MAX)]
    from weightspace.merge.hashing import HASH_THREADS

    for name, num, den, what in (("numpy / torch, repeated merge", again, results["engine repeated, on torch"],
                                  "the numpy path"),
                                 (f"2 hash threads / {HASH_THREADS}, first merge",
                                  results["engine first, 2 hash threads"], first, "HASH_THREADS")):
        console.print(f"{name:44s} {num['process'] / den['process']:6.2f} wall, {num['cpu'] / den['cpu']:.2f} CPU  "
                      f"(informs {what})")
    for name, value, target in checks:
        console.print(f"{name:44s} {value:6.2f}  (target <= {target:.2f})  {'[green]PASS' if value <= target else '[red]FAIL'}")
    sys.exit(0 if all(v <= t for _, v, t in checks) else 1)


if __name__ == "__main__":
    main()
