"""How much headroom lesson 03's loop has from a given start: the best reachable config, in σ and moves.

    .venv/bin/python bench/explore_loop_headroom.py --scale workshop \
        [--starts lesson02,base,nanogpt --noise-seeds 4 --climb-seeds 2 --max-moves 6 --loops 4
         --budget-minutes 60]

Issue 28: lesson 03's loop started from a config bench/tune_experiment_base.py had tuned so that
nothing beat it at the experiment budget, so its loops kept (almost) nothing. This script measures,
for candidate starts, how far the best config reachable by the loop's own moves lies, and how the
lesson's proposers fare from there; its first run chose the nanoGPT-style start, which is now
``scale.loop.experiment_base``. ``--export`` ships the loops' per-loop results to ``looplab/assets`` for
the lesson's power table (``looplab.research.compare.explored``).

Starts (``--starts``, comma-separated):

* ``lesson02``: what a learner would start from -- the run lesson 02 teaches,
  ``TrainConfig.from_scale(scale)`` (``looplab.train``), restricted to the search space's fields;
* ``base``: ``scale.loop.experiment_base`` (``looplab.config``), the lesson's start (since issue 28 the same
  as ``nanogpt``; the first run's ``base`` was the tuned 2 x 64 config, lr 0.002, warm-up 0.05, dropout 0);
* ``nanogpt``: the scale's ``experiment_ref`` model with the optimiser settings of nanoGPT's
  ``config/train_shakespeare_char.py`` (lr 1e-3, warm-up 100 of 5000 iterations = 0.02, dropout 0.2)
  and ``train.py``'s default weight_decay 0.1 (github.com/karpathy/nanoGPT).

For each start the search space is ``default_space(start)``, as lesson 03 builds it around its base:

1. noise floor: the start trained with ``--noise-seeds`` seeds (3000 + i); σ is their sample SD;
2. a greedy (steepest) hill-climb over ``space.moves()`` -- the one-step neighbourhood the lesson's
   hill-climber and offline LLM choose from: every move of the incumbent is trained with
   ``--climb-seeds`` seeds (3000 + i, the first noise seeds, so every comparison is paired on seeds);
   the climb takes the best move if it gains more than ``--stop-sigma`` σ (default 1), and stops
   otherwise or after ``--max-moves``. A climb's gains are maxima over ~14 noisy moves, so they are
   optimistic: the end config and the start are re-trained on fresh seeds (3200 + i, ``--noise-seeds``
   each), and that paired difference is the reported reachable gain;
3. ``--loops`` loops of the lesson's length (``scale.loop.experiments_per_proposer``) per proposer
   (``--proposers``: any of the lesson's six, hill-climb, random, tpe, cma-es, llm, centaur), each a
   ``ResearchLoop`` with the lesson's keep rule -- ``noise.keep`` with k = ``t_keep_factor(n, 0.05)``
   for the floor's n seeds, against the best so far -- loop i trained with seed 3300 + i, as the
   lesson trains loop i with seed 10 + i. Each loop's chosen (best kept) config is re-trained on
   ``--recheck-seeds`` fresh seeds (3400 + j) and compared with the start's mean over all its seeds
   (noise + verify): the loop "found" a gain if it exceeds 3σ there.

Budget: every experiment has lesson 03's FLOP budget, ``scale.loop.experiment_steps`` steps of the scale's
``experiment_ref`` (``Runner(scale)``), whatever the start. Lesson 03 itself builds
``Runner(sc, base=base)``: the same thing today (base and ref share the model), but with lesson 02's
model as its base the budget would follow the base (``--budget start``: ~10x the FLOPs, and the time,
of today's experiment at workshop scale).

Seeds 3000+ are disjoint from lesson 03's (floor 0..n-1, loops 10+, screen 20, null 100+, 999) and
from tune_experiment_base.py's (1000+, 2000+).

Resumable: every finished run is appended to ``bench/results/explore_loop_headroom_<scale>_runs.jsonl``
and reused by a later run (the key holds the budget, config and seed); the procedure is
deterministic, so a rerun replays what is done and goes on. The loops' ledgers are rebuilt from that
cache in ``build/explore_loop_headroom/``. The table (``..._<scale>.json`` and ``.csv``) is rewritten
after every climb step and loop. ``--budget-minutes`` stops before a run that would start past the
limit and writes what it has (``"partial": true``).

Threads: on a machine another job keeps busy, pass ``--threads 1``: with two torch threads on two
busy cores one smoke experiment took 7.6 s, with one thread 0.09 s (2026-12, this course's 2-core box).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _common import load_note, machine  # noqa: E402

SEED_NOISE, SEED_VERIFY, SEED_LOOP, SEED_RECHECK, SEED_SCREEN = 3000, 3200, 3300, 3400, 3500
say = lambda *a: print(*a, flush=True)  # noqa: E731


class OutOfTime(BaseException):
    """--budget-minutes ran out (a BaseException, so ResearchLoop does not log it as a failed run)."""


class Runs:
    """``val(runner, config, seed) -> val_bpb``, each (budget, config, seed) trained once, appended to a JSONL."""

    def __init__(self, path: Path, deadline: float = math.inf):
        self.path, self.deadline = path, deadline
        self.cache, self.fresh, self.fresh_s, self.reused = {}, 0, 0.0, 0
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:   # a half-written last line of a killed run
                    continue
                self.cache[r["key"]] = r

    @staticmethod
    def key(runner, config, seed) -> str:
        ref = runner.base if runner.kind == "flops" else {}
        return json.dumps([runner.kind, runner.steps, ref, dict(config), int(seed)], sort_keys=True)

    def val(self, runner, config, seed) -> float:
        k = self.key(runner, config, seed)
        if k in self.cache:
            self.reused += 1
        else:
            if time.time() > self.deadline:
                raise OutOfTime
            t0 = time.time()
            try:
                m = runner(dict(config), seed)
                v, steps, err = m["val_bpb"], m["steps"], None
            except Exception as e:   # a config that crashes the trainer counts as diverged
                v, steps, err = math.nan, None, repr(e)[:200]
            rec = {"key": k, "config": dict(config), "seed": seed, "val_bpb": v if math.isfinite(v) else None,
                   "steps": steps, "wall_s": round(time.time() - t0, 2), "error": err}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            self.cache[k] = rec
            self.fresh, self.fresh_s = self.fresh + 1, self.fresh_s + rec["wall_s"]
        v = self.cache[k]["val_bpb"]
        return math.nan if v is None else float(v)

    def many(self, runner, config, seeds) -> list[float]:
        return [self.val(runner, config, s) for s in seeds]


def mean(xs) -> float:
    xs = list(xs)
    return statistics.mean(xs) if xs and all(math.isfinite(x) for x in xs) else math.nan


def starts_of(sc, names: list[str]) -> dict:
    """The candidate starts, each a full config over default_space's fields."""
    from looplab.config import NANOGPT_OPTIMISER
    from looplab.research import default_space
    from looplab.train import TrainConfig
    fields = default_space(dict(sc.loop.experiment_base)).names
    lesson02 = TrainConfig.from_scale(sc)
    table = {"lesson02": {f: lesson02.to_dict()[f] for f in fields},
             "base": dict(sc.loop.experiment_base),
             "nanogpt": {**dict(sc.loop.experiment_ref), **dict(NANOGPT_OPTIMISER)}}
    bad = [n for n in names if n not in table]
    if bad:
        raise SystemExit(f"unknown start(s) {bad}; choose from {sorted(table)}")
    return {n: {f: table[n][f] for f in fields} for n in names}


def climb(space, val, start, seeds, sigma, stop_sigma, max_moves, on_step=None) -> list[dict]:
    """Steepest-ascent hill-climb over ``space.moves`` (``val(config, seed) -> val_bpb``); one dict per step."""
    inc, inc_vals, steps = dict(start), [val(start, s) for s in seeds], []
    for step in range(1, max_moves + 1):
        cands = []
        for move in space.moves(inc):
            cfg = space.validate(move, inc)
            vals = [val(cfg, s) for s in seeds]
            gain = mean(inc_vals) - mean(vals)      # paired: the same seeds as the incumbent's
            cands.append({"move": move, "config": cfg, "values": vals,
                          "gain_sigma": gain / sigma if math.isfinite(gain) else -math.inf})
        best = max(cands, key=lambda c: c["gain_sigma"]) if cands else None
        took = best is not None and best["gain_sigma"] > stop_sigma
        steps.append({"step": step, "took": took, "best_move": best and best["move"],
                      "gain_sigma": best and best["gain_sigma"], "candidates": cands})
        if on_step:
            on_step(steps[-1])
        if not took:
            break
        inc, inc_vals = best["config"], best["values"]
    return steps


def run_loops(space, run_metrics, val_of, nf_vals, noise_seeds, k, length, loops, proposers, ledger_path,
              on_loop=None) -> list[dict]:
    """``loops`` ResearchLoops per proposer with the lesson's keep rule; what each kept (not re-checked)."""
    from looplab.research import HillClimbProposer, LLMProposer, RandomProposer, ResearchLoop, TPEProposer
    from looplab.research.classical import CentaurProposer, CMAESProposer
    from looplab.research.compare import loop_name
    from looplab.research.signoff import AutoApprove
    llm = {}

    def backend():                     # SmolLM2, loaded once, only when an LLM proposer is asked for
        if "b" not in llm:
            from looplab.research.llm_local import smollm2
            llm["b"] = smollm2()
        return llm["b"]

    budget = getattr(run_metrics, "budget_text", "a fixed compute budget")
    make = {"hill-climb": HillClimbProposer, "random": RandomProposer, "tpe": TPEProposer, "cma-es": CMAESProposer,
            "llm": lambda seed: LLMProposer(backend(), k=k, budget=budget),
            "centaur": lambda seed: CentaurProposer(LLMProposer(backend(), k=k, budget=budget), seed=seed)}
    bad = [f for f in proposers if f not in make]
    if bad:
        raise SystemExit(f"unknown proposer(s) {bad}; choose from {sorted(make)}")
    ledger_path.unlink(missing_ok=True)          # rebuilt each time from the runs cache
    auto = AutoApprove("explore_loop_headroom: no human at the keyboard", announce=False)
    floor = ResearchLoop(space, run_metrics, ledger_path, k=k, seed=noise_seeds[0], signoff=auto, verbose=False)
    for s, v in zip(noise_seeds, nf_vals):
        floor.record_baseline(s, {"val_bpb": v}, time.time())
    nf = floor.noise
    out = []
    for i in range(loops):
        lp = ResearchLoop(space, run_metrics, ledger_path, k=k, seed=SEED_LOOP + i, signoff=auto, verbose=False)
        for fam in proposers:
            prop = make[fam](seed=i)
            prop.name = loop_name(fam, i)
            if hasattr(prop, "cma"):
                prop.cma.name = prop.name
            t0 = time.time()
            lp.run(prop, length, progress=False)
            best = lp.best(prop.name)
            mine = lp.ledger.where(proposer=prop.name)
            kept = [r for r in mine if r.get("status") == "kept"]
            llm_calls = [r["llm"] for r in mine if isinstance(r.get("llm"), dict)]
            row = {"proposer": fam, "loop": i, "seed": SEED_LOOP + i, "kept": len(kept),
                   "chosen": best["config"] if kept else None, "chosen_val": best["val_bpb"] if kept else None,
                   "final_best": best["val_bpb"] if kept else nf.mean,
                   "claimed_sigma": (nf.mean - best["val_bpb"]) / max(nf.sigma, 1e-12) if kept else 0.0,
                   "fields_changed": len(space.diff(best["config"])) if kept else 0,
                   "trajectory": [{"exp": r.get("exp"), "changes": r.get("changes"), "val_bpb": r.get("val_bpb"),
                                   "best_before": r.get("best_before"), "status": r.get("status")}
                                  for r in mine if r.get("status") in ("kept", "discarded", "failed")],
                   "llm_calls": len(llm_calls), "llm_tflop": sum(x.get("flops") or 0 for x in llm_calls) / 1e12,
                   "wall_s": round(time.time() - t0, 1)}
            out.append(row)
            if on_loop:
                on_loop(row)
    return out


def csv_rows(results: dict) -> list[dict]:
    rows = []
    for name, st in results["starts"].items():
        base = {"start": name, "sigma": st.get("sigma"), "start_mean": st.get("mean")}
        rows.append({**base, "section": "noise", "values": st.get("noise_values")})
        cum = 0.0
        for s in st.get("climb", []):
            cum += s["gain_sigma"] if s["took"] else 0.0
            rows.append({**base, "section": "climb", "index": s["step"], "change": json.dumps(s["best_move"]),
                         "gain_sigma": s["gain_sigma"], "kept": s["took"], "cum_sigma": cum})
        if st.get("verify"):
            v = st["verify"]
            rows.append({**base, "section": "verify", "index": st["moves"], "change": json.dumps(v["diff"]),
                         "gain_sigma": v["gain_sigma"], "values": v["end_values"]})
        for r in st.get("loops", []):
            rows.append({**base, "section": "loop", "index": r["loop"], "proposer": r["proposer"],
                         "change": json.dumps(r.get("diff")),
                         "gain_sigma": r["claimed_sigma"], "kept": r["kept"], "recheck_sigma": r.get("recheck_sigma"),
                         "beyond_3sigma": r.get("found"), "values": r.get("recheck_values")})
    return rows


def finite(obj):
    """``obj`` with non-finite floats (a diverged run's val_bpb, its -inf gain) as None: strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def write(results: dict, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(finite(results), indent=1, default=str, allow_nan=False)
    dest.with_suffix(".json").write_text(text, encoding="utf-8")
    cols = ["start", "section", "index", "proposer", "change", "gain_sigma", "cum_sigma", "kept", "recheck_sigma",
            "beyond_3sigma", "sigma", "start_mean", "values"]
    with open(dest.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        for r in csv_rows(results):
            w.writerow({c: (round(r[c], 4) if isinstance(r.get(c), float) else r.get(c)) for c in cols})


def explore(name, start, a, sc, runs, runner_for, results, dest) -> None:
    from looplab.research import default_space
    from looplab.stats import t_keep_factor
    space = default_space(start)
    runner = runner_for(start)
    st = results["starts"][name] = {"start": start, "budget": runner.describe(),
                                    "steps_of_start": runner.budget(start).steps}
    val = lambda cfg, s: runs.val(runner, cfg, s)  # noqa: E731
    say(f"\n== start {name}: {json.dumps(start)}\n   {st['budget']}; the start trains {st['steps_of_start']} steps")
    noise_seeds = [SEED_NOISE + i for i in range(a.noise_seeds)]
    nv = runs.many(runner, start, noise_seeds)
    sigma = statistics.stdev(nv) if len(nv) > 1 else math.nan
    if not sigma > 0:
        sigma = 1e-6
    st.update(noise_values=nv, mean=mean(nv), sigma=sigma, moves_from_start=len(space.moves(start)))
    say(f"   noise floor: {mean(nv):.4f} ± {sigma:.4f} (σ over {len(nv)} seeds); {st['moves_from_start']} one-step moves")
    write(results, dest)

    def on_step(s):
        gains = sorted(((c["gain_sigma"], json.dumps(c["move"])) for c in s["candidates"]), reverse=True)
        say(f"   climb step {s['step']}: best {s['best_move']} {s['gain_sigma']:+.2f}σ -> "
            f"{'take' if s['took'] else 'stop'}; next best " + ", ".join(f"{m} {g:+.1f}σ" for g, m in gains[1:4]))
        st["climb"] = st.get("climb", []) + [{k: v for k, v in s.items()}]
        write(results, dest)

    climb(space, val, start, noise_seeds[:a.climb_seeds], sigma, a.stop_sigma, a.max_moves, on_step)
    taken = [s for s in st.get("climb", []) if s["took"]]
    end = dict(start)
    for s in taken:
        end = space.validate(s["best_move"], end)
    st.update(moves=len(taken), end=end, capped=len(taken) == a.max_moves)
    if taken:
        vs = [SEED_VERIFY + i for i in range(a.noise_seeds)]
        sv, ev = runs.many(runner, start, vs), runs.many(runner, end, vs)
        gain = mean(sv) - mean(ev)
        st["verify"] = {"seeds": vs, "start_values": sv, "end_values": ev, "diff": space.diff(end, start),
                        "gain_bpb": gain, "gain_sigma": gain / sigma}
        say(f"   climb: {len(taken)} moves, {sum(s['gain_sigma'] for s in taken):+.1f}σ on the climb's seeds; "
            f"re-trained on {len(vs)} fresh seeds: {gain:+.4f} bpb = {gain / sigma:+.1f}σ "
            f"({json.dumps(space.diff(end, start))})")
    else:
        say("   climb: no move gains more than "
            f"{a.stop_sigma:g}σ: the start is a local optimum of the one-step neighbourhood (at {a.climb_seeds} seeds)")
    write(results, dest)

    n = a.noise_seeds
    k = a.k if a.k is not None else t_keep_factor(n, 0.05)
    ref_vals = nv + st.get("verify", {}).get("start_values", [])
    ref = mean(ref_vals)
    st.update(k=k, ref_mean=ref, loops=[])
    rseeds = [SEED_RECHECK + j for j in range(a.recheck_seeds)]

    def on_loop(r):
        if r["chosen"]:
            rv = runs.many(runner, r["chosen"], rseeds)
            r.update(recheck_values=rv, recheck_sigma=(ref - mean(rv)) / sigma, diff=space.diff(r["chosen"], start))
            r["found"] = bool(r["recheck_sigma"] > 3)
        else:
            r.update(found=False)
        st["loops"].append(r)
        say(f"   loop {r['proposer']}#{r['loop']}: kept {r['kept']}" + (
            f", chose {json.dumps(r['diff'])}: {r['claimed_sigma']:+.1f}σ in the loop, "
            f"{r['recheck_sigma']:+.1f}σ on {len(rseeds)} fresh seeds" if r["chosen"] else ""))
        write(results, dest)

    ledger = ROOT / "build" / "explore_loop_headroom" / sc.name / f"{name}{'_' + a.tag if a.tag else ''}.jsonl"
    def metrics(cfg, s):
        return {"val_bpb": runs.val(runner, cfg, s)}
    metrics.budget_text = runner.describe()
    run_loops(space, metrics, val, nv, noise_seeds, k, a.loop_length or sc.loop.experiments_per_proposer, a.loops,
              a.proposers.split(","), ledger, on_loop)
    if a.screen_reps:
        screen(st, sc, ledger, runs, mean(nv), a.screen_reps, results, dest)


def screen(st, sc, ledger_path, runs, base_mean, reps, results, dest) -> None:
    """Lesson 03's screen (section 9) on the loops' runs, once per loop: its power.

    For loop i: its distinct configs (all proposers) sorted by val_bpb, ``screen_configs - 1`` of them
    spanning the range plus the start, re-trained at ``screen_factor`` x the budget with seed
    SEED_SCREEN + i; Spearman rho between the budgets and its exact one-sided p, as the lesson does.
    """
    import numpy as np
    from looplab.research import Ledger
    from looplab.research.compare import split_name
    from looplab.research.runner import Runner
    from looplab.stats import spearman_exact
    long_runner = Runner(sc, steps=sc.loop.experiment_steps * sc.loop.screen_factor)
    recs = [r for r in Ledger(ledger_path).records() if r.get("status") in ("kept", "discarded")
            and isinstance(r.get("val_bpb"), float) and math.isfinite(r["val_bpb"])]
    out = st["screen"] = []
    for i in range(reps):
        mine = sorted((r for r in recs if split_name(r["proposer"])[1] == i), key=lambda r: r["val_bpb"])
        distinct = {}
        for r in mine:
            distinct.setdefault(json.dumps(r["config"], sort_keys=True), r)
        ordered = list(distinct.values())
        if len(ordered) < 2:
            continue
        pick = [ordered[int(j)] for j in np.linspace(0, len(ordered) - 1, min(sc.loop.screen_configs - 1, len(ordered)))]
        short = [base_mean] + [r["val_bpb"] for r in pick]
        long = [runs.val(long_runner, st["start"], SEED_SCREEN + i)] + [
            runs.val(long_runner, r["config"], SEED_SCREEN + i) for r in pick]
        if not all(math.isfinite(x) for x in long):
            out.append({"loop": i, "short": short, "long": long, "rho": None, "p": 1.0})
            continue
        rho, p = spearman_exact(short, long)
        out.append({"loop": i, "short": short, "long": long, "rho": rho, "p": p})
        say(f"   screen on loop {i}'s runs: rho {rho:.2f}, exact p {p:.4f}")
    results["screen_power"] = sum(r["p"] <= 0.05 for r in out) / len(out) if out else None
    say(f"   screen: p <= 0.05 in {sum(r['p'] <= 0.05 for r in out)} of {len(out)} loops' runs")
    write(results, dest)


def summary(results: dict) -> str:
    lines = []
    for name, st in results["starts"].items():
        if "sigma" not in st:
            continue
        v = st.get("verify")
        reach = ("climb unfinished" if "moves" not in st else
                 f"{st['moves']} move(s){' (capped)' if st.get('capped') else ''}, verified "
                 f"{v['gain_bpb']:+.4f} bpb = {v['gain_sigma']:+.1f}σ" if v else
                 "0 moves: no one-step move beyond the stop rule")
        lines.append(f"{name:<9} {st['mean']:.4f} ± {st['sigma']:.4f}   reachable: {reach}")
        by = {}
        for r in st.get("loops", []):
            by.setdefault(r["proposer"], []).append(r)
        rand = {r["loop"]: r.get("final_best") for r in by.get("random", [])}
        for fam, rs in by.items():
            line = (f"{'':<9} {fam:<10} loops of {results['loop_length']} (k={st['k']:.2f}): kept anything "
                    f"{sum(r['kept'] > 0 for r in rs)}/{len(rs)}, found > 3σ on fresh seeds "
                    f"{sum(bool(r.get('found')) for r in rs)}/{len(rs)}")
            fb = [r.get("final_best") for r in rs if r.get("final_best") is not None]
            if fb:
                line += f"; final best {mean(fb):.4f}"
            d = [rand[r["loop"]] - r["final_best"] for r in rs
                 if fam != "random" and rand.get(r["loop"]) is not None and r.get("final_best") is not None]
            if len(d) > 1 and statistics.stdev(d) > 0:
                from looplab.stats import paired_t_power
                line += (f"; random − it {mean(d):+.4f} ± {statistics.stdev(d):.4f}, power at 3 loops "
                         f"{paired_t_power(mean(d), statistics.stdev(d), 3, alpha=0.01):.0%} (α 0.05/5)")
            lines.append(line)
    return "\n".join(lines)


def export(results: dict, start: str, tag: str) -> Path:
    """Write the loops' per-loop results from ``start`` to ``looplab/assets`` (``looplab.research.compare.explored``)."""
    from looplab.research.compare import EXPLORED_ASSET
    st = results["starts"][start]
    fams = list(dict.fromkeys(r["proposer"] for r in st["loops"]))
    by = {f: sorted((r for r in st["loops"] if r["proposer"] == f), key=lambda r: r["loop"]) for f in fams}
    loops = min(len(v) for v in by.values())
    out = {"scale": results["scale"], "start": st["start"], "families": fams, "loops": loops,
           "length": results["loop_length"], "seeds": f"{SEED_LOOP}-{SEED_LOOP + loops - 1}",
           "sigma": st["sigma"], "k": st["k"],
           "final_best": {f: [r["final_best"] for r in by[f][:loops]] for f in fams},
           "found": {f: [bool(r.get("found")) for r in by[f][:loops]] for f in fams},
           "screen_power": results.get("screen_power"),
           "source": f"bench/explore_loop_headroom.py --tag {tag} (bench/results/explore_loop_headroom_"
                     f"{results['scale']}{'_' + tag if tag else ''}.json), {results['machine']}"}
    dest = ROOT / "utils" / "looplab" / "assets" / EXPLORED_ASSET.format(scale=results["scale"])
    dest.write_text(json.dumps(finite(out), indent=1) + "\n", encoding="utf-8")
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="workshop")
    p.add_argument("--starts", default="lesson02,base,nanogpt")
    p.add_argument("--noise-seeds", type=int, default=4)
    p.add_argument("--climb-seeds", type=int, default=2)
    p.add_argument("--stop-sigma", type=float, default=1.0)
    p.add_argument("--max-moves", type=int, default=6)
    p.add_argument("--loops", type=int, default=4)
    p.add_argument("--loop-length", type=int, default=0, help="default: scale.loop.experiments_per_proposer")
    p.add_argument("--proposers", default="hill-climb,random")
    p.add_argument("--recheck-seeds", type=int, default=2)
    p.add_argument("--screen-reps", type=int, default=0,
                   help="run lesson 03's screen on this many loops' runs (its power); 0: skip")
    p.add_argument("--k", type=float, default=None, help="keep factor; default t_keep_factor(noise seeds, 0.05)")
    p.add_argument("--budget", choices=("ref", "start"), default="ref")
    p.add_argument("--budget-minutes", type=float, default=0, help="0: no limit")
    p.add_argument("--export", action="store_true",
                   help="write the loops' per-loop results (one start) to looplab/assets for lesson 03's power table")
    p.add_argument("--tag", default="", help="suffix of the table's file names (the runs cache is shared)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads (0: setup()'s choice); 1 on a machine another job keeps busy")
    a = p.parse_args(argv)
    if a.noise_seeds < 2 or not 1 <= a.climb_seeds <= a.noise_seeds:
        p.error("need --noise-seeds >= 2 and 1 <= --climb-seeds <= --noise-seeds")

    from looplab.config import setup
    from looplab.research.runner import Runner
    S = setup(seed=0, scale=a.scale, quiet=True)
    sc = S.scale
    if a.threads:
        from looplab.config import set_threads
        set_threads(a.threads)
    t0 = time.time()
    deadline = t0 + a.budget_minutes * 60 if a.budget_minutes > 0 else math.inf
    dest = ROOT / "bench" / "results" / f"explore_loop_headroom_{sc.name}"
    runs = Runs(dest.parent / f"{dest.name}_runs.jsonl", deadline)
    if a.tag:
        dest = dest.with_name(f"{dest.name}_{a.tag}")
    shared = Runner(sc)
    runner_for = (lambda start: shared) if a.budget == "ref" else (lambda start: Runner(sc, data=shared.data, base=start))
    results = {"scale": sc.name, "machine": machine(), "load": load_note(), "args": vars(a),
               "loop_length": a.loop_length or sc.loop.experiments_per_proposer, "starts": {}, "partial": False}
    say(f"explore_loop_headroom at {sc.name}: {results['machine']}; {results['load']}")
    try:
        for name, start in starts_of(sc, a.starts.split(",")).items():
            explore(name, start, a, sc, runs, runner_for, results, dest)
    except OutOfTime:
        results["partial"] = True
        say(f"\n--budget-minutes {a.budget_minutes:g} reached: stopped before the next run; writing what is done")
    results.update(seconds=round(time.time() - t0, 1), fresh_runs=runs.fresh, reused_runs=runs.reused,
                   mean_run_s=round(runs.fresh_s / runs.fresh, 2) if runs.fresh else None)
    write(results, dest)
    if a.export and not results["partial"]:
        starts = [n for n, st in results["starts"].items() if st.get("loops")]
        if len(starts) != 1:
            raise SystemExit(f"--export needs loops from exactly one start, got {starts}")
        say(f"exported the loops of {starts[0]} to {export(results, starts[0], a.tag)}")
    say("\n" + summary(results))
    say(f"\n{runs.fresh} runs trained ({results['mean_run_s']} s each), {runs.reused} reused from "
        f"{runs.path.name}; wall {results['seconds']:.0f} s{' (PARTIAL)' if results['partial'] else ''}; "
        f"written to {dest}.json/.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
