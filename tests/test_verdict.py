"""looplab.verdict and the dry run's verdict collection: tests that can fail, recorded as data."""
import json
import math
import os
import random

import nbformat
import pytest

from looplab.course import dryrun as course
from looplab.stats import bootstrap_ci, null_keep_rate, sign_flip_test, t_keep_factor
from looplab.verdict import HEADLINES_ENV, read, record


def test_sign_flip_exact_values():
    assert sign_flip_test([1, 2, 3, 0.5, 1]) == pytest.approx(1 / 32)      # all positive: the minimum
    assert sign_flip_test([1, 2, 3, 0.5, 1], "less") == pytest.approx(1.0)
    assert sign_flip_test([1, -1]) == pytest.approx(3 / 4)
    assert sign_flip_test([3, -1, 2, 2, -0.5], "two-sided") == pytest.approx(sign_flip_test([-3, 1, -2, -2, 0.5], "two-sided"))


def test_sign_flip_false_positive_rate_is_at_most_alpha_under_the_null():
    rng = random.Random(0)
    for n in (5, 8):
        p = [sign_flip_test([rng.gauss(0, 1) for _ in range(n)]) for _ in range(2000)]
        rate = sum(x <= 0.05 for x in p) / len(p)
        assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / len(p)), (n, rate)


def test_sign_flip_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        sign_flip_test([])
    with pytest.raises(ValueError, match="finite"):
        sign_flip_test([1.0, float("nan")])
    with pytest.raises(ValueError, match="alternative"):
        sign_flip_test([1.0], "bigger")


def test_t_keep_factor_keeps_null_changes_at_alpha():
    """Simulated null changes against a 5-seed floor: the t rule keeps about alpha; k=2 keeps far more with 3 seeds."""
    k5 = t_keep_factor(5, 0.05)
    assert null_keep_rate(k5, 5) == pytest.approx(0.05)
    assert null_keep_rate(2.0, 3) > 0.10                     # the "2 sigma from 3 seeds" is ~11%
    rng = random.Random(1)
    kept = 0
    trials = 4000
    for _ in range(trials):
        base = [rng.gauss(0, 1) for _ in range(5)]
        m = sum(base) / 5
        s = math.sqrt(sum((b - m) ** 2 for b in base) / 4)
        kept += (m - rng.gauss(0, 1)) > k5 * s
    assert abs(kept / trials - 0.05) < 4 * math.sqrt(0.05 * 0.95 / trials)


def test_bootstrap_interval_brackets_the_mean():
    lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert lo < 3.0 < hi
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_ci([1.0])


def test_record_writes_json_lines_when_asked(tmp_path, monkeypatch):
    path = tmp_path / "v.jsonl"
    monkeypatch.setenv(HEADLINES_ENV, str(path))
    import numpy as np
    v = record("03", "a claim", "mean gain", np.float64(0.5), "sign-flip", 0.05, [0, 1], holds=np.bool_(True),
               must_hold=True, p_value=0.03)
    record("03", "another", "x", [1.0, 2.0], "t", 0.1, (2, 3), holds=False)
    got = read(path)
    assert [g.claim for g in got] == ["a claim", "another"]
    assert got[0] == v and got[0].holds is True and got[1].must_hold is False
    row = json.loads(path.read_text().splitlines()[0])
    for key in ("lesson", "claim", "statistic", "value", "test", "threshold", "seeds", "holds", "must_hold"):
        assert key in row
    assert "HOLDS" in v.line() and v.say("yes", "no") == "yes"
    with pytest.raises(ValueError, match="holds"):
        record("03", "c", "s", 1.0, "t", 1.0, [0], holds="yes")


def test_problems_names_a_failed_must_hold_and_a_silent_science_lesson():
    rows = [{"lesson": "03", "status": "ok", "error": "", "verdicts": 1},
            {"lesson": "04", "status": "ok", "error": "", "verdicts": 0}]
    bad = record("03", "the floor stops seed luck", "kept", 3, "count", 0, [0], holds=False, must_hold=True)
    fails = course.problems(rows, [bad], "workshop")
    assert any("must-hold" in f and "seed luck" in f for f in fails)
    assert any("lesson 04 recorded no headline verdict" in f for f in fails)
    assert course.problems(rows[:1], [], "smoke") == []


def _notebook(path, holds: bool, must_hold: bool):
    lesson = path.name[:2]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from looplab.verdict import record\n"
        f"v = record('{lesson}', 'a deliberately {'true' if holds else 'false'} claim', 'x', 1.0, 'none', 0.0, [0], "
        f"holds={holds}, must_hold={must_hold})\nprint(v)")]
    nbformat.write(nb, str(path))


@pytest.mark.slow
def test_dry_run_fails_on_a_must_hold_verdict_that_does_not_hold(tmp_path):
    """A real kernel runs a lesson that records a failing must-hold verdict: the dry run goes red."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    _notebook(lessons / "03_x.ipynb", holds=False, must_hold=True)
    _notebook(lessons / "04_y.ipynb", holds=False, must_hold=False)
    out = tmp_path / "out"
    assert course.main(["--scale", "smoke", "--lessons", str(lessons), "--out", str(out)]) == 1
    heads = json.loads((out / "headlines.json").read_text())
    assert [(h["lesson"], h["holds"], h["must_hold"]) for h in heads] == [("03", False, True), ("04", False, False)]
    md = (out / "headlines.md").read_text()
    assert "must-hold verdict does not hold" in md and "GFLOP/s" in md
    _notebook(lessons / "03_x.ipynb", holds=True, must_hold=True)
    assert course.main(["--scale", "smoke", "--lessons", str(lessons), "--out", str(out)]) == 0
    summary = (out / "summary.csv").read_text()
    assert "peak_mb" in summary and "seconds_at_reference" in summary


def test_one_sided_t_matches_scipy_and_holds_its_false_positive_rate():
    import numpy as np
    from scipy import stats
    from looplab.stats import one_sided_t
    d = [0.3, 0.1, 0.25, -0.05]
    t, p = one_sided_t(d)
    ref = stats.ttest_1samp(d, 0.0, alternative="greater")
    assert abs(t - ref.statistic) < 1e-9 and abs(p - ref.pvalue) < 1e-9
    rng = np.random.default_rng(0)                  # 3 seeds of pure noise: rejects about 5% of the time
    rate = np.mean([one_sided_t(rng.standard_normal(3))[1] <= 0.05 for _ in range(4000)])
    assert 0.04 < rate < 0.06
    assert one_sided_t([0.2, 0.2, 0.2]) == (float("inf"), 0.0) and one_sided_t([0, 0]) == (0.0, 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        one_sided_t([1.0])
    with pytest.raises(ValueError, match="finite"):
        one_sided_t([1.0, float("nan")])


def test_fisher_wilson_and_power_agree_with_simulation():
    from looplab.stats import fisher_greater, paired_t_power, wilson_interval
    assert fisher_greater(10, 20, 1, 20) < 0.01 and fisher_greater(1, 20, 10, 20) > 0.99
    assert fisher_greater(5, 20, 5, 20) > 0.5                  # equal rates: no evidence
    lo, hi = wilson_interval(0, 20)
    assert lo == 0 and 0.05 < hi < 0.2
    lo, hi = wilson_interval(10, 20)
    assert lo < 0.5 < hi
    with pytest.raises(ValueError, match="x=21"):
        wilson_interval(21, 20)
    # the noncentral-t power against a simulated paired t-test (two-sided, 5%)
    from scipy import stats
    rng = random.Random(0)
    n, effect, sd, reps = 4, 0.03, 0.02, 4000
    hits = sum(stats.ttest_1samp([rng.gauss(effect, sd) for _ in range(n)], 0.0).pvalue <= 0.05
               for _ in range(reps))
    assert abs(hits / reps - paired_t_power(effect, sd, n)) < 0.03
    assert paired_t_power(0.0, 1.0, 5) == pytest.approx(0.05, abs=1e-9)
    with pytest.raises(ValueError, match="n >= 2"):
        paired_t_power(0.1, 0.1, 1)


def test_spearman_exact_is_a_permutation_test():
    from looplab.stats import spearman_exact
    rho, p = spearman_exact([1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60])
    assert rho == pytest.approx(1.0) and p == pytest.approx(1 / 720)
    rho, p = spearman_exact([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
    assert rho == pytest.approx(-1.0) and p == 1.0
    # under the null, p <= 0.05 in at most 5% of random orders
    rng = random.Random(1)
    hits = sum(spearman_exact(list(range(6)), rng.sample(range(6), 6))[1] <= 0.05 for _ in range(2000))
    assert hits / 2000 <= 0.06
    with pytest.raises(ValueError, match="3 to 8"):
        spearman_exact([1, 2], [1, 2])


@pytest.mark.slow
def test_the_dry_run_gives_the_kernel_its_scale_and_leaves_its_own_environment_alone(tmp_path, monkeypatch):
    """The scale and the verdict file reach the kernel through the client's env, not this process's."""
    monkeypatch.delenv("LOOPLAB_SCALE", raising=False)
    monkeypatch.delenv("LOOPLAB_SIGNOFF", raising=False)
    from looplab.verdict import HEADLINES_ENV
    monkeypatch.delenv(HEADLINES_ENV, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\nfrom looplab.config import scale_name\nfrom looplab.verdict import record\n"
        "record('03', 'the kernel runs at the scale it was given', 'scale', 1.0, 'none', 0.0, [0], "
        "holds=scale_name() == 'smoke' and os.environ['LOOPLAB_SIGNOFF'] == 'auto', must_hold=True)")]
    path = tmp_path / "03_scale.ipynb"
    nbformat.write(nb, str(path))
    before = dict(os.environ)
    row = course.run_notebook(path, tmp_path / "out", "smoke", timeout=300)
    assert row["status"] == "ok" and row["verdicts"] == 1 and row["must_hold_failed"] == 0, row
    assert dict(os.environ) == before
