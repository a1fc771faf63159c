"""Parallel experiments for real: a Dask LocalCluster of 2 worker processes running the smoke-scale
trainer; batch proposals by every proposer's own mechanism; the batch keep rule; the driver
killed with SIGKILL and resumed; a worker killed with SIGKILL mid-run."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from looplab.research.classical import CMAESProposer
from looplab.research.ledger import Ledger
from looplab.research.loop import ResearchLoop
from looplab.research.parallel import ParallelLoop, local_client
from looplab.research.llm_proposer import LLMProposer
from looplab.research.proposal import check, Proposer
from looplab.research.proposers import RandomProposer, TPEProposer
from looplab.research.signoff import AutoApprove
from research_support import ListBackend, smoke_runner, smoke_space

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def client():
    c = local_client(workers=2)
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


def _loop(path, run=None, k=2.0, seed=0):
    return ResearchLoop(smoke_space(), run or smoke_runner(), path, k=k, seed=seed,
                        signoff=AutoApprove(announce=False), verbose=False)


@pytest.fixture(scope="module")
def based(tmp_path_factory):
    """A real ledger with a 2-seed baseline, for the proposers to propose from."""
    loop = _loop(tmp_path_factory.mktemp("b") / "l.jsonl")
    loop.baseline(2, progress=False)
    return loop


def test_every_proposer_proposes_a_batch_of_distinct_valid_configs(based):
    loop, inc = based, based.space.base
    hist = loop.records()
    for prop, n, want in [(RandomProposer(1), 4, 4), (TPEProposer(2), 3, 3), (CMAESProposer(3, popsize=4), 9, 4)]:
        batch = prop.propose_batch(loop.space, hist, inc, 0, n, loop.noise)
        cfgs = [p.config for p in batch]
        assert len(batch) == want and all(p.valid for p in batch), [p.reason for p in batch]
        assert len({json.dumps(c, sort_keys=True) for c in cfgs}) == want      # no two alike
        again = prop.propose_batch(loop.space, hist, inc, 0, n, loop.noise)
        assert [p.config for p in again] == cfgs                               # rebuilt from the ledger alone
    # random: the batch is the slots' own draws, each shown the ones before it
    seq = RandomProposer(1).propose(loop.space, hist, inc, 0)
    assert RandomProposer(1).propose_batch(loop.space, hist, inc, 0, 2)[0].config == seq.config
    # CMA-ES: its batch is its generation; the first draw is the one propose() would make
    assert CMAESProposer(3).propose_batch(loop.space, hist, inc, 0, 2)[0].config == CMAESProposer(3).propose(loop.space, hist, inc, 0).config
    with pytest.raises(ValueError, match=r"batch size n=0 must be a whole number >= 1"):
        RandomProposer(0).propose_batch(loop.space, hist, inc, 0, 0)


def test_the_llm_batch_asks_n_times_and_a_repeat_of_an_in_flight_config_is_rejected(based):
    same = '{"params": {"lr": 0.004}, "rationale": "higher lr"}'
    backend = ListBackend([same, same, '{"params": {"dropout": 0.1}, "rationale": "regularise"}'])
    batch = LLMProposer(backend).propose_batch(based.space, based.records(), based.space.base, 0, 3, based.noise)
    assert [p.valid for p in batch] == [True, False, True]
    assert "already run" in batch[1].reason
    assert "Already running in this batch" not in backend.requests[0].user
    assert '"lr": 0.004' in backend.requests[1].user and "Already running in this batch" in backend.requests[2].user


class Fixed(Proposer):
    """Proposes the given lr values, in order, as one batch."""

    name = "fixed"

    def __init__(self, lrs):
        self.lrs = lrs

    def propose(self, space, history, incumbent, slot, noise=None):
        return check(space, self.name, {"lr": self.lrs[slot % len(self.lrs)]}, incumbent, history, "fixed")


class Scored:
    """A run function with known scores (and delays that make the first proposal finish last)."""

    kind = "steps"
    scores = {0.004: (2.90, 0.8), 0.005: (2.95, 0.4), 0.006: (3.00, 0.0), 0.007: (2.80, 0.0)}

    def __call__(self, config, seed):
        if config["lr"] == 0.002:
            return {"val_bpb": 3.0 + 0.001 * seed}
        val, delay = self.scores[config["lr"]]
        time.sleep(delay)
        return {"val_bpb": val}


def test_the_batch_keep_rule_judges_each_run_against_the_batch_start_best(client, tmp_path):
    loop = _loop(tmp_path / "l.jsonl", run=Scored())
    par = ParallelLoop(loop, client=client)
    nf = par.baseline(2)
    assert nf.mean == pytest.approx(3.0005) and par.batch == 2 == par.workers
    recs = par.run(Fixed([0.004, 0.005, 0.006]), 3, batch=3)
    by_lr = {r["config"]["lr"]: r for r in recs}
    assert [r["config"]["lr"] for r in recs][0] != 0.004                 # it finished last ...
    assert {r["best_before"] for r in recs} == {nf.mean} and {r["batch"] for r in recs} == {1}
    assert by_lr[0.004]["status"] == by_lr[0.005]["status"] == "kept"    # ... yet both gains count
    assert by_lr[0.006]["status"] == "discarded"
    st = loop.state("fixed")
    assert st["incumbent"]["lr"] == 0.004 and st["best"] == 2.90         # the lowest kept one leads
    recs = par.run(Fixed([0.004, 0.005, 0.006, 0.007]), 4, batch=3)      # one more slot: batch 2
    assert recs[-1]["batch"] == 2 and recs[-1]["best_before"] == 2.90 and recs[-1]["status"] == "kept"


def test_a_real_parallel_loop_on_two_workers(client, tmp_path):
    runner = smoke_runner()
    loop = _loop(tmp_path / "l.jsonl", run=runner)
    par = ParallelLoop(loop, client=client)
    nf = par.baseline(2)
    recs = par.run(RandomProposer(0), 4)
    allr = Ledger(tmp_path / "l.jsonl").records()
    assert [r["exp"] for r in allr] == list(range(1, 7))
    assert len({r["worker_pid"] for r in allr}) == 2 and os.getpid() not in {r["worker_pid"] for r in allr}
    for r in recs:
        assert (r["status"] == "kept") == (r["best_before"] - r["val_bpb"] > 2.0 * nf.sigma)
        assert r["workers"] == 2 and r["batch_size"] == 2 and r["steps"] == 2
    # a step budget: a run's result does not depend on what ran beside it
    import torch
    torch.set_num_threads(1)
    alone = runner(dict(loop.space.base), 0)["val_bpb"]
    assert allr[[r["seed"] for r in allr[:2]].index(0)]["val_bpb"] == pytest.approx(alone, rel=1e-5)


def test_bad_settings_are_refused_with_the_accepted_range(client, tmp_path):
    with pytest.raises(ValueError, match=r"kind='seconds'.*\('flops', 'steps'\)"):
        ParallelLoop(_loop(tmp_path / "a.jsonl", run=_Seconds()), client=client)
    with pytest.raises(ValueError, match=r"batch=0 must be a whole number in 1..1024"):
        ParallelLoop(_loop(tmp_path / "b.jsonl"), client=client, batch=0)
    with pytest.raises(ValueError, match=r"workers=0 must be a whole number in 1..256"):
        local_client(workers=0)


class _Seconds:
    kind = "seconds"

    def __call__(self, config, seed):  # pragma: no cover - refused before it runs
        return {"val_bpb": 3.0}


class Logged:
    """The smoke runner; every run that *finished* on a worker is appended to ``log``."""

    kind = "steps"

    def __init__(self, log, phase):
        self.runner, self.log, self.phase = smoke_runner(), str(log), phase

    def __call__(self, cfg, seed):
        m = self.runner(cfg, seed)
        time.sleep(0.2)
        with open(self.log, "a") as f:
            f.write(json.dumps({"phase": self.phase, "config": cfg, "seed": seed}) + "\n")
        return m


DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {here!r})
    from research_support import smoke_space
    from test_research_parallel import Logged
    from looplab.research.loop import ResearchLoop
    from looplab.research.parallel import ParallelLoop
    from looplab.research.proposers import RandomProposer
    from looplab.research.signoff import AutoApprove

    if __name__ == "__main__":
        loop = ResearchLoop(smoke_space(), Logged({log!r}, "first"), {ledger!r},
                            signoff=AutoApprove(announce=False), verbose=False)
        with ParallelLoop(loop, workers=2) as par:
            par.baseline(2)
            par.run(RandomProposer(5), 6)
""")


def test_driver_killed_with_sigkill_then_resumed_loses_and_repeats_nothing(client, tmp_path):
    ledger, log, script = tmp_path / "l.jsonl", tmp_path / "runs.log", tmp_path / "driver.py"
    script.write_text(DRIVER.format(here=str(HERE), log=str(log), ledger=str(ledger)))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    deadline = time.time() + 120
    while not ledger.exists() or len(Ledger(ledger).records()) < 4:   # baseline + a batch done
        assert time.time() < deadline and proc.poll() is None, "the driver never got going"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    time.sleep(0.5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # its orphaned workers (they never write the ledger)
    except ProcessLookupError:
        pass
    before = Ledger(ledger).records()
    assert 4 <= len(before) < 8
    loop = _loop(ledger, run=Logged(log, "second"), seed=0)             # a new driver, resuming
    par = ParallelLoop(loop, client=client)
    par.baseline(2)
    par.run(RandomProposer(5), 6)
    after = Ledger(ledger).records()
    assert after[:len(before)] == before                                 # nothing lost or rewritten
    assert [r["exp"] for r in after] == list(range(1, 9))                # 2 baseline + 6, once each
    runs = [r for r in after if r["status"] in ("kept", "discarded")]
    assert len({json.dumps(r["config"], sort_keys=True) for r in runs}) == 6
    done_before = [json.dumps(r["config"], sort_keys=True) for r in before if r["status"] != "baseline"]
    rerun = [json.loads(x) for x in log.read_text().splitlines()]
    rerun = [json.dumps(x["config"], sort_keys=True) for x in rerun if x["phase"] == "second"]
    assert done_before and not set(done_before) & set(rerun)            # no finished run ran again


class Slow:
    """The smoke runner, slowed down so a worker can be killed mid-run; logs finished runs."""

    kind = "steps"

    def __init__(self, log):
        self.runner, self.log = smoke_runner(), str(log)

    def __call__(self, config, seed):
        time.sleep(1.0)
        m = self.runner(config, seed)
        with open(self.log, "a") as f:
            f.write(json.dumps(config, sort_keys=True) + "\n")
        return m


def test_a_worker_killed_with_sigkill_mid_run_costs_only_that_run(client, tmp_path):
    log = tmp_path / "runs.log"
    loop = _loop(tmp_path / "l.jsonl", run=Slow(log))
    par = ParallelLoop(loop, client=client)
    par.baseline(2)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("recs", par.run(RandomProposer(9), 4)))
    t.start()
    deadline = time.time() + 60
    while not any(client.processing().values()):
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    busy = next(w for w, tasks in client.processing().items() if tasks)
    os.kill(client.run(os.getpid, workers=[busy])[busy], signal.SIGKILL)
    t.join(timeout=120)
    assert not t.is_alive() and len(out["recs"]) == 4
    finished = log.read_text().splitlines()
    runs = [json.dumps(r["config"], sort_keys=True) for r in out["recs"]]
    assert len(set(runs)) == 4 and all(finished.count(c) == 1 for c in runs)   # each ran to the end once
    assert [r["exp"] for r in loop.ledger.records()] == list(range(1, 7))


def test_every_worker_killed_at_once_loses_no_run(client, tmp_path):
    """The run function must outlive every worker that held it. The scheduler's active memory manager
    (every 2 s by default) drops the extra copies of broadcast-scattered data, so with a scattered run
    function, killing the workers once it had run cancelled every queued experiment (a CI failure)."""
    log = tmp_path / "runs.log"
    loop = _loop(tmp_path / "l.jsonl", run=Slow(log))
    par = ParallelLoop(loop, client=client)
    par.baseline(2)
    time.sleep(2.5)                       # past the memory manager's interval
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("recs", par.run(RandomProposer(5), 2)))
    t.start()
    deadline = time.time() + 60
    while sum(map(len, client.processing().values())) < 2:
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    for w, pid in client.run(os.getpid).items():
        os.kill(pid, signal.SIGKILL)
    t.join(timeout=180)
    assert not t.is_alive() and len(out["recs"]) == 2
    runs = [json.dumps(r["config"], sort_keys=True) for r in out["recs"]]
    assert all(log.read_text().splitlines().count(c) == 1 for c in runs)
    par.close()
