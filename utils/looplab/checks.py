"""Input checks with one message format: the bad value, the accepted range, and why if it helps.

    whole("batch_size", 0, lo=1)         # ValueError: batch_size=0 must be a whole number >= 1.
    number("top_p", 1.5, lo=0, hi=1, lo_open=True)   # ... must be a finite number in (0, 1].

Booleans are refused where a number is expected (``True`` is an ``int`` in Python, and a flag
passed by mistake should not train for one step). Both functions return the checked value.
"""
from __future__ import annotations

import math
import numbers


def _range(lo, hi, lo_open: bool = False, hi_open: bool = False, whole_numbers: bool = False) -> str:
    if whole_numbers:
        if lo is not None and hi is not None:
            return f"in {lo}..{hi}"
        return f">= {lo}" if lo is not None else (f"<= {hi}" if hi is not None else "")
    if lo is None and hi is None:
        return ""
    left = "(-inf" if lo is None else ("(" if lo_open else "[") + f"{lo:g}"
    right = "inf)" if hi is None else f"{hi:g}" + (")" if hi_open else "]")
    return f"in {left}, {right}"


def whole(name: str, value, lo: int | None = None, hi: int | None = None, note: str = "") -> int:
    """``value`` as an int in ``lo..hi`` (either bound may be None); a clear ValueError otherwise."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Integral)
          and (lo is None or value >= lo) and (hi is None or value <= hi))
    if not ok:
        rng = _range(lo, hi, whole_numbers=True)
        raise ValueError(f"{name}={value!r} must be a whole number{' ' + rng if rng else ''}{note}.")
    return int(value)


def number(name: str, value, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False, note: str = "") -> float:
    """``value`` as a finite float within the bounds (open or closed); a clear ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        rng = _range(lo, hi, lo_open, hi_open)
        raise ValueError(f"{name}={value!r} must be a number{' ' + rng if rng else ''}{note}.")
    ok = math.isfinite(value)
    if ok:
        v = float(value)
        ok = ((lo is None or (v > lo if lo_open else v >= lo))
              and (hi is None or (v < hi if hi_open else v <= hi)))
    if not ok:
        rng = _range(lo, hi, lo_open, hi_open)
        raise ValueError(f"{name}={value!r} must be a finite number{' ' + rng if rng else ''}{note}.")
    return float(value)


def positive(name: str, value, hi: float | None = None, *, lo: float = 0.0, lo_open: bool = True,
             hi_open: bool = False) -> float:
    """``value`` as a finite float in ``(lo, hi]``, by default greater than 0 (a count, a price, a rate)."""
    return number(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


def choice(name: str, value, choices) -> str:
    """``value`` if it is one of ``choices``; a clear ValueError naming them otherwise."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not accepted; choose one of {', '.join(map(str, choices))}")
    return value
