"""The search space: every value outside it is rejected with a reason; moves and draws stay inside."""
import math
import random

import pytest

from looplab.config import SCALES
from looplab.research.spec import Param, ProposalError, SearchSpace, default_space
from looplab.train import TrainConfig
from research_support import smoke_space


@pytest.mark.parametrize("changes, words", [
    ({"lr": 1.0}, "out of range"),
    ({"lr": -1e-3}, "out of range"),
    ({"lr": float("nan")}, "finite"),
    ({"lr": float("inf")}, "finite"),
    ({"lr": "0.001"}, "must be a number"),
    ({"lr": True}, "must be a number"),
    ({"lr": None}, "must be a number"),
    ({"n_layer": 2.5}, "whole number"),
    ({"n_layer": 99}, "out of range"),
    ({"n_embd": 100}, "not allowed"),
    ({"n_embd": [64]}, "not allowed"),
    ({"learning_rate": 1e-3}, "unknown field"),
    ({"__import__('os')": 1}, "unknown field"),
    ({"n_head": 3}, "divisible"),
    ({"n_head": 6, "n_embd": 64}, "divisible"),
])
def test_out_of_space_is_rejected_with_reason(changes, words):
    space = smoke_space()
    with pytest.raises(ProposalError, match=words):
        space.validate(changes)
    assert not space.is_valid(changes)


@pytest.mark.parametrize("bad", [[1, 2], "lr=0.1", 3, None])
def test_non_object_proposal_is_rejected(bad):
    with pytest.raises(ProposalError, match="JSON object"):
        smoke_space().validate(bad)


def test_valid_change_merges_into_base():
    space = smoke_space()
    cfg = space.validate({"lr": 0.004, "n_layer": 1})
    assert cfg["lr"] == 0.004 and cfg["n_layer"] == 1
    assert {k: v for k, v in cfg.items() if k not in ("lr", "n_layer")} == \
        {k: v for k, v in space.base.items() if k not in ("lr", "n_layer")}
    assert space.diff(cfg) == {"lr": 0.004, "n_layer": 1}
    assert isinstance(space.validate({"n_layer": 3.0})["n_layer"], int)  # 3.0 is a whole number


def test_moves_and_samples_are_inside_and_distinct():
    space = smoke_space()
    moves = space.moves(space.base)
    assert len(moves) >= 10
    for m in moves:
        cfg = space.validate(m)  # raises if any move were outside
        assert cfg != space.base and len(m) == 1
    rng = random.Random(0)
    for _ in range(200):
        cfg = space.sample(rng)
        assert space.validate(cfg) == cfg
        assert cfg["n_embd"] % cfg["n_head"] == 0


def test_neighbours_clip_to_bounds():
    p = Param("lr", "float", 1e-4, 3e-2, log=True)
    assert p.neighbors(3e-2) == [1.5e-2]
    q = Param("n_layer", "int", 1, 3, step=1)
    assert q.neighbors(1) == [2]


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_default_space_holds_each_scales_base(scale):
    base = TrainConfig.from_scale(SCALES[scale]).to_dict()
    space = default_space(base)
    assert space.base == {k: base[k] for k in space.names}
    # the costliest config in the space costs at most about 4x the base per step (the docstring's
    # promise), counted with the course's FLOPs per token (measured: 4.5 smoke, 4.04 workshop, 3.85 full)
    from looplab.model import flops_per_token
    cfg = TrainConfig.from_scale(SCALES[scale])
    big = cfg.replace(n_embd=max(space["n_embd"].choices), n_layer=space["n_layer"].high,
                      batch_size=max(space["batch_size"].choices), n_head=1)
    ratio = (flops_per_token(big.model) * big.batch_size
             / (flops_per_token(cfg.model) * cfg.batch_size))
    assert 3.0 < ratio <= 4.5


def test_adding_a_field():
    space = smoke_space().add(Param("grad_clip", "float", 0.0, 5.0, step=0.5), 1.0)
    assert "grad_clip" in space.describe()
    assert space.validate({"grad_clip": 2.0})["grad_clip"] == 2.0
    with pytest.raises(ProposalError, match="out of range"):
        space.validate({"grad_clip": 50})


def test_bad_param_definitions_fail_clearly():
    with pytest.raises(ValueError, match="kind"):
        Param("x", "complex", 0, 1)
    with pytest.raises(ValueError, match="low <= high"):
        Param("x", "float", 2, 1)
    with pytest.raises(ValueError, match="log-scale"):
        Param("x", "float", 0, 1, log=True)
    with pytest.raises(ValueError, match="base config lacks"):
        SearchSpace([Param("x", "float", 0, 1)], {})
    with pytest.raises(ProposalError):  # a base outside its own space
        SearchSpace([Param("x", "float", 0, 1)], {"x": 2.0})
