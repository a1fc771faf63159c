"""One experiment: train a config with the lesson-02 trainer under a fixed budget, score it.

:class:`Runner` is the ``run(config, seed) -> metrics`` function the research loop calls
(:meth:`Runner.run` returns ``(metrics, model)``, so the loop can keep a kept run's model). Every
experiment gets the same budget, in one of three kinds:

* ``"flops"`` (default): the same training compute for every experiment -- the FLOPs of
  ``scale.loop.experiment_steps`` steps of the reference config. A bigger model or batch gets fewer steps,
  a smaller one more (at most 1.5x: on a CPU a tiny model is bound by per-step overhead, so 4x the
  steps of a 1-layer, 32-wide model took 16 s an experiment, 6x the reference's time), so "just make it bigger" is not a free win, the wall time of
  an experiment stays roughly constant, and -- unlike a seconds budget -- the result does not
  depend on how busy the machine is that minute;
* ``"steps"``: the same number of optimizer steps (bigger configs cost more);
* ``"seconds"``: the same wall-clock training time, as in karpathy/autoresearch (300 s there).

Every experiment is scored the same way: val_bpb over a *fixed* set of validation windows (same batch size, same
number of batches, same seed), whatever batch size the experiment trained with -- otherwise a
proposal could change the yardstick along with the model.
"""
from __future__ import annotations

from typing import Mapping

from ..config import default_device
from ..data import Splits, default_splits
from ..economics.costs import cost_of_flops
from ..model import flops_per_token
from ..train import Budget, TrainConfig, bpb_from_loss, evaluate, train

BUDGET_KINDS = ("flops", "steps", "seconds")


class Runner:
    """``runner(config, seed) -> dict`` of val_bpb and the cost record of one budgeted run.

    ``config`` holds :class:`~looplab.train.TrainConfig` fields (the search space's names); the
    rest come from the scale profile. ``steps`` (default ``scale.loop.experiment_steps``) sets the
    budget: that many steps of ``base`` (default: the scale's ``experiment_ref``) for
    ``kind="flops"``, of every config for ``"steps"``; ``seconds`` is the budget for ``kind="seconds"``.
    A ``seed`` field in ``config`` (the null proposer's only change) overrides the loop's seed.
    ``device`` default: :func:`looplab.config.default_device` (the device setup() decided), decided when the runner is made.
    """

    def __init__(self, scale, data: Splits | None = None, kind: str = "flops", steps: int | None = None,
                 seconds: float | None = None, base: Mapping | None = None, corpus: str = "kjv",
                 eval_batches: int | None = None, eval_batch_size: int | None = None,
                 device: str | None = None, max_step_factor: float = 1.5):
        if kind not in BUDGET_KINDS:
            raise ValueError(f"kind={kind!r} is not a budget kind; choose one of {BUDGET_KINDS}")
        if kind == "seconds" and not seconds:
            raise ValueError("kind='seconds' needs seconds=S (> 0)")
        self.scale, self.kind, self.max_step_factor = scale, kind, max_step_factor
        self.steps = steps if steps is not None else scale.loop.experiment_steps
        self.seconds = seconds
        if kind != "seconds":
            Budget(steps=self.steps)  # validates
        self.base = dict(base) if base is not None else dict(scale.loop.experiment_ref)
        self.flops_budget = self.step_flops(self.base) * self.steps
        self.data = data if data is not None else default_splits(corpus, scale.tiny.corpus_max_bytes)
        self.eval_batches = eval_batches or scale.tiny.eval_batches
        self.eval_batch_size = eval_batch_size or scale.tiny.batch_size
        self.device = device or default_device()   # one place decides: cuda -> mps -> cpu
        self.runs = 0

    def step_flops(self, config: Mapping) -> float:
        """Training FLOPs of one optimizer step of ``config`` (fields it lacks: the scale's lesson-02 run)."""
        cfg = self.train_config(config, 0)
        return flops_per_token(cfg.model) * cfg.batch_size * cfg.model.block_size

    def budget(self, config: Mapping) -> Budget:
        """The :class:`~looplab.train.Budget` of one experiment of ``config``."""
        if self.kind == "seconds":
            return Budget(seconds=self.seconds)
        if self.kind == "steps":
            return Budget(steps=self.steps)
        n = round(self.flops_budget / self.step_flops(config))
        return Budget(steps=max(1, min(n, int(self.max_step_factor * self.steps))))

    def describe(self) -> str:
        """The budget in words (goes into the LLM's prompt)."""
        if self.kind == "seconds":
            return f"{self.seconds:g} seconds of training per experiment"
        if self.kind == "steps":
            return f"{self.steps} optimizer steps per experiment"
        return (f"a fixed compute budget of {self.flops_budget / 1e12:.2f} TFLOP per experiment "
                f"({self.steps} steps of a {self.base.get('n_layer')}-layer, {self.base.get('n_embd')}-wide reference model; "
                "bigger models or batches get fewer steps)")

    def train_config(self, config: Mapping, seed: int) -> TrainConfig:
        # the trainer's own end-of-run eval is cut to 1 batch: we score on the fixed windows below
        config = dict(config)
        seed = config.pop("seed", seed)
        return TrainConfig.from_scale(self.scale, **config, seed=seed, eval_batches=1)

    def val_bpb(self, model, block_size: int) -> tuple[float, float]:
        loss = evaluate(model, self.data.val, self.eval_batch_size, block_size, self.eval_batches, seed=0)
        return loss, bpb_from_loss(loss)

    def run(self, config: Mapping, seed: int) -> tuple[dict, object]:
        """``(metrics, model)``: the numbers of one budgeted run, and the model it trained."""
        cfg = self.train_config(config, seed)
        res = train(cfg, self.budget(config), self.data, progress=False, device=self.device, measure_peak=False)
        self.runs += 1
        loss, bpb = self.val_bpb(res.model, cfg.model.block_size)
        return {"val_bpb": bpb, "val_loss": loss, "train_loss": res.train_loss, "steps": res.steps,
                "tokens": res.tokens, "wall_s": round(res.wall_s + res.eval_s, 3), "flops": res.flops,
                "tokens_per_s": round(res.tokens_per_s, 1), "n_params": res.n_params,
                "cost_usd": float(cost_of_flops(res.flops))}, res.model

    def __call__(self, config: Mapping, seed: int) -> dict:
        """The metrics of one budgeted run (numbers only; :meth:`run` also returns the model)."""
        return self.run(config, seed)[0]

    def test(self, config: Mapping, seed: int, model=None, reason: str = "final grade of the chosen config") -> float:
        """test_bpb of ``config`` on the sealed test split (retrains with ``seed`` if no model)."""
        cfg = self.train_config(config, seed)
        if model is None:
            model = train(cfg, self.budget(config), self.data, progress=False, device=self.device,
                          measure_peak=False).model
        tokens = self.data.sealed_test(reason)
        loss = evaluate(model, tokens, self.eval_batch_size, cfg.model.block_size, self.eval_batches, seed=0)
        return bpb_from_loss(loss)
