"""Model collapse (lesson 04): train on your own output, generation after generation, and measure the loss.

Two settings, the same loop:

1. **The Gaussian toy** (:func:`gaussian_chains`): fit a mean and a variance to ``M`` samples, draw
   ``M`` new samples from the fit, repeat. In *replace* mode each generation sees only the newest
   samples; in *accumulate* mode it sees every sample so far. With the maximum-likelihood variance
   the expected variance shrinks exactly as ``sigma0^2 ((M-1)/M)^n`` (:func:`expected_variance`);
   even the unbiased estimator, whose *mean* stays at ``sigma0^2``, sends almost every chain to
   zero (:func:`typical_variance`). Tails go first.
2. **The language-model chain** (:func:`run_chain`): generation 0 trains on real text; generation
   ``k+1`` trains on text sampled from generation ``k``. Every synthetic document carries its
   provenance (:class:`Doc`), every generation's data and metrics are saved as it runs
   (:class:`ChainStore`), and an interrupted chain resumes where it stopped.

Sources: Shumailov et al. 2024, "AI models collapse when trained on recursively generated data",
Nature 631 (tails vanish first, variance collapses); Gerstgrasser et al. 2024, "Is Model Collapse
Inevitable? Breaking the Curse of Recursion by Accumulating Real and Synthetic Data" (replace
degrades, accumulate stays bounded); Dohmatob et al. 2025, "Strong Model Collapse", ICLR (a small
synthetic fraction can already stop scaling gains).

One import for the lesson (``from looplab import collapse``); each idea has one home:

* :mod:`.gaussian` -- the Gaussian toy and its exact curves;
* :mod:`.documents` -- :class:`Doc` (provenance), real documents, token streams (and, from the core's
  :mod:`looplab.data`, :func:`decode_tokens`);
* :mod:`.store` -- the on-disk chain store;
* :mod:`.chain_config` -- :class:`ChainConfig`, what decides a chain;
* :mod:`.chain` -- :func:`run_chain`, the language-model chain;
* :mod:`.analysis` -- tables, seed spread, the synthetic-fraction sweep;
* :mod:`.verdicts` -- the lesson's verdicts: the comparisons it writes down before the run, tested.
"""
from __future__ import annotations

from ..data import decode_tokens
from .analysis import chains_table, per_seed_slopes, seed_spread, synthetic_fraction_sweep
from .chain import ChainResult, run_chain
from .chain_config import CHAIN_MODES, SAMPLING_FIELDS, ChainConfig, Select, chain_train_config
from .documents import Doc, docs_to_tokens, provenance_counts, real_docs, weights_hash
from .gaussian import (ESTIMATORS, MODES, GaussianChains, digamma, expected_variance, fit_gaussian,
                       gaussian_chains, tail_probability, typical_variance)
from .store import ChainStore
from .verdicts import (ALPHA, band_verdict, lesson04_verdicts, paired_rise, paired_test, sweep_test_table,
                       sweep_verdicts, tails_first_gap, topp_verdicts)

__all__ = ["decode_tokens", "chains_table", "per_seed_slopes", "seed_spread", "synthetic_fraction_sweep",
           "ChainResult", "run_chain", "CHAIN_MODES", "SAMPLING_FIELDS", "ChainConfig", "Select", "chain_train_config",
           "Doc", "docs_to_tokens", "provenance_counts", "real_docs", "weights_hash",
           "ESTIMATORS", "MODES", "GaussianChains", "digamma", "expected_variance", "fit_gaussian", "gaussian_chains",
           "tail_probability", "typical_variance", "ChainStore",
           "ALPHA", "lesson04_verdicts", "paired_rise", "paired_test", "band_verdict", "tails_first_gap",
           "topp_verdicts", "sweep_verdicts", "sweep_test_table"]
