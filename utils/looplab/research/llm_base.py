"""The LLM backends' one small interface: ``backend.complete(LLMRequest) -> LLMReply``, and prices.

:class:`Backend` keeps a running usage meter (calls, tokens, dollars, seconds) for every backend;
the backends themselves are in :mod:`looplab.research.llm` (HTTP APIs, record / replay) and
:mod:`looplab.research.llm_local` (transformers, the offline SmolLM2). ``llm`` re-exports all.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field


# USD per million tokens (input, output), from the vendors' public price pages
# (anthropic.com/pricing, openai.com/api/pricing) as listed in 2025. Prices change: check them,
# or pass ``price=(in, out)`` to a backend.
PRICES = {
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-opus-4-1": (15.00, 75.00),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1-mini": (0.40, 1.60),
}


class LLMError(RuntimeError):
    """A backend could not produce a reply (network, auth, exhausted transcript ...)."""


@dataclass
class LLMRequest:
    system: str
    user: str
    max_tokens: int = 200
    choices: list[str] | None = None


@dataclass
class LLMReply:
    text: str
    backend: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    wall_s: float = 0.0
    meta: dict = field(default_factory=dict)


class Backend:
    """Base class: keeps a running usage meter (calls, tokens, dollars, seconds)."""

    name = "base"
    model = ""
    constrained = False  # True: can choose among request.choices by likelihood
    price: tuple[float, float] | None = None

    def __init__(self):
        self.usage = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "wall_s": 0.0}

    def complete(self, request: LLMRequest) -> LLMReply:
        t0 = time.perf_counter()
        reply = self._complete(request)
        reply.wall_s = time.perf_counter() - t0
        if reply.cost_usd == 0.0 and self.price is not None:
            reply.cost_usd = (reply.prompt_tokens * self.price[0] + reply.completion_tokens * self.price[1]) / 1e6
        self._meter(reply)
        return reply

    def _meter(self, reply: LLMReply) -> None:
        u = self.usage
        u["calls"] += 1
        u["prompt_tokens"] += reply.prompt_tokens
        u["completion_tokens"] += reply.completion_tokens
        u["cost_usd"] += reply.cost_usd or 0.0
        u["wall_s"] += reply.wall_s

    def _complete(self, request: LLMRequest) -> LLMReply:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:  # never shows a key
        return f"{type(self).__name__}(model={self.model!r})"

