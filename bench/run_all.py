"""Run every benchmark in one process, one after another, and print a summary of the ratios.

    python bench/run_all.py            (or: make bench)

Run it on a quiet machine: another heavy process on the same cores lowers every figure (and
oversubscribed cores can make torch many times slower). Each benchmark measures its own ratios
within its own run, so the ratios are what to compare across machines, not absolute rates.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_quality  # noqa: E402
import bench_sampler  # noqa: E402
import bench_train  # noqa: E402


def main() -> int:
    t0 = time.time()
    results = {}
    for name, mod in (("train", bench_train), ("sampler", bench_sampler), ("quality", bench_quality)):
        print(f"\n==================== bench_{name} ====================", flush=True)
        results[name] = mod.main([])
    print("\n==================== summary ====================")
    tr, sa, qu = results["train"], results["sampler"], results["quality"]
    print(f"training throughput / fp32 matmul peak : {tr['ratio']:.3f}   (goal >= 0.50)")
    for k, v in sa.items():
        if k.startswith("ratio_b"):
            cold = sa.get(f"ratio_cold_b{k[7:]}")
            print(f"sampler vs generate(), batch {k[7:]:>5}  : {v:.2f}x   (goal >= 2)"
                  + (f"; from a fresh KV buffer {cold:.2f}x" if cold else ""))
    print(f"val_bpb after 60 s (workshop defaults)  : {qu['val_bpb_60s']:.3f}")
    if qu["t_nano_s"] and qu["t_course_s"]:
        print(f"time to nanoGPT CPU-recipe loss        : nanoGPT {qu['t_nano_s']:.1f} s, course {qu['t_course_s']:.1f} s")
    print(f"total {time.time() - t0:.0f} s")
    out = HERE.parent / "build" / "bench" / "last_run.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"(raw figures in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
