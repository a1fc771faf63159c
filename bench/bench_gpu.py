"""The course's training step against a plain nanoGPT-layout step, in one process, at the full scale's shapes.

    python bench/bench_gpu.py [--device cuda] [--batches 32 256] [--steps 100] [--rounds 3]

Both steps do the same work: bf16 (or fp16 + scaler) autocast on CUDA via ``looplab.accel.Precision``,
AdamW (fused where available, ``looplab.train.make_optimizer``), gradient clipping at 1.0, a fresh batch
each step. The course's is ``looplab.train.train_step`` on ``looplab.model``'s model; the reference is
``bench_train.nanogpt_model`` (one ``qkv`` matmul, ``scaled_dot_product_attention``, weight-tied head).
Each is timed as the median of ``rounds`` rounds of ``steps`` steps, interleaved, with the device
synchronised around every round; batches are drawn on the host as train() does.

Two comparisons, each interleaved: **step**, one step each, both reading the loss as a float every step
(the same wait for the device); and **loop**, the course's ``looplab.train.train`` (its loop: schedule,
batches, the losses read every ``LOSS_READ_EVERY`` steps) against the same reference written as nanoGPT's
train.py loop (lr schedule, batch, step, ``loss.item()`` at its ``log_interval`` of 10).

On CUDA with bfloat16 both comparisons also run with the course's step recorded as a CUDA graph
(``looplab.accel.GraphedStep``, ``train(cuda_graph=True)``): rows "step, CUDA graph" and "loop, CUDA graph",
against the same eager reference. If the graph cannot be recorded there, the error is printed and the
eager rows still come out.

Prints ms a step for each, the ratio reference / course (>= 1.0: the course's is at least as fast),
tokens/s, and MFU against ``looplab.hardware.peak`` (the datasheet's dense 16-bit figure on a known GPU)
next to a measured 8192-cube matmul. Writes ``bench/results/gpu_<device name>.json``. On a CPU
(``--device cpu``) it runs the same comparison in fp32, the CPU ratio the issue asks to keep.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, setup_bench  # noqa: E402
from bench_train import nanogpt_model  # noqa: E402


def _sync(device: str) -> None:
    import torch
    if device == "cuda":
        torch.cuda.synchronize()


def make_steps(cfg, device: str) -> dict:
    """Closures doing one training step each on ``device`` (``course``, ``reference``, and on CUDA ``graphed``:
    the course's step recorded as a CUDA graph), and ms a step of each loop (``course_loop``, ``graphed_loop``,
    ``reference_loop``, called with a step count)."""
    import torch
    import torch.nn.functional as F

    from looplab.accel import GraphedStep, Precision, to_device
    from looplab.data import default_splits, get_batch
    from looplab.model import build_model
    from looplab.train import make_optimizer, train_step

    tokens = default_splits("kjv", 400_000).train
    g = torch.Generator().manual_seed(1)
    prec = Precision(device)

    course = build_model(cfg.model, seed=0).to(device).train()
    c_opt = make_optimizer(course, cfg)

    def course_step():
        x, y = get_batch(tokens, cfg.batch_size, cfg.model.block_size, g)
        train_step(course, c_opt, to_device(x, device), to_device(y, device), 1e-3, cfg.grad_clip, prec)

    graphed_step = None
    if GraphedStep.possible(device, prec):
        g_model = build_model(cfg.model, seed=0).to(device).train()
        graphed = GraphedStep(g_model, make_optimizer(g_model, cfg, capturable=True), cfg.batch_size,
                              cfg.model.block_size, cfg.grad_clip, prec)

        def graphed_step():
            x, y = get_batch(tokens, cfg.batch_size, cfg.model.block_size, g)
            float(graphed(x, y, 1e-3))                 # the same read a step as train_step's

    ref = nanogpt_model(cfg.model).to(device).train()
    r_opt = make_optimizer(ref, cfg)
    r_prec = Precision(device)

    def reference_update(model, opt):
        """One nanoGPT-style step of ``model`` on the next batch; returns the loss tensor (not read)."""
        x, y = get_batch(tokens, cfg.batch_size, cfg.model.block_size, g)
        x, y = to_device(x, device), to_device(y, device)
        with r_prec.autocast():
            logits = model(x).logits
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        r_prec.backward(loss)
        r_prec.unscale(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        r_prec.step(opt)
        return loss

    def reference_step():
        float(reference_update(ref, r_opt).detach())   # train_step returns the loss as a float: the same sync per step

    def reference_loop(steps: int) -> float:
        """ms a step of nanoGPT's train.py loop around the reference step: get_lr, a batch, the step,
        a loss read at its log_interval (10). A fresh model and optimizer each call, as train() builds
        (their first step allocates the gradients and the optimizer's state, in both loops)."""
        from looplab.train import lr_at
        model = nanogpt_model(cfg.model).to(device).train()
        opt = make_optimizer(model, cfg)
        _sync(device)
        t0 = time.perf_counter()
        for it in range(steps):
            for grp in opt.param_groups:
                grp["lr"] = lr_at(it / steps, cfg.lr, cfg.warmup_frac, cfg.schedule, cfg.min_lr_ratio)
            loss = reference_update(model, opt)
            if it % 10 == 0 or it == steps - 1:
                loss.item()
        _sync(device)
        return (time.perf_counter() - t0) / steps * 1e3

    def course_loop(steps: int, cuda_graph: bool = False) -> float:
        """ms a step of looplab.train.train's loop (its own clock: the budgeted training time)."""
        from looplab.data import Splits
        from looplab.train import Budget, train
        data = Splits(tokens, tokens[:4096], tokens[:0], name="kjv")
        res = train(cfg.replace(eval_batches=1), Budget(steps=steps), data, progress=False, device=device,
                    measure_peak=False, cuda_graph=cuda_graph)
        return res.wall_s / res.steps * 1e3

    return {"course": course_step, "reference": reference_step, "graphed": graphed_step,
            "course_loop": course_loop, "reference_loop": reference_loop,
            "graphed_loop": (lambda steps: course_loop(steps, cuda_graph=True)) if graphed_step else None}


def aten_ops(step) -> int:
    """How many ATen operations one call of ``step`` dispatches (on a GPU, about one kernel launch each)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.n += 1
            return func(*args, **(kwargs or {}))

    with Count() as c:
        step()
    return c.n


def host_cost(cfg, device: str, steps: int, rounds: int) -> dict:
    """The steps' fixed cost: ATen ops and ms a step at the scale's depth but tiny shapes (1 x 8 tokens,
    16 wide), where the arithmetic is negligible and what is left is Python, dispatch and launches."""
    tiny = cfg.replace(batch_size=1, block_size=8, n_embd=16, n_head=2)
    st = make_steps(tiny, device)
    course, reference = st["course"], st["reference"]
    for _ in range(5):
        course(), reference()
    ops = {"course": aten_ops(course), "reference": aten_ops(reference)}
    c, r = interleaved_medians([lambda: round_ms(course, steps, device), lambda: round_ms(reference, steps, device)],
                               rounds)
    out = {"n_layer": tiny.model.n_layer, "aten_ops_course": ops["course"], "aten_ops_reference": ops["reference"],
           "course_ms": round(c, 3), "reference_ms": round(r, 3), "ratio": round(r / c, 3)}
    graphed = guarded(st["graphed"])
    if graphed:
        gm, = interleaved_medians([lambda: round_ms(graphed, steps, device)], rounds)
        out.update(graphed_ms=round(gm, 3), graphed_ratio=round(r / gm, 3))
    return out


def guarded(fn, warm=lambda f: [f() for _ in range(5)]):
    """``fn`` once ``warm(fn)`` has run (by default five calls: on CUDA the graphed step's warm-up and its
    capture), or None if there is none or it failed (the error printed, so the other measurements still
    come out: a graph that cannot be recorded on this GPU is a finding, not a reason to stop)."""
    if fn is None:
        return None
    try:
        warm(fn)
        return fn
    except Exception as e:  # noqa: BLE001
        print(f"the CUDA-graph variant failed: {type(e).__name__}: {e}")
        return None


def profile_table(steps_by_name: dict, device: str, steps: int = 10, rows: int = 15) -> str:
    """Where each step's time goes (issue 29: find it before removing it): torch.profiler over ``steps`` calls
    of each step, the ``rows`` costliest operations by self time on the device (CUDA) or the host (CPU), with
    the host's and the device's totals a step: host time well above device time means the GPU waits on Python
    and launches, not on arithmetic."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    key = "self_device_time_total" if device == "cuda" else "self_cpu_time_total"
    parts = []
    for name, step in steps_by_name.items():
        with profile(activities=acts) as prof:
            for _ in range(steps):
                step()
            _sync(device)
        ev = prof.key_averages()
        host = sum(e.self_cpu_time_total for e in ev) / steps / 1e3
        dev = sum(e.self_device_time_total for e in ev) / steps / 1e3 if device == "cuda" else float("nan")
        parts.append(f"== {name}: {steps} steps; a step: host {host:.2f} ms of operator time, device {dev:.2f} ms of "
                     f"kernel time\n" + ev.table(sort_by=key, row_limit=rows))
    return "\n".join(parts)


def interleaved_medians(timers, rounds: int) -> list:
    """Each timer (a call returning ms) run once a round, in turn, for ``rounds`` rounds (so a slow moment
    of the machine hits them all); the median of each (the upper one of an even count)."""
    ms = [[] for _ in timers]
    for _ in range(rounds):
        for got, timer in zip(ms, timers):
            got.append(timer())
    return [statistics.median_high(got) for got in ms]


def round_ms(step, steps: int, device: str) -> float:
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return (time.perf_counter() - t0) / steps * 1e3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", default="full")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--profile", type=Path, default=None,
                    help="also write torch.profiler's tables of both steps, at the first batch size, into this file")
    a = ap.parse_args(argv)
    setup_bench()
    import torch

    from looplab.accel import Precision
    from looplab.config import SCALES
    from looplab.hardware import GPU_MATMUL_N, cuda_device_name, measure_matmul_flops, peak
    from looplab.model import flops_per_token
    from looplab.train import TrainConfig
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit(f"bench_gpu: torch {torch.__version__} sees no CUDA device here; run it on a GPU, or pass --device cpu")
    name = cuda_device_name() if a.device == "cuda" else machine()
    dtype = Precision(a.device).dtype_name
    pk = peak(a.device, dtype)
    big = (measure_matmul_flops(n=GPU_MATMUL_N, device="cuda", dtype=dtype, repeats=3, seconds=0.3)
           if a.device == "cuda" else pk.flops)
    print(f"{name}, {dtype}; MFU peak {pk.flops / 1e12:,.1f} TFLOP/s ({pk.how}); measured "
          f"{'8192' if a.device == 'cuda' else '1024'}-cube matmul {big / 1e12:,.1f} TFLOP/s")
    rows, profiled = [], None
    for batch in a.batches:
        cfg = TrainConfig.from_scale(SCALES[a.scale]).replace(batch_size=batch)
        st = make_steps(cfg, a.device)
        course, reference, course_loop, reference_loop = st["course"], st["reference"], st["course_loop"], st["reference_loop"]
        for _ in range(5):
            course()
            reference()
        course_loop(10), reference_loop(10)
        graphed = guarded(st["graphed"])
        graphed_loop = guarded(st["graphed_loop"], lambda f: f(10)) if graphed else None
        graphed = graphed if graphed_loop else None
        named = {"course": course, "nanoGPT layout": reference} | ({"course, CUDA graph": graphed} if graphed else {})
        profiled = profiled or (batch, named)
        timers = [lambda: round_ms(course, a.steps, a.device), lambda: round_ms(reference, a.steps, a.device),
                  lambda: course_loop(a.steps), lambda: reference_loop(a.steps)]
        if graphed:
            timers += [lambda: round_ms(graphed, a.steps, a.device), lambda: graphed_loop(a.steps)]
        ms = interleaved_medians(timers, a.rounds)
        fl = flops_per_token(cfg.model) * batch * cfg.model.block_size
        pairs = [("step", ms[0], ms[1]), ("loop", ms[2], ms[3])]
        if graphed:
            pairs += [("step, CUDA graph", ms[4], ms[1]), ("loop, CUDA graph", ms[5], ms[3])]
        for what, c, r in pairs:
            row = {"batch": batch, "what": what, "course_ms": round(c, 3), "reference_ms": round(r, 3),
                   "ratio": round(r / c, 3), "course_tokens_per_s": round(batch * cfg.model.block_size / (c / 1e3)),
                   "course_mfu": round(fl / (c / 1e3) / pk.flops, 4),
                   "course_mfu_vs_measured_matmul": round(fl / (c / 1e3) / big, 4)}
            rows.append(row)
            print(f"batch {batch:4d}, {what:16s}: course {c:7.2f} ms, nanoGPT layout {r:7.2f} ms, ratio {r / c:.2f}x; "
                  f"MFU {row['course_mfu']:.3f} (vs the measured matmul {row['course_mfu_vs_measured_matmul']:.3f})")
    if a.profile:       # the first batch size's steps, already warm
        batch, named = profiled
        a.profile.parent.mkdir(parents=True, exist_ok=True)
        a.profile.write_text(profile_table(named, a.device), encoding="utf-8")
        print(f"wrote the profiles of both steps at batch {batch} to {a.profile}")
    host = host_cost(TrainConfig.from_scale(SCALES[a.scale]), a.device, 10 * a.steps, a.rounds)
    print(f"fixed cost at tiny shapes ({host['n_layer']} layers, 1 x 8 tokens): course {host['course_ms']:.2f} ms "
          f"and {host['aten_ops_course']} ATen ops a step, nanoGPT layout {host['reference_ms']:.2f} ms and "
          f"{host['aten_ops_reference']} ops, ratio {host['ratio']:.2f}x"
          + (f"; course as a CUDA graph {host['graphed_ms']:.2f} ms, ratio {host['graphed_ratio']:.2f}x"
             if "graphed_ms" in host else ""))
    out = {"device": name, "dtype": dtype, "torch": torch.__version__, "scale": a.scale,
           "peak_tflops": pk.flops / 1e12, "peak_how": pk.how, "measured_matmul_tflops": big / 1e12,
           "steps": a.steps, "rounds": a.rounds, "rows": rows, "fixed_cost": host, "date": time.strftime("%Y-%m-%d")}
    path = a.out or HERE / "results" / f"gpu_{re.sub(r'[^A-Za-z0-9]+', '_', name if a.device == 'cuda' else 'cpu').strip('_').lower()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
