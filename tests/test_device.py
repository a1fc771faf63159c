"""One place decides the device (looplab.config.device_name), and no training path falls back to
the CPU behind its back; the CPU path of the CUDA speed-ups (looplab.accel) is the plain step."""
import re
from pathlib import Path

import pytest
import torch

import looplab.config as config
from looplab.accel import Precision, exact_fp32, to_device
from looplab.config import get_scale
from looplab.data import default_splits, get_batch
from looplab.model import ModelConfig, build_model
from looplab.research.runner import Runner
from looplab.train import TrainConfig, Budget, lm_loss, make_optimizer, train, train_step

CFG = TrainConfig(model=ModelConfig(n_layer=1, n_head=2, n_embd=32, block_size=32), batch_size=4, eval_batches=1)
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this test needs a machine WITHOUT CUDA")


@pytest.fixture(scope="module")
def splits():
    return default_splits("kjv", 200_000)


@no_cuda
def test_forced_cuda_is_refused_up_front(monkeypatch):
    monkeypatch.setenv("LOOPLAB_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="LOOPLAB_DEVICE='cuda'.*no CUDA device"):
        config.device_name()
    monkeypatch.setenv("LOOPLAB_DEVICE", "gpu")
    with pytest.raises(ValueError, match="'gpu' is not a device; choose cuda, mps or cpu"):
        config.device_name()


@no_cuda
def test_lesson02_training_with_cuda_forced_fails_instead_of_using_the_cpu(monkeypatch, splits):
    monkeypatch.setenv("LOOPLAB_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        train(CFG, Budget(steps=1), splits, progress=False, measure_peak=False)


@no_cuda
def test_lesson03_runner_with_cuda_forced_fails_instead_of_using_the_cpu(monkeypatch, splits):
    monkeypatch.setenv("LOOPLAB_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        Runner(get_scale("smoke"), data=splits)({}, 0)


@no_cuda
def test_the_default_device_reaches_torch(monkeypatch, splits):
    """If device_name says cuda, train() and Runner hand "cuda" to torch, which cannot run it here:
    torch's own CUDA error proves nothing quietly trained on the CPU."""
    monkeypatch.delenv("LOOPLAB_DEVICE", raising=False)
    monkeypatch.setattr(config, "device_name", lambda: "cuda")
    torch_cuda_error = (AssertionError, RuntimeError)   # "Torch not compiled with CUDA enabled", or no driver
    with pytest.raises(torch_cuda_error, match="CUDA|cuda"):
        train(CFG, Budget(steps=1), splits, progress=False, measure_peak=False)
    r = Runner(get_scale("smoke"), data=splits)
    assert r.device == "cuda"
    with pytest.raises(torch_cuda_error, match="CUDA|cuda"):
        r({}, 0)


def test_forced_cpu_trains_on_the_cpu(monkeypatch, splits):
    monkeypatch.setenv("LOOPLAB_DEVICE", "cpu")
    res = train(CFG, Budget(steps=2), splits, progress=False, measure_peak=False)
    assert res.device == "cpu" and next(res.model.parameters()).device.type == "cpu"
    assert Runner(get_scale("smoke"), data=splits).device == "cpu"


def test_no_library_path_hard_codes_the_cpu():
    lib = Path(config.__file__).parent
    pattern = re.compile(r"""(device\s*(:\s*str\s*)?=\s*["']cpu["'])|(device\s+or\s+["']cpu["'])""")
    hits = [f"{p.relative_to(lib)}:{i}: {line.strip()}" for p in sorted(lib.rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if pattern.search(line) and p.name != "costs.py"]  # lesson 01 (economics/costs.py): machine_flops(device="cpu"), see the note
    assert not hits, "device defaults that bypass looplab.config.device_name:\n" + "\n".join(hits)


def test_mps_that_fails_a_training_step_falls_back_with_a_message(monkeypatch, capsys):
    """This machine has no MPS: pretending it does makes the probe's step fail for real."""
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        pytest.skip("a real MPS device is present")
    monkeypatch.delenv("LOOPLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    config._mps_usable.cache_clear()
    try:
        assert config.device_name() == "cpu"
        out = capsys.readouterr().out
        assert "MPS is present but a test training step failed" in out and "using the CPU" in out
        assert config.device_name() == "cpu" and capsys.readouterr().out == ""   # said once
    finally:
        config._mps_usable.cache_clear()


def test_cpu_precision_is_the_plain_training_step(splits):
    """train_step on the CPU (precision default and explicit) is bit for bit the textbook step."""
    g = torch.Generator().manual_seed(3)
    x, y = get_batch(splits.train, 4, 32, g)
    prec = Precision("cpu")
    assert prec.dtype is None and prec.scaler is None and prec.dtype_name == "float32"
    assert to_device(x, "cpu") is x
    models = [build_model(CFG.model, seed=5) for _ in range(3)]
    opts = [make_optimizer(m, CFG) for m in models]
    for _ in range(3):
        train_step(models[0], opts[0], x, y, lr=1e-3, grad_clip=1.0)
        train_step(models[1], opts[1], x, y, lr=1e-3, grad_clip=1.0, precision=prec)
        m, opt = models[2], opts[2]
        for group in opt.param_groups:
            group["lr"] = 1e-3
        loss = lm_loss(m, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    ref = models[2].state_dict()
    for m in models[:2]:
        assert all(torch.equal(v, ref[k]) for k, v in m.state_dict().items())
    with exact_fp32("cpu"), torch.no_grad():   # a no-op off CUDA
        assert float(lm_loss(models[0], x, y)) == float(lm_loss(models[2], x, y))


def test_the_mixed_precision_branch_trains(splits):
    """The CUDA branch of Precision (autocast + GradScaler: unscale before clipping, scaler step),
    exercised on the CPU with bf16 autocast and a CPU GradScaler, since no GPU is here."""
    prec = Precision("cpu")
    prec.dtype, prec.scaler = torch.bfloat16, torch.amp.GradScaler("cpu", init_scale=2.0 ** 12)
    assert prec.dtype_name == "bfloat16" and "GradScaler" in repr(prec)
    g = torch.Generator().manual_seed(4)
    x, y = get_batch(splits.train, 8, 32, g)
    with prec.autocast():
        assert (x.float() @ torch.ones(32, 2)).dtype == torch.bfloat16
    model = build_model(CFG.model, seed=6)
    opt = make_optimizer(model, CFG)
    losses = [train_step(model, opt, x, y, lr=3e-3, grad_clip=1.0, precision=prec) for _ in range(25)]
    assert losses[-1] < losses[0] - 0.5, losses
    assert all(p.dtype == torch.float32 for p in model.parameters())   # weights stay fp32
    assert 0 < prec.scaler.get_scale() <= 2.0 ** 12


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_the_graphed_step_computes_what_train_step_computes(device, splits):
    """GraphedStep (a CUDA graph on CUDA; the same operations eagerly elsewhere) against train_step on the
    same batches and learning rates: the same losses and weights (bit for bit on the CPU, to bf16's rounding
    on CUDA, where the capture is real: a graph is recorded after the warm-up calls and then replayed)."""
    from looplab.accel import GraphedStep

    prec = Precision(device)
    g = torch.Generator().manual_seed(7)
    batches = [get_batch(splits.train, CFG.batch_size, CFG.model.block_size, g) for _ in range(8)]
    lrs = [(i + 1) / 1024 for i in range(8)]   # exact in float32, the lr tensor's dtype
    eager, graphed = build_model(CFG.model, seed=2).to(device), build_model(CFG.model, seed=2).to(device)
    opt = make_optimizer(eager, CFG)
    step = GraphedStep(graphed, make_optimizer(graphed, CFG, capturable=True), CFG.batch_size, CFG.model.block_size,
                       CFG.grad_clip, prec)
    a = [train_step(eager, opt, to_device(x, device), to_device(y, device), lr, CFG.grad_clip, prec)
         for (x, y), lr in zip(batches, lrs)]
    b = [float(step(x, y, lr)) for (x, y), lr in zip(batches, lrs)]
    assert step.calls == 8 and (step.graph is not None) == (device == "cuda")
    sa, sb = eager.state_dict(), graphed.state_dict()
    if device == "cpu":
        assert a == b and all(torch.equal(sa[k], sb[k]) for k in sa)
    else:
        assert a == pytest.approx(b, abs=2e-2)   # the same kernels; bf16 and atomics in attention's backward differ a little
        assert all(float((sa[k] - sb[k]).norm()) <= 1e-2 * float(sa[k].norm()) + 1e-6 for k in sa)


def test_graphed_step_refuses_what_a_graph_cannot_hold(splits):
    """A gradient scaler (float16 GPUs) or a float learning rate: a clear error naming the fix; train()
    asked for a graph where none can be recorded says so and trains eagerly, the same numbers as without."""
    from looplab.accel import GraphedStep

    m = build_model(CFG.model, seed=0)
    prec = Precision("cpu")
    with pytest.raises(ValueError, match="capturable=True"):
        GraphedStep(m, make_optimizer(m, CFG), 4, 32, 1.0, prec)
    prec.scaler = torch.amp.GradScaler("cpu")
    with pytest.raises(ValueError, match="gradient scaler"):
        GraphedStep(m, make_optimizer(m, CFG, capturable=True), 4, 32, 1.0, prec)
    assert not GraphedStep.possible("cpu", Precision("cpu"))
    with pytest.warns(UserWarning, match="cuda_graph=True needs a CUDA GPU.*training eagerly"):
        r = train(CFG, Budget(steps=5), splits, progress=False, measure_peak=False, cuda_graph=True, device="cpu")
    plain = train(CFG, Budget(steps=5), splits, progress=False, measure_peak=False, device="cpu")
    assert [h["loss"] for h in r.history] == [h["loss"] for h in plain.history]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="a CUDA graph is recorded on a CUDA GPU only")
def test_train_with_a_cuda_graph_matches_eager_training(splits):
    """train(cuda_graph=True) on CUDA: the loop around the graphed step (warm-up, capture, replays, batched
    loss reads) ends where eager training ends, to bf16's rounding."""
    a = train(CFG, Budget(steps=30), splits, progress=False, measure_peak=False, device="cuda")
    b = train(CFG, Budget(steps=30), splits, progress=False, measure_peak=False, device="cuda", cuda_graph=True)
    assert b.steps == 30 and len(b.history) == 30
    assert [h["loss"] for h in a.history] == pytest.approx([h["loss"] for h in b.history], abs=5e-2)
    assert b.val_bpb == pytest.approx(a.val_bpb, rel=0.02)
