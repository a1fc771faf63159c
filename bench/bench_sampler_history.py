"""The KV-cache sampler before and after the one-forward-pass refactor, against generate().

    python bench/bench_sampler_history.py [--rounds 7] [--before 592220e^]

Loads ``utils/looplab/sample.py`` as it was at git revision ``--before`` (default: the commit
before issue 19's refactor, whose step was a hand-packed copy of the model) beside today's
``looplab.sample``, checks both give the same greedy tokens, then times generate(), the old and
the new sampler interleaved on the same trained model, best of ``rounds``. It answers whether a
miss of bench_sampler.py's >= 2x goal comes from the refactor or from the machine. Needs git.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, machine, setup_bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def load_old_sampler(rev: str):
    """``looplab.sample`` as of git ``rev``, imported as ``looplab._sample_at_rev`` (its relative imports resolve)."""
    import looplab

    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:utils/looplab/sample.py"],
                         check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "sample_at_rev.py"
    path.write_text(src)
    name = f"{looplab.__name__}._sample_at_rev"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", default="592220e^")
    p.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    setup_bench(a.threads)

    import torch

    from looplab import sample as new
    from looplab.config import get_scale
    from looplab.data import default_splits
    from looplab.train import Budget, TrainConfig, train

    old = load_old_sampler(a.before)
    cfg = TrainConfig.from_scale(get_scale("workshop"))
    print(f"machine: {machine()}; {load_note()}")
    model = train(cfg, Budget(steps=50), default_splits("kjv", 1_000_000), progress=False,
                  measure_peak=False).model.eval()
    n_new = cfg.model.block_size - 1
    out = {}
    for B in a.batches:
        greedy = [m.sample_tokens(model, n=B, max_new_tokens=n_new, temperature=0, batch_size=B) for m in (old, new)]
        assert torch.equal(*greedy), "the old and new samplers disagree on greedy tokens"
        prompt = torch.full((B, 1), 10, dtype=torch.long)
        best = {"generate": 1e9, "old": 1e9, "new": 1e9}
        for r in range(a.rounds):
            for k in best:
                t0 = time.perf_counter()
                if k == "generate":
                    with torch.inference_mode():
                        model.generate(prompt, do_sample=True, top_k=0, max_new_tokens=n_new, pad_token_id=0,
                                       attention_mask=torch.ones_like(prompt))
                else:
                    (old if k == "old" else new).sample_tokens(model, n=B, max_new_tokens=n_new, seed=r, batch_size=B)
                best[k] = min(best[k], time.perf_counter() - t0)
        out[B] = {k: best["generate"] / best[k] for k in ("old", "new")}
        print(f"batch {B:4d}: generate() {B * n_new / best['generate']:8,.0f} tok/s | "
              f"sampler at {a.before}: {out[B]['old']:.2f}x | today's: {out[B]['new']:.2f}x   (same greedy tokens)")
    print(load_note())
    return out


if __name__ == "__main__":
    main()
