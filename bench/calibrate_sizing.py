"""Calibrate looplab.course.sizing's time model on this machine: a training step, a decode step, an LLM proposal.

    python bench/calibrate_sizing.py [--threads N] [--steps 40] [--out bench/results/sizing_calibration_cpu.json]

The sizing model (``looplab.course.sizing``) turns a lesson's work into seconds as

    FLOPs / (matmul rate x utilization)  +  kernel launches x seconds per launch  +  fixed costs.

Its constants are measured here, on the pieces the lessons are made of, not fitted to whole lessons:

* one training step of each model the lessons train at ``smoke`` and ``workshop`` sizes (lesson 02's,
  lesson 03's experiment, lessons 04 and 05's chains), the median of five rounds of ``--steps`` steps: a
  least-squares fit of ``step_s = flops / (rate x u) + launches x s_launch`` over them gives the
  utilization ``u`` and the seconds per launch (on a CPU a small model is bound by per-op overhead);
* one decode step of the sampler (KV cache, batch 256) on lesson 04's chain model;
* the offline LLM (SmolLM2-135M-Instruct): its load, and one lesson-03 proposal (a scored-choice
  request), as seconds and as FLOP/s achieved.

``tests/test_sizing.py`` then holds the whole-lesson estimates built from these constants against
the lesson times recorded in ``looplab/assets/lesson_times.json`` (a different run, on other days).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, setup_bench  # noqa: E402


def _configs():
    from looplab.collapse import ChainConfig, chain_train_config
    from looplab.config import SCALES
    from looplab.grading.strategies import lesson_chain
    from looplab.train import TrainConfig
    out = {}
    for name in ("smoke", "workshop"):
        s = SCALES[name]
        out[f"{name}/02 lesson model"] = TrainConfig.from_scale(s)
        out[f"{name}/03 experiment"] = TrainConfig.from_scale(s, **dict(s.loop.experiment_ref))
        out[f"{name}/03 experiment, base"] = TrainConfig.from_scale(s, **dict(s.loop.experiment_base))
        out[f"{name}/04 chain"] = chain_train_config(ChainConfig.from_scale(s), seed=0)
        out[f"{name}/05 chain"] = chain_train_config(lesson_chain(s), seed=0)
    return out


def time_steps(cfg, steps: int, rounds: int = 5) -> float:
    """Median seconds per step of ``cfg``'s training step (the course's train_step) over ``rounds``:
    the median, not the best, since a lesson runs for minutes at its sustained speed, not its best."""
    import torch

    from looplab.data import default_splits, get_batch
    from looplab.model import build_model
    from looplab.train import make_optimizer, train_step
    tokens = default_splits("kjv", 200_000).train
    model = build_model(cfg.model, seed=0)
    model.train()
    opt = make_optimizer(model, cfg)
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        x, y = get_batch(tokens, cfg.batch_size, cfg.model.block_size, g)
        train_step(model, opt, x, y, 1e-3, cfg.grad_clip)
    per = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            x, y = get_batch(tokens, cfg.batch_size, cfg.model.block_size, g)
            train_step(model, opt, x, y, 1e-3, cfg.grad_clip)
        per.append((time.perf_counter() - t0) / steps)
    return sorted(per)[len(per) // 2]


def time_decode(cfg, docs: int = 256, new: int = 64) -> float:
    """Seconds per decode step (one new byte for a batch of ``docs``) of the course's sampler."""
    from looplab.model import build_model
    from looplab.sample import sample_tokens
    model = build_model(cfg.model, seed=0).eval()
    sample_tokens(model, docs, 8, seed=0)           # warm-up (and the KV buffer)
    t0 = time.perf_counter()
    sample_tokens(model, docs, new, seed=0)
    return (time.perf_counter() - t0) / new


def time_llm(calls: int = 4) -> dict:
    """Load SmolLM2 (offline) and time ``calls`` lesson-03 proposals (scored choices, prompt cached)."""
    from looplab.config import SCALES
    from looplab.research.llm_local import smollm2
    from looplab.research.llm_proposer import LLMProposer
    from looplab.research.spec import default_space
    s = SCALES["workshop"]
    t0 = time.perf_counter()
    backend = smollm2()
    load_s = time.perf_counter() - t0
    base = dict(s.loop.experiment_base)
    space = default_space(base)
    prop = LLMProposer(backend, k=2.0)
    walls, flops = [], []
    for i in range(calls):
        t0 = time.perf_counter()
        p = prop.propose(space, [], base, slot=i)
        walls.append(time.perf_counter() - t0)
        flops.append((p.llm or {}).get("flops") or float("nan"))
    later = walls[1:] or walls
    return {"load_s": load_s, "first_call_s": walls[0], "call_s": sum(later) / len(later),
            "call_flops": sum(flops[1:] or flops) / len(flops[1:] or flops)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--no-llm", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    threads = setup_bench(a.threads)
    import numpy as np

    from looplab.hardware import measure_matmul_flops
    from looplab.model import flops_per_token
    from looplab.course.sizing import LAUNCH_KERNELS_FIXED, LAUNCH_KERNELS_PER_LAYER
    # A shared VM's speed drifts over minutes: the matmul rate is measured next to every step timing,
    # and each step time is brought to the run's median rate before the fit.
    rows = []
    for name, cfg in _configs().items():
        m = cfg.model
        fl = flops_per_token(m) * cfg.batch_size * cfg.model.block_size
        launches = LAUNCH_KERNELS_PER_LAYER * m.n_layer + LAUNCH_KERNELS_FIXED
        r_i = measure_matmul_flops(repeats=3, seconds=0.3)
        s = time_steps(cfg, a.steps)
        rows.append({"model": name, "n_layer": m.n_layer, "n_embd": m.n_embd, "batch": cfg.batch_size,
                     "block": cfg.model.block_size, "dropout": cfg.model.dropout, "step_flops": fl, "launches": launches,
                     "matmul_gflops": round(r_i / 1e9, 1), "step_s_raw": s})
    rate = float(np.median([r["matmul_gflops"] for r in rows])) * 1e9
    print(f"{machine()}\nmatmul rate {rate / 1e9:.1f} GFLOP/s (1024-cube fp32, median of the runs), {threads} threads")
    for r in rows:
        r["step_s"] = r["step_s_raw"] * r["matmul_gflops"] * 1e9 / rate
        print(f"  {r['model']:<30} {r['step_s'] * 1e3:7.2f} ms/step (raw {r['step_s_raw'] * 1e3:.2f} at "
              f"{r['matmul_gflops']:.0f} GFLOP/s)  {r['step_flops'] / 1e9:6.2f} GFLOP/step")
    # step_s = flops / (rate u) + launches * s_launch: linear in (flops / rate, launches)
    fit = [r for r in rows if not r["dropout"]]
    A = np.array([[r["step_flops"] / rate, r["launches"]] for r in fit])
    b = np.array([r["step_s"] for r in fit])
    (inv_u, s_launch), *_ = np.linalg.lstsq(A, b, rcond=None)
    pred = A @ np.array([inv_u, s_launch])
    worst = float(np.max(np.maximum(pred / b, b / pred)))
    print(f"fit: utilization {1 / inv_u:.2f} of the matmul rate, {s_launch * 1e6:.1f} us per launch "
          f"(worst step off by {worst:.2f}x)")
    # dropout is not in the FLOP count; its cost, as launches per layer, from the base vs the reference
    extra = []
    for r in rows:
        if r["dropout"]:
            ref = next(q for q in rows if q["model"] == r["model"].replace(", base", ""))
            extra.append((r["step_s"] - ref["step_s"]) / s_launch / r["n_layer"])
    dropout_launches = float(np.mean(extra)) if extra else 0.0
    print(f"dropout: {dropout_launches:.0f} launches' worth per layer per step")
    from looplab.collapse import ChainConfig, chain_train_config
    from looplab.config import SCALES
    cfg04 = chain_train_config(ChainConfig.from_scale(SCALES["workshop"]), seed=0)
    dec = time_decode(cfg04)
    m04 = cfg04.model
    dec_flops = flops_per_token(m04, training=False) * 256
    print(f"decode step (04 chain model, batch 256): {dec * 1e3:.2f} ms ({dec_flops / dec / 1e9:.1f} GFLOP/s)")
    out = {"machine": machine(), "threads": threads, "matmul_gflops": round(rate / 1e9, 1),
           "utilization": round(float(1 / inv_u), 3), "launch_us": round(float(s_launch) * 1e6, 2),
           "worst_step_ratio": round(worst, 2), "dropout_launches_per_layer": round(dropout_launches, 1),
           "steps": rows, "decode_s_04_batch256": dec,
           "decode_flops_04_batch256": dec_flops, "date": time.strftime("%Y-%m-%d")}
    if not a.no_llm:
        llm = time_llm()
        print(f"SmolLM2: load {llm['load_s']:.1f} s, first proposal {llm['first_call_s']:.1f} s, later "
              f"{llm['call_s']:.2f} s each ({llm['call_flops'] / llm['call_s'] / 1e9:.1f} GFLOP/s)")
        out["llm"] = llm
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
