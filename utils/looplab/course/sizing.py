"""How much compute each lesson needs at each scale, and how long that takes on named machines.

    from looplab.course.sizing import sizing_table
    sizing_table()          # lessons x scales: training and sampling FLOPs, minutes per machine

Each lesson's work is counted from the :class:`looplab.config.Scale` profile with the course's
own FLOP count (:func:`looplab.model.flops_per_token`: ``6 N + 12 L T d`` per training token, a
third of that per token of a forward pass), by walking through what the lesson trains and
samples: how many runs of which model, how many steps, how many sampled bytes, how many proposals
the offline LLM writes. Seconds on a machine are then

    in-lesson factor x (FLOPs / (peak x utilization)  +  kernel launches x seconds per launch)
    +  LLM FLOPs / (peak x LLM utilization)  +  the LLM's load  +  a kernel's start,

and every constant of that model is **measured**, on the pieces the lessons are made of, not fitted
to whole lessons: ``bench/calibrate_sizing.py`` times a training step of each model the lessons
train, a decode step, and SmolLM2's load and proposals (``bench/results/sizing_calibration_*.json``);
the in-lesson factor from the per-run step times a workshop run logged; the GPU's from the step timings
of one H200 run (``bench/results/gpu_h200_issue29.json``).
``tests/test_sizing.py`` holds the whole-lesson estimates against the lesson times recorded by real
dry runs (``looplab/assets/lesson_times.json``, and the H200's two full-scale lessons): an
estimate more than 1.5x away from its measurement fails it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import SCALE_NAMES, SCALES, Scale

__all__ = ["CPU_UTILIZATION", "CPU_LAUNCH_S", "CPU_IN_LESSON_FACTOR", "LAUNCH_KERNELS_PER_LAYER",
           "LAUNCH_KERNELS_FIXED", "DROPOUT_KERNELS_PER_LAYER", "DECODE_KERNELS_PER_LAYER", "GPU_UTILIZATION",
           "GPU_LAUNCH_S", "LLM_LOAD_S", "CPU_LLM_UTILIZATION", "LLM_PROPOSAL_FLOPS", "LLM_PROPOSAL_LAUNCHES",
           "LESSON_START_S", "Machine", "gpu_machine", "T4", "A100", "H100", "cpu_machine", "laptop", "Work",
           "lesson02_run_flops", "LESSON05_STRATEGIES", "lesson_work", "sizing_table", "this_machine",
           "measured_table", "print_sizing"]

# ---------------------------------------------------------------------------------------------
# The time model's constants, each measured (bench/calibrate_sizing.py on a 2-core AMD EPYC VM,
# 2026-12-05, three runs: bench/results/sizing_calibration_cpu2*.json at 2 threads, cpu1 at 1)
# ---------------------------------------------------------------------------------------------
# A training step = step FLOPs / (matmul rate x u) + launches x seconds per launch, fitted over the
# eight dropout-free models the lessons train at smoke and workshop sizes, each step timed as the median
# of five rounds next to a matmul-rate reading (bench/results/sizing_calibration_cpu2.json: worst step
# within 1.09x of the fit). A small model on a CPU is bound by per-op overhead as much as by arithmetic.
# Earlier runs of the same script on this VM gave u = 0.55-0.71 and 12-51 us: its speed drifts by up
# to 1.4x over an hour, which is why the test's tolerance is 1.5x.
CPU_UTILIZATION = 0.68
CPU_LAUNCH_S = 24e-6
# Inside a lesson the same step runs slower than in the bench's steady loop (each run builds a fresh model
# and optimizer, evaluates, logs; the kernel holds more memory). The workshop run of 2026-12-05 logged:
# lesson 02, 1,500 steps in 63.0 s = 42 ms a step against the bench's 34.8 (1.21x); lesson 03's ledger,
# the base config at 10.0 ms a step (the baselines) and 13.2 (the null runs) against 9.0 (1.11x, 1.47x).
# Their mean, applied to training and sampling on a CPU. (On the H200, lesson 02's 4,000 steps took
# 12.7 ms each against 15.0 in the benchmark: no slowdown there, so GPUs keep 1.0.)
CPU_IN_LESSON_FACTOR = 1.26
# Eager PyTorch launches every kernel (on a GPU) or op (on a CPU) from Python; a training step launches
# about 40 per layer (forward, backward, optimizer) plus about 40 more; dropout (not in the FLOP count)
# adds about 61 launches' worth per layer (lesson 03's base config against its reference, the same run).
LAUNCH_KERNELS_PER_LAYER, LAUNCH_KERNELS_FIXED = 40, 40
DROPOUT_KERNELS_PER_LAYER = 61
DECODE_KERNELS_PER_LAYER = 12        # one KV-cache decode step (looplab.model.forward with one new token)
# GPUs, from one H200 run (issue 29: the course's trainer at the full scale's shapes, 6 x 384, context
# 128, bf16 autocast: 15.0 ms a step at batch 32, 19.1 ms at batch 256). The same linear model through
# those two points: u = 0.48 of the dense bf16 peak for the arithmetic, 51 us a launch (the host's
# Python, not the GPU, sets it, so a GPU with a slower host, as on Colab, may be slower still).
GPU_UTILIZATION = 0.48
GPU_LAUNCH_S = 51e-6
# SmolLM2-135M-Instruct, lesson 03's offline proposer. Its load: 15.9 s at 2 threads, 16.5 at 1 (the
# bench). A proposal: the workshop run's ledger logged 36 of them, 90.7 GFLOP each (2 x 135M parameters x
# ~340 tokens computed), median 2.17 s at a 190 GFLOP/s matmul rate. Less the launch term below (~0.26 s),
# that is 0.25 of the matmul rate. (The bench's proposal with an empty history, 48 GFLOP, took 1.84 s.)
# Each proposal launches about 30 layers x 12 kernels x 30 forward passes (on a GPU, the proposal's time).
LLM_LOAD_S = 16.0
CPU_LLM_UTILIZATION = 0.25
LLM_PROPOSAL_FLOPS = 2 * 135e6 * 340
LLM_PROPOSAL_LAUNCHES = 30 * 12 * 30
# A lesson's kernel start and imports: lesson 00's whole run took 3.3 s (workshop, 2 cores).
LESSON_START_S = 3.0


@dataclass(frozen=True)
class Machine:
    """A machine to size for: its peak, the measured utilization and launch cost, with the peak's source."""

    name: str
    peak_flops: float        # at the precision training uses there (fp16/bf16 autocast on CUDA)
    utilization: float
    source: str
    launch_s: float = CPU_LAUNCH_S
    llm_utilization: float = CPU_LLM_UTILIZATION
    in_lesson_factor: float = CPU_IN_LESSON_FACTOR


def gpu_machine(key: str, utilization: float = GPU_UTILIZATION) -> Machine:
    """A GPU from :data:`looplab.hardware.DENSE_16BIT` (its datasheet's dense 16-bit tensor peak), with
    the utilization and launch cost measured on an H200 (:data:`GPU_UTILIZATION`, :data:`GPU_LAUNCH_S`)."""
    from ..hardware import DENSE_16BIT
    if key not in DENSE_16BIT:
        raise ValueError(f"GPU {key!r} is not in looplab.hardware.DENSE_16BIT; choose from {', '.join(DENSE_16BIT)}.")
    sheet = DENSE_16BIT[key]
    return Machine(f"{key} ({'bf16' if sheet.bf16 else 'fp16'})", sheet.flops, utilization, sheet.source,
                   launch_s=GPU_LAUNCH_S, llm_utilization=utilization, in_lesson_factor=1.0)


T4, A100, H100 = gpu_machine("T4"), gpu_machine("A100"), gpu_machine("H100")


def cpu_machine(flops_per_s: float, name: str = "this machine") -> Machine:
    """A CPU at a measured (or assumed) fp32 matmul rate, with the CPU's measured utilization and launch cost."""
    if not (isinstance(flops_per_s, (int, float)) and math.isfinite(flops_per_s) and flops_per_s > 0):
        raise ValueError(f"flops_per_s={flops_per_s!r} must be a finite number > 0 (a measured matmul FLOP/s).")
    return Machine(name, float(flops_per_s), CPU_UTILIZATION, "measured fp32 matmul rate")


def laptop() -> Machine:
    """The course's reference 2-core laptop (:data:`looplab.course.dryrun.REFERENCE_FLOPS`, ~165 GFLOP/s)."""
    from .dryrun import REFERENCE_FLOPS
    return cpu_machine(REFERENCE_FLOPS, "2-core laptop (165 GFLOP/s)")


# ---------------------------------------------------------------------------------------------
# Work: what a lesson trains and samples
# ---------------------------------------------------------------------------------------------
@dataclass
class Work:
    """A lesson's work: FLOPs, the kernel launches that set a small model's floor, the LLM's proposals."""

    train_flops: float = 0.0     # training plus the evaluations done along the way
    sample_flops: float = 0.0
    launches: float = 0.0        # kernel launches, training and decoding together
    llm_calls: float = 0.0       # offline-LLM proposals (lesson 03)
    llm_loads: int = 0
    starts: int = 1              # kernel starts (one per notebook)

    def add_training(self, cfg, steps: float, runs: float = 1.0, evals: float = 1.0) -> None:
        """``runs`` runs of ``steps`` optimizer steps of TrainConfig ``cfg``, ``evals`` val estimates each."""
        from ..model import flops_per_token
        m = cfg.model
        tokens = cfg.batch_size * cfg.model.block_size
        fwd_eval = flops_per_token(m, training=False) * tokens * cfg.eval_batches * evals
        self.train_flops += runs * (flops_per_token(m) * tokens * steps + fwd_eval)
        per_layer = LAUNCH_KERNELS_PER_LAYER + (DROPOUT_KERNELS_PER_LAYER if cfg.model.dropout > 0 else 0)
        self.launches += runs * steps * (per_layer * m.n_layer + LAUNCH_KERNELS_FIXED)

    def add_sampling(self, cfg, docs: float, doc_bytes: int, batch: int = 256, runs: float = 1.0) -> None:
        """``runs`` x ``docs`` samples of ``doc_bytes`` bytes from TrainConfig ``cfg``'s model (KV cache)."""
        from ..model import flops_per_token
        m = cfg.model
        self.sample_flops += runs * flops_per_token(m, training=False) * docs * doc_bytes
        self.launches += runs * math.ceil(docs / batch) * doc_bytes * (DECODE_KERNELS_PER_LAYER * m.n_layer + 10)

    def add_llm(self, calls: float) -> None:
        """``calls`` proposals by the offline LLM (loaded once per lesson)."""
        self.llm_calls += calls
        self.llm_loads = 1

    @property
    def flops(self) -> float:
        return self.train_flops + self.sample_flops

    def seconds(self, machine: Machine) -> float:
        """Estimated seconds on ``machine``: the arithmetic, the launches, the LLM, the kernel's start."""
        rate = machine.peak_flops
        compute = self.flops / (rate * machine.utilization) + self.launches * machine.launch_s
        return (machine.in_lesson_factor * compute + self.llm_calls * LLM_PROPOSAL_LAUNCHES * machine.launch_s
                + self.llm_calls * LLM_PROPOSAL_FLOPS / (rate * machine.llm_utilization)
                + self.llm_loads * LLM_LOAD_S + self.starts * LESSON_START_S)

    def minutes(self, machine: Machine) -> float:
        """:meth:`seconds` in minutes."""
        return self.seconds(machine) / 60.0


def lesson02_run_flops(scale: Scale) -> dict:
    """FLOPs of lesson 02's default training run at ``scale`` (lesson 01 prices it).

    The training core's own settings and count: ``looplab.train.TrainConfig.from_scale`` and
    ``looplab.model.flops_per_token`` (6N + attention), the count :class:`Work` adds up.
    Tokens = ``train_steps * batch_size * block_size``.
    """
    from ..model import flops_per_token, matmul_params
    from ..train import TrainConfig
    cfg = TrainConfig.from_scale(scale)
    mcfg = cfg.model
    tokens = scale.tiny.train_steps * cfg.batch_size * cfg.model.block_size
    return {"flops": flops_per_token(mcfg) * tokens, "n_params": matmul_params(mcfg), "tokens": tokens,
            "how": "looplab.train.TrainConfig.from_scale + looplab.model.flops_per_token (6N + attention)"}


LESSON05_STRATEGIES = 4  # lesson 05's STRATS (real, replace, self, disc)


def _experiment(scale: Scale, w: Work, budgets: float) -> None:
    """``budgets`` lesson-03 experiments (each: experiment_steps steps of experiment_ref)."""
    from ..train import TrainConfig
    cfg = TrainConfig.from_scale(scale, **dict(scale.loop.experiment_ref))
    w.add_training(cfg, scale.loop.experiment_steps, runs=budgets, evals=1)


def lesson_work(scale: Scale) -> dict[str, Work]:
    """The compute of lessons 00-05 at ``scale``, counted from what each lesson runs."""
    from ..train import TrainConfig
    if not isinstance(scale, Scale):
        raise TypeError(f"scale must be a looplab.config.Scale (e.g. SCALES['workshop']), got {scale!r}")
    s = scale
    out = {"00": Work(), "01": Work()}      # 00: this table; 01: economics, no training: a kernel's start

    w = Work()  # 02: one run with 10 evaluations; a width sweep at 0.3 x its time per width; samples
    cfg02 = TrainConfig.from_scale(s)
    w.add_training(cfg02, s.tiny.train_steps, runs=1 + 0.3 * len(s.tiny.sweep_widths), evals=11)
    w.add_sampling(cfg02, 2, s.tiny.sample_tokens, runs=1.5)
    w.add_sampling(cfg02, 32, s.tiny.block_size, runs=2)           # generate() vs the KV-cache sampler
    out["02"] = w

    w = Work()  # 03: noise floor, null experiments, every proposer's loops, the long re-runs, the tests
    _experiment(s, w, s.loop.noise_replicates + s.loop.null_experiments
                + len(s.loop.proposers) * s.loop.proposer_loops * s.loop.experiments_per_proposer + 1
                + 2 * (s.loop.experiments_per_proposer // 2 + 1)      # the learner's keeps, re-run on 2 seeds
                + 2 * s.loop.replication_seeds                        # choice and base on the sealed test
                + len(s.loop.proposers) * s.loop.proposer_loops)          # each loop's choice, read on test
    _experiment(s, w, s.loop.screen_configs * s.loop.screen_factor)
    # the LLM's proposals: one per LLM experiment, one per second Centaur trial, one free-writing try
    llm_share = ("llm" in s.loop.proposers) + 0.5 * ("centaur" in s.loop.proposers)
    w.add_llm(llm_share * s.loop.proposer_loops * s.loop.experiments_per_proposer + 1)
    out["03"] = w

    w = Work()  # 04: one writer for every chain; three workflows per seed; top-p per seed; the sweep per seed
    from ..collapse import ChainConfig, chain_train_config
    c = ChainConfig.from_scale(s)
    cfg04 = chain_train_config(c, seed=0)
    g_topp = min(2, s.chains.generations)                               # the top-p chains: generations 0 and 1
    later = s.chains.seeds * 3 * (s.chains.generations - 1)               # replace, accumulate, accumulate-subsample
    topp = s.chains.seeds * (g_topp - 1)
    w.add_training(cfg04, s.chains.gen0_steps, runs=1)
    w.add_training(cfg04, s.chains.steps, runs=later + topp)
    # every seed samples the writer (and again with top-p); every later generation samples once
    w.add_sampling(cfg04, s.chains.docs, s.chains.doc_bytes, runs=s.chains.seeds + later + s.chains.seeds * g_topp)
    w.add_training(cfg04, min(40, s.chains.steps), runs=4)   # the inline loop and run_chain, 2 gens each
    w.add_sampling(cfg04, min(48, s.chains.docs), s.chains.doc_bytes, runs=4)
    w.add_training(cfg04, s.chains.steps, runs=3 * s.chains.seeds)   # 3 synthetic shares per seed
    out["04"] = w

    w = Work()  # 05: four strategies x seeds (one writer), then the re-grading of lesson 03
    from ..grading.strategies import lesson_chain
    cg = lesson_chain(s)
    cfg05 = chain_train_config(cg, seed=0)
    # the real cell runs one generation after the writer, the others grading.generations - 1
    later = s.grading.seeds * ((LESSON05_STRATEGIES - 1) * (s.grading.generations - 1) + 1)
    w.add_training(cfg05, s.grading.gen0_steps, runs=1)        # generation 0: one writer for every seed
    w.add_training(cfg05, s.grading.steps, runs=later)
    # every seed samples its batch from the writer; later generations sample docs, the last a quarter
    last = s.grading.seeds * LESSON05_STRATEGIES
    w.add_sampling(cfg05, s.grading.docs, s.grading.doc_bytes, runs=s.grading.seeds + later - last)
    w.add_sampling(cfg05, cg.last_docs, s.grading.doc_bytes, runs=last)
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


def this_machine() -> Machine:
    """The device training uses here (:func:`looplab.config.default_device`), to size for.

    A CUDA GPU: its dense peak in the training dtype (:func:`looplab.hardware.peak`: datasheet or large
    matmul) at the GPU constants; a CPU (or MPS): its measured fp32 matmul rate at the CPU constants.
    """
    from ..config import default_device
    from ..hardware import cuda_device_name, peak
    dev = default_device()
    if dev == "cuda":
        from ..accel import Precision
        pk = peak("cuda", Precision("cuda").dtype_name)
        return Machine(f"this GPU ({cuda_device_name()})", pk.flops, GPU_UTILIZATION, pk.how,
                       launch_s=GPU_LAUNCH_S, llm_utilization=GPU_UTILIZATION, in_lesson_factor=1.0)
    pk = peak(dev, "float32")
    return cpu_machine(pk.flops, f"this machine ({dev}, {pk.flops / 1e9:.0f} GFLOP/s)")


def measured_table():
    """The lesson times measured by real runs (seconds), one column per run, with its setting."""
    import pandas as pd

    from .times import load
    cols = {}
    for scale, run in load().items():
        cols[f"{scale}: {run['setting']} ({run['matmul_gflops']:.0f} GFLOP/s)"] = {
            k: v["seconds"] for k, v in run["lessons"].items()}
    return pd.DataFrame(cols).rename_axis("lesson")


def print_sizing(machine: Machine | None = None) -> None:
    """Print the estimated minutes (with ``machine``, e.g. :func:`this_machine`, as the first column),
    the constants behind them, and the lesson times measured by recorded runs."""
    import pandas as pd
    ms = [laptop(), T4, A100, H100]
    if machine is not None:
        ms.insert(0, machine)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:,.2f}".format):
        print("ESTIMATED (looplab.course.sizing's model, constants measured by bench/calibrate_sizing.py):")
        print(sizing_table(machines=ms))
        print(f"\nCPU: {CPU_UTILIZATION:.0%} of the measured fp32 matmul rate, {CPU_LAUNCH_S * 1e6:.0f} us a kernel "
              f"launch; GPU: {GPU_UTILIZATION:.0%} of the datasheet's dense 16-bit peak, {GPU_LAUNCH_S * 1e6:.0f} us "
              f"a launch (one H200 run); the offline LLM: {LLM_LOAD_S:.0f} s to load, then each proposal.")
        for m in ms:
            print(f"  {m.name}: {m.source}")
        print("\nMEASURED (seconds per lesson, recorded dry runs: looplab/assets/lesson_times.json):")
        print(measured_table())
