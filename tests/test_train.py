"""looplab.train: budgets, schedule, bpb, determinism, the inline step agreeing with the library's."""
import json
import math

import pytest
import torch

from looplab.data import default_splits, get_batch
from looplab.model import ModelConfig, build_model, flops_per_token
from looplab.train import (Budget, TrainConfig, bpb_from_loss, evaluate, lm_loss, lr_at,
                           make_optimizer, train, train_step)

CFG = TrainConfig(model=ModelConfig(n_layer=2, n_head=2, n_embd=32, block_size=32), batch_size=8, eval_batches=3,
                  lr=3e-3)


@pytest.fixture(scope="module")
def splits():
    return default_splits("kjv", 300_000)


def test_budget_validation():
    with pytest.raises(ValueError, match="steps=0"):
        Budget(steps=0)
    with pytest.raises(ValueError, match="seconds=-1"):
        Budget(seconds=-1)
    with pytest.raises(ValueError, match="needs steps"):
        Budget()
    assert Budget(steps=10, seconds=100).progress(5, 90) == 0.9


@pytest.mark.parametrize("kw,msg", [
    (dict(lr=0), "lr=0"), (dict(batch_size=-2), "batch_size=-2"), (dict(schedule="step"), "schedule='step'"),
    (dict(n_head=3), "n_head=3"), (dict(warmup_frac=1.5), "warmup_frac=1.5"),
])
def test_bad_train_config(kw, msg):
    with pytest.raises(ValueError, match=msg):
        CFG.replace(**kw)


def test_from_scale_rejects_unknown_override():
    from looplab.config import get_scale
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_scale(get_scale("smoke"), learning_rate=1e-3)
    c = TrainConfig.from_scale(get_scale("smoke"), lr=1e-3)
    assert c.lr == 1e-3 and c.model.n_embd == get_scale("smoke").tiny.n_embd


def test_lr_schedule_shape():
    lr = 1e-3
    assert lr_at(0.0, lr, 0.1) == 0.0
    assert lr_at(0.05, lr, 0.1) == pytest.approx(0.5e-3)
    assert lr_at(0.1, lr, 0.1) == pytest.approx(lr)
    assert lr_at(1.0, lr, 0.1, "cosine", 0.1) == pytest.approx(1e-4)
    assert lr_at(1.0, lr, 0.1, "linear", 0.0) == pytest.approx(0.0)
    assert lr_at(0.55, lr, 0.1, "linear", 0.0) == pytest.approx(0.5e-3)
    assert lr_at(0.55, lr, 0.1, "cosine", 0.0) == pytest.approx(0.5e-3)  # cosine midpoint
    assert lr_at(0.3, lr, 0.1, "cosine") > lr_at(0.3, lr, 0.1, "linear")
    xs = [lr_at(p / 100, lr, 0.1) for p in range(10, 101)]
    assert all(a >= b for a, b in zip(xs, xs[1:]))


def test_bpb_from_loss():
    assert bpb_from_loss(math.log(2)) == pytest.approx(1.0)
    assert bpb_from_loss(math.log(256)) == pytest.approx(8.0)


def test_inline_step_matches_library_step(splits):
    """The lesson writes a training step out by hand; it must equal train_step exactly."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(splits.train, 4, 32, g)
    m1, m2 = build_model(CFG.model, seed=0), build_model(CFG.model, seed=0)
    o1, o2 = make_optimizer(m1, CFG), make_optimizer(m2, CFG)
    l1 = train_step(m1, o1, x, y, lr=1e-3, grad_clip=1.0)
    # inline version
    for grp in o2.param_groups:
        grp["lr"] = 1e-3
    logits = m2(input_ids=x).logits
    loss = torch.nn.functional.cross_entropy(logits.view(-1, 256), y.view(-1))
    o2.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m2.parameters(), 1.0)
    o2.step()
    assert l1 == pytest.approx(loss.item(), abs=1e-6)
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert all(torch.allclose(s1[k], s2[k], atol=1e-7) for k in s1)


def test_untrained_loss_near_uniform(splits):
    m = build_model(CFG.model, seed=0)
    loss = evaluate(m, splits.val, 8, 32, batches=2)
    assert abs(loss - math.log(256)) < 0.3


def test_train_learns_and_reports(splits):
    r = train(CFG, Budget(steps=60), splits, progress=False)
    assert r.steps == 60 and r.tokens == 60 * 8 * 32
    assert r.val_loss < math.log(256) - 1.5  # well below the uniform 5.55 nats
    assert r.val_bpb == pytest.approx(r.val_loss / math.log(2))
    assert r.flops == pytest.approx(flops_per_token(CFG.model) * r.tokens)
    assert r.tokens_per_s > 0 and 0 < r.mfu < 1.0   # a share of the measured matmul peak
    assert r.history[0]["lr"] == 0.0 and len(r.history) == 60
    d = r.to_dict()
    assert "model" not in d
    json.dumps(d)  # JSON-safe
    assert splits.test_reads == []  # training never touched the sealed test split


def test_same_seed_same_numbers_different_seed_differs(splits):
    a = train(CFG, Budget(steps=15), splits, progress=False, measure_peak=False)
    b = train(CFG, Budget(steps=15), splits, progress=False, measure_peak=False)
    c = train(CFG.replace(seed=1), Budget(steps=15), splits, progress=False, measure_peak=False)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert a.val_loss == b.val_loss
    assert a.val_loss != c.val_loss


def test_losses_read_in_batches_equal_a_read_every_step(splits):
    """train() reads its losses every LOSS_READ_EVERY steps; they are the floats a per-step read gives."""
    import torch

    from looplab.data import get_batch
    from looplab.train import LOSS_READ_EVERY, lr_at, make_optimizer, train_step

    steps = LOSS_READ_EVERY + 3                 # one batched read in the loop, the rest at the end
    r = train(CFG, Budget(steps=steps), splits, progress=False, measure_peak=False)
    m = build_model(CFG.model, seed=CFG.seed)
    opt, g = make_optimizer(m, CFG), torch.Generator().manual_seed(CFG.seed + 1)
    by_hand = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(CFG.seed)
        for i in range(steps):
            x, y = get_batch(splits.train, CFG.batch_size, CFG.model.block_size, g)
            by_hand.append(train_step(m, opt, x, y, lr_at(i / steps, CFG.lr, CFG.warmup_frac, CFG.schedule,
                                                           CFG.min_lr_ratio), CFG.grad_clip))
    assert [h["loss"] for h in r.history] == by_hand
    assert all(type(h["loss"]) is float for h in r.history) and [h["step"] for h in r.history] == list(range(1, steps + 1))


def test_a_diverged_run_stops_within_one_read(splits):
    """A loss that is not finite stops the run at the next read, with a warning naming the step."""
    import torch

    from looplab.train import LOSS_READ_EVERY

    m = build_model(CFG.model, seed=0)
    with torch.no_grad():
        m.transformer.wte.weight[0, 0] = float("nan")     # every step's loss is NaN
    with pytest.warns(UserWarning, match="became nan at step 1 "):
        r = train(CFG, Budget(steps=200), splits, model=m, progress=False, measure_peak=False)
    assert r.steps == LOSS_READ_EVERY and len(r.history) == r.steps
    assert math.isnan(r.history[0]["loss"]) and math.isnan(r.val_loss)


def test_seconds_budget_stops(splits):
    r = train(CFG, Budget(seconds=0.5), splits, progress=False, measure_peak=False)
    assert r.steps >= 1 and r.wall_s < 1.5


def test_train_tokens_need_val(splits):
    with pytest.raises(ValueError, match="val_tokens"):
        train(CFG, Budget(steps=1), train_tokens=splits.train, progress=False)
    with pytest.raises(TypeError, match="Budget"):
        train(CFG, 10, splits)


def test_train_config_holds_the_model_config_and_takes_knobs_flat():
    c = TrainConfig.knobs(n_layer=3, n_head=2, n_embd=32, lr=1e-3)
    assert isinstance(c.model, ModelConfig) and (c.model.n_layer, c.model.n_embd, c.lr) == (3, 32, 1e-3)
    d = c.to_dict()
    assert list(d) == list(TrainConfig.knob_names()) and d["n_layer"] == 3 and "model" not in d
    assert TrainConfig.knobs(**d) == c                       # the flat record round-trips
    wider = c.replace(n_embd=64, batch_size=4)
    assert (wider.model.n_embd, wider.model.n_layer, wider.batch_size, c.model.n_embd) == (64, 3, 4, 32)
    with pytest.raises(TypeError, match="knobs"):
        TrainConfig(model={"n_layer": 2})
    with pytest.raises(ValueError, match="n_head=3 must divide n_embd=32"):
        c.replace(n_head=3)
