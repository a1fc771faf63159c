"""Fast batched sampling with a key/value cache: temperature, top-k and top-p (nucleus).

    ids   = sample_tokens(model, n=64, max_new_tokens=200, temperature=0.8, top_k=50, seed=0)
    texts = sample_text(model, n=4, max_new_tokens=200, prompt="And God said")

Generating a token needs the keys and values of every earlier position. Recomputing them each
step (what a cache-free loop does) costs a whole forward pass per new token; a *KV cache*
keeps them, so each step only runs the new position through the network. For the course's GPT-2
models this module runs that step directly on the model's own weights with a preallocated
cache, which avoids the general-purpose bookkeeping of ``model.generate()`` (the bench measures
the difference). The cache buffer is kept for the next call of the same shape (up to 256 MiB;
:func:`release_kv_buffer` frees it). Other transformers causal LMs use their own cache through
``model(...)``.

Context longer than the model's ``block_size``: the learned position embeddings stop there, so
when the window is full the cache is rebuilt from the last three quarters of the window and
generation continues (every new token sees at least ``3/4 * block_size`` earlier bytes).
"""
from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

from .checks import number, whole
from .model import is_plain_gpt2


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


def _take_kv_buffer(shape, dtype, device):
    inference = torch.is_inference_mode_enabled()
    with _kv_lock:
        for i, buf in enumerate(_kv_spare):
            if (buf.shape == shape and buf.dtype == dtype and buf.device == torch.device(device)
                    and buf.is_inference() == inference):
                return _kv_spare.pop(i)
    return torch.empty(shape, dtype=dtype, device=device)


def _give_back_kv_buffer(buf) -> None:
    """Keep ``buf`` (and at most one earlier spare) if together they fit in ``_KEEP_BYTES``."""
    if buf is None:
        return
    with _kv_lock:
        kept = [buf] + _kv_spare[:1]
        while kept and sum(b.numel() * b.element_size() for b in kept) > _KEEP_BYTES:
            kept.pop()
        _kv_spare[:] = kept


def release_kv_buffer() -> None:
    """Free the KV buffer the sampler keeps between calls (it is re-allocated when needed)."""
    with _kv_lock:
        _kv_spare.clear()


class _GPT2Runner:
    """Prefill and one-token steps of a transformers GPT-2 model with a preallocated KV cache."""

    def __init__(self, model, batch: int):
        tr = model.transformer
        c = model.config
        self.wte, self.wpe, self.ln_f = tr.wte.weight, tr.wpe.weight, tr.ln_f
        self.head = model.lm_head.weight
        self.blocks = list(tr.h)
        self.H, self.d = c.n_head, c.n_embd
        self.hd = self.d // self.H
        self.T = c.n_positions
        p = self.wte
        # keys and values of every layer in one buffer, (layer, k|v, batch, head, position, dim),
        # so a decode step writes a position's keys and values with one copy
        self.kv = _take_kv_buffer((len(self.blocks), 2, batch, self.H, self.T, self.hd), p.dtype, p.device)
        self.k, self.v = self.kv[:, 0], self.kv[:, 1]
        scale = self.hd ** -0.5
        # the raw tensors of every layer, so a decode step calls kernels, not Python modules;
        # the query columns of the qkv projection carry the 1/sqrt(head_dim) attention scale
        # (one multiply fewer per layer and step; the prefill uses the modules, unscaled)
        self.layers = []
        for blk in self.blocks:
            a, m = blk.attn, blk.mlp
            wqkv, bqkv = a.c_attn.weight.detach().clone(), a.c_attn.bias.detach().clone()
            wqkv[:, :self.d] *= scale
            bqkv[:self.d] *= scale
            self.layers.append((blk.ln_1.weight, blk.ln_1.bias, blk.ln_1.eps, wqkv, bqkv,
                                a.c_proj.weight, a.c_proj.bias, blk.ln_2.weight, blk.ln_2.bias, blk.ln_2.eps,
                                m.c_fc.weight, m.c_fc.bias, m.act, m.c_proj.weight, m.c_proj.bias))

    def close(self):
        """Hand the KV buffer back for the next sampler call (see :func:`_take_kv_buffer`)."""
        _give_back_kv_buffer(self.kv)
        self.kv = self.k = self.v = None

    def _mlp(self, blk, h):
        m = blk.mlp
        return m.c_proj(m.act(m.c_fc(h)))

    def prefill(self, ids):
        """Run (B, P) ids from position 0; fill the cache; return logits of the last position."""
        B, P = ids.shape
        x = self.wte[ids] + self.wpe[:P]
        for i, blk in enumerate(self.blocks):
            a = blk.attn
            q, k, v = a.c_attn(blk.ln_1(x)).split(self.d, dim=-1)
            q, k, v = (t.view(B, P, self.H, self.hd).transpose(1, 2) for t in (q, k, v))
            self.k[i, :B, :, :P] = k
            self.v[i, :B, :, :P] = v
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + a.c_proj(y.transpose(1, 2).reshape(B, P, self.d))
            x = x + self._mlp(blk, blk.ln_2(x))
        return self.ln_f(x[:, -1]) @ self.head.T

    def step(self, tok, pos: int):
        """Run one new token per row at position ``pos`` against the cache; return its logits.

        For one query position, attention is two small batched matmuls over the cached keys and
        values (``bmm`` was faster here than SDPA's kernel, which is tuned for long queries).
        """
        B, H, hd, d = tok.shape[0], self.H, self.hd, self.d
        x = self.wte[tok] + self.wpe[pos]
        for i, (w1, b1, e1, wqkv, bqkv, wo, bo, w2, b2, e2, wfc, bfc, act, wpr, bpr) in enumerate(self.layers):
            qkv = torch.addmm(bqkv, F.layer_norm(x, (d,), w1, b1, e1), wqkv)  # q already scaled
            self.kv[i, :, :B, :, pos] = qkv[:, d:].view(B, 2, H, hd).transpose(0, 1)
            keys, vals = self.k[i, :B, :, :pos + 1], self.v[i, :B, :, :pos + 1]
            att = torch.matmul(qkv[:, :d].view(B, H, 1, hd), keys.transpose(-1, -2)).softmax(-1)
            # residual adds in place: x += y @ W, then the bias (no temporary, no bias broadcast)
            x.addmm_(torch.matmul(att, vals).view(B, d), wo).add_(bo)
            x.addmm_(act(torch.addmm(bfc, F.layer_norm(x, (d,), w2, b2, e2), wfc)), wpr).add_(bpr)
        return F.layer_norm(x, (d,), self.ln_f.weight, self.ln_f.bias, self.ln_f.eps) @ self.head.T


class _HFRunner:
    """The same interface through any transformers causal LM's own cache (slower, general)."""

    def __init__(self, model, batch: int):
        self.model, self.cache = model, None
        self.T = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 2048)

    def close(self):
        self.cache = None

    def prefill(self, ids):
        out = self.model(input_ids=ids, use_cache=True)
        self.cache = out.past_key_values
        return out.logits[:, -1]

    def step(self, tok, pos: int):
        out = self.model(input_ids=tok[:, None], past_key_values=self.cache, use_cache=True,
                         position_ids=torch.full((tok.shape[0], 1), pos, device=tok.device))
        self.cache = out.past_key_values
        return out.logits[:, -1]


def _sample_batch(runner, prompt: list[int], B: int, max_new: int, temperature, top_k, top_p, g, device):
    T = runner.T
    keep = max(1, (3 * T) // 4)
    P = len(prompt)
    hist = torch.empty(B, P + max_new, dtype=torch.long, device=device)
    hist[:, :P] = torch.tensor(prompt, dtype=torch.long, device=device)
    w = min(P, T)
    logits = runner.prefill(hist[:, P - w:P])
    pos = w
    for i in range(max_new):
        nxt = pick_next(logits, temperature, top_k, top_p, g)
        hist[:, P + i] = nxt
        if i == max_new - 1:
            break
        if pos >= T:  # window full: rebuild the cache from the most recent `keep` tokens
            end = P + i + 1
            logits = runner.prefill(hist[:, end - keep:end])
            pos = keep
        else:
            logits = runner.step(nxt, pos)
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
                runner = _GPT2Runner(model, B) if is_plain_gpt2(model) else _HFRunner(model, B)
                try:
                    out.append(_sample_batch(runner, ids, B, max_new_tokens, temperature, top_k, top_p, g, device))
                finally:
                    runner.close()
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
