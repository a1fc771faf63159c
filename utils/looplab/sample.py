"""Fast batched sampling with a key/value cache: temperature, top-k and top-p (nucleus).

    ids   = sample_tokens(model, n=64, max_new_tokens=200, temperature=0.8, top_k=50, seed=0)
    texts = sample_text(model, n=4, max_new_tokens=200, prompt="And God said")

Generating a token needs the keys and values of every earlier position. Recomputing them each
step (what a cache-free loop does) costs a whole forward pass per new token; a *KV cache*
keeps them, so each step only runs the new position through the network. The steps are
:func:`looplab.model.forward`, the same forward pass training uses, given a preallocated cache
(:func:`looplab.model.empty_kv_cache`); that avoids the general-purpose bookkeeping of
``model.generate()`` (the bench measures the difference) and gives the same greedy tokens. The
cache buffer is kept for the next call of the same shape (up to 256 MiB; :func:`release_kv_buffer`
frees it).

Context longer than the model's ``block_size``: the learned position embeddings stop there, so
when the window is full the cache is rebuilt from the last three quarters of the window and
generation continues (every new token sees at least ``3/4 * block_size`` earlier bytes).
"""
from __future__ import annotations

import threading

import torch

from .checks import number, whole
from .model import empty_kv_cache, forward, gpt2_weights, kv_cache_shape


def _check(temperature, top_k, top_p, n, max_new_tokens, batch_size, seed):
    whole("n", n, 1)
    whole("max_new_tokens", max_new_tokens, 1)
    whole("batch_size", batch_size, 1)
    whole("seed", seed, 0)
    number("temperature", temperature, 0, 100, note=" (0 = greedy)")
    if top_k is not None:
        whole("top_k", top_k, 1)
    if top_p is not None:
        number("top_p", top_p, 0, 1, lo_open=True)


def _prompt_ids(prompt, vocab_size: int) -> list[int]:
    if isinstance(prompt, str):
        ids = list(prompt.encode("utf-8"))
    elif isinstance(prompt, (bytes, bytearray)):
        ids = list(prompt)
    else:
        ids = [int(i) for i in prompt]
    if not ids:
        raise ValueError("prompt is empty: give at least one token (the default is b'\\n').")
    bad = [i for i in ids if not 0 <= i < vocab_size]
    if bad:
        raise ValueError(f"prompt token ids must be in 0..{vocab_size - 1}; got {bad[:5]}")
    return ids


def pick_next(logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
              generator=None):
    """Draw one token per row of ``logits`` (B, V): temperature, then top-k, then top-p filtering."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    if temperature != 1:
        logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= top_p  # tokens entirely beyond the nucleus
        drop[:, 0] = False                              # always keep the most likely token
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    # inverse-CDF draw: one uniform number per row, the first token whose cumulative probability
    # reaches it (same distribution as torch.multinomial, about 10x cheaper for one draw per row)
    cdf = logits.softmax(-1).cumsum(-1)
    u = 1.0 - torch.rand(cdf.shape[0], 1, generator=generator, device=cdf.device)  # in (0, 1]
    return torch.searchsorted(cdf, u * cdf[:, -1:]).squeeze(1).clamp_(max=cdf.shape[1] - 1)


# The KV buffer of the last sampler call is kept for the next call of the same shape: a fresh
# buffer costs a page fault per 4 KiB the first time each position is written (about 30 ms of
# a 300 ms call at batch 256 on the workshop model, measured in bench/). Only buffers up to
# _KEEP_BYTES are kept; release_kv_buffer() frees it. A buffer is taken out while in use, so
# concurrent calls never share one.
_KEEP_BYTES = 256 * 2**20
_kv_spare: list = []
_kv_lock = threading.Lock()


def _take_kv_buffer(model, batch: int):
    """A KV cache for ``model`` and ``batch``: the kept one if it fits, else a new one."""
    w, shape = model.transformer.wte.weight, kv_cache_shape(model, batch)
    inference = torch.is_inference_mode_enabled()
    with _kv_lock:
        for i, buf in enumerate(_kv_spare):
            if (buf.shape == shape and buf.dtype == w.dtype and buf.device == w.device
                    and buf.is_inference() == inference):
                return _kv_spare.pop(i)
    return empty_kv_cache(model, batch)


def _give_back_kv_buffer(buf) -> None:
    """Keep ``buf`` (and at most one earlier spare) if together they fit in ``_KEEP_BYTES``."""
    with _kv_lock:
        kept = [buf] + _kv_spare[:1]
        while kept and sum(b.numel() * b.element_size() for b in kept) > _KEEP_BYTES:
            kept.pop()
        _kv_spare[:] = kept


def release_kv_buffer() -> None:
    """Free the KV buffer the sampler keeps between calls (it is re-allocated when needed)."""
    with _kv_lock:
        _kv_spare.clear()


def _sample_batch(model, kv, prompt: list[int], B: int, max_new: int, temperature, top_k, top_p, g, device):
    wts = gpt2_weights(model)   # read off the modules once, not at every step
    T = wts.block_size
    keep = max(1, (3 * T) // 4)
    P = len(prompt)
    hist = torch.empty(B, P + max_new, dtype=torch.long, device=device)
    hist[:, :P] = torch.tensor(prompt, dtype=torch.long, device=device)
    w = min(P, T)
    logits, _ = forward(model, hist[:, P - w:P], kv, w=wts)   # the prompt, from position 0
    pos = w
    for i in range(max_new):
        nxt = pick_next(logits[:, -1], temperature, top_k, top_p, g)
        hist[:, P + i] = nxt
        if i == max_new - 1:
            break
        if pos >= T:  # window full: rebuild the cache from the most recent `keep` tokens
            end = P + i + 1
            logits, _ = forward(model, hist[:, end - keep:end], kv, w=wts)
            pos = keep
        else:         # one new token per row, against the cache
            logits, _ = forward(model, nxt[:, None], kv, pos, w=wts)
            pos += 1
    return hist[:, P:]


def sample_tokens(model, n: int, max_new_tokens: int, prompt=b"\n", temperature: float = 1.0,
                  top_k: int | None = None, top_p: float | None = None, seed: int = 0,
                  batch_size: int = 256) -> torch.Tensor:
    """``n`` samples of ``max_new_tokens`` tokens each after ``prompt``: a LongTensor (n, max_new_tokens).

    ``temperature`` 0 is greedy; ``top_k`` keeps the k likeliest tokens; ``top_p`` keeps the
    smallest set whose probability reaches p. Same arguments and seed, same samples.
    """
    _check(temperature, top_k, top_p, n, max_new_tokens, batch_size, seed)
    vocab = model.config.vocab_size
    ids = _prompt_ids(prompt, vocab)
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                B = min(batch_size, n - start)
                kv = _take_kv_buffer(model, B)
                try:
                    out.append(_sample_batch(model, kv, ids, B, max_new_tokens, temperature, top_k, top_p, g, device))
                finally:
                    _give_back_kv_buffer(kv)
    finally:
        model.train(was_training)
    return torch.cat(out).cpu()


def sample_text(model, n: int, max_new_tokens: int, prompt=b"\n", temperature: float = 1.0,
                top_k: int | None = None, top_p: float | None = None, seed: int = 0,
                batch_size: int = 256, include_prompt: bool = False) -> list[str]:
    """Like :func:`sample_tokens`, decoded from bytes to text (invalid UTF-8 shown as U+FFFD)."""
    ids = sample_tokens(model, n, max_new_tokens, prompt, temperature, top_k, top_p, seed, batch_size)
    pre = bytes(_prompt_ids(prompt, 256)) if include_prompt else b""
    return [(pre + bytes(row.tolist())).decode("utf-8", errors="replace") for row in ids]
