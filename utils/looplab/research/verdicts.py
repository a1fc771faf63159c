"""Lesson 03's verdicts, computed and recorded: the claims the lesson writes down before each run.

The lesson tests its claims at different stages, so there is one function per claim (or pair of
claims), called from the cell that shows its result:

1. :func:`null_verdicts` (section 5): k = 0 keeps more lucky seeds than the course's rule (Fisher's
   exact test), and the course's rule keeps at most 3 of the null runs;
2. :func:`comparison_verdict` (section 7): some proposer beats random search (paired t over loops, Holm);
3. :func:`floor_verdict` (section 8): the noise floor changes the loop's decisions;
4. :func:`screen_verdict` (section 9): the experiment-budget screen ranks configs as a longer budget does;
5. :func:`optimism_verdict` and :func:`replication_verdict` (section 10): the loops' choices look better
   on val than on test, and your loop's choice beats the base on the sealed test, on fresh seeds.

Each returns what :func:`looplab.verdict.record` returns; the statistics come from :mod:`looplab.stats`.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

from ..stats import fisher_greater, sign_flip_test, spearman_exact, wilson_interval
from ..verdict import Verdict, record
from .compare import beats_random
from .ledger import DISCARDED, KEPT
from .noise import NoiseFloor, keep

__all__ = ["ALPHA", "NULL_SEED0", "null_verdicts", "comparison_verdict", "floor_verdict", "screen_verdict",
           "optimism_verdict", "replication_verdict"]

ALPHA = 0.05         # every test of the lesson: a 5% false-positive rate
NULL_SEED0 = 100     # the null experiments train with seeds 100, 101, ... (the NullProposer's seed0)
MAX_NULL_KEPT = 3    # the course's 5% rule keeps at most this many of the null runs (section 5's second claim)


def null_verdicts(null_records: Sequence[Mapping], floor: NoiseFloor, k: float, required: bool,
                  alpha: float = ALPHA) -> tuple[Verdict, Verdict]:
    """Section 5's two claims on the null runs (seed changes only), each judged against the baseline mean.

    ``null_records``: the ledger's records of the null proposer (those that ran count); ``floor``: the
    noise floor (its mean and sigma); ``k``: the course's keep factor. ``required``: both must hold.
    Returns ``(fewer than k = 0, about 5%)``; the first's value holds the counts ``k=0``, ``course rule``
    and ``null runs``.
    """
    null_vals = [r["val_bpb"] for r in null_records if r["status"] in (KEPT, DISCARDED)]
    n_null = len(null_vals)
    if not n_null:
        raise ValueError("no null run ran (null_records holds none kept or discarded): there is nothing to test")
    kept_k0 = sum(keep(v, floor.mean, floor.sigma, 0.0)[0] for v in null_vals)
    kept_kt = sum(keep(v, floor.mean, floor.sigma, k)[0] for v in null_vals)
    loop_kept = sum(r["status"] == KEPT for r in null_records)
    ci_k0, ci_kt = wilson_interval(kept_k0, n_null), wilson_interval(kept_kt, n_null)
    p_null = fisher_greater(kept_k0, n_null, kept_kt, n_null)
    seeds = list(range(NULL_SEED0, NULL_SEED0 + n_null))
    v_null = record("03", f"The course's rule (k = {k:.2f} from Student's t) keeps fewer lucky seeds than k = 0",
                    "null changes kept (vs baseline mean): k = 0 and the course's rule, of the null runs",
                    {"k=0": kept_k0, "course rule": kept_kt, "null runs": n_null},
                    "one-sided Fisher exact test: k = 0's rate > the rule's", alpha,
                    seeds, holds=p_null <= alpha, must_hold=required, p_value=p_null,
                    false_positive_rate=f"at most {alpha:.0%} (exact test); power 93% with 24 null runs and 6 floor "
                                        "seeds (simulated before the run)",
                    detail=f"90% Wilson intervals: k = 0 {ci_k0[0]:.2f} to {ci_k0[1]:.2f}, rule {ci_kt[0]:.2f} to "
                           f"{ci_kt[1]:.2f}; the loop itself kept {loop_kept} (it compares with the best so far, "
                           "which a kept fluke lowers)")
    v_kt = record("03", "The course's rule keeps about the 5% of null changes it is designed to",
                  "null changes kept with the course rule (vs baseline mean)", kept_kt,
                  f"count <= {MAX_NULL_KEPT} of the null runs", MAX_NULL_KEPT,
                  seeds, holds=kept_kt <= MAX_NULL_KEPT, must_hold=required,
                  false_positive_rate=f"a correct 5% rule keeps more than {MAX_NULL_KEPT} of {n_null} in 11% of runs "
                                      "(simulated, shared baseline mean); a rule with sigma as the standard error "
                                      "fails in 64%",
                  detail=f"{kept_kt} of {n_null}; designed rate 5%, 90% interval {ci_kt[0]:.2f} to {ci_kt[1]:.2f}")
    return v_null, v_kt


def comparison_verdict(tests, seeds: Sequence[int], alpha: float = ALPHA) -> Verdict:
    """Section 7's comparison: some proposer beats random search, Holm-significant over the loops.

    ``tests``: :func:`looplab.research.compare.vs_random`'s table (one row per proposer X, random − X);
    ``seeds``: the loops' seeds, one per loop. Reported, never required (its power is low at one learner's
    loops; section 7's power table says how low).
    """
    if not len(tests):
        raise ValueError("tests holds no proposer: there is nothing to compare with random search")
    better, worse = beats_random(tests)
    diffs = [float(d) for d in tests["random − X (mean)"]]
    return record("03", "Some proposer beats random search at the same budget (paired over loops)",
                  "random − X in final best val_bpb, per proposer (mean over loops)",
                  {f: round(d, 5) for f, d in zip(tests.index, diffs)},
                  f"paired t-test over {len(seeds)} loops, two-sided, Holm across {len(tests)}", alpha,
                  list(seeds), holds=bool(better), must_hold=False,
                  p_value=min(float(p) for p in tests["p (two-sided)"]),
                  false_positive_rate=f"family-wise at most {alpha:.0%} (Holm), under normal loop-to-loop noise",
                  detail=f"better than random: {better or 'none'}; worse: {worse or 'none'}")


def floor_verdict(would_keep: int, did_keep: int, runs: int, k: float, seeds: Sequence[int]) -> Verdict:
    """Section 8: of ``runs`` runs, k = 0 would keep ``would_keep`` and the course's rule kept ``did_keep``
    (each against the best before it); the floor changed a decision if the first is larger. Reported."""
    if not 0 <= did_keep <= runs or not 0 <= would_keep <= runs:
        raise ValueError(f"kept counts must lie in 0..{runs}, got would_keep={would_keep}, did_keep={did_keep}")
    return record("03", "The noise floor changes the loop's decisions: some runs k = 0 would keep are discarded",
                  "runs kept with k=0 minus runs kept with the course rule (same runs, vs the best before each)",
                  would_keep - did_keep, "difference >= 1", 1, list(seeds),
                  holds=would_keep - did_keep >= 1, must_hold=False,
                  false_positive_rate=f"not a test: it fails only if none of {runs} runs gains less than {k:.2f}σ̂ "
                                      "without losing (section 5 tests the floor)",
                  detail=f"{would_keep} with k=0 against {did_keep} with k={k:.2f}")


def screen_verdict(short: Mapping[str, float], long: Mapping[str, float], rates: Mapping, factor: int,
                   must_hold: bool, seed: int = 20, alpha: float = ALPHA) -> Verdict:
    """Section 9: the experiment budget (``short``) ranks the configs as ``factor`` times it (``long``, trained
    with ``seed``) does: Spearman rho > 0 by the exact permutation test. ``rates``:
    :func:`looplab.research.compare.screen_rates`' result for the same configs (its rates go in the detail)."""
    missing = [name for name in short if name not in long]
    if missing:
        raise ValueError(f"configs scored at the experiment budget but not at the long one: {missing}")
    rho, p_rho = spearman_exact(list(short.values()), [long[name] for name in short])
    return record("03", f"The experiment-budget screen ranks configs as a {factor}x budget does",
                  "Spearman rho (short vs long budget)", rho, "exact permutation test, rho > 0, one-sided", alpha,
                  [seed], holds=p_rho <= alpha, must_hold=must_hold, p_value=p_rho,
                  false_positive_rate=f"at most {alpha:.0%} (exact over all {math.factorial(len(short))} orders)",
                  detail=f"TPR {rates['tpr']:.2f}, FPR {rates['fpr']:.2f}, share truly better {rates['p_good']:.2f}")


def optimism_verdict(optimism: Sequence[float], seeds: Sequence[int], alpha: float = ALPHA) -> Verdict:
    """Section 10: the winner's curse. ``optimism``: each chosen config's test−val gap beyond the baseline's
    (at least 2); its mean is tested > 0 by the exact sign-flip test (over the first 20). Reported."""
    import pandas as pd
    optimism = pd.Series(optimism, dtype=float)
    if len(optimism) < 2:
        raise ValueError(f"the optimism test needs at least 2 chosen configs, got {len(optimism)}")
    p_opt = sign_flip_test(optimism.tolist()[:20])
    return record("03", "The loops' chosen configs look better on val than they are on test (winner's curse)",
                  "mean optimism (test−val gap beyond the baseline's), bpb", float(optimism.mean()),
                  "exact sign-flip test over chosen configs, one-sided", alpha, list(seeds),
                  holds=p_opt <= alpha, must_hold=False, p_value=p_opt,
                  false_positive_rate=f"at most {alpha:.0%} (exact permutation test)",
                  detail=f"{len(optimism)} chosen configs")


def replication_verdict(rep: Mapping, seeds: Sequence[int], changes: Mapping, must_hold: bool,
                        alpha: float = ALPHA) -> Verdict:
    """Section 10: your loop's choice against the base on the sealed test, paired over the fresh ``seeds``.

    ``rep``: the replication's ledger record (``diffs``, base − choice per seed, ``baseline_test`` and
    ``choice_test``); ``changes``: the choice as changes to the base. Tested by the exact one-sided
    sign-flip test (p = 1 when every difference is 0)."""
    import numpy as np
    diffs = rep["diffs"]
    if len(diffs) != len(seeds):
        raise ValueError(f"{len(diffs)} paired differences for {len(seeds)} seeds")
    p_rep = sign_flip_test(diffs) if any(d != 0 for d in diffs) else 1.0
    return record("03", "Your loop's final choice beats the base on the sealed test, replicated on fresh seeds",
                  "base − choice in test_bpb, mean over paired seeds", float(np.mean(diffs)),
                  f"exact one-sided sign-flip test over {len(diffs)} paired seeds", alpha, list(seeds),
                  holds=p_rep <= alpha, must_hold=must_hold, p_value=p_rep,
                  false_positive_rate=f"at most {alpha:.0%} (exact; the smallest p with {len(diffs)} seeds is "
                                      f"1/{2 ** len(diffs)})",
                  detail=f"choice {json.dumps(dict(changes))}; base {np.mean(rep['baseline_test']):.4f}, "
                         f"choice {np.mean(rep['choice_test']):.4f} test_bpb over {len(diffs)} seeds")
