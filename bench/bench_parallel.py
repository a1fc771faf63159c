"""Throughput of lesson 03's loop on Dask: 1 worker vs 2 workers (and 1 worker with 2 threads).

The same loop -- lesson 03's runner and search space at ``--scale``, a baseline of
``--replicates`` seeds, then ``--experiments`` random-search experiments -- runs three times in one
process, each time into a fresh ledger on a fresh LocalCluster: 1 worker x 1 thread, 1 worker x 2
threads, 2 workers x 1 thread. The budget is in steps (FLOPs), so every setting runs the *same*
experiments (checked: identical val_bpb) and only the wall time differs. Cluster start-up and the
workers' first imports are left out of the timing (a warm-up task on every worker).

    .venv/bin/python bench/bench_parallel.py                 # workshop scale, 2 + 4 experiments each
    .venv/bin/python bench/bench_parallel.py --scale smoke   # a quick check
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, machine, setup_bench  # noqa: E402


def _warm(workers_threads):
    import torch
    torch.set_num_threads(workers_threads)
    return torch.get_num_threads()


def one(scale, workers: int, threads: int, replicates: int, experiments: int) -> dict:
    from looplab.config import get_scale
    from looplab.research.loop import ResearchLoop
    from looplab.research.parallel import ParallelLoop, local_client
    from looplab.research.proposers import RandomProposer
    from looplab.research.runner import Runner
    from looplab.research.signoff import AutoApprove
    from looplab.research.spec import default_space
    from looplab.train import TrainConfig
    sc = get_scale(scale)
    runner = Runner(sc)                                    # lesson 03's runner: the FLOP budget
    space = default_space(TrainConfig.from_scale(sc).to_dict())
    ledger = Path(tempfile.mkdtemp()) / "ledger.jsonl"
    loop = ResearchLoop(space, runner, ledger, k=2.0, seed=0, signoff=AutoApprove(announce=False), verbose=False)
    client = local_client(workers=workers)
    try:
        client.wait_for_workers(workers)
        client.run(_warm, threads)
        with ParallelLoop(loop, client=client, threads_per_worker=threads) as par:
            t0 = time.perf_counter()
            par.baseline(replicates)
            par.run(RandomProposer(0), experiments)
            wall = time.perf_counter() - t0
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    recs = [r for r in loop.ledger.records() if r.get("status") in ("baseline", "kept", "discarded")]
    return {"workers": workers, "threads": threads, "runs": len(recs), "wall_s": wall,
            "per_min": 60 * len(recs) / wall, "vals": [round(r["val_bpb"], 6) for r in recs],
            "configs": sorted(str(sorted(r["config"].items())) for r in recs),
            "busy_s": sum(r.get("worker_wall_s", 0) for r in recs)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="workshop")
    ap.add_argument("--replicates", type=int, default=2)
    ap.add_argument("--experiments", type=int, default=4)
    a = ap.parse_args(argv)
    setup_bench(1)
    print(machine())
    print(load_note(), "(before)")
    rows = [one(a.scale, w, t, a.replicates, a.experiments) for w, t in ((1, 1), (1, 2), (2, 1))]
    print(load_note(), "(after)")
    print(f"lesson 03's loop at {a.scale} scale: {a.replicates} baseline seeds + {a.experiments} experiments per setting")
    print("| workers x threads | runs | wall (s) | experiments / min | mean run on its worker (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} x {r['threads']} | {r['runs']} | {r['wall_s']:.1f} | {r['per_min']:.2f} | "
              f"{r['busy_s'] / r['runs']:.1f} |")
    base, two_thr, two = rows
    same = base["configs"] == two["configs"] and sorted(base["vals"]) == sorted(two["vals"])
    print(f"throughput ratio, 2 workers x 1 thread / 1 worker x 1 thread: {two['per_min'] / base['per_min']:.2f}x")
    print(f"throughput ratio, 2 workers x 1 thread / 1 worker x 2 threads: {two['per_min'] / two_thr['per_min']:.2f}x")
    print(f"same experiments and identical val_bpb in every setting: {same and base['configs'] == two_thr['configs']}")


if __name__ == "__main__":
    main()
