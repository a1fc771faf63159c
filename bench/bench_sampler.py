"""Sampling speed: looplab.sample.sample_tokens (KV cache) vs transformers' model.generate().

    python bench/bench_sampler.py [--scale workshop] [--batches 32 256] [--rounds 3]

Same model (the scale's lesson model, briefly trained so its distribution is not uniform), same
batch size, same number of new tokens (the context window minus a 1-byte prompt, since
``generate()`` cannot go past the model's positions), multinomial sampling at temperature 1 in
both. The best of ``rounds`` timings of each is kept. Goal: ratio >= 2 at every batch size.
The sampler keeps its KV buffer between calls (``looplab.sample.release_kv_buffer`` frees it);
the ratio is also printed for calls that start from a fresh buffer ("cold"), which pay the page
faults of first touching it, as ``generate()`` does for its cache on every call.
Also: the cached sampler's tokens/s for long outputs (past the context window, where it slides).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, machine, setup_bench  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="workshop")
    p.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    threads = setup_bench(a.threads)

    import torch

    from looplab.config import get_scale
    from looplab.data import default_splits
    from looplab.sample import release_kv_buffer, sample_tokens
    from looplab.train import Budget, TrainConfig, train

    cfg = TrainConfig.from_scale(get_scale(a.scale))
    print(f"machine: {machine()}; {load_note()}")
    model = train(cfg, Budget(steps=50), default_splits("kjv", 1_000_000), progress=False,
                  measure_peak=False).model.eval()
    T = cfg.model.block_size
    n_new = T - 1
    print(f"model  : {a.scale} scale {cfg.model}, {n_new} new tokens per sample\n")
    out = {"machine": machine(), "threads": threads}
    for B in a.batches:
        prompt = torch.full((B, 1), 10, dtype=torch.long)
        t_hf, t_ours, t_cold = [], [], []
        for r in range(a.rounds):
            torch.manual_seed(r)
            t0 = time.perf_counter()
            with torch.inference_mode():
                model.generate(prompt, do_sample=True, top_k=0, max_new_tokens=n_new, pad_token_id=0,
                               attention_mask=torch.ones_like(prompt))
            t_hf.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sample_tokens(model, n=B, max_new_tokens=n_new, prompt=b"\n", seed=r, batch_size=B)
            t_ours.append(time.perf_counter() - t0)
            release_kv_buffer()
            t0 = time.perf_counter()
            sample_tokens(model, n=B, max_new_tokens=n_new, prompt=b"\n", seed=r, batch_size=B)
            t_cold.append(time.perf_counter() - t0)
        hf_tps, our_tps = B * n_new / min(t_hf), B * n_new / min(t_ours)
        cold_tps = B * n_new / min(t_cold)
        ratio = our_tps / hf_tps
        out[f"ratio_b{B}"], out[f"ratio_cold_b{B}"] = ratio, cold_tps / hf_tps
        out[f"generate_tps_b{B}"], out[f"ours_tps_b{B}"], out[f"ours_cold_tps_b{B}"] = hf_tps, our_tps, cold_tps
        print(f"batch {B:5d}: generate() {hf_tps:9,.0f} tok/s | KV-cache sampler {our_tps:9,.0f} tok/s | "
              f"RATIO {ratio:.2f}x  (goal >= 2) | cold buffer {cold_tps:9,.0f} tok/s, {cold_tps / hf_tps:.2f}x",
              flush=True)
    long_n = 4 * T
    t0 = time.perf_counter()
    sample_tokens(model, n=256, max_new_tokens=long_n, seed=0, batch_size=256)
    dt = time.perf_counter() - t0
    out["ours_long_tps"] = 256 * long_n / dt
    print(f"\nlong outputs: 256 samples x {long_n} tokens (window slides past {T}): "
          f"{out['ours_long_tps']:,.0f} tok/s")
    return out


if __name__ == "__main__":
    main()
