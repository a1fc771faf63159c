"""looplab.research: an LLM (or random search, or TPE) runs the experiment loop, honestly.

Modules, each small and single-purpose:

* :mod:`~looplab.research.spec`      -- the validated search space (a proposal outside it is rejected);
* :mod:`~looplab.research.ledger`    -- the append-only JSONL ledger (resumable, secret-scrubbed);
* :mod:`~looplab.research.noise`     -- the noise floor and the keep/discard rule;
* :mod:`~looplab.research.proposers` -- random, hill-climbing, TPE and LLM proposers behind one interface;
* :mod:`~looplab.research.llm`       -- LLM backends: OpenAI-compatible, Anthropic, record / replay, and
  (re-exported) the interface (:mod:`~looplab.research.llm_base`) and the transformers backends with
  the offline SmolLM2 (:mod:`~looplab.research.llm_local`);
* :mod:`~looplab.research.signoff`   -- human sign-off (ipywidgets) or an explicit, printed policy;
* :mod:`~looplab.research.loop`      -- the loop: propose, sign off, run, keep/discard, log, seal;
* :mod:`~looplab.research.runner`    -- one experiment with the lesson-02 trainer under a fixed budget;
* :mod:`~looplab.research.plots`     -- the progress chart and the proposer comparison.
"""
from .ledger import Ledger, scrub
from .loop import ResearchLoop, SealedError
from .noise import NoiseFloor, keep, noise_floor
from .proposers import (HillClimbProposer, LLMProposer, Proposal, RandomProposer, TPEProposer, build_prompt,
                        parse_reply)
from .spec import Param, ProposalError, SearchSpace, default_space

__all__ = ["Ledger", "scrub", "ResearchLoop", "SealedError", "NoiseFloor", "keep", "noise_floor",
           "HillClimbProposer", "LLMProposer", "Proposal", "RandomProposer", "TPEProposer", "build_prompt", "parse_reply",
           "Param", "ProposalError", "SearchSpace", "default_space"]
