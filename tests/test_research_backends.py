"""The HTTP backends' real client code (openai, anthropic) against a loopback server; record/replay;
keys never reach a file."""
import json

import pytest

from fake_servers import FakeLLMServer
from looplab.research.llm import AnthropicBackend, OpenAIBackend, RecordingBackend, ReplayBackend
from looplab.research.llm_base import LLMError, LLMRequest
from looplab.research.llm_proposer import LLMProposer
from research_support import smoke_space

KEY = "sk-test-loopback-key-0123456789"
GOOD = '{"params": {"lr": 0.004}, "rationale": "a higher peak lr may converge faster in a short budget"}'


def _headers_hold(req, value):
    return any(value in str(v) for v in req["headers"].values())


def test_openai_compatible_round_trip(tmp_path):
    with FakeLLMServer([GOOD]) as srv:
        be = OpenAIBackend("gpt-4o-mini", base_url=srv.openai_url, api_key=KEY, max_retries=0)
        reply = be.complete(LLMRequest("sys text", "user text", max_tokens=50))
        req = srv.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["model"] == "gpt-4o-mini" and req["body"]["max_tokens"] == 50
    assert [m["role"] for m in req["body"]["messages"]] == ["system", "user"]
    assert _headers_hold(req, KEY)  # the key is sent to the server ...
    assert reply.text == GOOD and reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert reply.cost_usd == pytest.approx((reply.prompt_tokens * 0.15 + reply.completion_tokens * 0.60) / 1e6)
    assert KEY not in repr(be) and KEY not in str(vars(be).get("usage"))


def test_anthropic_round_trip():
    with FakeLLMServer([GOOD]) as srv:
        be = AnthropicBackend("claude-haiku-4-5", base_url=srv.anthropic_url, api_key=KEY, max_retries=0)
        reply = be.complete(LLMRequest("sys text", "user text", max_tokens=60))
        req = srv.requests[0]
    assert req["path"] == "/v1/messages"
    assert req["body"]["system"] == "sys text" and req["body"]["messages"][0]["content"] == "user text"
    assert req["body"]["max_tokens"] == 60 and _headers_hold(req, KEY)
    assert reply.text == GOOD and reply.cost_usd > 0 and be.usage["calls"] == 1


@pytest.mark.parametrize("which", ["openai", "anthropic"])
def test_http_errors_become_llm_errors_without_the_key(which):
    with FakeLLMServer([500, 401]) as srv:
        if which == "openai":
            be = OpenAIBackend("m", base_url=srv.openai_url, api_key=KEY, max_retries=0)
        else:
            be = AnthropicBackend("m", base_url=srv.anthropic_url, api_key=KEY, max_retries=0)
        for _ in range(2):
            with pytest.raises(LLMError) as e:
                be.complete(LLMRequest("s", "u"))
            assert KEY not in str(e.value)


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    with pytest.raises(LLMError, match="ANTHROPIC_API_KEY.*smollm2"):
        AnthropicBackend()


def test_unreachable_server_is_an_llm_error_and_a_rejected_proposal():
    with FakeLLMServer([]) as srv:
        url = srv.openai_url
    be = OpenAIBackend("m", base_url=url, api_key=KEY, max_retries=0, timeout=2)  # server now closed
    space = smoke_space()
    p = LLMProposer(be).propose(space, [], space.base, 0)
    assert not p.valid and "LLM error" in p.reason


def test_record_then_replay_gives_the_same_proposals(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    space = smoke_space()
    replies = [GOOD, '{"params": {"n_layer": 1}, "rationale": "a shallower model gets more steps"}']
    path = tmp_path / "session.jsonl"
    with FakeLLMServer(replies) as srv:
        rec = RecordingBackend(OpenAIBackend("gpt-4o-mini", base_url=srv.openai_url, max_retries=0), path)
        prop = LLMProposer(rec)
        live = [prop.propose(space, [], space.base, i) for i in range(2)]
    text = path.read_text()
    assert KEY not in text  # the transcript never holds the key
    lines = [json.loads(x) for x in text.splitlines()]
    assert len(lines) == 2 and lines[0]["reply"]["text"] == GOOD
    replay = ReplayBackend(path)
    again = [LLMProposer(replay).propose(space, [], space.base, i) for i in range(2)]
    assert [p.changes for p in again] == [p.changes for p in live]
    assert [p.rationale for p in again] == [p.rationale for p in live]
    assert replay.mismatches == 0 and replay.usage["cost_usd"] == 0.0
    exhausted = LLMProposer(replay).propose(space, [], space.base, 2)
    assert not exhausted.valid and "exhausted" in exhausted.reason


def test_strict_replay_refuses_a_different_prompt(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"request": {"system": "s", "user": "u"}, "reply": {"text": GOOD}}) + "\n")
    with pytest.raises(LLMError, match="differs"):
        ReplayBackend(path, strict=True).complete(LLMRequest("s", "other"))
    loose = ReplayBackend(path)
    assert loose.complete(LLMRequest("s", "other")).text == GOOD and loose.mismatches == 1
    with pytest.raises(LLMError, match="no transcript"):
        ReplayBackend(tmp_path / "missing.jsonl")
