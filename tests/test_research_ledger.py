"""Ledger (append-only, repairable, secret-free), noise floor and the keep rule."""
import json
import statistics

import pytest

from looplab.research.ledger import REDACTED, Ledger, register_secret, scrub
from looplab.research.noise import keep, noise_floor


def test_append_and_read_back(tmp_path):
    led = Ledger(tmp_path / "sub" / "l.jsonl")
    led.append({"exp": 1, "status": "baseline", "val_bpb": 3.1, "config": {"lr": 0.002}})
    led.append({"exp": 2, "status": "kept", "val_bpb": 3.0, "config": {"lr": 0.004}})
    recs = Ledger(led.path).records()
    assert [r["exp"] for r in recs] == [1, 2] and all("logged_at" in r for r in recs)
    df = led.to_frame()
    assert list(df["cfg.lr"]) == [0.002, 0.004]
    assert led.where(status="kept")[0]["exp"] == 2


def test_half_written_line_is_cut_on_open(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger(p)
    led.append({"exp": 1})
    with open(p, "a") as f:
        f.write('{"exp": 2, "val_b')  # the process died mid-write
    led2 = Ledger(p)
    assert led2.dropped_partial
    assert [r["exp"] for r in led2.records()] == [1]
    led2.append({"exp": 2})
    assert [r["exp"] for r in Ledger(p).records()] == [1, 2]


def test_corrupt_middle_line_is_an_error_not_silence(tmp_path):
    p = tmp_path / "l.jsonl"
    p.write_text('{"exp": 1}\nnot json\n{"exp": 3}\n')
    with pytest.raises(ValueError, match="line 2"):
        Ledger(p).records()


def test_keys_are_scrubbed_everywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "my-secret-anthropic-value-123")
    register_secret("passed-in-key-987654")
    rec = {"rationale": "use key my-secret-anthropic-value-123 and sk-abcdefghijklmnop1234",
           "nested": [{"x": "passed-in-key-987654"}], "my-secret-anthropic-value-123": 1}
    led = Ledger(tmp_path / "l.jsonl")
    led.append(rec)
    text = (tmp_path / "l.jsonl").read_text()
    for secret in ("my-secret-anthropic-value-123", "sk-abcdefghijklmnop1234", "passed-in-key-987654"):
        assert secret not in text
    assert text.count(REDACTED) == 4
    assert scrub(float("nan")) is None  # the file stays strict JSON
    json.loads(text.splitlines()[0])


def test_noise_floor_matches_statistics():
    vals = [3.10, 3.14, 3.08, 3.12]
    nf = noise_floor(vals)
    assert nf.mean == pytest.approx(statistics.mean(vals))
    assert nf.sigma == pytest.approx(statistics.stdev(vals))
    with pytest.raises(ValueError, match="at least 2"):
        noise_floor([3.1])


def test_keep_rule_and_seed_luck():
    assert keep(3.00, 3.10, sigma=0.02, k=2)[0]          # gain 0.10 > 0.04
    assert not keep(3.07, 3.10, sigma=0.02, k=2)[0]      # gain 0.03 < 0.04: noise
    assert keep(3.07, 3.10, sigma=0.02, k=0)[0]          # without a floor, noise is "progress"
    assert not keep(float("nan"), 3.10, 0.02)[0]
    # seed luck: replicates of one config; with k=0 the luckiest seed is "kept" over the first
    nf = noise_floor([3.12, 3.09, 3.15])
    assert keep(min(nf.values), nf.values[0], nf.sigma, k=0)[0]
    assert not keep(min(nf.values), nf.values[0], nf.sigma, k=2)[0]
    with pytest.raises(ValueError):
        keep(3.0, 3.1, sigma=0.01, k=-1)
