"""The built-in world's budgets: default-world generation (< 2 min) and tiny-CLIP pretraining (< 10 min).

    .venv/bin/python benchmarks/synth_bench.py [--workers 2] [--tiny-clip] [--seed 0]

Generates into a fresh temporary cache (so nothing is reused), prints videos/s and wall time, and with
``--tiny-clip`` also pretrains the tiny CLIP and prints its static bias: zero-shot top-1 on the target's
novel actions in context vs out of context, and chance. The machine may be shared: report the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tiny-clip", action="store_true")
    args = ap.parse_args()

    from weightspace.data.synthetic.worlds import ensure_worlds

    with tempfile.TemporaryDirectory(prefix="ws-synth-bench-") as root:
        start = time.time()
        worlds = ensure_worlds(root, args.seed, workers=args.workers, progress=False)
        took = time.time() - start
        videos = sum(w.counts.get("train", 0) + w.counts.get("val", 0) for w in worlds.values())
        print(f"worlds: {videos} videos in {took:.1f} s ({videos / took:.0f} videos/s, {args.workers} workers); "
              f"target < 120 s; load average {os.getloadavg()[0]:.1f}")
        if args.tiny_clip:
            import json

            from weightspace.data.synthetic.tiny_clip import ensure_tiny_clip

            start = time.time()
            folder = ensure_tiny_clip(root, args.seed, progress=False)
            took = time.time() - start
            prov = json.loads((folder / "weightspace.json").read_text())["provenance"]
            zs = prov["zero_shot"]
            print(f"tiny CLIP: {took:.0f} s (training {prov['seconds']:.0f} s, final loss {prov['final_loss']:.3f}); "
                  f"target < 600 s; load average {os.getloadavg()[0]:.1f}")
            print(f"zero-shot top-1 on {zs['classes']} novel target actions: in context {zs['in_context_top1']:.3f}, "
                  f"out of context {zs['out_of_context_top1']:.3f}, chance {zs['chance']:.3f}")


if __name__ == "__main__":
    main()
