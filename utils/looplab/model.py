"""Tiny GPT-style language models built with transformers from a config (no hub download).

The course model is transformers' GPT-2 architecture (learned positions, pre-LayerNorm blocks,
GELU MLP, weight-tied output head) at a tiny size. The weights live in a real transformers
``GPT2LMHeadModel``, so it saves and loads with ``save_pretrained`` / ``from_pretrained`` like
any model on the hub and can be checked against ``model.generate()``. Its forward pass is
:func:`forward`, one screen of PyTorch that training, scoring and the KV-cache sampler all run.

    cfg = ModelConfig(n_layer=4, n_head=4, n_embd=128, block_size=64)
    model = build_model(cfg, seed=0)
    logits, _ = forward(model, ids)          # (B, T) byte ids -> (B, T, 256) scores
    n_params(model), flops_per_token(cfg)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .checks import whole


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of a tiny GPT. ``vocab_size=256`` is the byte-level tokenizer."""

    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    vocab_size: int = 256
    dropout: float = 0.0

    def __post_init__(self):
        whole("n_layer", self.n_layer, 1, 96)
        whole("n_head", self.n_head, 1, 128)
        whole("n_embd", self.n_embd, 1, 16384)
        whole("block_size", self.block_size, 1, 65536)
        whole("vocab_size", self.vocab_size, 2, 1_000_000)
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_head={self.n_head} must divide n_embd={self.n_embd} evenly "
                f"(accepted n_head for this width: {[h for h in range(1, min(self.n_embd, 128) + 1) if self.n_embd % h == 0]})."
            )
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout={self.dropout!r} is out of range: it must be in [0, 1).")

    @classmethod
    def from_scale(cls, scale, **overrides) -> "ModelConfig":
        """The lesson-02 model of a :class:`looplab.config.Scale` profile (``overrides`` win)."""
        kw = dict(n_layer=scale.tiny.n_layer, n_head=scale.tiny.n_head, n_embd=scale.tiny.n_embd,
                  block_size=scale.tiny.block_size)
        kw.update(overrides)
        return cls(**kw)

    def to_dict(self) -> dict:
        return asdict(self)


def hf_config(cfg: ModelConfig):
    """The transformers ``GPT2Config`` for ``cfg`` (SDPA attention, tied output head)."""
    from transformers import GPT2Config

    hc = GPT2Config(
        vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd,
        n_layer=cfg.n_layer, n_head=cfg.n_head, n_inner=4 * cfg.n_embd,
        activation_function="gelu",
        resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout,
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
        tie_word_embeddings=True, use_cache=True,
    )
    hc._attn_implementation = "sdpa"
    return hc


def build_model(cfg: ModelConfig, seed: int | None = None):
    """A freshly initialised transformers GPT-2 causal LM of size ``cfg`` (no download).

    With ``seed`` the initial weights depend only on ``seed`` and ``cfg`` (the global torch RNG
    is left as it was); without, they come from the global RNG.
    """
    import torch
    from transformers import GPT2LMHeadModel

    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"cfg must be a ModelConfig, got {type(cfg).__name__}")
    hc = hf_config(cfg)
    if seed is None:
        return GPT2LMHeadModel(hc)
    whole("seed", seed, 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(hc)
    return model


def n_params(model, non_embedding: bool = False) -> int:
    """Parameter count (tied weights counted once). ``non_embedding`` drops position embeddings."""
    seen, total = set(), 0
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        if non_embedding and name.endswith("wpe.weight"):
            continue
        total += p.numel()
    return total


def matmul_params(cfg: ModelConfig) -> int:
    """Weights that take part in a matmul for every token: the blocks and the output head."""
    d = cfg.n_embd
    per_layer = d * 3 * d + d * d + d * 4 * d + 4 * d * d  # qkv, attn proj, mlp up, mlp down
    return cfg.n_layer * per_layer + d * cfg.vocab_size


def flops_per_token(cfg: ModelConfig, training: bool = True) -> float:
    """FLOPs per token, the way nanoGPT / PaLM count them: ``6 N + 12 L T d`` for training.

    ``N`` = :func:`matmul_params` (each weight costs a multiply and an add forward, twice that
    backward); ``12 L T d`` is attention's scores and weighted sum over a full context of ``T``.
    ``training=False`` gives the forward pass only (a third).
    """
    fwd = 2 * matmul_params(cfg) + 4 * cfg.n_layer * cfg.block_size * cfg.n_embd
    return float(3 * fwd if training else fwd)


def is_plain_gpt2(model) -> bool:
    """True for the course's GPT-2 layout, the one model :func:`forward` computes."""
    c = getattr(model, "config", None)
    return (type(model).__name__ == "GPT2LMHeadModel" and c is not None
            and c.activation_function == "gelu" and not getattr(c, "add_cross_attention", False)
            and c.scale_attn_weights and not c.scale_attn_by_inverse_layer_idx
            and not c.reorder_and_upcast_attn)


def kv_cache_shape(model, batch: int) -> tuple:
    """(layer, key|value, batch, head, position, head dim): the KV cache :func:`forward` fills."""
    c = model.config
    return (c.n_layer, 2, batch, c.n_head, c.n_positions, c.n_embd // c.n_head)


def empty_kv_cache(model, batch: int):
    """An unfilled KV cache for :func:`forward`, on the model's device, in its dtype."""
    import torch

    w = model.transformer.wte.weight
    return torch.empty(kv_cache_shape(model, batch), dtype=w.dtype, device=w.device)


def gpt2_weights(model):
    """The sizes and tensors :func:`forward` reads, off the modules of a course GPT-2.

    References, not copies, as plain attributes: reading a weight off a torch module costs about
    a microsecond, and a forward pass reads a hundred (at batch 32, a fifth of a decode step).
    The sampler reads them once per batch; training, at every step (noise next to its work).
    Dropout probabilities are the config's in training mode, 0 in eval mode.
    """
    from types import SimpleNamespace as NS

    if not is_plain_gpt2(model):
        raise TypeError(f"forward() computes the course's GPT-2 (looplab.model.build_model); got {type(model).__name__}")
    tr, c = model.transformer, model.config

    def norm(m):
        return NS(weight=m.weight, bias=m.bias, eps=m.eps)

    def linear(m):  # transformers' Conv1D stores W as (in, out): y = x @ W + b
        return NS(weight=m.weight, bias=m.bias)

    p = (c.embd_pdrop, c.attn_pdrop, c.resid_pdrop) if model.training else (0.0, 0.0, 0.0)
    return NS(n_head=c.n_head, n_embd=c.n_embd, block_size=c.n_positions, p_embd=p[0], p_attn=p[1], p_res=p[2],
              wte=tr.wte.weight, wpe=tr.wpe.weight, ln_f=norm(tr.ln_f), head=model.lm_head.weight,
              h=[NS(ln_1=norm(b.ln_1), attn_in=linear(b.attn.c_attn), attn_out=linear(b.attn.c_proj),
                    ln_2=norm(b.ln_2), mlp_in=linear(b.mlp.c_fc), mlp_out=linear(b.mlp.c_proj)) for b in tr.h])


def forward(model, ids, kv=None, pos: int = 0, w=None):
    """Logits (B, T, vocab) of token ids (B, T) at positions ``pos .. pos+T-1``, and the cache.

    The course's one forward pass, on the weights of a transformers ``GPT2LMHeadModel``: token +
    position embeddings, pre-LayerNorm blocks (causal multi-head attention, then an exact-GELU
    MLP, each added to the residual stream), a final LayerNorm and the output head tied to the
    token embeddings. The same arithmetic as ``model(input_ids=ids).logits`` (bit for bit without
    a cache), without transformers' general plumbing. Dropout acts in training mode only.

    ``kv=None`` (training, scoring): each position attends to itself and the ones before it in
    ``ids``. With a cache from :func:`empty_kv_cache` (the sampler), this call's keys and values
    are written into it at ``pos`` and the queries attend to every cached position up to theirs:
    a prompt from ``pos=0``, then one token per call (``T=1``) at ``pos = 1, 2, ...``.
    ``w``: :func:`gpt2_weights` of ``model`` if already read (default: read them now).
    """
    import torch
    import torch.nn.functional as F

    w = gpt2_weights(model) if w is None else w
    B, T = ids.shape
    H, d = w.n_head, w.n_embd
    if pos + T > w.block_size:
        raise ValueError(f"positions up to {pos + T} exceed the model's block_size={w.block_size}.")
    if kv is not None and T > 1 and pos > 0:
        raise ValueError("with a cache, a call of several tokens starts at pos=0 (then one token per call).")

    def norm(x, ln):
        return F.layer_norm(x, (d,), ln.weight, ln.bias, ln.eps)

    def linear(x, lin):  # x @ W + b
        return torch.addmm(lin.bias, x, lin.weight)

    def drop(t, p):      # dropout (its probabilities are 0 outside training)
        return F.dropout(t, p, True) if p > 0 else t

    # the residual stream x: one row of d numbers per token, (B*T, d)
    x = drop(F.embedding(ids, w.wte) + w.wpe[pos:pos + T], w.p_embd).view(B * T, d)
    for i, blk in enumerate(w.h):
        qkv = linear(norm(x, blk.ln_1), blk.attn_in).view(B, T, 3, H, d // H).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind()                   # (B, H, T, head dim) each
        if kv is not None:                       # keep this call's keys and values for later calls
            kv[i, :, :, :, pos:pos + T] = qkv[1:]
            k, v = kv[i, :, :, :, :pos + T].unbind()
        # attention, softmax(q kT / sqrt(head dim)) v: each query over the keys up to its position
        if T == 1:   # one new token sees every cached key: two small matmuls (faster here than SDPA)
            y = drop((q @ k.transpose(-1, -2) * (d // H) ** -0.5).softmax(-1), w.p_attn) @ v
        else:        # a causal mask, query t sees keys 0..t (PyTorch's fused kernel)
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=w.p_attn, is_causal=True)
        x = x + drop(linear(y.transpose(1, 2).reshape(B * T, d), blk.attn_out), w.p_res)
        x = x + drop(linear(F.gelu(linear(norm(x, blk.ln_2), blk.mlp_in)), blk.mlp_out), w.p_res)
    return F.linear(norm(x, w.ln_f), w.head).view(B, T, -1), kv


def gpt2_logits(model, input_ids):
    """Logits (B, T, vocab) of :func:`forward` without a cache (the name lessons and graders use)."""
    return forward(model, input_ids)[0]


def save_model(model, path) -> None:
    """Save weights and config with transformers' ``save_pretrained`` (safetensors)."""
    model.save_pretrained(str(path))


def load_model(path):
    """Load a model saved by :func:`save_model` (local files only, never the hub)."""
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(str(path), local_files_only=True, attn_implementation="sdpa")
    model.eval()
    return model
