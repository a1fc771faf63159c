"""looplab.data: real corpora, byte tokenizer, deterministic splits with a sealed test set, batches."""
import pytest
import torch
from fake_servers import FileServer

from looplab.data import (ByteTokenizer, Corpus, default_splits, get_batch, load_text,
                          make_splits)


def test_kjv_is_real_english_offline():
    c = load_text("kjv")
    assert isinstance(c, Corpus) and c.name == "kjv" and not c.is_fallback
    assert c.n_bytes > 3_000_000
    assert c.text.startswith("The First Book of Moses")
    assert "In the beginning God created" in c.text
    assert "1:1" not in c.text[:2000]  # verse numbers are stripped
    assert "public domain" in c.license


def test_max_bytes_caps_and_rejects_negative():
    c = load_text("kjv", max_bytes=1000)
    assert c.n_bytes <= 1000 and c.n_bytes > 990
    with pytest.raises(ValueError, match="max_bytes=-1"):
        load_text("kjv", max_bytes=-1)


def test_stdlib_fallback_corpus_present():
    c = load_text("stdlib", max_bytes=50_000)
    assert c.n_bytes > 40_000 and "Return" in c.text


def test_unknown_corpus_names_the_choices():
    with pytest.raises(ValueError, match="unknown corpus 'nope'.*kjv.*stdlib"):
        load_text("nope")


def test_online_corpus_offline_names_offline_choices(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    import urllib.request

    def refuse(*a, **k):
        raise OSError("network disabled in test")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(ConnectionError, match="kjv"):
        load_text("tinyshakespeare")


def test_local_file(tmp_path):
    p = tmp_path / "mine.txt"
    p.write_text("hello wörld\n" * 10, encoding="utf-8")
    c = load_text(str(p))
    assert c.name == "mine.txt" and c.text.startswith("hello wörld")


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


def test_online_corpora_download_through_the_real_client_and_cache(monkeypatch, tmp_path):
    from looplab import data

    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    stories = [f"Once upon a time {i}, Zoë found a café by the sea. The end." for i in range(40)]
    raw = "".join(s + "\n<|endoftext|>\n" for s in stories).encode("utf-8")
    (site / "TinyStoriesV2-GPT4-valid.txt").write_bytes(raw)
    cut = raw.index("é".encode("utf-8"), 1000) + 1  # inside a story and inside the two-byte 'é'
    (site / "shakespeare.txt").write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n",
                                          encoding="utf-8")
    monkeypatch.setenv("LOOPLAB_CACHE", str(cache))
    with FileServer(site) as srv:
        monkeypatch.setattr(data, "TINYSTORIES_URL", srv.url + "TinyStoriesV2-GPT4-{split}.txt")
        monkeypatch.setattr(data, "TINYSHAKESPEARE_URL", srv.url + "shakespeare.txt")
        small = load_text("tinystories", max_bytes=cut)
        ts = load_text("tinyshakespeare")
    assert ts.text.startswith("First Citizen:")
    assert "<|endoftext|>" not in small.text and len(small.text.encode("utf-8")) <= cut
    got = small.text.strip().split("\n\n")
    assert got == stories[:len(got)] and 10 < len(got) < 40  # whole stories only, in order
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temp file left behind
    # the server is gone: both load from the cache, unchanged
    assert load_text("tinystories", max_bytes=cut).text == small.text
    assert load_text("tinyshakespeare").text == ts.text


def test_unreachable_download_leaves_no_cache(monkeypatch, tmp_path):
    from looplab import data

    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    with FileServer(tmp_path) as srv:
        dead = srv.url
    monkeypatch.setattr(data, "TINYSTORIES_URL", dead + "TinyStoriesV2-GPT4-{split}.txt")
    with pytest.raises(ConnectionError, match=r"TinyStories.*'kjv', 'stdlib'"):
        load_text("tinystories", max_bytes=5000)
    assert not list(tmp_path.glob("tinystories*"))


def test_default_splits_share_tensors_but_not_the_read_log():
    a, b = default_splits("kjv", 120_000), default_splits("kjv", 120_000)
    assert a is not b and a.train is b.train and a.val is b.val      # one copy of the tokens
    a.sealed_test("test: a read by one caller")
    assert a.test_reads == ["test: a read by one caller"] and b.test_reads == []
