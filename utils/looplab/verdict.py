"""Headline verdicts as data: the claim a lesson is built around, computed, tested and recorded.

A lesson calls :func:`record` in the cell that computes a headline result. The verdict carries the
claim in one line, the statistic and its value(s), the test and its threshold, the seeds, whether
it holds, and whether the lesson's story *requires* it to hold (``must_hold``) or merely reports
it. It is never typed in: ``holds`` comes from the test the cell ran.

When ``$LOOPLAB_HEADLINES`` names a file (the instructor's dry run, ``python -m looplab.course``,
sets it per lesson), every recorded verdict is appended there as one JSON line; the dry run
collects them into ``headlines.json`` / ``headlines.md`` and fails if a ``must_hold`` verdict
does not hold. Without it, verdicts are only shown.

The tests the verdicts use live in :mod:`looplab.stats`.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

HEADLINES_ENV = "LOOPLAB_HEADLINES"


@dataclass(frozen=True)
class Verdict:
    """One headline result of a lesson, as computed by the cell that shows it."""

    lesson: str
    claim: str
    statistic: str
    value: float | list
    test: str
    threshold: float
    seeds: list
    holds: bool
    must_hold: bool
    p_value: float | None = None
    false_positive_rate: str = ""
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return _jsonable(asdict(self))

    def line(self) -> str:
        """One line: HOLDS / DOES NOT HOLD, the claim, the statistic and the test."""
        word = "HOLDS" if self.holds else "DOES NOT HOLD"
        need = " (required by the lesson)" if self.must_hold else " (reported)"
        p = f", p = {self.p_value:.3g}" if self.p_value is not None else ""
        return (f"[{word}]{need} {self.claim} -- {self.statistic} = {_fmt(self.value)}; "
                f"{self.test}, threshold {_fmt(self.threshold)}{p}; seeds {list(self.seeds)}")

    def say(self, if_holds: str, if_not: str) -> str:
        """The sentence a learner reads, chosen by the verdict (print it)."""
        return if_holds if self.holds else if_not

    def __str__(self) -> str:
        return self.line()

    def _repr_markdown_(self) -> str:
        word = "✅ holds" if self.holds else "❌ does not hold"
        p = f", p = {self.p_value:.3g}" if self.p_value is not None else ""
        fpr = f" False-positive rate of the test: {self.false_positive_rate}." if self.false_positive_rate else ""
        return (f"**Verdict ({word}):** {self.claim}  \n{self.statistic} = `{_fmt(self.value)}`; "
                f"{self.test}, threshold `{_fmt(self.threshold)}`{p}; seeds {list(self.seeds)}.{fpr}"
                + (f"  \n{self.detail}" if self.detail else ""))


def record(lesson: str, claim: str, statistic: str, value, test: str, threshold, seeds: Sequence,
           holds: bool, must_hold: bool = False, p_value: float | None = None,
           false_positive_rate: str = "", detail: str = "", **extra) -> Verdict:
    """Make a :class:`Verdict`, append it to ``$LOOPLAB_HEADLINES`` if set, and return it."""
    if not isinstance(lesson, str) or not lesson.strip():
        raise ValueError(f"lesson={lesson!r} must be a lesson number such as '03'")
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError("claim must be a one-line sentence, got an empty value")
    if not (isinstance(holds, bool) or type(holds).__name__ in ("bool_", "bool")):   # numpy's bool too
        raise ValueError(f"holds={holds!r} must be a bool computed by the cell (True or False)")
    v = Verdict(lesson=lesson, claim=claim, statistic=statistic, value=_jsonable(value), test=test,
                threshold=_jsonable(threshold), seeds=[_jsonable(s) for s in seeds], holds=bool(holds),
                must_hold=bool(must_hold), p_value=None if p_value is None else float(p_value),
                false_positive_rate=false_positive_rate, detail=detail, extra=_jsonable(extra))
    path = os.environ.get(HEADLINES_ENV, "").strip()
    if path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("a", encoding="utf-8") as f:
            f.write(json.dumps(v.as_dict()) + "\n")
            f.flush()
    return v


def read(path: str | Path) -> list[Verdict]:
    """The verdicts in a JSON-lines file written by :func:`record` (missing file: none)."""
    p = Path(path)
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Verdict(**d))
    return out


# -- helpers ------------------------------------------------------------------------------------
def _jsonable(x):
    """numpy scalars/arrays and tuples into plain JSON values."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "tolist"):          # numpy array or scalar
        return _jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, list):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    return str(x)
