"""Scale profile, device, seeding and threads: the first thing every notebook calls.

``LOOPLAB_SCALE`` picks one of four size profiles (see ``SCALES``):

* ``smoke``    -- CI: a whole notebook in about a minute on 2 CPU cores;
* ``binder``   -- Binder's one CPU and 2 GB: the workshop's design with less of what is only
  reported (fewer proposers in lesson 03, five seeds in lesson 05), set by ``binder/start``;
* ``workshop`` -- a laptop: each lesson's compute about ten minutes on 2 cores, under 2 GB RAM;
* ``full``     -- a GPU: each lesson under ~15 minutes on one 16 GB T4 (Colab's free GPU),
  by the FLOP count of :mod:`looplab.course.sizing` (lesson 00 prints the table).

Unset, the scale is ``full`` when CUDA is present and ``workshop`` otherwise. ``Scale.design``
names the scale whose searched design a profile runs (binder runs workshop's), so that a lesson
can tell whether its verdicts have the power the search measured. The same notebook
cells run at every scale; only the sizes in the :class:`Scale` dataclass change. A ``Scale`` groups them
by lesson: ``tiny`` (02), ``loop`` (03), ``chains`` (04) and ``grading`` (05).

(About 400 lines, most of them the :class:`Scale` fields with the reason for each size; the thread
count under a CPU quota is in :mod:`looplab.cpus`; the
profile, the device and ``setup()`` are read together, so they stay in one module.)
"""
from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from importlib import metadata

from .colab import prepare as prepare_colab
from .cpus import thread_budget

SCALE_NAMES = ("smoke", "binder", "workshop", "full")


@dataclass(frozen=True)
class TinyModel:
    """Lesson 02: the tiny model and its training budget (lessons 03-05 build on its width and context)."""

    n_layer: int
    n_head: int
    n_embd: int
    block_size: int          # context length in tokens (bytes)
    batch_size: int
    train_steps: int         # the default step budget of one training run
    eval_batches: int        # batches averaged for a val / test estimate
    corpus_max_bytes: int    # cap on the corpus read (0 = whole corpus)
    sweep_widths: tuple      # model widths compared in lesson 02's size sweep
    sample_tokens: int       # bytes sampled when showing generations


@dataclass(frozen=True)
class Loop:
    """Lesson 03: the experiment loop."""

    experiment_steps: int    # fixed step budget of one experiment (steps of experiment_base)
    experiments_per_proposer: int
    noise_replicates: int    # baseline seeds used to measure the noise floor
    experiment_ref: tuple    # the config whose experiment_steps steps define one experiment's FLOPs
    experiment_base: tuple   # the loop's start, as (field, value) pairs: experiment_ref's model with
                             # nanoGPT's optimiser defaults (NANOGPT_OPTIMISER), a documented default
                             # with headroom the loop's moves reach (bench/explore_loop_headroom.py)
    proposer_loops: int      # independent loops (training seeds) per proposer, for spread
    null_experiments: int    # seed-only changes run through the loop to measure its false-keep rate
    screen_configs: int      # configs re-trained at screen_factor x the budget (how good is the screen?)
    screen_factor: int
    replication_seeds: int   # fresh seeds on which the learner's choice and the base are replicated on the sealed test
    proposers: tuple         # the proposer families lesson 03's comparison runs (a subset of PROPOSERS)


@dataclass(frozen=True)
class Chains:
    """Lesson 04: collapse chains (a model trained on its own samples) and the Gaussian toy."""

    generations: int         # LM generations in a collapse chain
    steps: int               # training steps per generation after generation 0
    gen0_steps: int          # generation 0's steps (one writer for every seed: trained longer, so its samples are mostly words)
    layers: int              # transformer blocks of the chains' models (width, heads, context: lesson 02's)
    docs: int                # documents sampled per generation
    doc_bytes: int           # bytes per sampled document
    seeds: int               # independent chains (seed spread)
    gaussian_chains: int
    gaussian_samples: int    # M, samples per generation in the Gaussian toy
    gaussian_generations: int


@dataclass(frozen=True)
class Grading:
    """Lesson 05: graded chains (4 design cells x ``seeds`` chains must fit the lesson's budget)."""

    generations: int         # generations of every strategy's chain
    layers: int              # transformer blocks of the chains' models (width, heads: lesson 02's)
    steps: int               # training steps per generation after generation 0
    gen0_steps: int          # generation 0's steps (the writer: trained longer, so its samples vary in quality)
    docs: int                # documents sampled per generation (a share `keep` is trained on)
    seeds: int               # chains per strategy (seed spread; >= 5 for the exact paired test)
    real_docs: int           # real documents generation 0 trains on (the generator's knowledge)
    batch_size: int          # batch size of every generation's training
    keep: float              # share of each generation's sampled documents trained on
    grader_frac: float       # share of the training split held out for the graders (chains never see it)
    doc_bytes: int           # bytes per sampled (and real) document of the graded chains


@dataclass(frozen=True)
class Scale:
    """Every size a lesson uses, for one scale profile, grouped by lesson: ``tiny`` (02), ``loop`` (03),
    ``chains`` (04) and ``grading`` (05). Frozen: read it, don't change it."""

    name: str
    design: str              # the scale whose searched design (bench/) this profile runs: its own name, or
                             # "workshop" for binder, which cuts only what the lessons report but do not require
    tiny: TinyModel
    loop: Loop
    chains: Chains
    grading: Grading

    def changed(self, name: str, design: str | None = None, **groups) -> "Scale":
        """This scale with ``name`` (and ``design``: default ``name``) and, per group, the fields that change:
        ``changed("smoke", tiny=dict(n_layer=2), grading=dict(seeds=2))``."""
        bad = set(groups) - {"tiny", "loop", "chains", "grading"}
        if bad:
            raise ValueError(f"unknown Scale group(s) {sorted(bad)}; the groups are tiny, loop, chains, grading")
        return replace(self, name=name, design=design or name,
                       **{g: replace(getattr(self, g), **kw) for g, kw in groups.items()})


# nanoGPT's optimiser settings for its small character-level model (config/train_shakespeare_char.py:
# learning_rate 1e-3, warmup_iters 100 of max_iters 5000, dropout 0.2; weight_decay 1e-1 from train.py),
# https://github.com/karpathy/nanoGPT. Lesson 03 starts its loop from these on experiment_ref's model.
NANOGPT_OPTIMISER = (("lr", 1e-3), ("warmup_frac", 0.02), ("weight_decay", 0.1), ("dropout", 0.2))
# Lesson 03's proposer families, in the order its comparison lists them (random first: the reference).
PROPOSERS = ("random", "hill-climb", "tpe", "cma-es", "llm", "centaur")

# The workshop scale is the course's reference: every size, with the reason for it. The others are
# the workshop plus what they change (binder, below, changes two fields).
WORKSHOP = Scale(
    name="workshop", design="workshop",
    tiny=TinyModel(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, train_steps=1500, eval_batches=20,
                   corpus_max_bytes=0, sweep_widths=(64, 128, 192), sample_tokens=300),
    loop=Loop(
        experiment_steps=300, experiments_per_proposer=8, noise_replicates=6,
        experiment_ref=(("n_layer", 2), ("n_head", 2), ("n_embd", 64), ("batch_size", 8)),
        # issue 28, bench/explore_loop_headroom.py (seeds 3000+): from this start the loop's one-step moves
        # reach +16 sigma in 4 moves; loops of 8 and 24 null runs sized from that search (bench/README.md)
        experiment_base=(("n_layer", 2), ("n_head", 2), ("n_embd", 64), ("batch_size", 8)) + NANOGPT_OPTIMISER,
        proposer_loops=3, null_experiments=24, screen_configs=6, screen_factor=4, replication_seeds=6,
        # three of the six, to fit 900 s at the reference (issue 28: all six took 1,080-1,123 s, four
        # about 950): random (the reference), the LLM alone, the Centaur (the learner's loop);
        # hill-climb, TPE and CMA-ES ran in the exploration (bench/README.md) and run at the full scale
        proposers=("random", "llm", "centaur")),
    # lesson 04 (issue 16): a 2-layer writer trained 1000 steps once for every seed, later generations 300
    # steps on as much text (1024 docs x 128 bytes); 3 seeds for a paired trend test
    chains=Chains(generations=4, steps=300, gen0_steps=1000, layers=2, docs=1024, doc_bytes=128, seeds=3,
                  gaussian_chains=2000, gaussian_samples=100, gaussian_generations=200),
    # lesson 05 (issue 27): the writer and two synthetic generations, so that damage compounds (one gave
    # 0.04 bits/byte, two 0.25); frozen by bench/explore_grading.py on writer 1, seeds 100-107
    # 6 seeds: the search's power at 5 was 80% by a normal fit, and the first confirmation (seeds 0-4)
    # came out 4 of 5 (p = 1/16); at 6 the normal fit gives 91-96% (bench/README.md)
    grading=Grading(generations=3, layers=2, steps=320, gen0_steps=1000, docs=512, seeds=6, real_docs=1024,
                    batch_size=16, keep=0.25, grader_frac=0.3, doc_bytes=128),
)

SCALES = {
    "smoke": WORKSHOP.changed(
        "smoke",
        tiny=dict(n_layer=2, n_head=2, n_embd=64, batch_size=8, train_steps=120, eval_batches=4,
                  corpus_max_bytes=400_000, sweep_widths=(32, 64), sample_tokens=120),
        loop=dict(experiment_steps=15, experiments_per_proposer=2, noise_replicates=3,
                  experiment_ref=(("n_layer", 2), ("n_head", 2), ("n_embd", 32), ("batch_size", 8)),
                  experiment_base=(("n_layer", 2), ("n_head", 2), ("n_embd", 32), ("batch_size", 8)) + NANOGPT_OPTIMISER,
                  proposer_loops=2, null_experiments=3, screen_configs=3, screen_factor=2, replication_seeds=2,
                  proposers=PROPOSERS),
        chains=dict(generations=3, steps=30, gen0_steps=60, docs=32, seeds=1,
                    gaussian_chains=200, gaussian_samples=50, gaussian_generations=50),
        grading=dict(steps=20, gen0_steps=40, docs=32, seeds=2, real_docs=32, batch_size=8, doc_bytes=64),
    ),
    "workshop": WORKSHOP,
    # full: one 16 GB T4 (Colab's free GPU), each lesson <= 15 minutes by the computed table
    # (looplab.course.sizing, calibrated; lesson 00 prints it). nanoGPT's shakespeare_char GPU model (6 layers,
    # 6 heads, 384 wide) on a 128-byte context, 32 sequences a step, so that lesson 04's ~30 trainings fit.
    # experiment_base: the same nanoGPT optimiser defaults as the workshop's (not explored at this budget).
    # On a GPU these models are bound by kernel launches (51 us each on an H200's host, issue 29), so the
    # calibrated model put lesson 03 at 33 and lesson 04 at 19 minutes on a T4 with 600-step experiments at
    # batch 16, four loops per proposer and 600-step generations. Now: experiments of 300 steps at batch 32
    # (the same tokens, half the launches), three loops, generations of 400 steps after a 1,000-step
    # generation 0 (estimated 14.2 and 14.8 minutes; not yet run on a T4).
    "full": WORKSHOP.changed(
        "full",
        tiny=dict(n_layer=6, n_head=6, n_embd=384, block_size=128, batch_size=32, train_steps=4000, eval_batches=50,
                  sweep_widths=(192, 288, 384), sample_tokens=500),
        loop=dict(noise_replicates=10,
                  experiment_ref=(("n_layer", 4), ("n_head", 4), ("n_embd", 128), ("batch_size", 32)),
                  experiment_base=(("n_layer", 4), ("n_head", 4), ("n_embd", 128), ("batch_size", 32)) + NANOGPT_OPTIMISER,
                  null_experiments=20, screen_configs=8, proposers=PROPOSERS),
        chains=dict(generations=5, steps=400, layers=6, docs=2048, doc_bytes=256, gaussian_chains=10000,
                    gaussian_generations=500),
        grading=dict(steps=600, gen0_steps=2000, docs=1024, seeds=5, real_docs=2048, batch_size=32, doc_bytes=256),
    ),
}

# binder: mybinder.org gives a pod about one CPU and 2 GB of memory. On one core (taskset -c 0) at the
# workshop sizes, lessons 03-05 took 748, 698 and 800 s. binder keeps every size that a required
# verdict rests on and cuts only what is reported:
# - lesson 03: random and the Centaur (the learner's loop), without the LLM-alone loops; the comparison
#   with random is reported at every scale; the null runs and the replication are the workshop's;
# - lesson 05: five seeds per strategy instead of six. The search's power at five was 80% by a normal
#   fit (bench/README.md), so at binder its comparisons are reported; they are required at workshop.
SCALES["binder"] = WORKSHOP.changed("binder", design="workshop", loop=dict(proposers=("random", "centaur")),
                                    grading=dict(seeds=5))


def _cuda_available() -> bool:
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # torch missing or broken: no CUDA
        return False


def scale_name(value: str | None = None) -> str:
    """The scale in force: ``value``, else ``$LOOPLAB_SCALE``, else full on CUDA / workshop."""
    raw = value if value is not None else os.environ.get("LOOPLAB_SCALE", "")
    raw = raw.strip().lower()
    if not raw:
        return "full" if _cuda_available() else "workshop"
    if raw not in SCALES:
        raise ValueError(
            f"LOOPLAB_SCALE={raw!r} is not a scale; choose one of {', '.join(SCALE_NAMES)} "
            "(smoke: CI, about a minute per notebook; workshop: laptop/Binder; full: a GPU)."
        )
    return raw


def get_scale(value: str | None = None) -> Scale:
    """The :class:`Scale` profile for ``value`` (or the environment; see :func:`scale_name`)."""
    return SCALES[scale_name(value)]


@lru_cache(maxsize=None)
def _mps_usable() -> bool:
    """Does a tiny training step run on Apple's MPS backend? Says why not, once, if it does not."""
    import torch
    try:
        w = torch.randn(8, 8, device="mps", requires_grad=True)
        x = torch.randn(2, 2, 4, 8, device="mps")
        y = torch.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True)
        torch.nn.functional.layer_norm(y @ w, (8,)).sum().backward()
        torch.mps.synchronize()
        return True
    except Exception as e:  # an op this torch build lacks on MPS
        why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        print(f"device: MPS is present but a test training step failed on it ({why}); using the CPU "
              "instead. Set LOOPLAB_DEVICE=mps to insist.")
        return False


def device_name() -> str:
    """The device every training, sampling and loop path uses: cuda -> mps -> cpu.

    ``$LOOPLAB_DEVICE`` (cuda, mps or cpu) overrides the choice; a forced device this machine
    lacks is refused here, up front, rather than training somewhere else without saying so.
    An MPS device that fails a tiny training step is passed over for the CPU, with a message.
    """
    import torch
    forced = os.environ.get("LOOPLAB_DEVICE", "").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if forced:
        if forced not in ("cuda", "mps", "cpu"):
            raise ValueError(f"LOOPLAB_DEVICE={forced!r} is not a device; choose cuda, mps or cpu.")
        if forced == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"LOOPLAB_DEVICE='cuda' but torch {torch.__version__} sees no CUDA device here "
                               f"(built with CUDA {torch.version.cuda or 'none'}); unset LOOPLAB_DEVICE or set it to cpu.")
        if forced == "mps" and not has_mps:
            raise RuntimeError(f"LOOPLAB_DEVICE='mps' but torch {torch.__version__} sees no Apple MPS device here; "
                               "unset LOOPLAB_DEVICE or set it to cpu.")
        return forced
    if torch.cuda.is_available():
        return "cuda"
    if has_mps and _mps_usable():
        return "mps"
    return "cpu"


def free_cores() -> int:
    """CPU threads to use: the free cores, capped by a container's CPU quota; ``$LOOPLAB_THREADS`` overrides."""
    return thread_budget()[0]


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads to the free cores (oversubscribing 2 cores was 5x slower)."""
    import torch
    n = free_cores() if n is None else int(n)
    torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy and torch (CPU and CUDA) with one number."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a whole number >= 0.")
    random.seed(seed)
    try:
        import numpy as np
        np.random.seed(seed % 2**32)
    except ImportError:
        pass
    import torch
    torch.manual_seed(seed)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict:
    """Versions of python and the packages the course leans on."""
    out = {"python": platform.python_version()}
    for dist in ("looplab", "torch", "transformers", "numpy", "pandas", "matplotlib", "ipywidgets"):
        out[dist] = _version(dist)
    return out


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` decided: the scale, the device, the seed and the thread count."""

    scale: Scale
    device: str
    seed: int
    threads: int
    threads_reason: str = ""   # why that many: the free cores, a container's CPU quota or LOOPLAB_THREADS

    def __repr__(self) -> str:  # short, for notebooks
        return f"Setup(scale={self.scale.name!r}, device={self.device!r}, seed={self.seed}, threads={self.threads})"


_SESSION: list[Setup] = []   # the Setup of this process's last setup() call


def current_setup() -> Setup | None:
    """The :class:`Setup` this process's last :func:`setup` call decided (``None`` before any)."""
    return _SESSION[-1] if _SESSION else None


def default_device() -> str:
    """The device a library function uses when it is given none: the one :func:`setup` decided, so a
    notebook decides it once; before any ``setup()``, :func:`device_name` decides."""
    s = current_setup()
    return s.device if s is not None else device_name()


def setup(seed: int = 0, scale: str | None = None, quiet: bool = False) -> Setup:
    """Run first in every notebook: choose scale and device, seed everything, set threads, report.
    The :class:`Setup` it returns is also this process's (:func:`current_setup`): library functions
    given no ``device`` use its device (:func:`default_device`)."""
    sc = get_scale(scale)
    dev = device_name()
    threads, why = thread_budget()
    set_threads(threads)
    seed_everything(seed)
    try:  # headless plots in CI; notebooks keep their inline backend
        if "ipykernel" not in sys.modules:
            import matplotlib
            matplotlib.use("Agg")
    except ImportError:
        pass
    hosted = prepare_colab()   # on Colab only: ipywidgets 8's widget manager, API keys from Secrets
    if not quiet:
        for line in hosted:
            print(f"colab   : {line}")
        v = versions()
        print(f"scale   : {sc.name}  (set LOOPLAB_SCALE to one of {', '.join(SCALE_NAMES)})")
        print(f"device  : {dev}" + (f"  ({threads} CPU threads: {why})" if dev == "cpu" else ""))
        print(f"seed    : {seed}")
        print("versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    made = Setup(scale=sc, device=dev, seed=seed, threads=threads, threads_reason=why)
    _SESSION[:] = [made]
    return made


def scale_table():
    """All scale profiles side by side, as a pandas DataFrame (rows: each lesson's group and its sizes,
    columns: scales)."""
    import pandas as pd
    rows = [("", "design")] + [(g.name, f.name) for g in fields(Scale) if g.name not in ("name", "design")
                               for f in fields(getattr(WORKSHOP, g.name))]
    def value(s, g, f):
        return getattr(SCALES[s], f) if not g else getattr(getattr(SCALES[s], g), f)
    return pd.DataFrame({s: [value(s, g, f) for g, f in rows] for s in SCALE_NAMES},
                        index=pd.MultiIndex.from_tuples(rows, names=["group", "size"]))
