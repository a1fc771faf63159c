"""Independent grading (lesson 05): who judges the synthetic data, and who judges the loop?

One import for the lesson (``from looplab import grading as gr``); each idea has one home in this
package:

* :mod:`.graders` -- the graders behind one interface (self, n-gram, ratio, model,
  reference, embedding), their agreement, and :func:`~.graders.grader_split`, the slice of
  the training split that only graders may know;
* :mod:`.discriminator` -- a real-vs-synthetic classifier as a grader (it selects towards
  real text, not towards high probability);
* :mod:`.filters` -- the chain's filters (top fraction by a grader, random fraction);
* :mod:`.strategies` -- the strategies of the designed experiment, and the paired
  comparisons over seeds;
* :mod:`.regrade` -- re-grading an experiment loop's claims on the sealed test split;
* :mod:`.verdicts` -- the lesson's planned comparisons, with the power the design search measured,
  and its reported verdicts: the mechanism (M1) and the re-grade of a loop's claims.
"""
from __future__ import annotations

from .discriminator import DiscriminatorGrader
from .filters import RandomFraction, TopFraction, top_fraction
from .graders import (EmbeddingGrader, Grader, ModelGrader, NGramGrader, RatioGrader, ReferenceGrader,
                      SelfGrader, grader_agreement, grader_split, model_logprob_per_byte)
from .regrade import kept_records, pick_claims, regrade
from .strategies import (Strategy, StrategyRun, compare, last_generation_summary, last_rows, last_values,
                         lesson_chain, paired_diffs, recovered_share, run_strategies, strategy_table)
from .verdicts import (PLANNED, SEARCHED_POWER, comparisons_table, kept_entropy_gaps, lesson05_verdicts,
                       mechanism_verdict, regrade_verdict)

__all__ = ["DiscriminatorGrader", "RandomFraction", "TopFraction", "top_fraction",
           "EmbeddingGrader", "Grader", "ModelGrader", "NGramGrader", "RatioGrader", "ReferenceGrader",
           "SelfGrader", "grader_agreement", "grader_split", "model_logprob_per_byte",
           "kept_records", "pick_claims", "regrade",
           "Strategy", "StrategyRun", "compare", "last_generation_summary", "last_rows", "last_values",
           "lesson_chain", "paired_diffs", "recovered_share", "run_strategies", "strategy_table",
           "PLANNED", "SEARCHED_POWER", "comparisons_table", "kept_entropy_gaps", "lesson05_verdicts",
           "mechanism_verdict", "regrade_verdict"]
