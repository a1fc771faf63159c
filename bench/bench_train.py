"""Training throughput of the lesson-02 model: achieved FLOP/s / measured fp32 matmul FLOP/s.

    python bench/bench_train.py [--scale workshop] [--steps 150] [--rounds 3]

In one process, alternately: (a) the best rate of a dense 1024x1024 fp32 matmul (the MFU
yardstick, ``looplab.hardware.measure_matmul_flops``), (b) ``looplab.train.train`` on the
scale's lesson model (tokens/s x FLOPs per token). The best of ``rounds`` of each is kept, so a
burst of load from another process lowers neither by much. Also reported, as references for the
same sizes in the same process:

* ``nanogpt-style``: a hand-written GPT (the nanoGPT layout) with the same step and optimizer;
* ``hf forward``: the same model through ``model(input_ids=x).logits``, i.e. transformers'
  general plumbing (the library computes the identical logits with ``looplab.model.forward``);
* ``hf gelu_new``: the same, with transformers' default tanh-approximate GELU for GPT-2, which
  is built from ~8 separate element-wise ops (the course model uses exact GELU, one fused op).

Goal: ratio >= 0.50 on 2 cores.

``--ablate`` instead times the course model's training step with one part taken out at a time
(GELU, LayerNorm, attention, biases, gradient clipping, the optimizer step), interleaved, best of
``rounds``: what each part costs inside the real step, where caches and threads are shared
(isolated micro-benchmarks of the same kernels understate it). The ablated models compute
something else and are only clocks; the course model is unchanged.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, machine, setup_bench  # noqa: E402


def nanogpt_model(cfg):
    """A minimal hand-written GPT with nanoGPT's layout, for reference."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(C, 2)
            q, k, v = (t.view(B, T, self.h, -1).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
            self.h = nn.ModuleList(Block(cfg.n_embd, cfg.n_head) for _ in range(cfg.n_layer))
            self.ln = nn.LayerNorm(cfg.n_embd)

        def forward(self, input_ids):
            x = self.wte(input_ids) + self.wpe(torch.arange(input_ids.shape[1], device=input_ids.device))
            for b in self.h:
                x = b(x)

            class Out:
                pass
            o = Out()
            o.logits = self.ln(x) @ self.wte.weight.T
            return o

    torch.manual_seed(0)
    return GPT()


def time_steps(model, cfg, steps: int, logits_fn=None, clip: bool = True, update: bool = True) -> float:
    """tokens/s of ``steps`` training steps on ``model`` (after 5 warm-up steps).

    The step is ``looplab.train.train_step``'s, with the logits from ``logits_fn(model, x)``
    (default: ``model(input_ids=x).logits``); ``clip``/``update`` False leave out the gradient
    clipping / the optimizer step (for ``--ablate``).
    """
    import torch
    import torch.nn.functional as F

    from looplab.data import default_splits, get_batch
    from looplab.train import make_optimizer

    logits_fn = logits_fn or (lambda m, x: m(input_ids=x).logits)
    sp = default_splits("kjv", 2_000_000)
    g = torch.Generator().manual_seed(0)
    opt = make_optimizer(model, cfg)
    model.train()

    def step():
        x, y = get_batch(sp.train, cfg.batch_size, cfg.model.block_size, g)
        loss = F.cross_entropy(logits_fn(model, x).reshape(-1, cfg.model.vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if update:
            opt.step()
        return float(loss.detach())

    return cfg.batch_size * cfg.model.block_size / (ms_per_call(step, steps) / 1e3)


def ms_per_call(fn, calls: int, warmup: int = 5) -> float:
    """Mean ms per call of ``fn`` over ``calls`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e3


ABLATIONS = ("gelu", "layernorm", "attention", "biases", "clip", "optimizer")


def ablated_step_ms(cfg, without: str, steps: int) -> float:
    """ms per training step of the course model with the part ``without`` removed ('' = none).

    The step is :func:`time_steps` with ``looplab.model.gpt2_logits`` (``looplab.model.forward``,
    what ``looplab.train`` runs); a part is removed by replacing the torch function that computes
    it, for the duration of the timing: GELU and LayerNorm return their input, attention returns
    its values, the linear layers' ``addmm(b, x, W)`` becomes ``x @ W``.
    """
    import contextlib
    from unittest import mock

    import torch
    import torch.nn.functional as F

    from looplab.model import build_model, gpt2_logits

    model = build_model(cfg.model, seed=0)
    patches = {
        "gelu": (F, "gelu", lambda x, **kw: x),
        "layernorm": (F, "layer_norm", lambda x, *a, **kw: x),
        "attention": (F, "scaled_dot_product_attention", lambda q, k, v, **kw: v),
        "biases": (torch, "addmm", lambda b, x, w: torch.mm(x, w)),
    }
    ctx = mock.patch.object(*patches[without]) if without in patches else contextlib.nullcontext()
    with ctx:
        tps = time_steps(model, cfg, steps, gpt2_logits, clip=without != "clip", update=without != "optimizer")
    return cfg.batch_size * cfg.model.block_size / tps * 1e3


def matmuls_only_ms(cfg, steps: int) -> float:
    """ms for just the step's matmuls (forward, input grads, weight grads) in its shapes and order."""
    import torch

    mc = cfg.model
    M, d = cfg.batch_size * cfg.model.block_size, mc.n_embd
    shapes = [(d, 3 * d), (d, d), (d, 4 * d), (4 * d, d)] * mc.n_layer + [(d, mc.vocab_size)]
    act = {k: torch.randn(M, k) for k in {i for s in shapes for i in s}}
    ws = [torch.randn(i, o) for i, o in shapes]

    def run():
        for (i, o), w in zip(shapes, ws):
            torch.mm(act[i], w)                # forward
        for (i, o), w in zip(reversed(shapes), reversed(ws)):
            torch.mm(act[o], w.t())            # gradient of the input
            torch.mm(act[i].t(), act[o])       # gradient of the weight

    return ms_per_call(run, steps)


def ablate(cfg, steps: int, rounds: int, peak_fn, fpt: float) -> dict:
    """Best-of-``rounds`` step time with each part removed; prints the table and returns it."""
    times = {k: [] for k in ("",) + ABLATIONS}
    peaks, mm = [], []
    for r in range(rounds):
        peaks.append(peak_fn())
        mm.append(matmuls_only_ms(cfg, steps))
        for k in times:
            times[k].append(ablated_step_ms(cfg, k, steps))
        print(f"round {r}: " + " | ".join(f"{k or 'full step'} {v[-1]:.2f} ms" for k, v in times.items()), flush=True)
    full = min(times[""])
    tokens = cfg.batch_size * cfg.model.block_size
    print(f"\nfull step {full:.2f} ms = ratio {tokens / (full / 1e3) * fpt / max(peaks):.3f} of the "
          f"{max(peaks) / 1e9:.0f} GFLOP/s matmul peak; a ratio of 0.50 needs "
          f"{tokens * fpt / (0.5 * max(peaks)) * 1e3:.2f} ms")
    print(f"  the step's matmuls alone (same shapes and order, no other work): {min(mm):.2f} ms")
    out = {"full_ms": full, "peak_flops": max(peaks), "matmuls_only_ms": min(mm)}
    for k in ABLATIONS:
        saved = full - min(times[k])
        out[f"without_{k}_ms"] = min(times[k])
        print(f"  without {k:10s}: {min(times[k]):6.2f} ms  (that part costs {saved:5.2f} ms, "
              f"{100 * saved / full:4.1f}% of the step)")
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="workshop")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-refs", action="store_true", help="skip the reference models")
    p.add_argument("--ablate", action="store_true",
                   help="time the step with one part removed at a time, instead of the ratio")
    a = p.parse_args(argv)
    threads = setup_bench(a.threads)

    from transformers.activations import ACT2FN

    from looplab.config import get_scale
    from looplab.data import default_splits
    from looplab.hardware import measure_matmul_flops
    from looplab.model import build_model, flops_per_token, n_params
    from looplab.train import Budget, TrainConfig, train

    cfg = TrainConfig.from_scale(get_scale(a.scale))
    mcfg = cfg.model
    fpt = flops_per_token(mcfg)
    sp = default_splits("kjv", 2_000_000)
    print(f"machine: {machine()}; {load_note()}")
    print(f"model  : {a.scale} scale, {mcfg}, {n_params(build_model(mcfg, seed=0)):,} params, "
          f"batch {cfg.batch_size}, {fpt / 1e6:.2f} MFLOP/token")

    if a.ablate:
        return ablate(cfg, a.steps, a.rounds, lambda: measure_matmul_flops(n=1024, repeats=3, seconds=0.4), fpt)

    peaks, lib, refs = [], [], {"nanogpt-style": [], "hf forward": [], "hf gelu_new": []}
    for r in range(a.rounds):
        peaks.append(measure_matmul_flops(n=1024, repeats=3, seconds=0.4))
        res = train(cfg.replace(seed=r), Budget(steps=a.steps), sp, progress=False, measure_peak=False)
        lib.append(res.tokens_per_s)
        line = f"round {r}: peak {peaks[-1] / 1e9:6.1f} GFLOP/s | looplab.train {lib[-1]:8,.0f} tok/s"
        if not a.no_refs:
            refs["nanogpt-style"].append(time_steps(nanogpt_model(mcfg), cfg, a.steps))
            refs["hf forward"].append(time_steps(build_model(mcfg, seed=0), cfg, a.steps))
            m = build_model(mcfg, seed=0)
            for blk in m.transformer.h:
                blk.mlp.act = ACT2FN["gelu_new"]
            refs["hf gelu_new"].append(time_steps(m, cfg, a.steps))
            line += "".join(f" | {k} {v[-1]:8,.0f} tok/s" for k, v in refs.items())
        print(line, flush=True)
    peak = max(peaks)
    best = max(lib)
    ratio = best * fpt / peak
    out = {"machine": machine(), "threads": threads, "peak_flops": peak, "tokens_per_s": best,
           "flops_per_s": best * fpt, "ratio": ratio}
    print(f"\nbest peak (dense fp32 1024^3 matmul): {peak / 1e9:.1f} GFLOP/s")
    print(f"looplab.train: {best:,.0f} tok/s x {fpt / 1e6:.3f} MFLOP/token = {best * fpt / 1e9:.1f} GFLOP/s")
    print(f"RATIO achieved / peak = {ratio:.3f}   (goal >= 0.50)")
    if not a.no_refs:
        for k, v in refs.items():
            out[f"ratio {k}"] = max(v) * fpt / peak
            print(f"  reference {k:14s}: {max(v):,.0f} tok/s, ratio {max(v) * fpt / peak:.3f}")
    return out


if __name__ == "__main__":
    main()
