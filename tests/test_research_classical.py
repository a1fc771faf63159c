"""CMA-ES, the Centaur hybrid, the null proposer and the comparison helpers, on the real smoke runner."""
import math

import numpy as np
import pytest
from research_support import ListBackend, smoke_runner, smoke_space

from looplab.research import LLMProposer, ResearchLoop, SealedError
from looplab.research.classical import CentaurProposer, CMAESProposer, NullProposer, decode, encode
from looplab.research.compare import best_so_far, loop_table, screen_rates
from looplab.stats import holm, paired_t
from looplab.research.signoff import AutoApprove
from looplab.verdict import record


def _loop(path, runner=None, k=0.0, seed=0):
    return ResearchLoop(smoke_space(), runner or smoke_runner(), path, k=k, seed=seed, verbose=False,
                        signoff=AutoApprove("unit test"))


def test_encode_decode_round_trip_on_the_base_and_repairs_heads():
    space = smoke_space()
    assert decode(space, encode(space, space.base)) == space.base
    x = encode(space, space.base)
    x[[p.name for p in space.params].index("n_head")] = 0.99        # 8 heads
    x[[p.name for p in space.params].index("n_embd")] = 0.0         # the narrowest width
    cfg = decode(space, x)
    assert cfg["n_embd"] % cfg["n_head"] == 0 and space.is_valid(cfg)


def test_cmaes_is_stateless_given_the_ledger_and_learns_from_a_generation(tmp_path):
    loop = _loop(tmp_path / "l.jsonl")
    loop.baseline(2, progress=False)
    recs = loop.run(CMAESProposer(seed=3), 5, progress=False)
    runs = [r for r in recs if r["status"] in ("kept", "discarded", "failed")]
    assert len(runs) == 5 and all(smoke_space().is_valid(r["config"]) for r in runs)
    hist = loop.records("cma-es")
    a, b = CMAESProposer(seed=3), CMAESProposer(seed=3)
    pa = a.propose(loop.space, hist, loop.state("cma-es")["incumbent"], 5)
    pb = b.propose(loop.space, hist, loop.state("cma-es")["incumbent"], 5)
    assert pa.config == pb.config                      # rebuilt from the ledger, same proposal
    cma, k = a.optimizer(loop.space, hist)
    assert cma.generation == 1 and k == 1              # one full generation of 4 told, one run into the next
    assert not np.allclose(cma.mean, encode(loop.space, loop.space.base))
    with pytest.raises(ValueError, match="popsize"):
        CMAESProposer(popsize=3)


def test_null_proposer_changes_only_the_seed_and_same_seed_is_deterministic(tmp_path):
    runner = smoke_runner()
    loop = _loop(tmp_path / "l.jsonl", runner=runner)
    loop.baseline(2, progress=False)
    recs = [r for r in loop.run(NullProposer(seed0=100), 3, progress=False) if r["status"] in ("kept", "discarded")]
    assert [r["config"]["seed"] for r in recs] == [100, 101, 102]
    assert all({k: v for k, v in r["config"].items() if k != "seed"} == loop.space.base for r in recs)
    again = runner({**loop.space.base, "seed": 101}, seed=0)["val_bpb"]
    assert again == recs[1]["val_bpb"]                 # the config's seed wins over the loop's, exactly
    assert len({r["val_bpb"] for r in recs}) == 3      # different seeds, different luck
    # the same verdict computed twice from the same seeded runs is identical
    v1 = record("03", "c", "s", again, "t", 0.0, [101], holds=again < 9)
    v2 = record("03", "c", "s", runner({**loop.space.base, "seed": 101}, seed=0)["val_bpb"], "t", 0.0, [101],
                holds=again < 9)
    assert v1.as_dict() == v2.as_dict()


def test_centaur_alternates_and_shows_the_llm_the_cmaes_state(tmp_path):
    loop = _loop(tmp_path / "l.jsonl")
    loop.baseline(2, progress=False)
    backend = ListBackend(['{"params": {"lr": 0.004}, "rationale": "follow the mean"}'] * 3)
    cent = CentaurProposer(LLMProposer(backend), seed=1, every=2)
    recs = loop.run(cent, 4, progress=False)
    runs = [r for r in recs if r["status"] in ("kept", "discarded", "failed", "rejected")]
    assert runs[0]["rationale"].startswith("[CMA-ES]") and runs[1]["rationale"].startswith("[LLM]")
    assert "CMA-ES state" in backend.requests[0].user and "mean config" in backend.requests[0].user


def test_final_test_is_once_per_choice(tmp_path):
    runner = smoke_runner()
    loop = _loop(tmp_path / "l.jsonl", runner=runner)
    loop.baseline(2, progress=False)
    loop.run(NullProposer(), 2, progress=False)
    before = len(runner.data.test_reads)
    loop.final_test(runner.test, proposer="baseline", reason="unit test: the reference")
    loop.final_test(runner.test, proposer="null", reason="unit test: the null loop's choice")
    with pytest.raises(SealedError, match="already read"):
        loop.final_test(runner.test, proposer="null")
    assert len(runner.data.test_reads) == before + 2


def test_compare_helpers_on_known_numbers():
    recs = [{"proposer": "a#0", "status": "discarded", "val_bpb": 3.2},
            {"proposer": "a#0", "status": "kept", "val_bpb": 2.9},
            {"proposer": "a#0", "status": "rejected", "slot_done": False},
            {"proposer": "a#0", "status": "discarded", "val_bpb": 3.0}]
    assert best_so_far(recs, "a#0", 3.1, 4) == [3.1, 2.9, 2.9, 2.9]
    t = loop_table(recs, ["a"], 1, 3.1)
    assert t.loc[0, "kept"] == 1 and math.isclose(t.loc[0, "invalid rate"], 0.25)
    d, tt, p = paired_t([3.0, 3.1, 3.2], [2.9, 3.05, 3.1])
    assert d > 0 and 0 < p < 1
    assert holm({"x": 0.001, "y": 0.04, "z": 0.5}) == {"x": True, "y": False, "z": False}
    s = screen_rates({"baseline": 3.0, "p": 2.9, "q": 3.1, "r": 2.95}, {"baseline": 2.5, "p": 2.4, "q": 2.6, "r": 2.55},
                     "baseline", 0.02)
    assert s["spearman"] == pytest.approx(0.8) and s["tpr"] == 1.0 and s["fpr"] == 0.5
    with pytest.raises(ValueError, match="at least 3"):
        screen_rates({"baseline": 1.0}, {"baseline": 1.0}, "baseline", 0.0)
