"""bench/explore_loop_headroom.py's logic on a fake, instant run function (no training)."""
import importlib.util
import math
import sys

import pytest

from looplab.config import get_scale
from looplab.research import default_space


@pytest.fixture(scope="module")
def eh(repo_root):
    sys.path.insert(0, str(repo_root / "bench"))
    spec = importlib.util.spec_from_file_location("explore_loop_headroom", repo_root / "bench" / "explore_loop_headroom.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


OPT_LR = 4 * dict(get_scale("smoke").loop.experiment_base)["lr"]   # two doublings from the smoke base's lr


def fake_val(cfg, seed):
    """val_bpb with its optimum at OPT_LR, tiny seed noise."""
    return 3.0 + abs(math.log2(cfg["lr"] / OPT_LR)) + 0.001 * (seed % 3)


def test_starts_are_inside_their_spaces(eh):
    sc = get_scale("workshop")
    starts = eh.starts_of(sc, ["lesson02", "base", "nanogpt"])
    assert starts["base"] == dict(sc.loop.experiment_base)
    assert starts["lesson02"]["n_embd"] == sc.tiny.n_embd and starts["lesson02"]["n_layer"] == sc.tiny.n_layer
    assert starts["nanogpt"]["dropout"] == 0.2 and starts["nanogpt"]["n_embd"] == dict(sc.loop.experiment_ref)["n_embd"]
    for start in starts.values():
        assert default_space(start).base == start


def test_climb_finds_the_optimum_in_two_moves(eh):
    base = dict(get_scale("smoke").loop.experiment_base)
    steps = eh.climb(default_space(base), fake_val, base, [3000, 3001], 0.01, 1.0, 6)
    taken = [s["best_move"] for s in steps if s["took"]]
    assert taken == [{"lr": OPT_LR / 2}, {"lr": OPT_LR}] and not steps[-1]["took"]


def test_runs_cache_and_budget_guard(eh, tmp_path):
    class FakeRunner:
        kind, steps, base = "flops", 15, {"n_layer": 2}
        calls = 0

        def __call__(self, cfg, seed):
            FakeRunner.calls += 1
            return {"val_bpb": fake_val(cfg, seed), "steps": 15}

    cfg = dict(get_scale("smoke").loop.experiment_base)
    runs = eh.Runs(tmp_path / "runs.jsonl")
    v = runs.val(FakeRunner(), cfg, 1)
    again = eh.Runs(tmp_path / "runs.jsonl", deadline=0.0)       # past its deadline: cached runs only
    assert again.val(FakeRunner(), cfg, 1) == v and FakeRunner.calls == 1
    with pytest.raises(eh.OutOfTime):
        again.val(FakeRunner(), cfg, 2)


def test_loops_keep_by_the_lessons_rule(eh, tmp_path):
    base = dict(get_scale("smoke").loop.experiment_base)
    space = default_space(base)
    seeds = [3000, 3001, 3002]
    nv = [fake_val(base, s) for s in seeds]
    rows = eh.run_loops(space, lambda c, s: {"val_bpb": fake_val(c, s)}, None, nv, seeds, 2.0, 3, 2,
                        ["hill-climb", "random"], tmp_path / "ledger.jsonl")
    assert [(r["proposer"], r["loop"]) for r in rows] == [("hill-climb", 0), ("random", 0), ("hill-climb", 1), ("random", 1)]
    for r in rows:
        assert (r["chosen"] is None) == (r["kept"] == 0)
        if r["kept"]:
            assert r["claimed_sigma"] > 2.0


def test_the_shipped_exploration_is_the_bench_table_of_the_lessons_start(repo_root):
    """looplab/assets/loop_exploration_workshop.json (lesson 03's power table) = the bench's own table."""
    import json
    from looplab.research.compare import explored
    ex = explored("workshop")
    assert ex is not None and ex["loops"] >= 3 and "random" in ex["families"]
    assert ex["start"] == dict(get_scale("workshop").loop.experiment_base)   # explored from the lesson's start
    table = json.loads((repo_root / "bench" / "results" / "explore_loop_headroom_workshop_six.json").read_text())
    st = table["starts"]["nanogpt"]
    for fam in ex["families"]:
        rows = sorted((r for r in st["loops"] if r["proposer"] == fam), key=lambda r: r["loop"])[:ex["loops"]]
        assert [r["final_best"] for r in rows] == pytest.approx(ex["final_best"][fam])
        assert [bool(r.get("found")) for r in rows] == ex["found"][fam]
    assert ex["screen_power"] == table.get("screen_power")
    assert explored("no-such-scale") is None
