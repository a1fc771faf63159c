"""Speed on a CUDA GPU without touching the CPU path: mixed precision, TF32, non-blocking copies.

On CUDA, :class:`Precision` runs the forward pass and loss under ``torch.autocast``: bfloat16
where the GPU supports it (Ampere and newer: A100, H100, L4), else float16 with a gradient scaler
(a T4, Colab's free GPU), since float16 gradients of small values underflow to zero without one.
Matmuls left in float32 may use TF32 there. Evaluation uses :func:`exact_fp32`, so a val_bpb
read on a GPU is the float32 number a CPU would give (to rounding). On the CPU and on MPS every
helper here does nothing: the same operations run in the same order, bit for bit.
"""
from __future__ import annotations

import contextlib


class Precision:
    """How one training run on ``device`` computes: autocast dtype and gradient scaler (CUDA only)."""

    def __init__(self, device):
        import torch
        self.device = torch.device(device).type
        self.dtype, self.scaler = None, None
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
        """The context the forward pass and loss run in (a no-op off CUDA)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        import torch
        return torch.autocast(self.device, dtype=self.dtype)

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
