"""The loop with real training (smoke sizes): baselines, random and TPE, keep/discard, resume after
SIGKILL mid-experiment, the sealed test read once, human sign-off (scripted and widget clicks)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from looplab.research.ledger import Ledger
from looplab.research.loop import ResearchLoop, SealedError
from looplab.research.proposal import check
from looplab.research.proposers import RandomProposer, TPEProposer
from looplab.research.signoff import AutoApprove, Decision, Scripted, SignOffPanel, Widgets, default_signoff
from research_support import smoke_runner, smoke_space

HERE = Path(__file__).resolve().parent


def _loop(path, runner=None, signoff=None, k=2.0):
    return ResearchLoop(smoke_space(), runner or smoke_runner(), path, k=k,
                        signoff=signoff or AutoApprove(announce=False), verbose=False)


def test_random_and_tpe_share_one_baseline(tmp_path):
    loop = _loop(tmp_path / "l.jsonl")
    nf = loop.baseline(2, progress=False)
    assert nf.n == 2 and nf.sigma >= 0
    r = loop.run(RandomProposer(0), 3, progress=False)
    t = loop.run(TPEProposer(0), 3, progress=False)
    assert [x["status"] in ("kept", "discarded") for x in r + t] == [True] * 6
    recs = Ledger(tmp_path / "l.jsonl").records()
    assert [x["exp"] for x in recs] == list(range(1, 9))  # numbered once each, in order
    for x in r + t:  # the keep rule as logged matches the rule applied to the logged numbers
        assert (x["status"] == "kept") == (x["best_before"] - x["val_bpb"] > 2.0 * nf.sigma)
        assert x["steps"] >= 1 and x["flops"] > 0 and x["signoff"] == "auto-approve policy"
    assert loop.run(TPEProposer(0), 3, progress=False) == t  # budget already spent: nothing new
    df = loop.ledger.to_frame()
    assert set(df["proposer"]) == {"baseline", "random", "tpe"}


def test_tpe_rebuilds_from_history_deterministically(tmp_path):
    loop = _loop(tmp_path / "l.jsonl")
    loop.baseline(2, progress=False)
    loop.run(TPEProposer(3), 2, progress=False)
    hist, st = loop.records("tpe"), loop.state("tpe")
    a = TPEProposer(3).propose(loop.space, hist, st["incumbent"], 2)
    b = TPEProposer(3).propose(loop.space, hist, st["incumbent"], 2)
    assert a.valid and a.config == b.config


KILLED_SCRIPT = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {here!r})
    from research_support import smoke_runner, smoke_space
    from looplab.research.loop import ResearchLoop
    from looplab.research.proposers import RandomProposer
    from looplab.research.signoff import AutoApprove
    runner = smoke_runner()
    calls = []
    def run(cfg, seed):
        calls.append(cfg)
        if len(calls) == 5:  # baseline x2, two experiments, then hang inside the third
            open({marker!r}, "w").write(json.dumps(cfg))
            time.sleep(120)
        return runner(cfg, seed)
    loop = ResearchLoop(smoke_space(), run, {ledger!r}, signoff=AutoApprove(announce=False), verbose=False)
    loop.baseline(2, progress=False)
    loop.run(RandomProposer(7), 4, progress=False)
""")


def test_kill_mid_experiment_then_resume_loses_and_duplicates_nothing(tmp_path):
    ledger, marker = tmp_path / "l.jsonl", tmp_path / "running.json"
    script = tmp_path / "killed.py"
    script.write_text(KILLED_SCRIPT.format(here=str(HERE), marker=str(marker), ledger=str(ledger)))
    proc = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "LOOPLAB_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        t0 = time.time()
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() - t0 < 90, "the loop never reached its third experiment"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = Ledger(ledger).records()
    assert [r["status"] for r in before][:2] == ["baseline", "baseline"] and len(before) == 4
    running = json.loads(marker.read_text())

    ran = []
    runner = smoke_runner()

    def run(cfg, seed):
        ran.append(cfg)
        return runner(cfg, seed)

    loop = _loop(ledger, runner=run)
    loop.baseline(2, progress=False)  # already there: runs nothing
    recs = loop.run(RandomProposer(7), 4, progress=False)
    assert ran[0] == running  # the interrupted experiment is rerun, exactly as proposed
    assert len(ran) == 2
    assert [r["slot"] for r in recs] == [0, 1, 2, 3]
    after = Ledger(ledger).records()
    assert after[:4] == before  # nothing lost or rewritten
    assert len(after) == 6 and len({json.dumps(r["config"], sort_keys=True) for r in after[2:]}) == 4


def test_sealed_test_is_read_once(tmp_path):
    runner = smoke_runner()
    # the splits are cached per process (default_splits), so other tests may have read them already
    reads_before = len(runner.data.test_reads)
    loop = _loop(tmp_path / "l.jsonl", runner=runner, k=0.0)
    loop.baseline(2, progress=False)
    loop.run(RandomProposer(1), 2, progress=False)
    assert len(runner.data.test_reads) == reads_before  # baseline and experiments never read it
    assert loop.logged_test(None) is None
    rec = loop.final_test(runner.test)
    assert loop.logged_test(None) == rec and loop.logged_test(None, replication=True) is None
    assert _loop(tmp_path / "l.jsonl", runner=runner, k=0.0).logged_test(None) == rec   # a resumed loop reports it
    assert rec["status"] == "test" and 0 < rec["test_bpb"] < 9
    assert len(runner.data.test_reads) == reads_before + 1
    with pytest.raises(SealedError, match="already read"):
        loop.final_test(runner.test)
    assert len(runner.data.test_reads) == reads_before + 1



def test_a_choice_is_replicated_on_the_sealed_test_once_on_fresh_seeds(tmp_path):
    runner = smoke_runner()
    loop = _loop(tmp_path / "l.jsonl", runner=runner, k=0.0)
    loop.baseline(2, progress=False)
    loop.run(RandomProposer(1), 2, progress=False)
    with pytest.raises(ValueError, match="fresh"):       # a loop seed is not a replication
        loop.replicate_test(runner.test, None, [loop.seed, 901], reason="test")
    reads = len(runner.data.test_reads)
    rec = loop.replicate_test(lambda c, s, m: runner.test(c, s, m, reason="replication"), None, [900, 901],
                              reason="test: replicate")
    assert rec["status"] == "test" and rec["seeds"] == [900, 901]
    assert len(rec["choice_test"]) == len(rec["baseline_test"]) == 2
    assert rec["diffs"] == [b - c for b, c in zip(rec["baseline_test"], rec["choice_test"])]
    assert len(runner.data.test_reads) == reads + 4      # two configs x two seeds, each read logged
    if rec["config"] == loop.space.base:                 # nothing kept: the same training, no difference
        assert rec["diffs"] == [0.0, 0.0]
    with pytest.raises(SealedError, match="already replicated"):
        loop.replicate_test(runner.test, None, [902], reason="again")
    assert loop.final_test(runner.test)["status"] == "test"   # the single read is a different record

def test_scripted_sign_off_reject_edit(tmp_path):
    decisions = [Decision("reject", by="human", note="too risky"),
                 Decision("edit", by="human", changes={"lr": 0.003}),
                 Decision("edit", by="human", changes={"lr": 5.0}),   # a bad edit is rejected, not run
                 Decision("approve", by="human")]
    loop = _loop(tmp_path / "l.jsonl", signoff=Scripted(decisions))
    loop.baseline(2, progress=False)
    recs = loop.run(RandomProposer(2), 2, progress=False)
    assert [r["status"] for r in recs][0] == "rejected" and recs[0]["reason"] == "too risky"
    assert recs[1]["edited_by_human"] and recs[1]["config"]["lr"] == 0.003 and recs[1]["signoff"] == "human"
    assert recs[2]["status"] == "rejected" and "human edit invalid" in recs[2]["reason"]
    assert recs[3]["status"] in ("kept", "discarded")


def test_auto_approve_is_announced(capsys, monkeypatch):
    monkeypatch.delenv("LOOPLAB_SIGNOFF", raising=False)
    pol = default_signoff()
    assert isinstance(pol, AutoApprove)
    assert "SIGN-OFF POLICY: auto-approve" in capsys.readouterr().out
    monkeypatch.setenv("LOOPLAB_SIGNOFF", "widgets")
    assert isinstance(default_signoff(), Widgets) and default_signoff().interactive
    monkeypatch.setenv("LOOPLAB_SIGNOFF", "maybe")
    with pytest.raises(ValueError, match="widgets' or 'auto"):
        default_signoff()


def test_widget_buttons_deliver_decisions():
    space = smoke_space()
    p = check(space, "random", {"lr": 0.004}, space.base, [], "try a higher lr")
    got = []
    panel = SignOffPanel(p, got.append, exp=3)
    panel.approve.click()
    panel.reject.click()  # a second click after a decision is ignored
    assert [d.action for d in got] == ["approve"] and got[0].by == "human"
    got.clear()

    def validate(ch):
        q = check(space, "x", ch, space.base, [])
        return None if q.valid else q.reason

    panel = SignOffPanel(p, got.append, validate=validate)
    panel.edit.click()
    panel.editor.value = '{"lr": 9}'
    panel.submit.click()
    assert not got and "out of range" in panel.msg.value
    panel.editor.value = '{"lr": 0.001}'
    panel.submit.click()
    assert got[0].action == "edit" and got[0].changes == {"lr": 0.001}


def test_panel_is_displayed_once_with_the_card_as_its_text():
    space = smoke_space()
    p = check(space, "random", {"lr": 0.004}, space.base, [], "try a higher lr")
    panel = SignOffPanel(p, lambda d: None, exp=3)
    bundle = panel.mimebundle()
    assert bundle["text/plain"] == panel.text and "Proposal for experiment 3" in panel.text
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.widget.model_id          # the buttons, drawn by a widget frontend


def test_repeat_of_a_ledger_config_is_rejected():
    space = smoke_space()
    done = [{"status": "discarded", "config": space.validate({"lr": 0.004})}]
    p = check(space, "llm", {"lr": 0.004}, space.base, done)
    assert not p.valid and "already run" in p.reason


def test_interactive_session_runs_only_what_a_human_approves(tmp_path):
    loop = _loop(tmp_path / "l.jsonl")
    loop.baseline(2, progress=False)
    session = loop.interactive(RandomProposer(5), 2)
    assert session.panel is not None and not session.done
    assert len(loop.ledger) == 2  # shown, not run
    session.panel.reject.click()
    assert loop.ledger.records()[-1]["status"] == "rejected" and len(loop.ledger) == 3
    session.panel.edit.click()
    session.panel.editor.value = '{"lr": 0.003}'
    session.panel.submit.click()
    last = loop.ledger.records()[-1]
    assert last["edited_by_human"] and last["config"]["lr"] == 0.003 and last["signoff"] == "human"
    session.panel.approve.click()
    assert session.done and session.panel is None
    assert [r["status"] in ("kept", "discarded") for r in loop.records("random")[2:]] == [False, True, True]


def test_a_crashing_or_diverging_run_is_logged_not_fatal(tmp_path):
    runner = smoke_runner()
    calls = []

    def run(cfg, seed):
        calls.append(cfg)
        if len(calls) == 3:
            raise RuntimeError("out of memory (simulated)")
        out = runner(cfg, seed)
        if len(calls) == 4:
            out["val_bpb"] = float("nan")  # as a diverged run reports it
        return out

    loop = _loop(tmp_path / "l.jsonl", runner=run)
    loop.baseline(2, progress=False)
    recs = loop.run(RandomProposer(4), 3, progress=False)
    assert [r["status"] for r in recs] == ["failed", "discarded", recs[2]["status"]]
    assert "out of memory" in recs[0]["reason"] and recs[1]["val_bpb"] is None
    from looplab.research.llm_proposer import ledger_table
    assert "diverged" in ledger_table(loop.records("random"), loop.space)
    assert TPEProposer(0).propose(loop.space, loop.records("random"), loop.space.base, 3).valid


def test_hill_climber_moves_one_step_from_the_best_and_never_repeats(tmp_path):
    from looplab.research.proposers import HillClimbProposer
    loop = _loop(tmp_path / "l.jsonl", k=0.0)
    loop.baseline(2, progress=False)
    recs = loop.run(HillClimbProposer(0), 4, progress=False)
    assert len(recs) == 4 and all(r["status"] in ("kept", "discarded") for r in recs)
    incumbent = dict(loop.space.base)
    for r in recs:                           # each config is one move from the best before it
        assert r["config"] != incumbent
        assert sum(r["config"][k] != incumbent[k] for k in incumbent) == 1
        assert {k: r["config"][k] for k in r["changes"]} in loop.space.moves(incumbent)
        if r["status"] == "kept":
            incumbent = dict(r["config"])
    configs = [r["config"] for r in loop.ledger.records()]
    assert len({json.dumps(c, sort_keys=True) for c in configs[1:]}) == len(configs) - 1  # baselines share one
    # same seed, same history: same proposal
    hist, st = loop.records("hill-climb"), loop.state("hill-climb")
    a = HillClimbProposer(0).propose(loop.space, hist, st["incumbent"], 9)
    b = HillClimbProposer(0).propose(loop.space, hist, st["incumbent"], 9)
    assert a.valid and a.config == b.config


class _Fake:
    """A run function that trains nothing: val_bpb falls with every run (so runs are kept)."""

    def __init__(self):
        self.n = 0

    def run(self, config, seed):
        self.n += 1
        return {"val_bpb": 3.0 - 0.1 * self.n + 0.001 * seed, "flops": 1.0}, f"model-{self.n}"

    def __call__(self, config, seed):
        return self.run(config, seed)[0]


class _CountingLedger(Ledger):
    reads = 0

    def records(self):
        self.reads += 1
        return super().records()


def test_the_loop_reads_its_ledger_once_per_step(tmp_path):
    ledger = _CountingLedger(tmp_path / "l.jsonl")
    loop = ResearchLoop(smoke_space(), _Fake(), ledger, k=0.0, signoff=AutoApprove(announce=False), verbose=False)
    loop.baseline(2, progress=False)
    ledger.reads = 0
    recs = loop.run(RandomProposer(0), 5, progress=True)
    assert len(recs) == 5 and {r["status"] for r in recs} == {"kept"}
    assert ledger.reads <= 5 + 3, f"{ledger.reads} reads of the ledger for 5 experiments"
    assert [r["exp"] for r in ledger.records()] == list(range(1, 8))


def test_the_model_comes_separately_from_the_metrics(tmp_path):
    runner = smoke_runner()
    metrics, model = runner.run(dict(smoke_space().base), 0)
    assert "model" not in metrics and all(isinstance(v, (int, float)) for v in metrics.values())
    assert hasattr(model, "parameters") and sorted(runner(dict(smoke_space().base), 0)) == sorted(metrics)
    fake = _Fake()
    loop = ResearchLoop(smoke_space(), fake, tmp_path / "l.jsonl", k=0.0, signoff=AutoApprove(announce=False),
                        verbose=False)
    loop.baseline(2, progress=False)
    rec = loop.run(RandomProposer(0), 1, progress=False)[0]
    assert rec["status"] == "kept" and "model" not in rec and "_model" not in rec
    assert loop.models["random"] == (rec["config"], "model-3")
    seen = []
    loop.final_test(lambda config, seed, m: seen.append(m) or 1.0, proposer="random")
    assert seen == ["model-3"]                  # the sealed test grades the kept model, not a retrained one
