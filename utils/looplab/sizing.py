"""How much compute each lesson needs at each scale, and how long that takes on named machines.

    from looplab.sizing import sizing_table
    sizing_table()          # lessons x scales: training and sampling FLOPs, minutes per machine

Each lesson's work is counted from the :class:`looplab.config.Scale` profile with the course's
own FLOP count (:func:`looplab.model.flops_per_token`: ``6 N + 12 L T d`` per training token, a
third of that per token of a forward pass), by walking through what the lesson trains and
samples: how many runs of which model, how many steps, how many sampled bytes. Minutes on a
machine = FLOPs / (peak x utilization), plus a floor of about 10 us per kernel launch (on a GPU a
model this small is bound by launches rather than arithmetic). What is *not* counted: kernel start, imports,
the LLM's replies in lesson 03 (SmolLM2 runs on the CPU), the n-gram and embedding graders.
``bench/results/lesson_limits_workshop.csv`` holds measured workshop times to hold these against.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .config import SCALE_NAMES, SCALES, Scale

# ---------------------------------------------------------------------------------------------
# Machines: a peak at the precision the trainer uses there, and an assumed utilization
# ---------------------------------------------------------------------------------------------
# A CPU run of lesson 02's model reaches about 0.46-0.54 of the measured fp32 matmul rate
# (COURSE_DESIGN.md section 8); whole workshop notebooks did more arithmetic per second than that
# (lessons 02 and 04: 0.79 and 0.69 of a 159 GFLOP/s machine by this count, measured times in
# bench/results/lesson_limits_workshop.csv), so 0.6 is a middle planning figure.
CPU_UTILIZATION = 0.6
# GPUs: 25% of the dense tensor peak (the T4 estimate used 30%) -- an assumption until a
# GPU run lands in bench/.
GPU_UTILIZATION = 0.25
# Eager PyTorch launches every kernel (on a GPU) or op (on a CPU) from Python, of the order of
# 10 us each (PyTorch's CUDA-graphs post: https://pytorch.org/blog/accelerating-pytorch-with-cuda-graphs/);
# a training step launches about 40 per layer (forward, backward, optimizer) plus ~40 more. For
# the course's small models this floor, not the arithmetic, sets a GPU's step time.
KERNEL_S = 10e-6
LAUNCH_KERNELS_PER_LAYER, LAUNCH_KERNELS_FIXED = 40, 40
DECODE_KERNELS_PER_LAYER = 12        # one KV-cache decode step (looplab.model.forward with one new token)


@dataclass(frozen=True)
class Machine:
    """A machine to size for: the FLOP/s it can reach, with the figure's source."""

    name: str
    peak_flops: float        # at the precision training uses there (fp16/bf16 autocast on CUDA)
    utilization: float
    source: str


# NVIDIA datasheets (dense, no sparsity):
#  T4:   65 TFLOP/s FP16 tensor (mixed precision), 8.1 FP32 --
#        https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf
#  A100: 312 TFLOP/s BF16 tensor, 19.5 FP32 --
#        https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf
#  H100 SXM: 1,979 TFLOP/s BF16 with sparsity, i.e. 989 dense --
#        https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet
T4 = Machine("T4 (16 GB, fp16)", 65e12, GPU_UTILIZATION,
             "NVIDIA T4 datasheet: 65 TFLOP/s FP16 tensor, 8.1 TFLOP/s FP32")
A100 = Machine("A100 (bf16)", 312e12, GPU_UTILIZATION,
               "NVIDIA A100 datasheet: 312 TFLOP/s BF16 tensor dense, 19.5 TFLOP/s FP32")
H100 = Machine("H100 SXM (bf16)", 989e12, GPU_UTILIZATION,
               "NVIDIA H100 datasheet: 1,979 TFLOP/s BF16 with sparsity = 989 dense")


def cpu_machine(flops_per_s: float, name: str = "this machine") -> Machine:
    """A CPU at a measured (or assumed) fp32 matmul rate, at :data:`CPU_UTILIZATION`."""
    if not (isinstance(flops_per_s, (int, float)) and math.isfinite(flops_per_s) and flops_per_s > 0):
        raise ValueError(f"flops_per_s={flops_per_s!r} must be a finite number > 0 (a measured matmul FLOP/s).")
    return Machine(name, float(flops_per_s), CPU_UTILIZATION, "measured fp32 matmul rate")


def laptop() -> Machine:
    """The course's reference 2-core laptop (:data:`looplab.course.REFERENCE_FLOPS`, ~165 GFLOP/s)."""
    from .course import REFERENCE_FLOPS
    return cpu_machine(REFERENCE_FLOPS, "2-core laptop (165 GFLOP/s)")


# ---------------------------------------------------------------------------------------------
# Work: what a lesson trains and samples
# ---------------------------------------------------------------------------------------------
@dataclass
class Work:
    """A lesson's compute: FLOPs, and the sequential steps that set a GPU's launch floor."""

    train_flops: float = 0.0     # training plus the evaluations done along the way
    sample_flops: float = 0.0
    launches: float = 0.0        # kernel launches (GPU floor), training and decoding together

    def add_training(self, cfg, steps: float, runs: float = 1.0, evals: float = 1.0) -> None:
        """``runs`` runs of ``steps`` optimizer steps of TrainConfig ``cfg``, ``evals`` val estimates each."""
        from .model import flops_per_token
        m = cfg.model_config()
        tokens = cfg.batch_size * cfg.block_size
        fwd_eval = flops_per_token(m, training=False) * tokens * cfg.eval_batches * evals
        self.train_flops += runs * (flops_per_token(m) * tokens * steps + fwd_eval)
        self.launches += runs * steps * (LAUNCH_KERNELS_PER_LAYER * m.n_layer + LAUNCH_KERNELS_FIXED)

    def add_sampling(self, cfg, docs: float, doc_bytes: int, batch: int = 256, runs: float = 1.0) -> None:
        """``runs`` x ``docs`` samples of ``doc_bytes`` bytes from TrainConfig ``cfg``'s model (KV cache)."""
        from .model import flops_per_token
        m = cfg.model_config()
        self.sample_flops += runs * flops_per_token(m, training=False) * docs * doc_bytes
        self.launches += runs * math.ceil(docs / batch) * doc_bytes * (DECODE_KERNELS_PER_LAYER * m.n_layer + 10)

    @property
    def flops(self) -> float:
        return self.train_flops + self.sample_flops

    def minutes(self, machine: Machine) -> float:
        """Estimated minutes of compute on ``machine``: the arithmetic, plus the launch floor."""
        s = self.flops / (machine.peak_flops * machine.utilization) + self.launches * KERNEL_S
        return s / 60.0


def lesson02_run_flops(scale: Scale) -> dict:
    """FLOPs of lesson 02's default training run at ``scale`` (lesson 01 prices it).

    The training core's own settings and count: ``looplab.train.TrainConfig.from_scale`` and
    ``looplab.model.flops_per_token`` (6N + attention), the count :class:`Work` adds up.
    Tokens = ``train_steps * batch_size * block_size``.
    """
    from .model import flops_per_token, matmul_params
    from .train import TrainConfig
    cfg = TrainConfig.from_scale(scale)
    mcfg = cfg.model_config()
    tokens = scale.train_steps * cfg.batch_size * cfg.block_size
    return {"flops": flops_per_token(mcfg) * tokens, "n_params": matmul_params(mcfg), "tokens": tokens,
            "how": "looplab.train.TrainConfig.from_scale + looplab.model.flops_per_token (6N + attention)"}


LESSON05_STRATEGIES = 4  # lesson 05's STRATS (real, replace, self, disc)
# One SmolLM2-135M proposal in lesson 03: 2 x 135M parameters x the tokens it computes; with the
# prompt's start cached, about 230 prompt tokens, 15 choices of about 7 and a 15-token rationale
# (measured at workshop scale, issue 28: 0.06-0.07 TFLOP a call after the first).
LLM_PROPOSAL_FLOPS = 2 * 135e6 * 360


def _experiment(scale: Scale, w: Work, budgets: float) -> None:
    """``budgets`` lesson-03 experiments (each: experiment_steps steps of experiment_ref)."""
    from .train import TrainConfig
    cfg = TrainConfig.from_scale(scale, **dict(scale.experiment_ref))
    w.add_training(cfg, scale.experiment_steps, runs=budgets, evals=1)


def lesson_work(scale: Scale) -> dict[str, Work]:
    """The compute of lessons 00-05 at ``scale``, counted from what each lesson runs."""
    from .train import TrainConfig
    if not isinstance(scale, Scale):
        raise TypeError(f"scale must be a looplab.config.Scale (e.g. SCALES['workshop']), got {scale!r}")
    s = scale
    out = {"00": Work(), "01": Work()}      # 00: this table; 01: economics, no training

    w = Work()  # 02: one run with 10 evaluations; a width sweep at 0.3 x its time per width; samples
    cfg02 = TrainConfig.from_scale(s)
    w.add_training(cfg02, s.train_steps, runs=1 + 0.3 * len(s.sweep_widths), evals=11)
    w.add_sampling(cfg02, 2, s.sample_tokens, runs=1.5)
    w.add_sampling(cfg02, 32, s.block_size, runs=2)           # generate() vs the KV-cache sampler
    out["02"] = w

    w = Work()  # 03: noise floor, null experiments, every proposer's loops, the long re-runs, the tests
    _experiment(s, w, s.noise_replicates + s.null_experiments
                + len(s.proposers) * s.proposer_loops * s.experiments_per_proposer + 1
                + 2 * (s.experiments_per_proposer // 2 + 1)      # the learner's keeps, re-run on 2 seeds
                + 2 * s.replication_seeds                        # choice and base on the sealed test
                + len(s.proposers) * s.proposer_loops)          # each loop's choice, read on test
    _experiment(s, w, s.screen_configs * s.screen_factor)
    # the LLM's proposals: one per LLM experiment, one per second Centaur trial, one free-writing try
    llm_share = ("llm" in s.proposers) + 0.5 * ("centaur" in s.proposers)
    w.sample_flops += LLM_PROPOSAL_FLOPS * (llm_share * s.proposer_loops * s.experiments_per_proposer + 1)
    out["03"] = w

    w = Work()  # 04: one writer for every chain; three workflows per seed; top-p per seed; the sweep per seed
    from .collapse import ChainConfig, chain_train_config
    c = ChainConfig.from_scale(s)
    cfg04 = chain_train_config(c, seed=0)
    g_topp = min(2, s.generations)                               # the top-p chains: generations 0 and 1
    later = s.chain_seeds * 3 * (s.generations - 1)               # replace, accumulate, accumulate-subsample
    topp = s.chain_seeds * (g_topp - 1)
    w.add_training(cfg04, s.chain_gen0_steps, runs=1)
    w.add_training(cfg04, s.generation_steps, runs=later + topp)
    # every seed samples the writer (and again with top-p); every later generation samples once
    w.add_sampling(cfg04, s.synthetic_docs, s.doc_bytes, runs=s.chain_seeds + later + s.chain_seeds * g_topp)
    w.add_training(cfg04, min(40, s.generation_steps), runs=4)   # the inline loop and run_chain, 2 gens each
    w.add_sampling(cfg04, min(48, s.synthetic_docs), s.doc_bytes, runs=4)
    w.add_training(cfg04, s.generation_steps, runs=3 * s.chain_seeds)   # 3 synthetic shares per seed
    out["04"] = w

    w = Work()  # 05: four strategies x seeds (one writer), then the re-grading of lesson 03
    from .strategies import lesson_chain
    cg = lesson_chain(s)
    cfg05 = chain_train_config(cg, seed=0)
    # the real cell runs one generation after the writer, the others grading_generations - 1
    later = s.grading_seeds * ((LESSON05_STRATEGIES - 1) * (s.grading_generations - 1) + 1)
    w.add_training(cfg05, s.grading_gen0_steps, runs=1)        # generation 0: one writer for every seed
    w.add_training(cfg05, s.grading_steps, runs=later)
    # every seed samples its batch from the writer; later generations sample docs, the last a quarter
    last = s.grading_seeds * LESSON05_STRATEGIES
    w.add_sampling(cfg05, s.grading_docs, s.grading_doc_bytes, runs=s.grading_seeds + later - last)
    w.add_sampling(cfg05, cg.last_docs, s.grading_doc_bytes, runs=last)
    _experiment(s, w, 8)                   # at most 2 fresh seeds x (baseline + 3 claims)
    out["05"] = w
    return out


def sizing_table(scales=SCALE_NAMES, machines: list[Machine] | None = None):
    """Lessons x scales: training / sampling FLOPs and estimated minutes on each machine (a DataFrame).

    ``machines`` default: the reference 2-core laptop, a T4, an A100 and an H100 SXM.
    """
    import pandas as pd
    machines = machines if machines is not None else [laptop(), T4, A100, H100]
    rows = []
    for name in scales:
        if name not in SCALES:
            raise ValueError(f"scale {name!r} is not a scale; choose from {', '.join(SCALE_NAMES)}.")
        for lesson, w in lesson_work(SCALES[name]).items():
            row = {"scale": name, "lesson": lesson, "train TFLOP": w.train_flops / 1e12,
                   "sample TFLOP": w.sample_flops / 1e12}
            row.update({f"min on {m.name}": w.minutes(m) for m in machines})
            rows.append(row)
    return pd.DataFrame(rows).set_index(["scale", "lesson"])


def print_sizing(machine_flops: float | None = None) -> None:
    """Print the table, with this machine's measured matmul rate as an extra column when given."""
    import pandas as pd
    ms = [laptop(), T4, A100, H100]
    if machine_flops is not None:
        ms.insert(0, cpu_machine(machine_flops, f"this machine ({machine_flops / 1e9:.0f} GFLOP/s)"))
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:,.2f}".format):
        print(sizing_table(machines=ms))
    print(f"\nutilization assumed: CPU {CPU_UTILIZATION:.0%} of the measured fp32 matmul rate; GPU "
          f"{GPU_UTILIZATION:.0%} of the datasheet's dense 16-bit tensor peak; plus {KERNEL_S * 1e6:.0f} us "
          "per kernel launch on either.")
    for m in (T4, A100, H100):
        print(f"  {m.name}: {m.source}")
