"""Headline verdicts as data: the claim a lesson is built around, computed, tested and recorded.

A lesson calls :func:`record` in the cell that computes a headline result. The verdict carries the
claim in one line, the statistic and its value(s), the test and its threshold, the seeds, whether
it holds, and whether the lesson's story *requires* it to hold (``must_hold``) or merely reports
it. It is never typed in: ``holds`` comes from the test the cell ran.

When ``$LOOPLAB_HEADLINES`` names a file (the instructor's dry run, ``python -m looplab.course``,
sets it per lesson), every recorded verdict is appended there as one JSON line; the dry run
collects them into ``headlines.json`` / ``headlines.md`` and fails if a ``must_hold`` verdict
does not hold. Without it, verdicts are only shown.

The tests here are the ones the course uses, each with a false-positive rate that is stated
before the data are seen:

* :func:`sign_flip_test` -- exact paired permutation test of a mean difference over seeds (every
  assignment of signs to the paired differences). Its false-positive rate is at most ``alpha``
  at any seed count, with no normality assumption; with n pairs the smallest p it can give is
  ``1 / 2**n`` (one-sided), so it needs n >= 5 to reach 0.05.
* :func:`t_keep_factor` -- the keep rule's threshold from Student's t: a single new run is kept
  only if it beats the baseline mean of ``n`` seeds by more than ``t_{1-alpha, n-1} * sqrt(1 + 1/n)``
  sample sigmas, which keeps a null change with probability ``alpha`` (normal noise).
"""
from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

HEADLINES_ENV = "LOOPLAB_HEADLINES"
MAX_EXACT_PAIRS = 20   # 2**20 sign patterns: exact; beyond that the test refuses (use fewer seeds)


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


# -- tests --------------------------------------------------------------------------------------
def sign_flip_test(diffs: Sequence[float], alternative: str = "greater") -> float:
    """Exact paired permutation p-value for mean(diffs) (``greater``: > 0; ``less``; ``two-sided``).

    Under the null (no difference), each paired difference is as likely to have either sign; the
    p-value is the share of the ``2**n`` sign patterns whose mean is at least as extreme as the
    observed one (the observed pattern included, so p >= 1 / 2**n).
    """
    d = [float(x) for x in diffs]
    if len(d) < 1:
        raise ValueError("sign_flip_test needs at least one paired difference, got none")
    if len(d) > MAX_EXACT_PAIRS:
        raise ValueError(f"{len(d)} pairs: the exact test enumerates 2**n patterns; use at most {MAX_EXACT_PAIRS}")
    if not all(math.isfinite(x) for x in d):
        raise ValueError(f"paired differences must be finite, got {d}")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"alternative={alternative!r}; choose 'greater', 'less' or 'two-sided'")
    obs = sum(d)
    eps = 1e-12 * max(1.0, sum(abs(x) for x in d))
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        s = sum(sg * abs(x) for sg, x in zip(signs, d))
        if alternative == "greater":
            hits += s >= obs - eps
        elif alternative == "less":
            hits += s <= obs + eps
        else:
            hits += abs(s) >= abs(obs) - eps
    return hits / 2 ** len(d)


def min_sign_flip_p(n: int) -> float:
    """The smallest one-sided p-value :func:`sign_flip_test` can give with ``n`` pairs."""
    return 1.0 / 2 ** n


def t_quantile(q: float, df: int) -> float:
    """Student's t quantile (scipy)."""
    from scipy import stats
    if not 0 < q < 1:
        raise ValueError(f"q={q} must lie strictly between 0 and 1")
    if df < 1:
        raise ValueError(f"df={df} must be >= 1 (a noise floor needs at least 2 seeds)")
    return float(stats.t.ppf(q, df))


def one_sided_t(diffs: Sequence[float]) -> tuple[float, float]:
    """``(t, p)`` of a one-sided t-test that the mean of paired differences is > 0 (df = n - 1).

    Under normal noise around zero, ``p <= alpha`` happens with probability ``alpha``. Without
    spread (every difference equal) t is +-inf by the sign of the mean (p 0 or 1), or 0 (p 1).
    """
    from scipy import stats
    d = [float(x) for x in diffs]
    if len(d) < 2:
        raise ValueError(f"a paired t-test needs at least 2 differences (2 seeds), got {len(d)}")
    if not all(math.isfinite(x) for x in d):
        raise ValueError(f"paired differences must be finite, got {d}")
    if max(d) - min(d) <= 1e-12 * max(1.0, abs(d[0])):   # no spread: scipy would give nan
        return (math.copysign(math.inf, d[0]), 0.0 if d[0] > 0 else 1.0) if d[0] != 0 else (0.0, 1.0)
    r = stats.ttest_1samp(d, 0.0, alternative="greater")
    return float(r.statistic), float(r.pvalue)


def t_keep_factor(n: int, alpha: float = 0.05) -> float:
    """k such that "gain > k * sigma_hat" keeps a null change with probability ``alpha``.

    ``sigma_hat`` is the sample SD of ``n`` baseline seeds and the candidate is one new run
    compared with their mean: (mean - x) / (sigma_hat * sqrt(1 + 1/n)) follows Student's t with
    n - 1 degrees of freedom when nothing changed, so k = t_{1-alpha, n-1} * sqrt(1 + 1/n).
    """
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha={alpha} must lie in (0, 0.5), e.g. 0.05")
    return t_quantile(1 - alpha, n - 1) * math.sqrt(1 + 1 / n)


def null_keep_rate(k: float, n: int) -> float:
    """Probability that "gain > k * sigma_hat" keeps a null change (normal noise, ``n`` seeds)."""
    from scipy import stats
    if k < 0:
        raise ValueError(f"k={k} must be >= 0")
    return float(stats.t.sf(k / math.sqrt(1 + 1 / n), n - 1))


def bootstrap_ci(values: Sequence[float], stat=None, level: float = 0.9, reps: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` (default: the mean) over ``values``.

    A resample where ``stat`` is undefined (it returns NaN, e.g. a ratio whose denominator is not
    positive in that resample) is left out of the percentiles; if every resample is, the interval is NaN.
    """
    import numpy as np
    x = np.asarray([float(v) for v in values])
    if x.size < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 values, got {x.size}")
    if not 0 < level < 1:
        raise ValueError(f"level={level} must lie in (0, 1)")
    stat = stat or np.mean
    rng = np.random.default_rng(seed)
    reps_v = [stat(x[rng.integers(0, x.size, x.size)]) for _ in range(reps)]
    reps_v = np.asarray(reps_v, dtype=float)
    if np.isnan(reps_v).all():
        return float("nan"), float("nan")
    lo, hi = np.nanquantile(reps_v, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def spearman_exact(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """``(rho, p)``: Spearman's rank correlation and its exact one-sided p-value (rho > 0).

    Under the null (the two rankings unrelated) every order of ``y`` against ``x`` is equally
    likely; p is the share of all ``n!`` orders whose rho is at least the observed one, so
    ``p <= alpha`` happens with probability at most ``alpha``. Ties get average ranks.
    """
    import numpy as np
    from scipy import stats
    x, y = [float(v) for v in x], [float(v) for v in y]
    if len(x) != len(y) or not 3 <= len(x) <= 8:
        raise ValueError(f"need two sequences of the same length, 3 to 8 (exact over n! orders), got {len(x)} and {len(y)}")
    if not all(math.isfinite(v) for v in x + y):
        raise ValueError(f"values must be finite, got {x} and {y}")
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx ** 2).sum() * (ry ** 2).sum()))
    if denom == 0:
        return math.nan, 1.0
    obs = float((rx * ry).sum())
    perms = np.array(list(itertools.permutations(ry)))
    hits = int(((perms @ rx) >= obs - 1e-9 * max(1.0, abs(obs))).sum())
    return obs / denom, hits / len(perms)


def wilson_interval(x: int, n: int, level: float = 0.9) -> tuple[float, float]:
    """Wilson score interval for a rate of ``x`` successes in ``n`` trials (scipy's binomtest)."""
    from scipy import stats
    if not (isinstance(n, int) and n >= 1 and isinstance(x, int) and 0 <= x <= n):
        raise ValueError(f"need whole numbers 0 <= x <= n and n >= 1, got x={x!r}, n={n!r}")
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def fisher_greater(x1: int, n1: int, x2: int, n2: int) -> float:
    """One-sided Fisher exact p-value that rate ``x1/n1`` exceeds rate ``x2/n2``.

    Exact given both margins: under equal rates, ``p <= alpha`` happens with probability at most
    ``alpha`` (conservative).
    """
    from scipy import stats
    for x, n in ((x1, n1), (x2, n2)):
        if not (isinstance(n, int) and n >= 1 and isinstance(x, int) and 0 <= x <= n):
            raise ValueError(f"need whole numbers 0 <= x <= n and n >= 1, got x={x!r}, n={n!r}")
    return float(stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative="greater").pvalue)


def paired_t_power(effect: float, sd: float, n: int, alpha: float = 0.05, sided: int = 2) -> float:
    """Power of a paired t-test over ``n`` pairs to detect a mean difference ``effect``.

    ``sd`` is the SD of the paired differences; the noncentral t gives the probability that the
    test rejects at level ``alpha`` (``sided`` 1 or 2) when the true mean is ``effect``.
    """
    from scipy import stats
    if n < 2 or not sd > 0 or sided not in (1, 2) or not 0 < alpha < 1:
        raise ValueError(f"need n >= 2, sd > 0, sided 1 or 2 and 0 < alpha < 1; got n={n}, sd={sd}, "
                         f"sided={sided}, alpha={alpha}")
    df, nc = n - 1, abs(effect) / sd * math.sqrt(n)
    crit = stats.t.ppf(1 - alpha / sided, df)
    return float(stats.nct.sf(crit, df, nc) + (stats.nct.cdf(-crit, df, nc) if sided == 2 else 0.0))


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
