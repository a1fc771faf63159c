"""The experiment spec: a declarative, validated search space over the training config.

A proposal -- from random search, from Optuna, or from an LLM -- is a dict of *changes* to the
current best config, e.g. ``{"lr": 0.002, "n_embd": 96}``. :meth:`SearchSpace.validate` merges it
into the base config and checks every value against its bounds, rejecting anything outside the
space with a reason a human (or an LLM, on retry) can read. The LLM never writes or runs code:
all it can do is name values, and only values this module accepts ever reach the trainer.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence


class ProposalError(ValueError):
    """A proposal is outside the search space; ``str(err)`` is the reason."""


KINDS = ("float", "int", "choice")


@dataclass(frozen=True)
class Param:
    """One searchable field of the training config, with its bounds.

    ``kind`` is ``"float"`` or ``"int"`` (a closed range ``[low, high]``, optionally on a log
    scale) or ``"choice"`` (one of ``choices``). ``step`` is the size of one "move" used to build
    neighbouring configs (multiplicative on a log scale, additive otherwise).
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    step: float | None = None
    help: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name!r}: kind={self.kind!r} must be one of {KINDS}.")
        if self.kind == "choice":
            if not self.choices:
                raise ValueError(f"Param {self.name!r}: a choice needs a non-empty tuple of choices.")
        else:
            if self.low is None or self.high is None or not self.low <= self.high:
                raise ValueError(f"Param {self.name!r}: needs low <= high, got [{self.low}, {self.high}].")
            if self.log and self.low <= 0:
                raise ValueError(f"Param {self.name!r}: a log-scale range needs low > 0, got {self.low}.")

    # -- checking ---------------------------------------------------------------------------
    def validate(self, value: Any) -> Any:
        """Return ``value`` (ints as int, floats as float) or raise :class:`ProposalError`."""
        if self.kind == "choice":
            for c in self.choices:  # exact match, but 64 == 64.0 is fine for numeric choices
                if type(value) is not bool and value == c and type(value) in (type(c), int, float):
                    return c
            raise ProposalError(f"{self.name}={value!r} is not allowed; choose one of {list(self.choices)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProposalError(f"{self.name}={value!r} must be a number in [{self.low:g}, {self.high:g}]")
        if not math.isfinite(value):
            raise ProposalError(f"{self.name}={value!r} is not a finite number")
        if self.kind == "int":
            if float(value) != int(value):
                raise ProposalError(f"{self.name}={value!r} must be a whole number in [{self.low:g}, {self.high:g}]")
            value = int(value)
        else:
            value = float(value)
        if not self.low <= value <= self.high:
            raise ProposalError(f"{self.name}={value!r} is out of range; allowed [{self.low:g}, {self.high:g}]")
        return value

    # -- describing -------------------------------------------------------------------------
    def describe(self) -> str:
        """One line for a prompt or a table: name, kind, bounds, meaning."""
        if self.kind == "choice":
            rng = "one of " + ", ".join(str(c) for c in self.choices)
        else:
            rng = f"{self.kind} in [{self.low:g}, {self.high:g}]" + (" (log scale)" if self.log else "")
        return f"{self.name}: {rng}" + (f" -- {self.help}" if self.help else "")

    # -- generating -------------------------------------------------------------------------
    def sample(self, rng: random.Random) -> Any:
        """A uniform draw (log-uniform on a log scale)."""
        if self.kind == "choice":
            return rng.choice(self.choices)
        if self.log:
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            x = rng.uniform(self.low, self.high)
        return int(round(x)) if self.kind == "int" else float(f"{x:.3g}")

    def suggest(self, trial) -> Any:
        """The same draw through an Optuna trial (so TPE can model it)."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def neighbors(self, value: Any) -> list:
        """Values one move away from ``value`` that are still inside the bounds."""
        if self.kind == "choice":
            if value not in self.choices:
                return list(self.choices)
            i = self.choices.index(value)
            return [self.choices[j] for j in (i - 1, i + 1) if 0 <= j < len(self.choices)]
        out = []
        if self.log:
            f = self.step or 2.0
            cands = [value / f, value * f]
        else:
            s = self.step or (self.high - self.low) / 4
            cands = [value - s, value + s]
        for c in cands:
            c = int(round(c)) if self.kind == "int" else float(f"{c:.3g}")
            c = min(max(c, self.low), self.high)
            if c != value and c not in out:
                out.append(c)
        return out


@dataclass
class SearchSpace:
    """Named :class:`Param` s plus cross-field constraints, around a ``base`` config.

    ``constraints`` are ``(check, message)`` pairs: ``check(config) -> bool`` must hold for every
    config the loop runs (e.g. the width must divide by the number of heads).
    """

    params: Sequence[Param]
    base: dict
    constraints: Sequence[tuple[Callable[[Mapping], bool], str]] = field(default_factory=tuple)

    def __post_init__(self):
        self.params = list(self.params)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {names}")
        missing = [n for n in names if n not in self.base]
        if missing:
            raise ValueError(f"base config lacks a value for {missing}")
        self.base = self.validate({}, self.base)  # the base itself must be inside the space

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{name!r} is not in the search space; fields: {self.names}")

    def add(self, param: Param, base_value: Any) -> "SearchSpace":
        """A new space with one more field (the base gets ``base_value`` for it)."""
        return SearchSpace(self.params + [param], {**self.base, param.name: base_value}, self.constraints)

    def validate(self, changes: Mapping, base: Mapping | None = None) -> dict:
        """Merge ``changes`` into ``base`` (default: the space's base) and check everything.

        Returns the full, checked config. Raises :class:`ProposalError` naming the first problem:
        a non-dict, an unknown field, an out-of-range or wrongly typed value, a broken constraint.
        """
        if not isinstance(changes, Mapping):
            raise ProposalError(f"a proposal must be a JSON object of field -> value, got {type(changes).__name__}")
        known = set(self.names)
        unknown = [k for k in changes if k not in known]
        if unknown:
            shown = ", ".join(repr(str(k))[:40] for k in unknown[:3])
            raise ProposalError(f"unknown field(s) {shown}; the search space has {sorted(known)}")
        merged = dict(self.base if base is None else base)
        merged.update(changes)
        out = {p.name: p.validate(merged[p.name]) for p in self.params}
        for check, message in self.constraints:
            if not check(out):
                raise ProposalError(f"constraint broken: {message} (got " +
                                    ", ".join(f"{k}={v}" for k, v in out.items() if k in message) + ")")
        return out

    def is_valid(self, changes: Mapping, base: Mapping | None = None) -> bool:
        try:
            self.validate(changes, base)
            return True
        except ProposalError:
            return False

    def sample(self, rng: random.Random, tries: int = 100) -> dict:
        """A random full config inside the space (redrawn until the constraints hold)."""
        for _ in range(tries):
            cfg = {p.name: p.sample(rng) for p in self.params}
            if self.is_valid(cfg):
                return self.validate(cfg)
        raise RuntimeError(f"no config satisfying the constraints in {tries} random draws")

    def moves(self, config: Mapping) -> list[dict]:
        """Every single-field change one step away from ``config`` that stays valid.

        This closed set is what the offline LLM chooses from, so its proposals are valid by
        construction.
        """
        out = []
        for p in self.params:
            for v in p.neighbors(config[p.name]):
                change = {p.name: v}
                if self.is_valid(change, config):
                    out.append(change)
        return out

    def describe(self) -> str:
        """The space as prompt text: one line per field."""
        return "\n".join("- " + p.describe() for p in self.params)

    def diff(self, config: Mapping, base: Mapping | None = None) -> dict:
        """The fields of ``config`` that differ from ``base``."""
        base = self.base if base is None else base
        return {k: v for k, v in config.items() if base.get(k) != v}


def _around(value: int, factors: Sequence[float], multiple: int) -> tuple:
    """Sorted distinct multiples of ``multiple`` near ``value * f`` for each factor (value kept)."""
    vals = {max(multiple, int(round(value * f / multiple)) * multiple) for f in factors}
    return tuple(sorted(vals | {value}))


def default_space(base: Mapping) -> SearchSpace:
    """The course's search space over the lesson-02 training config, around ``base``.

    Width, depth and batch bounds are relative to the base config, so the same space works at
    every scale, and are capped so that the costliest config in the space costs at most about
    4x the base per step (a fixed step budget must stay affordable for every proposal).
    """
    w, layers, b = int(base["n_embd"]), int(base["n_layer"]), int(base["batch_size"])
    params = [
        Param("lr", "float", 1e-4, 3e-2, log=True, step=2.0, help="peak learning rate (AdamW)"),
        Param("warmup_frac", "float", 0.0, 0.3, step=0.05, help="share of the budget spent warming up"),
        Param("weight_decay", "float", 0.0, 0.3, step=0.05, help="AdamW weight decay"),
        Param("dropout", "float", 0.0, 0.3, step=0.1, help="dropout probability"),
        Param("n_layer", "int", 1, layers + 1, step=1, help="transformer blocks"),
        Param("n_head", "choice", choices=(1, 2, 3, 4, 6, 8), help="attention heads (must divide n_embd)"),
        Param("n_embd", "choice", choices=_around(w, (0.5, 0.75, 1.25, 1.5), 8), help="model width"),
        Param("batch_size", "choice", choices=_around(b, (0.5, 0.75, 1.5), 2), help="sequences per step"),
    ]
    constraints = [(lambda c: c["n_embd"] % c["n_head"] == 0, "n_embd must be divisible by n_head")]
    return SearchSpace(params, {p.name: base[p.name] for p in params}, constraints)
