"""Quality in time: val_bpb after 60 s of training, and time to reach nanoGPT's CPU-recipe loss.

    python bench/bench_quality.py [--seconds 60] [--nano-steps 2000]

1. The course defaults at workshop scale (``TrainConfig.from_scale(workshop)``) trained for a
   fixed ``--seconds`` of wall-clock (autoresearch-style budget): validation bits per byte.
2. nanoGPT's shakespeare_char CPU recipe (README of karpathy/nanoGPT: ``--block_size=64
   --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000
   --dropout=0.0``, with config/train_shakespeare_char.py's learning_rate=1e-3, min_lr=1e-4,
   beta2=0.99, warmup_iters=100 and train.py's weight_decay=0.1, grad_clip=1.0), run through
   ``looplab.train`` on the *same data* (the KJV corpus, not Shakespeare): its final val loss is
   the target. Then the course defaults run with the same step budget; the time (training
   seconds, evaluation excluded) at which each first reaches the target is interpolated between
   evaluations every ``--eval-every`` steps.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, machine, setup_bench  # noqa: E402


def time_to_reach(res, target: float, key: str = "t") -> float | None:
    """Training seconds (``key="t"``) or steps (``key="step"``) at which the val curve first
    reaches ``target`` (linear interpolation between evaluations)."""
    t_of = {h["step"]: h[key] for h in res.history}
    prev_s, prev_v = 0, None
    for v in res.val_history:
        if v["val_loss"] <= target:
            if prev_v is None:
                return t_of[v["step"]]
            frac = (prev_v - target) / (prev_v - v["val_loss"])
            t0 = t_of.get(prev_s, 0.0)
            return t0 + frac * (t_of[v["step"]] - t0)
        prev_s, prev_v = v["step"], v["val_loss"]
    return None


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--nano-steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    threads = setup_bench(a.threads)

    from looplab.config import get_scale
    from looplab.data import default_splits
    from looplab.train import Budget, TrainConfig, bpb_from_loss, train
    from looplab.model import ModelConfig

    sp = default_splits("kjv", 0)
    course = TrainConfig.from_scale(get_scale("workshop"))
    nano = TrainConfig(model=ModelConfig(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0), batch_size=12,
                       lr=1e-3, min_lr_ratio=0.1, beta2=0.99, warmup_frac=100 / 2000,
                       weight_decay=0.1, grad_clip=1.0, eval_batches=20, schedule="cosine")
    print(f"machine: {machine()}; {load_note()}")
    print(f"data   : {sp}")
    print(f"course : {course}")
    print(f"nanoGPT: {nano}\n")

    r60 = train(course, Budget(seconds=a.seconds), sp, progress=False)
    print(f"1. course defaults, {a.seconds:g} s budget: {r60.steps} steps, val_bpb {r60.val_bpb:.3f} "
          f"(val loss {r60.val_loss:.3f} nats), {r60.tokens_per_s:,.0f} tok/s", flush=True)

    rn = train(nano.replace(eval_every=a.eval_every), Budget(steps=a.nano_steps), sp, progress=False)
    target = rn.val_loss
    print(f"2. nanoGPT CPU recipe, {rn.steps} steps in {rn.wall_s:.1f} s: val loss {target:.3f} nats "
          f"({bpb_from_loss(target):.3f} bpb) = the target", flush=True)
    rc = train(course.replace(eval_every=a.eval_every), Budget(steps=a.nano_steps), sp, progress=False)
    t_nano, t_course = time_to_reach(rn, target), time_to_reach(rc, target)
    print(f"   course defaults, {rc.steps} steps in {rc.wall_s:.1f} s: val loss {rc.val_loss:.3f} nats "
          f"({rc.val_bpb:.3f} bpb)")
    fmt = lambda t: f"{t:.1f} s" if t is not None else "not reached"
    print(f"   time to reach {target:.3f} nats: nanoGPT recipe {fmt(t_nano)}, course defaults {fmt(t_course)}")
    s_nano, s_course = time_to_reach(rn, target, "step"), time_to_reach(rc, target, "step")
    print(f"   steps to reach it   : nanoGPT recipe {s_nano or float('nan'):.0f}, course defaults "
          f"{s_course or float('nan'):.0f}  (steps do not depend on the machine's speed)")
    if t_nano and t_course:
        print(f"   RATIO nanoGPT time / course time = {t_nano / t_course:.2f}x")
    return {"machine": machine(), "threads": threads, "val_bpb_60s": r60.val_bpb, "steps_60s": r60.steps,
            "nano_target_loss": target, "t_nano_s": t_nano, "t_course_s": t_course,
            "steps_nano": s_nano, "steps_course": s_course,
            "course_final_loss": rc.val_loss}


if __name__ == "__main__":
    main()
