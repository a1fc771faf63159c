"""looplab.baselines: the unigram and zlib yardsticks on real text and on noise, and lesson 02's verdicts."""
import json
import zlib

import pytest
import torch

from looplab import baselines
from looplab.data import default_splits


@pytest.fixture(scope="module")
def splits():
    return default_splits("kjv", 300_000)


def test_yardsticks_on_real_text_sit_between_zlib_and_uniform(splits):
    uni, zip_ = baselines.unigram_bpb(splits.train, splits.val), baselines.zlib_bpb(splits.val)
    assert 3.0 < uni < 8.0 and 1.5 < zip_ < uni          # English: zlib finds structure a unigram cannot
    p = baselines.byte_unigram(splits.train)
    assert p.shape == (256,) and p.dtype == torch.float64 and float(p.sum()) == pytest.approx(1.0)
    assert float(p.min()) > 0                               # add-one: no byte is impossible
    val = bytes(splits.val.tolist())
    assert zip_ == 8 * len(zlib.compress(val, 9)) / len(val)


def test_yardsticks_on_noise_find_nothing_to_learn():
    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (200_000,), generator=g)
    assert baselines.unigram_bpb(noise[:100_000], noise[100_000:]) == pytest.approx(8.0, abs=0.01)
    assert baselines.zlib_bpb(noise[100_000:]) > 8.0       # nothing to compress: zlib's framing costs bits


@pytest.mark.parametrize("bad", [torch.tensor([]), torch.tensor([1.0, 2.0]), torch.tensor([0, 256]),
                                 torch.tensor([[1, 2]]), torch.tensor([-1, 3])])
def test_yardsticks_refuse_what_is_not_byte_ids(bad):
    with pytest.raises(ValueError, match="byte ids in 0..255"):
        baselines.zlib_bpb(bad)
    with pytest.raises(ValueError, match="byte ids in 0..255"):
        baselines.unigram_bpb(bad, torch.tensor([1, 2]))


def test_lesson02_verdicts_a_trained_model_beats_both_an_untrained_one_neither(splits, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPLAB_HEADLINES", str(tmp_path / "h.jsonl"))
    uni, zip_ = baselines.unigram_bpb(splits.train, splits.val), baselines.zlib_bpb(splits.val)
    good = baselines.lesson02_verdicts(2.0, uni, zip_, seed=7, required=True)
    assert list(good) == ["unigram", "zlib"] and all(v.holds for v in good.values())
    assert good["unigram"].must_hold and not good["zlib"].must_hold and good["zlib"].seeds == [7]
    assert good["unigram"].threshold == uni and good["zlib"].detail == f"margin {zip_ - 2.0:+.3f} bits/byte"
    bad = baselines.lesson02_verdicts(8.0, uni, zip_, seed=7, required=False)   # as good as uniform guessing
    assert not any(v.holds for v in bad.values()) and not bad["unigram"].must_hold
    lines = [json.loads(x) for x in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert [(d["lesson"], d["holds"]) for d in lines] == [("02", True), ("02", True), ("02", False), ("02", False)]
