"""Lab 04's exercises 5-7 (the end-of-lesson exercises of lesson 04): each check fails on the stub and
on typical wrong answers, and passes on the solution (the machinery is tests/test_lab_checks.py's)."""
from __future__ import annotations

import pytest

from test_lab_checks import ROOT, Exercise, _fill, assert_check_works

LAB04 = ROOT / "solutions" / "04_model_collapse.ipynb"

_HALVING = """
    def halving_formula(M):
        return math.log(2) / -(collapse.digamma((M - 1) / 2) + math.log({d}))

    def halving_generation(M, chains=2000, seed=0):
        generations = int(4 * halving_formula(M)) + 10
        r = collapse.gaussian_chains(chains, M, generations, mode="replace", estimator="{est}", seed=seed)
        below = np.nonzero({stat}(r.var, axis=0) <= 0.5)[0]
        return int(below[0]) if len(below) else None
    """
HALVING_WRONG = {
    "the mean chain": dict(d="2 / M", est="mle", stat="np.mean"),
    "the unbiased fit": dict(d="2 / M", est="unbiased", stat="np.median"),
    "the unbiased formula": dict(d="2 / (M - 1)", est="mle", stat="np.median"),
}
HALVING_HINT = {"the mean chain": "MEDIAN", "the unbiased fit": "MEDIAN", "the unbiased formula": "divides by M"}


@pytest.mark.parametrize("case", sorted(HALVING_WRONG))
def test_lab04_halving_check(case):
    assert_check_works(Exercise(LAB04, "halving_generation"), _fill(_HALVING, HALVING_WRONG[case]), HALVING_HINT[case])


SURVIVAL_WRONG = {
    "running words": """
        def rare_survival(texts, band_words):
            ws = [w for t in texts for w in tm.words(t)]
            return sum(w in band_words for w in ws) / len(band_words) if band_words else 0.0
        """,
    "no lower-casing": """
        def rare_survival(texts, band_words):
            seen = {w for t in texts for w in t.split()}
            return len(seen & set(band_words)) / len(band_words) if band_words else 0.0
        """,
    "empty band divides by zero": """
        def rare_survival(texts, band_words):
            seen = {w for t in texts for w in tm.words(t)}
            return len(seen & set(band_words)) / len(band_words)
        """,
}
SURVIVAL_HINT = {"running words": "distinct words", "no lower-casing": "tm.words",
                 "empty band divides by zero": "empty band"}


@pytest.mark.parametrize("case", sorted(SURVIVAL_WRONG))
def test_lab04_rare_survival_check(case):
    assert_check_works(Exercise(LAB04, "rare_survival"), SURVIVAL_WRONG[case], SURVIVAL_HINT[case])


_ONLY = """
    REAL_VOCAB = set(tm.words(train_text))

    def only_real_words(docs, k):
        {body}
    """
ONLY_WRONG = {
    "any word real": "return [d for d in docs if any(w in REAL_VOCAB for w in tm.words(d.text))]",
    "texts, not docs": "return [d.text for d in docs if tm.words(d.text) and all(w in REAL_VOCAB for w in tm.words(d.text))]",
    "new Doc objects": ("return [collapse.Doc(d.text, d.origin, d.generation, d.model_id, d.index) for d in docs "
                        "if tm.words(d.text) and all(w in REAL_VOCAB for w in tm.words(d.text))]"),
    "keeps empty documents": "return [d for d in docs if all(w in REAL_VOCAB for w in tm.words(d.text))]",
    "case-sensitive split": "return [d for d in docs if d.text.split() and all(w in REAL_VOCAB for w in d.text.split())]",
}
ONLY_HINT = {"any word real": "ANY word outside", "texts, not docs": "not their texts",
             "new Doc objects": "very Doc objects", "keeps empty documents": "without a single word",
             "case-sensitive split": "tm.words"}


@pytest.mark.parametrize("case", sorted(ONLY_WRONG))
def test_lab04_only_real_words_check(case):
    assert_check_works(Exercise(LAB04, "only_real_words"), _fill(_ONLY, {"body": ONLY_WRONG[case]}), ONLY_HINT[case])
