"""looplab.model: validated configs, a real transformers GPT-2 with SDPA, params, FLOPs, save/load."""
import pytest
import torch

from looplab.config import get_scale
from looplab.model import (ModelConfig, build_model, flops_per_token, load_model, matmul_params,
                           n_params, save_model)

TINY = ModelConfig(n_layer=2, n_head=2, n_embd=32, block_size=16)


@pytest.mark.parametrize("kw,msg", [
    (dict(n_layer=-1), "n_layer=-1"),
    (dict(n_embd=0), "n_embd=0"),
    (dict(n_head=3, n_embd=32), "n_head=3 must divide n_embd=32"),
    (dict(block_size=0), "block_size=0"),
    (dict(dropout=1.5), "dropout=1.5"),
    (dict(n_layer=2.5), "n_layer=2.5"),
])
def test_bad_configs_name_value_and_range(kw, msg):
    with pytest.raises(ValueError, match=msg):
        ModelConfig(**{**TINY.to_dict(), **kw})


def test_from_scale():
    s = get_scale("workshop")
    c = ModelConfig.from_scale(s)
    assert (c.n_layer, c.n_head, c.n_embd, c.block_size) == (s.tiny.n_layer, s.tiny.n_head, s.tiny.n_embd, s.tiny.block_size)
    assert ModelConfig.from_scale(s, n_embd=64).n_embd == 64


def test_build_is_seeded_and_leaves_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(TINY, seed=7)
    after = torch.rand(1)
    b = build_model(TINY, seed=7)
    c = build_model(TINY, seed=8)
    assert torch.equal(before, after)  # seeded build does not consume the global RNG
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["transformer.h.0.attn.c_attn.weight"], sc["transformer.h.0.attn.c_attn.weight"])


def test_is_transformers_gpt2_with_sdpa_and_tied_head():
    m = build_model(TINY, seed=0)
    assert type(m).__name__ == "GPT2LMHeadModel"
    assert m.config._attn_implementation == "sdpa"
    assert m.lm_head.weight is m.transformer.wte.weight
    out = m(input_ids=torch.randint(0, 256, (2, 16))).logits
    assert out.shape == (2, 16, 256)


def test_param_count_matches_formula():
    m = build_model(TINY, seed=0)
    d, L, V, T = 32, 2, 256, 16
    per_layer = 12 * d * d + 13 * d  # weights + biases + 2 LayerNorms
    expect = V * d + T * d + L * per_layer + 2 * d
    assert n_params(m) == expect
    assert n_params(m, non_embedding=True) == expect - T * d
    assert matmul_params(TINY) == L * 12 * d * d + d * V


def test_flops_per_token():
    c = ModelConfig(4, 4, 128, 64)
    assert flops_per_token(c) == 6 * matmul_params(c) + 12 * 4 * 64 * 128
    assert flops_per_token(c, training=False) * 3 == flops_per_token(c)
    # workshop model is about 0.8M parameters, as the lesson says
    assert 0.75e6 < n_params(build_model(c, seed=0)) < 0.9e6


def test_save_load_round_trip(tmp_path):
    m = build_model(TINY, seed=1)
    save_model(m, tmp_path / "ckpt")
    m2 = load_model(tmp_path / "ckpt")
    c = m2.config                       # the saved transformers config carries every size back
    assert (c.n_layer, c.n_head, c.n_embd, c.n_positions, c.vocab_size) == (
        TINY.n_layer, TINY.n_head, TINY.n_embd, TINY.block_size, TINY.vocab_size)
    x = torch.randint(0, 256, (2, 16))
    m.eval()
    with torch.no_grad():
        assert torch.allclose(m(input_ids=x).logits, m2(input_ids=x).logits, atol=1e-6)


def test_forward_equals_transformers_forward():
    from looplab.model import forward, gpt2_logits
    m = build_model(TINY, seed=3)
    x = torch.randint(0, 256, (3, 16))
    for mode in (m.eval, m.train):
        mode()
        with torch.no_grad():
            logits, kv = forward(m, x)
            assert kv is None and torch.equal(logits, m(input_ids=x).logits)
            assert torch.equal(gpt2_logits(m, x), logits)   # the name lessons and graders call
    with pytest.raises(ValueError, match="block_size=16"):
        forward(m, torch.zeros(1, 17, dtype=torch.long))


def test_forward_gradients_equal_transformers():
    """Training through forward() is training the transformers model: the same gradients."""
    from looplab.model import forward
    m = build_model(TINY, seed=4)
    x = torch.randint(0, 256, (2, 16))
    grads = []
    for logits_of in (lambda: forward(m, x)[0], lambda: m(input_ids=x).logits):
        m.zero_grad()
        logits_of().logsumexp(-1).mean().backward()
        grads.append([p.grad.clone() for p in m.parameters()])
    assert all(torch.allclose(a, b, rtol=0, atol=1e-7) for a, b in zip(*grads))


def test_forward_applies_dropout_in_training_only():
    from looplab.model import gpt2_logits
    m = build_model(ModelConfig(2, 2, 32, 16, dropout=0.5), seed=0)
    x = torch.randint(0, 256, (2, 16))
    m.train()
    with torch.no_grad():
        assert not torch.equal(gpt2_logits(m, x), gpt2_logits(m, x))
        m.eval()
        assert torch.equal(gpt2_logits(m, x), m(input_ids=x).logits)
