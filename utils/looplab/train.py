"""Budgeted training of a tiny GPT, evaluation in bits per byte, throughput, FLOPs and MFU.

    cfg = TrainConfig.from_scale(S.scale, lr=2e-3)
    res = train(cfg, Budget(steps=300))           # or Budget(seconds=60), autoresearch-style
    res.val_bpb, res.tokens_per_s, res.mfu        # its price: looplab.economics.cost_of_flops(res.flops)

One training step (:func:`train_step`) is the textbook loop: forward, cross-entropy on the next
byte, backward, clip the gradient norm, AdamW step. The learning rate warms up linearly, then
decays (cosine or linear) to ``min_lr_ratio * lr`` as the budget is used up (:func:`lr_at`).
With a step budget, the same seed and config give the same numbers on CPU; a seconds budget
stops wherever the clock says, so its step count depends on the machine's speed that minute.

Why one module of about 400 lines: it is lesson 02's training core, read top to bottom as the
lesson teaches it (config and budget, schedule, loss, one step, evaluation, the loop and its
result), and lab 02 checks a learner's loop against :func:`train` line for line; split, the loop
would sit away from the pieces it is made of.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache

from .checks import number, whole
from .model import ModelConfig, build_model, flops_per_token, n_params

SCHEDULES = ("cosine", "linear", "constant")

# train() reads its losses off the device every this many steps: on a GPU a read waits for every
# queued kernel, so reading each step's loss would stop the host from queueing the next step
# while the GPU works (nanoGPT reads at its log_interval, 10 by default). A diverged run is caught
# within this many steps. On the CPU a read costs nothing measurable and every number is as before.
LOSS_READ_EVERY = 10


MODEL_FIELDS = tuple(f.name for f in fields(ModelConfig))   # the knobs that go to the model


@dataclass(frozen=True)
class TrainConfig:
    """One run's model (a :class:`looplab.model.ModelConfig`, where its sizes are declared) and how it
    trains (everything but the budget and the data).

    ``TrainConfig(model=ModelConfig(n_layer=2), lr=1e-3)`` builds one. A search (lesson 03) sees every
    setting as one flat knob, the model's sizes included: :meth:`knobs`, :meth:`replace`,
    :meth:`from_scale` and :meth:`to_dict` take and give them by name (``n_layer``, ``lr``, ...)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = 12
    lr: float = 2e-3
    warmup_frac: float = 0.05     # share of the budget spent warming up linearly from 0
    schedule: str = "cosine"      # cosine | linear | constant decay after warm-up
    min_lr_ratio: float = 0.1     # final lr = min_lr_ratio * lr
    weight_decay: float = 0.1     # AdamW, on matrices only (not biases, norms)
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0        # max global gradient norm (0 = no clipping)
    eval_batches: int = 20        # batches averaged for val loss
    eval_every: int = 0           # steps between val evaluations during training (0 = end only)
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"model must be a looplab.model.ModelConfig, got {type(self.model).__name__} "
                            f"(flat sizes go through TrainConfig.knobs(n_layer=..., ...))")
        checks = [
            ("batch_size", self.batch_size, 1, 1 << 16, int), ("eval_batches", self.eval_batches, 1, 10_000, int),
            ("eval_every", self.eval_every, 0, 10**9, int), ("seed", self.seed, 0, 2**63 - 1, int),
        ]
        for name, v, lo, hi, _ in checks:
            whole(name, v, lo, hi)
        for name, v, lo, hi in [("lr", self.lr, 0.0, 1.0), ("warmup_frac", self.warmup_frac, 0.0, 0.99),
                                ("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0),
                                ("weight_decay", self.weight_decay, 0.0, 10.0),
                                ("beta1", self.beta1, 0.0, 0.9999), ("beta2", self.beta2, 0.0, 0.99999),
                                ("grad_clip", self.grad_clip, 0.0, 1e6)]:
            number(name, v, lo, hi, lo_open=name == "lr")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r} is not a schedule; choose one of {SCHEDULES}.")

    @classmethod
    def knob_names(cls) -> tuple:
        """Every knob by name, in :meth:`to_dict`'s order: the model's sizes, then the training settings."""
        return MODEL_FIELDS + tuple(f.name for f in fields(cls) if f.name != "model")

    @classmethod
    def knobs(cls, **knobs) -> "TrainConfig":
        """A config from flat knobs (``n_layer=2, lr=1e-3``): defaults for the rest."""
        return cls().replace(**knobs)

    @classmethod
    def from_scale(cls, scale, **overrides) -> "TrainConfig":
        """The lesson-02 run of a :class:`looplab.config.Scale` profile (flat ``overrides`` win)."""
        base = cls(model=ModelConfig.from_scale(scale), batch_size=scale.tiny.batch_size,
                   eval_batches=scale.tiny.eval_batches)
        return base.replace(**overrides)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with flat knobs changed: a model size goes to ``model``, the rest to the training settings."""
        bad = set(changes) - set(self.knob_names()) - {"model"}
        if bad:
            raise ValueError(f"unknown TrainConfig field(s) {sorted(bad)}; the fields are {sorted(self.knob_names())}.")
        sizes = {k: changes.pop(k) for k in list(changes) if k in MODEL_FIELDS}
        model = changes.pop("model", self.model)
        return replace(self, model=replace(model, **sizes) if sizes else model, **changes)

    def to_dict(self) -> dict:
        """Every knob, flat: the model's sizes, then the training settings."""
        d = asdict(self.model)
        d.update((k, v) for k, v in asdict(self).items() if k != "model")
        return d


@dataclass(frozen=True)
class Budget:
    """How long a run may train: ``steps`` optimizer steps and/or ``seconds`` of training time.

    With both, whichever runs out first ends the run. Evaluation is not charged to the budget.
    """

    steps: int | None = None
    seconds: float | None = None

    def __post_init__(self):
        if self.steps is None and self.seconds is None:
            raise ValueError("Budget needs steps=N (>= 1) or seconds=S (> 0), or both.")
        if self.steps is not None:
            whole("Budget steps", self.steps, 1)
        if self.seconds is not None:
            number("Budget seconds", self.seconds, 0, lo_open=True)

    def progress(self, step: int, elapsed: float) -> float:
        """Fraction of the budget used, in [0, 1] (the larger of the step and the time fraction)."""
        p = 0.0
        if self.steps is not None:
            p = max(p, step / self.steps)
        if self.seconds is not None:
            p = max(p, elapsed / self.seconds)
        return min(1.0, p)


def lr_at(progress: float, lr: float, warmup_frac: float = 0.05, schedule: str = "cosine",
          min_lr_ratio: float = 0.1) -> float:
    """The learning rate when ``progress`` (0..1) of the budget is used.

    Linear warm-up from 0 to ``lr`` over the first ``warmup_frac``; then ``schedule`` decays to
    ``min_lr_ratio * lr`` at progress 1 (cosine: half a cosine wave; linear: a straight line).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r} is not a schedule; choose one of {SCHEDULES}.")
    progress = min(max(float(progress), 0.0), 1.0)
    if warmup_frac > 0 and progress < warmup_frac:
        return lr * progress / warmup_frac
    if schedule == "constant":
        return lr
    t = (progress - warmup_frac) / max(1e-12, 1.0 - warmup_frac)
    lo = min_lr_ratio * lr
    if schedule == "cosine":
        return lo + 0.5 * (lr - lo) * (1.0 + math.cos(math.pi * t))
    return lr - (lr - lo) * t


def bpb_from_loss(loss_nats: float) -> float:
    """Bits per byte from a byte-level loss in nats per token: ``loss / ln 2``."""
    return float(loss_nats) / math.log(2)


def make_optimizer(model, config: TrainConfig, capturable: bool = False):
    """AdamW with weight decay on 2-D weights only (nanoGPT's split); fused kernel where available.

    ``capturable=True``: the fused kernel with its learning rate in a tensor on the model's device (set it
    with ``group["lr"].fill_(lr)``), so a CUDA graph can record the step (:class:`looplab.accel.GraphedStep`).
    """
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    seen, decay, no_decay = set(), [], []
    for p in params:
        if id(p) in seen:
            continue
        seen.add(id(p))
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    kw = dict(lr=config.lr, betas=(config.beta1, config.beta2), eps=1e-8)
    if capturable:
        dev = next(model.parameters()).device
        return torch.optim.AdamW(groups, fused=True, capturable=True,
                                 **dict(kw, lr=torch.tensor(config.lr, dtype=torch.float32, device=dev)))
    try:
        return torch.optim.AdamW(groups, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):  # fused unsupported on this device / build
        return torch.optim.AdamW(groups, foreach=True, **kw)


def lm_loss(model, x, y):
    """Mean cross-entropy (nats) of predicting ``y`` from ``x`` (both (B, T) byte ids).

    The logits are :func:`looplab.model.forward`'s, the course's one forward pass (bit-identical
    to ``model(input_ids=x).logits``, without transformers' plumbing).
    """
    import torch.nn.functional as F

    from .model import forward

    logits, _ = forward(model, x)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


@lru_cache(maxsize=None)
def _default_precision(device_type: str):
    """One :class:`looplab.accel.Precision` per device type for callers that pass none (on CUDA
    with fp16 its gradient scaler must outlive a step: a fresh one each step would never adapt)."""
    from .accel import Precision
    return Precision(device_type)


def train_step(model, optimizer, x, y, lr: float | None, grad_clip: float = 1.0, precision=None, sync: bool = True):
    """One optimisation step; returns the training loss (nats/token) before the update.

    ``lr=None`` leaves the optimizer's learning rate as it is (a CUDA graph replays this step with its
    learning rate in a device tensor, set outside the graph: :class:`looplab.accel.GraphedStep`).

    ``sync=False`` returns it as a 0-d tensor on the device instead of a float: reading a number off
    a GPU waits until the GPU has finished, so :func:`train` reads its losses in batches.

    ``precision`` (a :class:`looplab.accel.Precision`, default: one for ``x``'s device) adds
    mixed precision on CUDA; on the CPU it changes nothing.
    """
    import torch

    prec = precision if precision is not None else _default_precision(x.device.type)
    if lr is not None:
        for g in optimizer.param_groups:
            g["lr"] = lr
    with prec.autocast():
        loss = lm_loss(model, x, y)
    optimizer.zero_grad(set_to_none=True)
    prec.backward(loss)
    if grad_clip > 0:
        prec.unscale(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    prec.step(optimizer)
    return float(loss.detach()) if sync else loss.detach()


def evaluate(model, tokens, batch_size: int, block_size: int, batches: int, seed: int = 0) -> float:
    """Mean loss (nats/token) over ``batches`` random batches of ``tokens`` (same seed, same batches).

    Runs on the model's device, in full float32 (no TF32 on CUDA), so scores compare across devices.
    """
    import torch

    from .accel import exact_fp32, to_device
    from .data import get_batch

    whole("batches", batches, 1)
    g = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    total = 0.0
    dev = next(model.parameters()).device
    with torch.inference_mode(), exact_fp32(dev):
        for _ in range(batches):
            x, y = get_batch(tokens, batch_size, block_size, g)
            total += float(lm_loss(model, to_device(x, dev), to_device(y, dev)))
    model.train(was_training)
    return total / batches


@dataclass
class TrainResult:
    """The record of one run. ``to_dict()`` is JSON-safe (everything but the model)."""

    model: object = field(repr=False)
    config: TrainConfig
    seed: int
    steps: int
    tokens: int
    wall_s: float            # training time (the budgeted part)
    tokens_per_s: float
    flops: float             # training FLOPs, flops_per_token * tokens
    flops_per_s: float
    peak_flops_per_s: float  # the device's dense peak in the training dtype (looplab.hardware.peak)
    mfu: float               # flops_per_s / peak_flops_per_s
    n_params: int
    train_loss: float        # mean of the last 10% of steps' losses
    val_loss: float
    val_bpb: float
    history: list = field(repr=False, default_factory=list)
    val_history: list = field(repr=False, default_factory=list)
    eval_s: float = 0.0
    corpus: str = ""
    device: str = ""         # where it trained (train() always sets it)
    peak_how: str = ""       # where peak_flops_per_s came from: a datasheet (with its link) or a measurement

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"}
        d["config"] = self.config.to_dict()
        return d

    def summary(self) -> str:
        return (f"{self.steps} steps, {self.tokens:,} tokens in {self.wall_s:.1f}s "
                f"({self.tokens_per_s:,.0f} tok/s, {self.flops_per_s / 1e9:.1f} GFLOP/s, MFU {self.mfu:.2f}) | "
                f"train loss {self.train_loss:.3f} | val loss {self.val_loss:.3f} nats = {self.val_bpb:.3f} bpb")


def train(config: TrainConfig, budget: Budget, data=None, *, train_tokens=None, val_tokens=None,
          corpus: str = "kjv", corpus_max_bytes: int = 0, model=None, progress: bool = True,
          live_plot: bool = False, device: str | None = None, measure_peak: bool = True,
          cuda_graph: bool = False) -> TrainResult:
    """Train a fresh model (or continue ``model``) of ``config`` within ``budget``.

    Data, first match wins: a :class:`looplab.data.Splits` as ``data``; ``train_tokens`` and
    ``val_tokens`` (1-D long tensors); else the named ``corpus`` (first ``corpus_max_bytes``
    bytes, 0 = all) split by :func:`looplab.data.make_splits`. The sealed test split is never
    read here. ``progress`` shows a tqdm bar; ``live_plot`` redraws a loss curve in a notebook.
    ``device`` default: :func:`looplab.config.default_device` (the device setup() decided) (cuda -> mps -> cpu). On CUDA the
    run uses mixed precision (:class:`looplab.accel.Precision`) and MFU is against the GPU's dense
    peak in that precision (:func:`looplab.hardware.peak`: its datasheet, or a large measured matmul).
    ``cuda_graph=True`` records the step as a CUDA graph and replays it (:class:`looplab.accel.GraphedStep`):
    one launch a step instead of hundreds, where a small model's step waits on launches. Off by default
    until bench/bench_gpu.py has measured it on a GPU; where it cannot be recorded (the CPU, a float16
    GPU) the run says so and trains eagerly.
    """
    import torch

    from .accel import GraphedStep, Precision, to_device
    from .config import default_device
    from .data import Splits, default_splits, get_batch
    from .hardware import peak

    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget(steps=..., seconds=...), got {budget!r}")
    if data is not None:
        if not isinstance(data, Splits):
            raise TypeError(f"data must be a looplab.data.Splits, got {type(data).__name__}")
        train_tokens, val_tokens, corpus_name = data.train, data.val, data.name
    elif train_tokens is not None:
        if val_tokens is None:
            raise ValueError("train_tokens given without val_tokens: pass both (val scores the run).")
        corpus_name = "tokens"
    else:
        sp = default_splits(corpus, corpus_max_bytes)
        train_tokens, val_tokens, corpus_name = sp.train, sp.val, sp.name
    if int(train_tokens.max()) >= config.model.vocab_size:
        raise ValueError(f"token id {int(train_tokens.max())} >= vocab_size={config.model.vocab_size}.")
    dev = device or default_device()
    prec = Precision(dev)
    mcfg = config.model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # dropout draws, if any
        if model is None:
            model = build_model(mcfg, seed=config.seed)
        model.to(dev)
        model.train()
        if cuda_graph and not GraphedStep.possible(dev, prec):
            warnings.warn(f"cuda_graph=True needs a CUDA GPU that trains in bfloat16 (this run: {prec!r}); "
                          "training eagerly, one launch per operation.")
            cuda_graph = False
        opt = make_optimizer(model, config, capturable=cuda_graph)
        if cuda_graph:
            step_fn = GraphedStep(model, opt, config.batch_size, config.model.block_size, config.grad_clip, prec)
        else:
            def step_fn(x, y, lr):
                return train_step(model, opt, to_device(x, dev), to_device(y, dev), lr, config.grad_clip, prec,
                                  sync=False)
        g = torch.Generator().manual_seed(config.seed + 1)  # the batch stream
        fpt = flops_per_token(mcfg)
        tok_per_step = config.batch_size * config.model.block_size

        bar = None
        if progress:
            from tqdm.auto import tqdm
            total = budget.steps if budget.steps is not None else None
            bar = tqdm(total=total, desc="train", unit="step", leave=True)
        plot = None
        if live_plot:
            from .plots import LiveLoss
            plot = LiveLoss(title=f"training {n_params(model):,}-parameter model")

        history, val_history, unread = [], [], []
        step, train_time, eval_time, diverged = 0, 0.0, 0.0, False

        def read_losses():
            """Read the unread steps' losses into the history (one wait for the device, not one per step)."""
            nonlocal train_time, diverged
            t0 = time.perf_counter()
            values = torch.stack([h["loss"] for h in unread]).tolist() if unread else []
            train_time += time.perf_counter() - t0     # the wait is training time (the GPU was still at it)
            for h, v in zip(unread, values):
                h["loss"] = v
                history.append(h)
                if not math.isfinite(v) and not diverged:
                    diverged = True
                    warnings.warn(f"training loss became {v} at step {h['step']} (lr={h['lr']:.2e}); stopping early.")
                if plot:
                    plot.add(h["step"], v)
            unread.clear()

        while not diverged:
            frac = budget.progress(step, train_time)
            if frac >= 1.0:
                break
            lr = lr_at(frac, config.lr, config.warmup_frac, config.schedule, config.min_lr_ratio)
            t0 = time.perf_counter()
            x, y = get_batch(train_tokens, config.batch_size, config.model.block_size, g)
            loss = step_fn(x, y, lr)
            train_time += time.perf_counter() - t0
            step += 1
            unread.append({"step": step, "tokens": step * tok_per_step, "loss": loss, "lr": lr, "t": train_time})
            if step % LOSS_READ_EVERY == 0:
                read_losses()
                if bar is not None:
                    bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", lr=f"{lr:.1e}")
            if config.eval_every and step % config.eval_every == 0:
                read_losses()                          # the device finishes training before the eval clock starts
                te = time.perf_counter()
                vl = evaluate(model, val_tokens, config.batch_size, config.model.block_size, config.eval_batches, seed=0)
                eval_time += time.perf_counter() - te
                val_history.append({"step": step, "tokens": step * tok_per_step, "val_loss": vl})
                if plot:
                    plot.add_val(step, vl)
            if bar is not None:
                bar.update(1)
        read_losses()
        if bar is not None:
            bar.close()

        te = time.perf_counter()
        val_loss = evaluate(model, val_tokens, config.batch_size, config.model.block_size, config.eval_batches, seed=0)
        eval_time += time.perf_counter() - te
        if not val_history or val_history[-1]["step"] != step:
            val_history.append({"step": step, "tokens": step * tok_per_step, "val_loss": val_loss})
        if plot:
            plot.add_val(step, val_loss)
            plot.close()
    model.eval()

    tokens = step * tok_per_step
    tps = tokens / train_time if train_time > 0 else 0.0
    flops = fpt * tokens
    fps = tps * fpt
    pk = peak(dev, prec.dtype_name) if measure_peak else None
    peak_fl = float(pk.flops) if pk is not None else float("nan")
    tail = [h["loss"] for h in history[-max(1, len(history) // 10):]]
    return TrainResult(
        model=model, config=config, seed=config.seed, steps=step, tokens=tokens, wall_s=train_time,
        tokens_per_s=tps, flops=flops, flops_per_s=fps, peak_flops_per_s=peak_fl,
        mfu=fps / peak_fl if peak_fl and peak_fl == peak_fl else float("nan"), n_params=n_params(model),
        train_loss=sum(tail) / len(tail) if tail else float("nan"), val_loss=val_loss,
        val_bpb=bpb_from_loss(val_loss), history=history,
        val_history=val_history, eval_s=eval_time, corpus=corpus_name, device=dev,
        peak_how=pk.how if pk is not None else "not measured (measure_peak=False)",
    )
