"""looplab.data: byte tokenizer, deterministic splits with a sealed test set, batches (corpora: test_corpora)."""
import pytest
import torch

from looplab.corpora import load_text
from looplab.data import ByteTokenizer, default_splits, get_batch, make_splits


def test_byte_tokenizer_round_trip():
    tok = ByteTokenizer()
    s = "Grüße, ünïcode ✓\n"
    ids = tok.encode(s)
    assert len(ids) == len(s.encode("utf-8")) and max(ids) < 256
    assert tok.decode(ids) == s
    assert tok.decode(torch.tensor(ids)) == s
    with pytest.raises(ValueError, match="0..255"):
        tok.decode([300])


def test_decode_tokens_is_the_tokenizers_inverse_and_marks_broken_utf8():
    from looplab.data import decode_tokens
    s = "Grüße ✓\n"
    ids = torch.tensor(ByteTokenizer().encode(s))
    assert decode_tokens(ids) == s
    assert decode_tokens(ids[:3]) == "Gr\ufffd"          # half of the two-byte "ü"


def test_splits_deterministic_disjoint_and_sealed():
    c = load_text("kjv", max_bytes=300_000)
    a, b = make_splits(c), make_splits(c)
    assert torch.equal(a.train, b.train) and torch.equal(a.val, b.val)
    n = a.train.numel() + a.val.numel() + a.n_test
    assert n == c.n_bytes
    assert 0.04 < a.val.numel() / n < 0.06 and 0.04 < a.n_test / n < 0.06
    assert not hasattr(a, "test")  # no open attribute for the test split
    with pytest.raises(ValueError, match="reason"):
        a.sealed_test("")
    t = a.sealed_test("final grade in a unit test")
    assert t.numel() == a.n_test and a.test_reads == ["final grade in a unit test"]
    # val and test chunks come from across the corpus, not just its end
    text = c.text.encode("utf-8")
    val_start = bytes(a.val[:64].tolist())
    assert text.find(val_start) < 0.9 * len(text)
    # the three splits are made of different chunks
    chunks_val = {bytes(a.val[i:i + 2048].tolist()) for i in range(0, a.val.numel(), 2048)}
    chunks_test = {bytes(t[i:i + 2048].tolist()) for i in range(0, t.numel(), 2048)}
    assert not chunks_val & chunks_test


def test_split_fraction_validation():
    with pytest.raises(ValueError, match="val_frac=0.7"):
        make_splits("x" * 100_000, val_frac=0.7)
    with pytest.raises(ValueError, match="too few"):
        make_splits("short text")


def test_get_batch_shapes_targets_and_seed():
    sp = default_splits("kjv", 200_000)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    x, y = get_batch(sp.train, 5, 32, g1)
    x2, _ = get_batch(sp.train, 5, 32, g2)
    assert x.shape == y.shape == (5, 32) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert torch.equal(x, x2)
    with pytest.raises(ValueError, match="batch_size=0"):
        get_batch(sp.train, 0, 32)
    with pytest.raises(ValueError, match="block_size"):
        get_batch(torch.arange(10), 2, 32)


def test_default_splits_share_tensors_but_not_the_read_log():
    a, b = default_splits("kjv", 120_000), default_splits("kjv", 120_000)
    assert a is not b and a.train is b.train and a.val is b.val      # one copy of the tokens
    a.sealed_test("test: a read by one caller")
    assert a.test_reads == ["test: a read by one caller"] and b.test_reads == []
