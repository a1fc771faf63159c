"""Independent grading (lesson 05): who judges the synthetic data, and who judges the loop?

One import for the lesson (``from looplab import grading as gr``); each idea has one home:

* :mod:`looplab.graders` -- the graders behind one interface (self, n-gram, ratio, model,
  reference, embedding), their agreement, and :func:`~looplab.graders.grader_split`, the slice of
  the training split that only graders may know;
* :mod:`looplab.discriminator` -- a real-vs-synthetic classifier as a grader (it selects towards
  real text, not towards high probability);
* :mod:`looplab.filters` -- the chain's filters (top fraction by a grader, random fraction);
* :mod:`looplab.strategies` -- the strategies of the designed experiment, and the paired
  comparisons over seeds;
* :mod:`looplab.research.regrade` -- re-grading an experiment loop's claims on the sealed test split.
"""
from __future__ import annotations

from .graders import (EmbeddingGrader, Grader, ModelGrader, NGramGrader, RatioGrader, ReferenceGrader,  # noqa: F401
                      SelfGrader, grader_agreement, grader_split, model_logprob_per_byte)
from .discriminator import DiscriminatorGrader  # noqa: F401
from .research.regrade import kept_records, pick_claims, regrade  # noqa: F401
from .filters import RandomFraction, TopFraction, top_fraction  # noqa: F401
from .strategies import (Strategy, StrategyRun, compare, last_generation_summary, last_rows, last_values,  # noqa: F401
                         lesson_chain, paired_diffs, recovered_share, run_strategies, strategy_table)
