"""Speed on a CUDA GPU without touching the CPU path: mixed precision, TF32, non-blocking copies, and
the training step recorded once as a CUDA graph (:class:`GraphedStep`, opt-in).

On CUDA, :class:`Precision` runs the forward pass and loss under ``torch.autocast``: bfloat16
where the GPU supports it (Ampere and newer: A100, H100, L4), else float16 with a gradient scaler
(a T4, Colab's free GPU), since float16 gradients of small values underflow to zero without one.
Matmuls left in float32 may use TF32 there. Evaluation uses :func:`exact_fp32`, so a val_bpb
read on a GPU is the float32 number a CPU would give (to rounding). On the CPU and on MPS every
helper here does nothing: the same operations run in the same order, bit for bit.
"""
from __future__ import annotations

import contextlib
import copy
import warnings


class Precision:
    """How one training run on ``device`` computes: autocast dtype and gradient scaler (CUDA only)."""

    def __init__(self, device):
        import torch
        self.device = torch.device(device).type
        self.dtype, self.scaler = None, None
        self.cache_weights = True     # autocast keeps 16-bit copies of the weights within a step (not in a CUDA graph)
        if self.device == "cuda" and torch.cuda.is_available():  # (else torch refuses the model move)
            torch.backends.cuda.matmul.allow_tf32 = True   # fp32 matmuls outside autocast: TF32
            torch.backends.cudnn.allow_tf32 = True
            if torch.cuda.is_bf16_supported():
                self.dtype = torch.bfloat16
            else:                                          # pre-Ampere: fp16 needs loss scaling
                self.dtype = torch.float16
                self.scaler = torch.amp.GradScaler("cuda")

    def __repr__(self) -> str:
        what = "float32" if self.dtype is None else f"autocast {self.dtype_name}"
        return f"Precision({self.device}: {what}{' + GradScaler' if self.scaler else ''})"

    @property
    def dtype_name(self) -> str:
        """The dtype the matmuls run in: ``"float32"``, ``"bfloat16"`` or ``"float16"``."""
        return "float32" if self.dtype is None else str(self.dtype).replace("torch.", "")

    def autocast(self):
        """The context the forward pass and loss run in (a no-op off CUDA). With ``cache_weights`` False it
        recasts the weights at every use instead of caching their 16-bit copies, as a CUDA graph needs."""
        if self.dtype is None:
            return contextlib.nullcontext()
        import torch
        return torch.autocast(self.device, dtype=self.dtype, cache_enabled=self.cache_weights)

    def backward(self, loss) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer) -> None:
        """Bring scaled gradients back to their true size (before clipping their norm)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> None:
        """The optimizer step (skipped by the scaler if fp16 gradients overflowed)."""
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)
            self.scaler.update()


class GraphedStep:
    """:func:`looplab.train.train_step` recorded once as a CUDA graph, then replayed: one launch a step.

    A small model's step on a GPU is bound by launches, not arithmetic: some hundreds of kernels of a
    few microseconds each, every one queued by Python. A CUDA graph records those kernels once and
    replays them all with one call. Replaying needs the same memory every step, so the batch is copied
    into fixed input buffers, the learning rate lives in a device tensor that AdamW's fused kernel reads
    (``make_optimizer(..., capturable=True)``), and autocast recasts the weights instead of caching them.
    No gradient scaler: its overflow check reads a number off the GPU, so a float16 GPU (a T4) trains
    eagerly (:attr:`possible`). Dropout is safe: PyTorch's CUDA generator is graph-aware.

    ``step(x, y, lr)`` returns the loss as a 0-d device tensor, as ``train_step(..., sync=False)`` does.
    The first ``warmup`` calls run eagerly on a side stream, as PyTorch requires before a capture (they
    also create the optimizer's state); the next call records the graph and replays it; later calls
    replay. Off CUDA every call runs the same operations eagerly (no gain; it is how the CPU tests check
    that the graphed step computes what ``train_step`` computes).
    """

    def __init__(self, model, optimizer, batch_size: int, block_size: int, grad_clip: float, precision,
                 warmup: int = 3):
        import torch
        if precision.scaler is not None:
            raise ValueError(f"a CUDA graph cannot hold a gradient scaler ({precision!r}): train eagerly on this GPU.")
        if not all(isinstance(g["lr"], torch.Tensor) for g in optimizer.param_groups):
            raise ValueError("the optimizer's lr must be a device tensor: build it with make_optimizer(..., capturable=True).")
        dev = next(model.parameters()).device
        self.capture = dev.type == "cuda"
        self.prec = copy.copy(precision)
        self.prec.cache_weights = not self.capture
        self.model, self.opt, self.grad_clip, self.warmup = model, optimizer, grad_clip, warmup
        self.x = torch.zeros(batch_size, block_size, dtype=torch.long, device=dev)
        self.y = torch.zeros_like(self.x)
        self.stream = torch.cuda.Stream(dev) if self.capture else None  # warm-up and capture on one stream, so
        self.calls, self.graph, self.loss = 0, None, None                # per-stream library handles exist first

    @staticmethod
    def possible(device, precision) -> bool:
        """True where a graph can be recorded: CUDA without a gradient scaler (whether it pays: bench_gpu.py)."""
        import torch
        return torch.device(device).type == "cuda" and precision.scaler is None

    def _work(self):
        """train_step on the fixed buffers, leaving the learning rate where __call__ put it (what is recorded)."""
        from .train import train_step
        return train_step(self.model, self.opt, self.x, self.y, None, self.grad_clip, self.prec, sync=False)

    def __call__(self, x, y, lr: float):
        import torch
        self.x.copy_(to_device(x, self.x.device))
        self.y.copy_(to_device(y, self.y.device))
        for g in self.opt.param_groups:
            g["lr"].fill_(lr)
        self.calls += 1
        if not self.capture:
            return self._work()
        if self.calls <= self.warmup:          # eager, on a side stream (PyTorch's recipe before a capture)
            self.stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.stream), warnings.catch_warnings():
                # AdamW warns that a capturable optimizer is stepping uncaptured: here it is, on purpose
                warnings.filterwarnings("ignore", message="This instance was constructed with capturable=True")
                loss = self._work()
            torch.cuda.current_stream().wait_stream(self.stream)
            return loss
        if self.graph is None:   # record once (train_step's zero_grad frees the gradients, so the graph makes its own, reused)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph, stream=self.stream):
                self.loss = self._work()
        self.graph.replay()
        return self.loss.clone()               # the next replay overwrites self.loss


def to_device(t, device):
    """``t`` on ``device``; to CUDA through pinned memory without blocking (the copy overlaps compute)."""
    import torch
    if torch.device(device).type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


@contextlib.contextmanager
def exact_fp32(device):
    """Within: float32 matmuls on CUDA in full float32 (no TF32), for comparable evaluations."""
    import torch
    if torch.device(device).type != "cuda":
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
