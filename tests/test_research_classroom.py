"""The class re-grade on a real class store filled by real (smoke-scale) lesson-03 loops."""
import pytest

from looplab.config import get_scale
from looplab.research.classroom import class_runner, loop_baseline, regrade_class, simulate_class
from looplab.research.loop import ResearchLoop
from looplab.research.signoff import AutoApprove
from looplab.research.spec import default_space
from looplab.research.proposers import RandomProposer
from looplab.research.store import ClassStore
from looplab.train import TrainConfig


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """Two learners from lesson 03's start, and one ('lesson02') whose loop started from lesson 02's config."""
    path = str(tmp_path_factory.mktemp("class") / "class.db")
    runner = class_runner("smoke")
    simulate_class(path, learners=("ada", "grace"), experiments=2, runner=runner)
    other = default_space(TrainConfig.from_scale(runner.scale).to_dict())
    loop = ResearchLoop(other, runner, ClassStore(path, learner="lesson02", loop="lesson03"), k=0.0, seed=300,
                        signoff=AutoApprove(announce=False), verbose=False, budget=runner.describe())
    loop.baseline(2, progress=False)
    loop.run(RandomProposer(seed=3), 2, progress=False)
    return path, runner


def test_the_simulated_class_starts_where_lesson03_starts(filled):
    path, runner = filled
    recs = [r for r in ClassStore(path, learner="x").class_records() if r["learner"] == "ada"]
    cfg, flops = loop_baseline(recs)
    assert cfg == dict(get_scale("smoke").loop.experiment_base)
    assert flops == pytest.approx(runner.flops_budget)


def test_a_loop_from_another_start_is_refused_and_says_why(filled):
    path, runner = filled
    test = lambda c, s: runner.test(c, s, reason="test: class re-grade")   # noqa: E731
    df = regrade_class(ClassStore(path, learner="instructor"), test, dict(runner.scale.loop.experiment_base),
                       budget_flops=runner.flops_budget)
    assert {k.split("/")[0] for k in df.attrs["refused"]} == {"lesson02"}
    assert all("another baseline" in why and "n_embd" in why for why in df.attrs["refused"].values())
    assert "lesson02" not in set(df["learner"])
    graded = set(df["learner"]) | {k.split("/")[0] for k in df.attrs["no_claims"]}
    assert graded == {"ada", "grace"}


def test_a_loop_trained_at_another_budget_is_refused(filled):
    path, runner = filled
    longer = class_runner("smoke", steps=2 * runner.steps)
    df = regrade_class(ClassStore(path, learner="instructor"), lambda c, s: longer.test(c, s, reason="test"),
                       None, budget_flops=longer.flops_budget)
    assert {k.split("/")[0] for k in df.attrs["refused"]} == {"ada", "grace", "lesson02"}
    assert all("another budget" in why for why in df.attrs["refused"].values())
    assert len(df) == 0


def test_each_learner_gets_own_loop_seeds_far_from_the_lessons_other_seeds():
    from looplab.research.classroom import learner_loop_seed
    names = ["ada", "grace", "alan", "emmy", "Ada", "learner 7"]
    seeds = [learner_loop_seed(n) for n in names]
    assert len(set(seeds)) == len(names) and all(s >= 1010 for s in seeds)
    assert learner_loop_seed("ada") == seeds[0]                     # the same on every call and machine
    with pytest.raises(ValueError, match="not a valid name"):
        learner_loop_seed("")


def test_lesson03_writes_a_fresh_file_alone_and_the_class_store_in_class_mode(tmp_path, monkeypatch):
    from looplab.research.classroom import learner_loop_seed, lesson03_ledger
    from looplab.research.ledger import Ledger
    monkeypatch.delenv("LOOPLAB_CLASS_STORE", raising=False)
    old = tmp_path / "build" / "ledger.jsonl"
    old.parent.mkdir()
    old.write_text('{"exp": 1}\n', encoding="utf-8")
    target, seed0, says = lesson03_ledger(old)
    assert target == old and not old.exists() and seed0 == 10 and "LOOPLAB_CLASS_STORE" in says

    db = tmp_path / "class.db"
    monkeypatch.setenv("LOOPLAB_CLASS_STORE", str(db))
    monkeypatch.delenv("LOOPLAB_LEARNER", raising=False)
    with pytest.raises(ValueError, match="LOOPLAB_LEARNER"):
        lesson03_ledger(old)
    monkeypatch.setenv("LOOPLAB_LEARNER", "grace")
    store, seed0, says = lesson03_ledger(old)
    assert isinstance(store, ClassStore) and isinstance(store, Ledger) and store.learner == "grace"
    assert seed0 == learner_loop_seed("grace") and "class mode" in says and "'grace'" in says
    store.append({"exp": 1, "status": "baseline", "val_bpb": 3.0, "config": {"lr": 0.001}})
    again, _, _ = lesson03_ledger(old)                                # a restarted kernel resumes
    assert [r["exp"] for r in again.records()] == [1] and db.exists()


def test_the_rooms_comparison_pairs_every_learners_loops_and_counts_a_seed_once(filled, tmp_path):
    from looplab.research.classroom import room_comparison
    path, _ = filled
    table, tests = room_comparison(ClassStore(path, learner="instructor"))
    assert set(table["learner"]) == {"ada", "grace"}                 # lesson02's loop has no matched loops
    assert set(table["family"]) == {"random", "hill-climb"} and len(table) == 2 * 2 * 2
    row = tests.loc["hill-climb"]
    assert row["paired loops"] == 4 and row["learners"] == 2 and "Holm-significant" in tests
    assert tests.attrs["dropped_same_seed"] == 0

    other = str(tmp_path / "other.db")                                # a learner who ran ada's seeds
    simulate_class(other, learners=("ada", "grace"), experiments=2, runner=class_runner("smoke"))
    twin = ClassStore(other, learner="ada twin", loop="lesson03")
    for r in ClassStore(other, learner="ada", loop="lesson03").records():
        twin.append({k: v for k, v in r.items() if k != "learner"})
    table2, tests2 = room_comparison(ClassStore(other, learner="instructor"))
    assert tests2.attrs["dropped_same_seed"] == 4                     # 2 families x 2 loops, counted once
    assert tests2.loc["hill-climb", "paired loops"] == 4 and len(table2) == len(table)


def test_room_winners_curse_resamples_learners_not_claims():
    """A learner's claims share a loop: the interval resamples learners, so three learners whose
    claims agree within but differ between them get a wider interval than their claims would."""
    import numpy as np
    import pandas as pd
    from looplab.research.classroom import room_winners_curse
    from looplab.stats import bootstrap_ci
    shrink = {"ada": 0.10, "grace": 0.0, "alan": 0.05}
    df = pd.DataFrame([{"learner": n, "claimed_gain": 0.2, "measured_gain": 0.2 - s + 0.001 * k,
                        "holds": s < 0.05} for n, s in shrink.items() for k in range(4)])
    c = room_winners_curse(df)
    assert c["claims"] == 12 and c["learners"] == 3 and c["resampled"] == "learners"
    assert abs(c["mean_shrink"] - (np.mean(list(shrink.values())) - 0.0015)) < 1e-9
    lo, hi = c["interval"]
    assert lo <= c["mean_shrink"] <= hi and lo < 0.02 and hi > 0.08          # between-learner spread shows
    naive = bootstrap_ci(df["claimed_gain"] - df["measured_gain"])
    assert hi - lo > naive[1] - naive[0]
    one = room_winners_curse(df[df["learner"] == "ada"])
    assert one["learners"] == 1 and one["resampled"].startswith("claims (one learner only")
    with pytest.raises(ValueError, match="no claims"):
        room_winners_curse(df.iloc[:0])
