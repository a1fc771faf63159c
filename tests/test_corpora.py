"""looplab.corpora: real text offline (KJV, stdlib docstrings), online corpora through the real client and cache."""
import pytest
from fake_servers import FileServer

from looplab import corpora
from looplab.corpora import Corpus, load_text


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



def test_online_corpora_download_through_the_real_client_and_cache(monkeypatch, tmp_path):
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
        monkeypatch.setattr(corpora, "TINYSTORIES_URL", srv.url + "TinyStoriesV2-GPT4-{split}.txt")
        monkeypatch.setattr(corpora, "TINYSHAKESPEARE_URL", srv.url + "shakespeare.txt")
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
    monkeypatch.setenv("LOOPLAB_CACHE", str(tmp_path))
    with FileServer(tmp_path) as srv:
        dead = srv.url
    monkeypatch.setattr(corpora, "TINYSTORIES_URL", dead + "TinyStoriesV2-GPT4-{split}.txt")
    with pytest.raises(ConnectionError, match=r"TinyStories.*'kjv', 'stdlib'"):
        load_text("tinystories", max_bytes=5000)
    assert not list(tmp_path.glob("tinystories*"))
