"""looplab.research: an LLM (or random search, or TPE) runs the experiment loop, honestly.

Modules, each small and single-purpose:

* :mod:`~looplab.research.spec`      -- the validated search space (a proposal outside it is rejected);
* :mod:`~looplab.research.ledger`    -- the append-only JSONL ledger (resumable, secret-scrubbed);
* :mod:`~looplab.research.noise`     -- the noise floor and the keep/discard rule;
* :mod:`~looplab.research.proposers` -- random, hill-climbing, TPE and LLM proposers behind one interface;
* :mod:`~looplab.research.llm_base`  -- the LLM interface (request, reply, backend, prices);
* :mod:`~looplab.research.llm_local` -- the transformers backends with the offline SmolLM2;
* :mod:`~looplab.research.llm`       -- LLM backends over HTTP (OpenAI-compatible, Anthropic) and record / replay;
* :mod:`~looplab.research.proposal`  -- a proposal, the proposer interface, and the checks a proposal goes through;
* :mod:`~looplab.research.llm_proposer` -- the LLM proposer: its prompt and the parsing of its reply;
* :mod:`~looplab.research.signoff`   -- human sign-off (ipywidgets) or an explicit, printed policy;
* :mod:`~looplab.research.loop`      -- the loop: propose, sign off, run, keep/discard, log, seal;
* :mod:`~looplab.research.runner`    -- one experiment with the lesson-02 trainer under a fixed budget;
* :mod:`~looplab.research.plots`     -- the progress chart and the proposer comparison;
* :mod:`~looplab.research.verdicts`  -- lesson 03's claims, each tested and recorded by one function.
"""
from .ledger import Ledger, scrub
from .llm import AnthropicBackend, OpenAIBackend, RecordingBackend, ReplayBackend
from .llm_base import LLMError, LLMReply, LLMRequest
from .llm_local import HFBackend, smollm2
from .llm_proposer import SYSTEM_PROMPT, LLMProposer, build_prompt, parse_reply
from .loop import ResearchLoop, SealedError
from .noise import NoiseFloor, keep, noise_floor
from .proposal import Proposal, check, clean_text
from .proposers import HillClimbProposer, RandomProposer, TPEProposer
from .spec import Param, ProposalError, SearchSpace, default_space
from .verdicts import (NULL_SEED0, comparison_verdict, floor_verdict, null_verdicts, optimism_verdict, replication_verdict,
                       screen_verdict)

__all__ = ["Ledger", "scrub", "AnthropicBackend", "OpenAIBackend", "RecordingBackend", "ReplayBackend",
           "LLMError", "LLMReply", "LLMRequest", "HFBackend", "smollm2",
           "SYSTEM_PROMPT", "LLMProposer", "build_prompt", "parse_reply",
           "ResearchLoop", "SealedError", "NoiseFloor", "keep", "noise_floor",
           "Proposal", "check", "clean_text", "HillClimbProposer", "RandomProposer", "TPEProposer",
           "Param", "ProposalError", "SearchSpace", "default_space",
           "NULL_SEED0", "null_verdicts", "comparison_verdict", "floor_verdict", "screen_verdict", "optimism_verdict",
           "replication_verdict"]
