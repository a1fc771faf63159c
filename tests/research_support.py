"""Shared helpers for the tests of looplab.research: a real smoke-scale runner, a scripted backend."""
from __future__ import annotations

from looplab.config import get_scale
from looplab.research.llm_base import Backend, LLMReply
from looplab.research.runner import Runner
from looplab.research.spec import default_space
from looplab.train import TrainConfig


def smoke_runner(steps: int = 2, kind: str = "steps") -> Runner:
    """The real trainer on real KJV text, at smoke sizes, with a tiny step budget (fast)."""
    scale = get_scale("smoke")
    return Runner(scale, kind=kind, steps=steps, eval_batches=1)


def smoke_space():
    return default_space(TrainConfig.from_scale(get_scale("smoke")).to_dict())


class ListBackend(Backend):
    """Replies from a list, in order: for feeding exact (hostile) text to the parser."""

    name = "list"
    model = "scripted"

    def __init__(self, replies):
        super().__init__()
        self.replies, self.requests = list(replies), []

    def _complete(self, request):
        self.requests.append(request)
        return LLMReply(text=self.replies.pop(0) if self.replies else "", backend=self.name, model=self.model)
