"""looplab.checks: one message format for bad input (the value, the accepted range, why)."""
import math

import numpy as np
import pytest

from looplab.checks import number, whole


def test_whole_accepts_ints_in_range_and_names_the_bad_value():
    assert whole("n", 3, 1) == 3 and whole("n", np.int64(5), 1, 9) == 5
    for bad, rng in [(0, ">= 1"), (True, ">= 1"), (2.0, ">= 1"), ("3", ">= 1")]:
        with pytest.raises(ValueError, match=rf"n={bad!r} must be a whole number {rng}\."):
            whole("n", bad, 1)
    with pytest.raises(ValueError, match=r"order=9 must be a whole number in 1\.\.7 \(why\)\."):
        whole("order", 9, 1, 7, note=" (why)")


def test_number_bounds_open_and_closed():
    assert number("p", 1.0, 0, 1, lo_open=True) == 1.0 and number("x", np.float32(0.5), 0, 1) == 0.5
    with pytest.raises(ValueError, match=r"p=0 must be a finite number in \(0, 1\]\."):
        number("p", 0, 0, 1, lo_open=True)
    with pytest.raises(ValueError, match=r"f=1 must be a finite number in \(0, 1\)"):
        number("f", 1, 0, 1, lo_open=True, hi_open=True)
    with pytest.raises(ValueError, match=r"s=inf must be a finite number in \(0, inf\)"):
        number("s", math.inf, 0, lo_open=True)
    with pytest.raises(ValueError, match="must be a finite number"):
        number("s", math.nan)
    for bad in (True, "fast", None):
        with pytest.raises(ValueError, match=rf"v={bad!r} must be a number in \[0, inf\)"):
            number("v", bad, 0)
