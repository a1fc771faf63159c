"""Tests for looplab.collapse (Gaussian toy, provenance, chain store, LM chain) and looplab.textmetrics."""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from looplab import collapse as C
from looplab import textmetrics as tm
from looplab.collapse.store import atomic_write_jsonl
from looplab.files import atomic_write_json
from looplab.train import TrainConfig


# ---------------------------------------------------------------------------------------------
# Gaussian toy
# ---------------------------------------------------------------------------------------------

def test_expected_variance_matches_simulation_replace_mle():
    m, gens, chains = 20, 10, 4000
    g = C.gaussian_chains(chains=chains, samples=m, generations=gens, mode="replace", estimator="mle", seed=1)
    assert g.var.shape == (chains, gens + 1)
    expected = C.expected_variance(np.arange(gens + 1), m)
    assert expected[gens] == pytest.approx((19 / 20) ** 10)
    se = g.var.std(axis=0) / math.sqrt(chains)
    # every generation within 4 standard errors of the exact expectation
    assert np.all(np.abs(g.var.mean(axis=0) - expected) <= 4 * se + 1e-12)


def test_unbiased_keeps_mean_but_typical_chain_collapses():
    m, gens = 10, 40
    g = C.gaussian_chains(chains=4000, samples=m, generations=gens, estimator="unbiased", seed=2)
    s = g.summary()
    assert s["var_expected"].iloc[-1] == pytest.approx(1.0)
    # the median chain follows exp(E log var), far below the mean
    typical = C.typical_variance(gens, m, estimator="unbiased")
    assert typical < 0.2
    assert s["var_median"].iloc[-1] == pytest.approx(typical, rel=0.25)
    assert s["var_median"].iloc[-1] < 0.5 * s["var_mean"].iloc[-1]


def test_accumulate_stays_bounded_while_replace_collapses():
    kw = dict(chains=500, samples=50, generations=100, seed=3)
    rep = C.gaussian_chains(mode="replace", **kw).summary()
    acc = C.gaussian_chains(mode="accumulate", **kw).summary()
    assert rep["var_median"].iloc[-1] < 0.25
    assert acc["var_median"].iloc[-1] > 0.8
    # tails go first: the median chain's tail mass beyond the original +-2 sigma falls faster than its variance
    assert rep["tail_median"].iloc[-1] / rep["tail_median"].iloc[0] < rep["var_median"].iloc[-1]
    assert acc["tail_median"].iloc[-1] > 0.03


def test_gaussian_is_fast_enough_for_thousands_of_chains():
    t = time.perf_counter()
    C.gaussian_chains(chains=2000, samples=100, generations=200)
    assert time.perf_counter() - t < 10.0   # about 1 s on 2 shared cores


def test_tail_probability_and_digamma():
    assert C.tail_probability(0.0, 1.0)[()] == pytest.approx(math.erfc(2 / math.sqrt(2)))
    assert C.tail_probability(0.0, 1.0)[()] == pytest.approx(0.0455, abs=1e-4)
    # a point mass: inside the band -> 0, outside -> 1
    assert list(C.tail_probability(np.array([0.0, 3.0]), np.array([0.0, 0.0]))) == [0.0, 1.0]
    euler = 0.5772156649015329
    assert C.digamma(1.0) == pytest.approx(-euler, abs=1e-10)
    assert C.digamma(0.5) == pytest.approx(-euler - 2 * math.log(2), abs=1e-10)
    assert C.digamma(10.0) == pytest.approx(sum(1 / k for k in range(1, 10)) - euler, abs=1e-10)


def test_fit_gaussian_estimators():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    mu, v = C.fit_gaussian(x, "mle")
    assert mu[0] == 2.5 and v[0] == pytest.approx(1.25)
    assert C.fit_gaussian(x, "unbiased")[1][0] == pytest.approx(5 / 3)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(mode="refit"), "mode='refit'"),
    (dict(estimator="median"), "estimator='median'"),
    (dict(samples=1), "samples=1"),
    (dict(chains=0), "chains=0"),
    (dict(sigma0=0.0), "sigma0=0.0"),
])
def test_gaussian_bad_input(kwargs, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        C.gaussian_chains(**{"chains": 10, "samples": 10, "generations": 2, **kwargs})


# ---------------------------------------------------------------------------------------------
# text metrics
# ---------------------------------------------------------------------------------------------

def test_words_and_distinct_n():
    assert tm.words("And the LORD's word, 42 times!") == ["and", "the", "lord's", "word", "times"]
    assert tm.distinct_n("a b a b", 1) == 0.5
    assert tm.distinct_n("a b a b", 2) == pytest.approx(2 / 3)
    # n-grams never span two texts
    assert tm.distinct_n(["a b", "a b"], 2) == 0.5
    assert tm.distinct_n(["a"], 2) == 0.0
    with pytest.raises(ValueError, match="n=0"):
        tm.distinct_n("a b", 0)


def test_rare_band_survival_tail_mass_entropy():
    counts = Counter({"the": 50, "lord": 20, "ark": 5, "cubit": 4, "ephod": 3, "shittim": 2, "zuzim": 1})
    total = sum(counts.values())   # 85
    band = tm.rare_band(counts, tail_frac=0.12, min_count=2)   # budget 10.2 -> shittim 2 + ephod 3 + cubit 4 = 9
    assert band.words == frozenset({"shittim", "ephod", "cubit"})
    assert band.max_count == 4 and band.reference_words == total
    assert "zuzim" not in band          # below min_count
    assert tm.rare_word_survival("the ephod of shittim wood", band) == pytest.approx(2 / 3)
    assert tm.tail_mass("the ephod of shittim wood", band) == pytest.approx(2 / 5)
    assert tm.real_word_rate("the ephod of shittim qqq", band) == pytest.approx(3 / 5)
    assert tm.unigram_entropy("a b c d") == pytest.approx(2.0)
    assert tm.unigram_entropy("a a a a") == 0.0
    rep = tm.text_report(["the ephod", "of shittim wood"], band)
    assert rep["words"] == 5 and rep["vocab"] == 5 and rep["rare_survival"] == pytest.approx(2 / 3)
    assert set(f"distinct_{n}" for n in range(1, 5)) <= set(rep)


def test_frequency_bands_and_band_report():
    counts = Counter({"the": 50, "lord": 20, "ark": 5, "cubit": 4, "ephod": 3, "shittim": 2, "zuzim": 1})
    bands = tm.frequency_bands(counts, tail_frac=0.12, common_frac=0.5)
    assert bands["rare"] == tm.rare_band(counts, tail_frac=0.12).words == {"shittim", "ephod", "cubit"}
    assert bands["common"] == {"the"} and bands["middle"] == {"lord", "ark"}   # zuzim: below min_count
    assert "zuzim" in bands["known"]
    assert bands["share"] == pytest.approx({"rare": 9 / 85, "middle": 25 / 85, "common": 50 / 85})
    rep = tm.band_report("the the lord ephod qqq zuzim", bands)   # 6 words, 5 of them real
    assert rep["real_word_rate"] == pytest.approx(5 / 6)
    assert rep["rare_survival"] == pytest.approx(1 / 3) and rep["rare_share"] == pytest.approx(1 / 5)
    assert rep["middle_survival"] == pytest.approx(1 / 2) and rep["middle_share"] == pytest.approx(1 / 5)
    assert rep["common_survival"] == 1.0 and rep["common_share"] == pytest.approx(2 / 5)
    assert tm.band_report("", bands)["rare_share"] == 0.0
    with pytest.raises(ValueError, match="common_frac=0.95"):
        tm.frequency_bands(counts, tail_frac=0.12, common_frac=0.95)


def test_rare_band_bad_input():
    with pytest.raises(ValueError, match="tail_frac=1.5"):
        tm.rare_band("a b c", tail_frac=1.5)
    with pytest.raises(ValueError, match="no words"):
        tm.rare_band("1 2 3")
    with pytest.raises(ValueError, match="too small"):
        tm.rare_band(Counter({"a": 100, "b": 50}), tail_frac=0.01)


# ---------------------------------------------------------------------------------------------
# provenance and the chain store
# ---------------------------------------------------------------------------------------------

def _docs(gen: int, n: int = 3) -> list[C.Doc]:
    return [C.Doc(f"text {gen} {i}", "synthetic", gen, f"c/gen{gen}@abc", i, seed=7, temperature=1.0)
            for i in range(n)]


def test_doc_provenance_roundtrip_and_counts():
    d = _docs(2, 1)[0]
    assert C.Doc.from_json(json.loads(json.dumps(d.to_json()))) == d
    assert d.is_synthetic
    real = C.Doc("in the beginning", "real", -1, "real:kjv", 0)
    assert C.provenance_counts([real, *_docs(0, 2)]) == {"real": 16, "gen0": 16}
    with pytest.raises(ValueError, match="origin='model'"):
        C.Doc("x", "model", 0, "m", 0)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "m.json"
    atomic_write_json(p, {"a": 1})
    from looplab.files import atomic_write_text       # the one atomic write the chain store goes through
    with pytest.raises(TypeError):
        atomic_write_text(p, 12345)            # fails inside the write
    assert json.loads(p.read_text()) == {"a": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["m.json"]   # no temp file left behind


def test_chain_store_resume_and_config_guard(tmp_path):
    store = C.ChainStore(tmp_path / "chain")
    store.open({"mode": "replace", "seed": 0})
    assert store.finished() == 0
    store.save_generation(0, _docs(0), {"generation": 0, "val_bpb": 2.5})
    store.save_generation(1, _docs(1), {"generation": 1, "val_bpb": 2.7})
    # a generation without metrics is not done (interrupted between the two writes)
    atomic_write_jsonl(store.gen_dir(2) / "docs.jsonl", [d.to_json() for d in _docs(2)])
    assert store.finished() == 2
    again = C.ChainStore(tmp_path / "chain")
    again.open({"mode": "replace", "seed": 0})              # same config: resumes
    assert again.load_docs(1) == _docs(1)
    assert again.load_metrics(0)["val_bpb"] == 2.5
    with pytest.raises(ValueError, match="differs in: seed"):
        again.open({"mode": "replace", "seed": 1})
    again.open({"mode": "replace", "seed": 1}, fresh=True)
    assert again.finished() == 0


# ---------------------------------------------------------------------------------------------
# the language-model chain (real tiny model, real KJV text, real sampler)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def splits():
    from looplab.corpora import load_text
    from looplab.data import make_splits
    return make_splits(load_text("kjv", max_bytes=120_000))


def _tiny(**kw) -> C.ChainConfig:
    base = dict(generations=2, steps=6, docs=8, doc_bytes=48, corpus_max_bytes=120_000,
                train=TrainConfig.knobs(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=4, eval_batches=2))
    base.update(kw)
    return C.ChainConfig(**base)


def test_chain_config_validation():
    with pytest.raises(ValueError, match="mode='loop'"):
        _tiny(mode="loop")
    with pytest.raises(ValueError, match="top_p=1.5"):
        _tiny(top_p=1.5)
    with pytest.raises(ValueError, match="real_frac=1.0"):
        _tiny(real_frac=1.0)
    with pytest.raises(ValueError, match="temperature=0"):
        _tiny(temperature=0)
    from looplab.config import SCALES
    c = C.ChainConfig.from_scale(SCALES["smoke"], mode="accumulate")
    assert (c.generations, c.steps, c.docs) == (SCALES["smoke"].chains.generations, SCALES["smoke"].chains.steps,
                                                 SCALES["smoke"].chains.docs)
    for sc in SCALES.values():   # lesson 04's chain: its own depth, one writer trained longer for every seed
        c = C.ChainConfig.from_scale(sc)
        assert (c.train.model.n_layer, c.gen0_steps, c.gen0_seed) == (sc.chains.layers, sc.chains.gen0_steps, 0)
        assert sc.chains.gen0_steps >= sc.chains.steps


def test_real_docs_start_at_line_starts():
    text = "alpha beta\ngamma delta\nepsilon zeta\neta theta\n" * 20
    docs = C.real_docs(text, 10, 8, seed=0, source="toy")
    assert all(d.origin == "real" and d.generation == -1 and len(d.text) == 8 for d in docs)
    assert all(d.text.split(" ")[0] in {"alpha", "gamma", "epsilon", "eta"} for d in docs)
    assert C.real_docs(text, 10, 8, seed=0) == C.real_docs(text, 10, 8, seed=0)


def test_chain_runs_saves_and_resumes(tmp_path, splits):
    cfg = _tiny(mode="replace")
    r = C.run_chain(cfg, tmp_path / "c", data=splits, progress=False)
    assert len(r.metrics) == 2 and len(r.docs) == 2
    for k, docs in enumerate(r.docs):
        assert len(docs) == cfg.docs
        assert all(d.origin == "synthetic" and d.generation == k and d.model_id == r.metrics[k]["model_id"]
                   for d in docs)
        m = r.metrics[k]
        assert math.isfinite(m["val_bpb"]) and 0 <= m["rare_survival"] <= 1 and 0 <= m["distinct_2"] <= 1
    # generation 0 trained on real text, generation 1 on generation 0's samples only
    assert set(r.metrics[0]["train_provenance"]) == {"real"}
    assert set(r.metrics[1]["train_provenance"]) == {"gen0"}
    assert r.metrics[0]["model_id"] != r.metrics[1]["model_id"]
    # resume: extend the same chain to 3 generations; 0 and 1 are loaded, not retrained
    mtime = (tmp_path / "c" / "gen_001" / "metrics.json").stat().st_mtime_ns
    r3 = C.run_chain(replace(cfg, generations=3), tmp_path / "c", data=splits, progress=False)
    assert (tmp_path / "c" / "gen_001" / "metrics.json").stat().st_mtime_ns == mtime
    assert [m["val_bpb"] for m in r3.metrics[:2]] == [m["val_bpb"] for m in r.metrics]
    assert r3.docs[1] == r.docs[1] and set(r3.metrics[2]["train_provenance"]) == {"gen1"}
    # the same config reruns to the same numbers (determinism makes the resume check meaningful)
    r_again = C.run_chain(cfg, data=splits, progress=False)
    assert [m["val_bpb"] for m in r_again.metrics] == [m["val_bpb"] for m in r.metrics]
    with pytest.raises(ValueError, match="differs in: seed"):
        C.run_chain(replace(cfg, seed=1), tmp_path / "c", data=splits, progress=False)


def test_accumulate_mix_and_shared_gen0(splits):
    rep = C.run_chain(_tiny(mode="replace", generations=1), data=splits, progress=False)
    acc = C.run_chain(_tiny(mode="accumulate", generations=3), data=splits, progress=False, share_gen0=rep)
    assert acc.metrics[0]["shared_from"] == rep.config.name and acc.docs[0] == rep.docs[0]
    assert set(acc.metrics[2]["train_provenance"]) == {"real", "gen0", "gen1"}
    mix = C.run_chain(_tiny(mode="mix", real_frac=0.75), data=splits, progress=False)
    prov = mix.metrics[1]["train_provenance"]
    assert set(prov) == {"real", "gen0"}
    # real_frac 0.75: three real docs of doc_bytes for every synthetic doc
    assert prov["real"] == 3 * mix.config.docs * mix.config.doc_bytes
    with pytest.raises(ValueError, match="share_gen0"):
        C.run_chain(_tiny(mode="accumulate", seed=3), data=splits, progress=False, share_gen0=rep)


def test_accumulate_subsample_trains_on_a_fixed_size_draw_of_the_pool(splits, tmp_path):
    """Kazdan et al.'s third workflow: the pool accumulates, each generation trains on as many docs as generation 0."""
    acc = C.run_chain(_tiny(mode="accumulate", generations=3), data=splits, progress=False)
    sub = C.run_chain(_tiny(mode="accumulate-subsample", generations=3), tmp_path / "sub", data=splits,
                      progress=False, share_gen0=acc, save_models=True)
    n = sub.config.docs
    assert [m["train_docs"] for m in acc.metrics] == [n, 2 * n, 3 * n]
    assert [m["train_docs"] for m in sub.metrics] == [n, n, n]
    assert sub.docs[0] == acc.docs[0]                    # same writer, same samples
    prov = sub.metrics[2]["train_provenance"]
    assert set(prov) <= {"real", "gen0", "gen1"} and len(prov) >= 2    # a draw from all three sources
    assert sum(prov.values()) < sum(acc.metrics[2]["train_provenance"].values())
    again = C.run_chain(_tiny(mode="accumulate-subsample", generations=3), data=splits, progress=False,
                        share_gen0=acc)
    assert [m["val_bpb"] for m in again.metrics] == [m["val_bpb"] for m in sub.metrics]   # the draw is seeded
    # the weights were kept (save_models) and load back to the model that wrote generation 2
    assert C.weights_hash(sub.load_model(2)) == sub.metrics[2]["model_id"].rsplit("@", 1)[1]
    with pytest.raises(ValueError, match="real_docs >= 1"):
        _tiny(mode="accumulate-subsample", real_docs=0)


def test_select_hook_filters_next_training_set(splits):
    calls = []

    def keep_first_half(docs, k):
        calls.append((k, len(docs)))
        return docs[: len(docs) // 2]

    seen = []
    r = C.run_chain(_tiny(mode="replace", generations=2), data=splits, progress=False, select=keep_first_half,
                    on_model=lambda model, k: seen.append((k, C.weights_hash(model))))
    assert calls == [(0, 8), (1, 8)]
    assert [f"{r.config.name}/gen{k}@{h}" for k, h in seen] == [m["model_id"] for m in r.metrics]
    assert r.selected[0] == [0, 1, 2, 3] and r.metrics[0]["selected"] == 4
    kept_bytes = sum(len(d.text.encode()) for d in r.docs[0][:4])
    assert r.metrics[1]["train_provenance"] == {"gen0": kept_bytes}

    def foreign(docs, k):
        return [C.Doc("not from this generation", "synthetic", k, "x", 0)]

    with pytest.raises(ValueError, match="sub-list"):
        C.run_chain(_tiny(generations=1), data=splits, progress=False, select=foreign)


def test_truncated_sampling_is_recorded(splits):
    r = C.run_chain(_tiny(generations=1, top_p=0.5, temperature=0.8), data=splits, progress=False)
    d = r.docs[0][0]
    assert (d.top_p, d.temperature) == (0.5, 0.8) and "-p0.5" in d.model_id


def test_synthetic_fraction_sweep(splits):
    syn = C.run_chain(_tiny(generations=1, docs=16), data=splits, progress=False).docs[0]
    df = C.synthetic_fraction_sweep([0.0, 0.25, 0.5], syn, _tiny(), total_docs=16, data=splits, progress=False)
    assert list(df["synthetic_docs"]) == [0, 4, 8] and np.isfinite(df["val_bpb"]).all()
    # paired by seed: one swapped document in 64 moves val_bpb far less than a change of seed does
    pair = C.synthetic_fraction_sweep([0.0, 1 / 64], syn, _tiny(), total_docs=64, seeds=[0, 1, 2], data=splits,
                                      progress=False).pivot(index="seed", columns="fraction", values="val_bpb")
    swap, seed_range = (pair[1 / 64] - pair[0.0]).abs().mean(), np.ptp(pair[0.0].to_numpy())
    assert swap < 0.5 * seed_range, (swap, seed_range)
    with pytest.raises(ValueError, match="only 16 given"):
        C.synthetic_fraction_sweep([1.0], syn, _tiny(), total_docs=32, data=splits, progress=False)
    with pytest.raises(ValueError, match="fraction 1.5"):
        C.synthetic_fraction_sweep([1.5], syn, _tiny(), total_docs=16, data=splits, progress=False)


def test_share_gen0_model_across_sampling_settings(splits):
    full = C.run_chain(_tiny(generations=1), data=splits, progress=False)
    assert full.gen0_model is not None
    trunc = C.run_chain(_tiny(generations=2, top_p=0.5), data=splits, progress=False, share_gen0=full)
    own = C.run_chain(_tiny(generations=2, top_p=0.5), data=splits, progress=False)
    # same generation-0 model (not retrained), new samples with the truncated sampler
    assert trunc.metrics[0]["shared_from"] == full.config.name
    assert trunc.metrics[0]["val_bpb"] == own.metrics[0]["val_bpb"] == full.metrics[0]["val_bpb"]
    assert [d.text for d in trunc.docs[0]] == [d.text for d in own.docs[0]] != [d.text for d in full.docs[0]]
    assert trunc.metrics[1]["val_bpb"] == own.metrics[1]["val_bpb"]


def test_one_writer_for_several_seeds_real_mode_and_last_docs(tmp_path, splits):
    # generation 0 trains gen0_steps with the writer's seed; a chain of another seed reuses that
    # model (no retraining) but samples its own batch
    w = C.run_chain(_tiny(generations=1, gen0_steps=9, gen0_seed=0, seed=0), data=splits, progress=False)
    assert w.metrics[0]["steps"] == 9
    other = C.run_chain(_tiny(gen0_steps=9, gen0_seed=0, seed=1, last_docs=3), data=splits, progress=False,
                        share_gen0=w)
    assert other.gen0_model is w.gen0_model and other.metrics[0]["val_bpb"] == w.metrics[0]["val_bpb"]
    assert [d.text for d in other.docs[0]] != [d.text for d in w.docs[0]]       # its own sample
    assert other.metrics[1]["steps"] == 6 and len(other.docs[1]) == 3           # later steps; last_docs
    assert len(other.docs[0]) == 8                                              # generation 0 samples docs
    # retraining generation 0 with the writer seed gives the same model as sharing it
    alone = C.run_chain(_tiny(gen0_steps=9, gen0_seed=0, seed=1, last_docs=3), data=splits, progress=False)
    assert alone.metrics[0]["val_bpb"] == w.metrics[0]["val_bpb"]
    assert [d.text for d in alone.docs[0]] == [d.text for d in other.docs[0]]
    # a different writer seed cannot be shared
    with pytest.raises(ValueError, match="share_gen0"):
        C.run_chain(_tiny(gen0_steps=9, gen0_seed=2, seed=1), data=splits, progress=False, share_gen0=w)
    # mode "real": the next model trains on as many fresh real documents as the others keep
    real = C.run_chain(_tiny(mode="real", gen0_steps=9, gen0_seed=0, seed=1), data=splits, progress=False,
                       share_gen0=w, select=lambda docs, k: docs[:3])
    assert set(real.metrics[1]["train_provenance"]) == {"real"}
    assert real.metrics[1]["train_provenance"]["real"] == 3 * real.config.doc_bytes
    # a chain whose last generation sampled last_docs cannot be silently extended
    C.run_chain(_tiny(gen0_steps=9, gen0_seed=0, seed=1, last_docs=3), tmp_path / "c", data=splits,
                progress=False, share_gen0=w)
    with pytest.raises(ValueError, match="last of a shorter chain"):
        C.run_chain(_tiny(gen0_steps=9, gen0_seed=0, seed=1, last_docs=3, generations=3), tmp_path / "c",
                    data=splits, progress=False, share_gen0=w)
    with pytest.raises(ValueError, match="gen0_steps=0"):
        _tiny(gen0_steps=0)


def test_per_seed_slopes_fit_each_seed_from_the_chosen_generation():
    import pandas as pd
    rows = [{"mode": m, "seed": s, "generation": g, "val_bpb": 2.0 + (5.0 if g == 0 else 0.0) + slope * g}
            for m, slopes in (("replace", (0.1, 0.2)), ("accumulate", (0.0, -0.1)))
            for s, slope in enumerate(slopes) for g in range(4)]
    t = pd.DataFrame(rows)
    seeds, sl = C.per_seed_slopes(t, "replace")                 # generation 0's jump is left out
    assert seeds == [0, 1] and np.allclose(sl, [0.1, 0.2])
    assert np.allclose(C.per_seed_slopes(t, "accumulate")[1], [0.0, -0.1])
    assert not np.allclose(C.per_seed_slopes(t, "replace", first=0)[1], [0.1, 0.2])   # from 0: the jump counts
    with pytest.raises(ValueError, match="two generations from 3"):
        C.per_seed_slopes(t, "accumulate", first=3)


def _chains(rise_per_gen: dict, seeds=4, gens=4, noise=0.01, seed=0):
    """A chains table: val_bpb climbs by rise_per_gen[mode] a generation, plus seed noise; rare words fall with it."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    rows = [{"mode": m, "seed": s, "generation": g, "val_bpb": 2.0 + r * g + noise * rng.standard_normal(),
             "rare_survival": 0.5 - r * g + noise * rng.standard_normal()}
            for m, r in rise_per_gen.items() for s in range(seeds) for g in range(gens)]
    return pd.DataFrame(rows)


def test_lesson04_verdicts_find_a_clear_collapse_and_not_a_flat_one(monkeypatch):
    monkeypatch.delenv("LOOPLAB_HEADLINES", raising=False)
    clear = C.lesson04_verdicts(_chains({"replace": 0.1, "accumulate": 0.02, "accumulate-subsample": 0.05}), 3,
                                require_rise=True)
    assert list(clear) == ["1 replace rises", "2 accumulate rises less", "3 rare words vanish", "4 replace slope",
                           "4 accumulate slope", "4 accumulate-subsample slope", "4 subsample faster than accumulate",
                           "4 replace faster than subsample"]
    assert all(v.holds for v in clear.values()) and clear["1 replace rises"].must_hold
    assert clear["1 replace rises"].value == pytest.approx(list(C.paired_rise(_chains({"replace": 0.1, "accumulate": 0.02,
                                                            "accumulate-subsample": 0.05}), "replace", 3)))
    flat = C.lesson04_verdicts(_chains(dict.fromkeys(("replace", "accumulate", "accumulate-subsample"), 0.0)), 3,
                               require_rise=False)
    assert not flat["1 replace rises"].must_hold and sum(v.holds for v in flat.values()) <= 1   # noise, at 5% each
    assert C.lesson04_verdicts(_chains({"replace": 0.1, "accumulate": 0.0, "accumulate-subsample": 0.0}, seeds=1), 3,
                               require_rise=True) == {}


# the later sections' verdicts: the tails first, top-p against full sampling, the synthetic-share sweep
def _band_losses(splits, cut_rare: float, seeds=range(5)) -> dict:
    """Per seed, each band's relative loss of survival between two samples of real KJV documents; in the
    second, a share ``cut_rare`` of the rare band's words is deleted (0: two honest draws of the same text)."""
    from looplab.data import decode_tokens
    bands = tm.frequency_bands(decode_tokens(splits.train), tail_frac=0.1, common_frac=0.5)
    val = decode_tokens(splits.val)
    loss = {b: [] for b in tm.BAND_NAMES}
    for s in seeds:
        rng = np.random.default_rng(s)
        before = [d.text for d in C.real_docs(val, 30, 300, seed=s)]
        after = [" ".join(w for w in d.text.split(" ") if not (w.lower() in bands["rare"] and rng.random() < cut_rare))
                 for d in C.real_docs(val, 30, 300, seed=100 + s)]
        r0, r1 = tm.band_report(before, bands), tm.band_report(after, bands)
        for b in tm.BAND_NAMES:
            loss[b].append(1 - r1[f"{b}_survival"] / r0[f"{b}_survival"])
    return {b: np.array(v) for b, v in loss.items()}


def test_band_verdict_sees_a_tail_cut_from_real_text_and_not_a_fresh_draw(splits, monkeypatch):
    monkeypatch.delenv("LOOPLAB_HEADLINES", raising=False)
    cut = C.band_verdict(_band_losses(splits, cut_rare=0.8), seeds=list(range(5)))
    assert cut.holds and not cut.must_hold and cut.seeds == [0, 1, 2, 3, 4] and cut.lesson == "04"
    assert np.all(np.asarray(cut.value) > 0) and cut.detail.startswith("t = ")
    fresh = C.band_verdict(_band_losses(splits, cut_rare=0.0), seeds=list(range(5)))
    assert not fresh.holds
    one = _band_losses(splits, cut_rare=0.8, seeds=[0])
    assert C.band_verdict(one, seeds=[0]) is None
    with pytest.raises(ValueError, match="for 2 seeds"):
        C.band_verdict(one, seeds=[0, 1])
    with pytest.raises(ValueError, match="lack the band"):
        C.band_verdict({"rare": one["rare"]}, seeds=[0])


def _topp_table(top_p_effect: float, seeds=4, noise=0.01, seed=0):
    """Full and top-p replace chains over generations 0 and 1; top-p's val_bpb rises, and its distinct-2 and
    rare survival fall, by ``top_p_effect`` more than full sampling's, plus seed noise."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    rows = []
    for sampling, e in (("full", 0.0), ("top-p 0.8", top_p_effect)):
        for s in range(seeds):
            for g in (0, 1):
                rows.append({"mode": "replace", "seed": s, "generation": g, "sampling": sampling,
                             "val_bpb": 2.0 + (0.05 + e) * g + noise * rng.standard_normal(),
                             "distinct_2": 0.6 - e * g + noise * rng.standard_normal(),
                             "rare_survival": 0.4 - e * g + noise * rng.standard_normal()})
    return pd.DataFrame(rows)


def test_topp_verdicts_find_a_clear_effect_and_not_a_null(monkeypatch):
    monkeypatch.delenv("LOOPLAB_HEADLINES", raising=False)
    first = {"rare": np.array([0.5, 0.6, 0.55, 0.5]), "middle": np.array([0.1, 0.12, 0.08, 0.1]),
             "common": np.array([0.0, 0.01, 0.0, 0.02])}
    clear = C.topp_verdicts(_topp_table(0.1), first)
    assert list(clear) == ["val_bpb rises faster", "samples narrow", "rare words go faster", "tails first"]
    assert all(v.holds and not v.must_hold and v.seeds == [0, 1, 2, 3] for v in clear.values())
    assert clear["tails first"].value == pytest.approx(list(C.tails_first_gap(first)))
    even = {b: np.array([0.1, 0.12, 0.09, 0.11]) for b in tm.BAND_NAMES}
    null = C.topp_verdicts(_topp_table(0.0, seed=3), even)
    assert not null["tails first"].holds and sum(v.holds for v in null.values()) <= 1
    assert C.topp_verdicts(_topp_table(0.1, seeds=1), {b: v[:1] for b, v in first.items()}) == {}
    with pytest.raises(ValueError, match="one top-p label"):
        C.topp_verdicts(_topp_table(0.1).assign(sampling="full"), first)


def test_sweep_verdicts_holm_keeps_a_clear_share_and_drops_a_null(tmp_path, monkeypatch):
    import pandas as pd
    monkeypatch.setenv("LOOPLAB_HEADLINES", str(tmp_path / "h.jsonl"))
    rng = np.random.default_rng(1)
    diffs = pd.DataFrame({0.0: np.zeros(5), 0.001: 0.01 * rng.standard_normal(5),
                          0.1: 0.05 + 0.01 * rng.standard_normal(5)}, index=pd.Index(range(5), name="seed"))
    diffs.columns.name = "fraction"
    v = C.sweep_verdicts(diffs, total_docs=200)
    assert list(v) == [0.001, 0.1] and v[0.1].holds and not v[0.001].holds
    assert v[0.1].seeds == [0, 1, 2, 3, 4] and v[0.1].threshold == C.ALPHA and "20 synthetic docs of 200" in v[0.1].detail
    assert v[0.1].value == pytest.approx(diffs[0.1].tolist()) and "Holm-corrected over 2 shares" in v[0.1].test
    assert len((tmp_path / "h.jsonl").read_text().splitlines()) == 2
    cols = C.sweep_test_table(diffs, v)
    assert list(cols.index) == [0.0, 0.001, 0.1] and cols.index.name == "fraction"
    assert cols.loc[0.0, "beyond seed noise (Holm)"] == "(baseline)" and np.isnan(cols.loc[0.0, "t"])
    assert cols.loc[0.1, "beyond seed noise (Holm)"] is True and cols.loc[0.1, "p (one-sided)"] == v[0.1].p_value
    assert C.sweep_verdicts(diffs.iloc[:1], total_docs=200) == {}
    with pytest.raises(ValueError, match="all-real baseline 0.0"):
        C.sweep_verdicts(diffs[[0.001, 0.1]], total_docs=200)
