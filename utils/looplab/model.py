"""Tiny GPT-style language models built with transformers from a config (no hub download).

The course model is transformers' GPT-2 architecture (learned positions, pre-LayerNorm blocks,
GELU MLP, weight-tied output head) at a tiny size, with PyTorch's fused
``scaled_dot_product_attention`` (SDPA). Because it is a real transformers model it saves and
loads with ``save_pretrained`` / ``from_pretrained`` like any model on the hub.

    cfg = ModelConfig(n_layer=4, n_head=4, n_embd=128, block_size=64)
    model = build_model(cfg, seed=0)
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
        kw = dict(n_layer=scale.n_layer, n_head=scale.n_head, n_embd=scale.n_embd,
                  block_size=scale.block_size)
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
    """True for the course's GPT-2 layout (what :func:`gpt2_logits` and the fast sampler handle)."""
    c = getattr(model, "config", None)
    return (type(model).__name__ == "GPT2LMHeadModel" and c is not None
            and not getattr(c, "add_cross_attention", False) and c.scale_attn_weights
            and not c.scale_attn_by_inverse_layer_idx and not c.reorder_and_upcast_attn)


def gpt2_logits(model, input_ids):
    """Logits (B, T, vocab) of a GPT-2 model, computed straight from its modules.

    The same arithmetic as ``model(input_ids=...).logits`` (embeddings, pre-LayerNorm blocks,
    causal SDPA attention, tied head), without transformers' general-purpose plumbing (cache and
    mask handling, output records), which costs several percent of a tiny model's step on a CPU
    (``bench/bench_train.py`` measures it). Falls back to the model's own forward for any other
    architecture.
    """
    import torch.nn.functional as F

    if not is_plain_gpt2(model):
        return model(input_ids=input_ids).logits
    tr, c = model.transformer, model.config
    B, T = input_ids.shape
    if T > c.n_positions:
        raise ValueError(f"input length {T} exceeds the model's block_size={c.n_positions}.")
    H, d = c.n_head, c.n_embd
    train = model.training
    x = tr.wte(input_ids) + tr.wpe.weight[:T]
    if train and c.embd_pdrop > 0:
        x = F.dropout(x, c.embd_pdrop, True)
    p_attn = c.attn_pdrop if train else 0.0
    p_res = c.resid_pdrop if train else 0.0
    for blk in tr.h:
        a = blk.attn
        q, k, v = a.c_attn(blk.ln_1(x)).split(d, dim=2)
        q, k, v = (t.view(B, T, H, d // H).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p_attn, is_causal=True)
        y = a.c_proj(y.transpose(1, 2).reshape(B, T, d))
        x = x + (F.dropout(y, p_res, True) if p_res > 0 else y)
        m = blk.mlp
        y = m.c_proj(m.act(m.c_fc(blk.ln_2(x))))
        x = x + (F.dropout(y, p_res, True) if p_res > 0 else y)
    return model.lm_head(tr.ln_f(x))


def save_model(model, path) -> None:
    """Save weights and config with transformers' ``save_pretrained`` (safetensors)."""
    model.save_pretrained(str(path))


def load_model(path):
    """Load a model saved by :func:`save_model` (local files only, never the hub)."""
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(str(path), local_files_only=True, attn_implementation="sdpa")
    model.eval()
    return model
