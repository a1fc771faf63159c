"""looplab.sample: the KV-cache sampler agrees with the model, is seeded, and filters correctly."""
import pytest
import torch

from looplab.model import ModelConfig, build_model, empty_kv_cache, forward
from looplab.sample import _take_kv_buffer, pick_next, sample_text, sample_tokens

CFG = ModelConfig(n_layer=2, n_head=2, n_embd=32, block_size=32)


@pytest.fixture(scope="module")
def model():
    m = build_model(CFG, seed=0)
    with torch.no_grad():  # sharpen the random model so greedy decoding is not all ties
        m.transformer.wte.weight.mul_(20)
    return m.eval()


def test_cached_steps_equal_full_forward(model):
    """The sampler's calls (a prompt, then one token at a time against the cache) give the
    logits of one full forward pass, which are transformers' own."""
    x = torch.randint(0, 256, (3, 32))
    with torch.inference_mode():
        ref = model(input_ids=x).logits
        kv = empty_kv_cache(model, 3).fill_(float("nan"))  # unwritten positions must never be read
        logits, kv2 = forward(model, x[:, :10], kv)
        assert kv2 is kv and torch.equal(logits, model(input_ids=x[:, :10]).logits)  # bit for bit
        for p in range(10, 32):
            last, _ = forward(model, x[:, p:p + 1], kv, p)
            assert last.shape == (3, 1, 256)
            assert torch.allclose(last[:, 0], ref[:, p], atol=1e-4)


def test_forward_refuses_what_it_does_not_compute(model):
    kv = empty_kv_cache(model, 1)
    with pytest.raises(ValueError, match="block_size=32"):
        forward(model, torch.zeros(1, 2, dtype=torch.long), kv, 31)
    with pytest.raises(ValueError, match="starts at pos=0"):
        forward(model, torch.zeros(1, 2, dtype=torch.long), kv, 5)
    other = build_model(CFG, seed=0)
    other.config.activation_function = "gelu_new"
    with pytest.raises(TypeError, match="course's GPT-2"):
        forward(other, torch.zeros(1, 2, dtype=torch.long))


def test_greedy_equals_generate(model):
    prompt = b"In the"
    ids = sample_tokens(model, 2, 20, prompt=prompt, temperature=0)
    p = torch.tensor([list(prompt)] * 2)
    gen = model.generate(p, do_sample=False, max_new_tokens=20, pad_token_id=0)
    assert torch.equal(ids, gen[:, len(prompt):])


def test_seeded_shapes_and_long_outputs():
    model = build_model(CFG, seed=1)  # untrained: near-uniform, so seeds matter
    a = sample_tokens(model, 5, 80, seed=3, batch_size=2)  # longer than block_size: window slides
    b = sample_tokens(model, 5, 80, seed=3, batch_size=2)
    c = sample_tokens(model, 5, 80, seed=4, batch_size=2)
    assert a.shape == (5, 80) and a.dtype == torch.long
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert int(a.max()) < 256
    texts = sample_text(model, 2, 10, prompt="Hi", include_prompt=True)
    assert len(texts) == 2 and all(t.startswith("Hi") for t in texts)


def test_top_k_and_top_p_filter():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(2000, 1)
    g = torch.Generator().manual_seed(0)
    assert set(pick_next(logits, top_k=2, generator=g).tolist()) == {0, 1}
    assert set(pick_next(logits, top_p=0.7, generator=g).tolist()) == {0, 1}   # 0.5 < 0.7 <= 0.8
    assert set(pick_next(logits, top_p=0.85, generator=g).tolist()) == {0, 1, 2}
    assert set(pick_next(logits, top_p=0.1, generator=g).tolist()) == {0}
    assert pick_next(logits[:1], temperature=0).item() == 0
    # low temperature concentrates mass on the likeliest token
    hot = pick_next(logits, temperature=2.0, generator=g)
    cold = pick_next(logits, temperature=0.3, generator=g)
    assert (cold == 0).float().mean() > (hot == 0).float().mean() + 0.2


@pytest.mark.parametrize("kw,msg", [
    (dict(temperature=-1), "temperature=-1"), (dict(top_k=0), "top_k=0"), (dict(top_p=1.5), "top_p=1.5"),
    (dict(n=0), "n=0"), (dict(prompt=b""), "prompt is empty"), (dict(prompt=[300]), "0..255"),
])
def test_bad_sampling_args(model, kw, msg):
    args = dict(n=1, max_new_tokens=4)
    args.update(kw)
    with pytest.raises(ValueError, match=msg):
        sample_tokens(model, **args)


def test_draws_follow_the_distribution():
    p = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0])
    logits = torch.log(p).repeat(20000, 1)
    draws = pick_next(logits, generator=torch.Generator().manual_seed(1))
    freq = torch.bincount(draws, minlength=5).float() / 20000
    assert torch.allclose(freq, p, atol=0.015), freq
    assert freq[4] == 0  # a zero-probability token is never drawn


def test_kept_kv_buffer_is_reused_and_never_leaks_old_values(model):
    from looplab import sample

    sample.release_kv_buffer()
    fresh = sample_tokens(model, 4, 40, seed=5, batch_size=4)  # longer than block_size: rebuilds too
    assert len(sample._kv_spare) == 1
    kept = sample._kv_spare[0]
    assert kept.shape == (CFG.n_layer, 2, 4, CFG.n_head, CFG.block_size, CFG.n_embd // CFG.n_head)
    with torch.inference_mode():
        kept.fill_(float("nan"))  # stale contents must never reach a result
    again = sample_tokens(model, 4, 40, seed=5, batch_size=4)
    assert torch.equal(fresh, again)
    assert sample._kv_spare and sample._kv_spare[0] is kept  # the same buffer came back
    with torch.inference_mode():
        kv = _take_kv_buffer(model, 4)
        assert kv is kept and not sample._kv_spare  # taken out while in use
        other = _take_kv_buffer(model, 4)
        assert other is not kept  # a concurrent call gets its own
        sample._give_back_kv_buffer(kv), sample._give_back_kv_buffer(other)
    sample.release_kv_buffer()
    assert not sample._kv_spare


def test_concurrent_calls_match_sequential_ones(model):
    from concurrent.futures import ThreadPoolExecutor

    seeds = [0, 1, 2, 3]
    alone = [sample_tokens(model, 8, 40, seed=s, batch_size=8) for s in seeds]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda s: sample_tokens(model, 8, 40, seed=s, batch_size=8), seeds))
    assert all(torch.equal(a, b) for a, b in zip(alone, together))
