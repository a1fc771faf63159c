"""looplab.baselines: lesson 02's verdicts against the unigram and zlib yardsticks, on real text."""
import json
import zlib

import pytest
import torch

from looplab import baselines
from looplab.data import default_splits


@pytest.fixture(scope="module")
def yardsticks():
    """The lesson's two yardsticks on KJV, computed as lesson 02's cell computes them."""
    sp = default_splits("kjv", 400_000)
    p = torch.bincount(sp.train, minlength=256).double() + 1.0
    p = p / p.sum()
    val = bytes(sp.val.tolist())
    return float(-(p[sp.val].log2()).mean()), 8 * len(zlib.compress(val, 9)) / len(val)


def test_lesson02_verdicts_a_trained_model_beats_both_an_untrained_one_neither(yardsticks, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPLAB_HEADLINES", str(tmp_path / "h.jsonl"))
    uni, zip_ = yardsticks
    assert 3.0 < uni < 8.0 and zip_ < uni                             # what the lesson asserts too
    good = baselines.lesson02_verdicts(2.0, uni, zip_, seed=7, required=True)
    assert list(good) == ["unigram", "zlib"] and all(v.holds for v in good.values())
    assert good["unigram"].must_hold and not good["zlib"].must_hold and good["zlib"].seeds == [7]
    assert good["unigram"].threshold == uni and good["zlib"].detail == f"margin {zip_ - 2.0:+.3f} bits/byte"
    bad = baselines.lesson02_verdicts(8.0, uni, zip_, seed=7, required=False)   # as good as uniform guessing
    assert not any(v.holds for v in bad.values()) and not bad["unigram"].must_hold
    lines = [json.loads(x) for x in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert [(d["lesson"], d["holds"]) for d in lines] == [("02", True), ("02", True), ("02", False), ("02", False)]
