"""Yardsticks a byte-level language model has to beat on held-out text, in bits per byte, and lesson 02's
verdicts against them.

* uniform over 256 bytes: 8 bits per byte, a model that knows nothing;
* :func:`unigram_bpb` -- a byte's frequency in the training text, nothing else (add-one smoothed), scored
  on validation text: the cross-entropy of a model without context;
* :func:`zlib_bpb` -- zlib at level 9, a general-purpose compressor, on the validation text itself.

:func:`lesson02_verdicts` compares a trained model's validation bits per byte with the last two.
"""
from __future__ import annotations

import zlib

import torch

from .verdict import Verdict, record

def _byte_ids(ids, name: str) -> torch.Tensor:
    t = torch.as_tensor(ids)
    if t.ndim != 1 or t.numel() == 0 or t.is_floating_point() or int(t.min()) < 0 or int(t.max()) > 255:
        raise ValueError(f"{name} must be a non-empty 1-D tensor of byte ids in 0..255")
    return t.long()


def byte_unigram(train) -> torch.Tensor:
    """Each byte's probability in ``train`` (1-D byte ids), add-one smoothed so no byte has probability zero
    (float64, 256 entries)."""
    counts = torch.bincount(_byte_ids(train, "train"), minlength=256).double() + 1.0
    return counts / counts.sum()


def unigram_bpb(train, val) -> float:
    """Cross-entropy on ``val`` of :func:`byte_unigram` fitted on ``train``, in bits per byte."""
    return float(-(byte_unigram(train)[_byte_ids(val, "val")].log2()).mean())


def zlib_bpb(val) -> float:
    """zlib -9's compressed size of ``val`` (1-D byte ids), in bits per byte of ``val``."""
    data = bytes(_byte_ids(val, "val").tolist())
    return 8 * len(zlib.compress(data, 9)) / len(data)


def lesson02_verdicts(val_bpb: float, unigram: float, zlib_: float, seed: int, required: bool) -> dict[str, Verdict]:
    """Lesson 02's two verdicts on one trained model (``val_bpb``, training seed ``seed``), both recorded:
    ``"unigram"``, it beats the unigram byte model's bits per byte ``unigram`` (must hold when ``required``),
    and ``"zlib"``, it beats zlib -9's ``zlib_`` (reported)."""
    return {
        "unigram": record(
            "02", "The trained GPT predicts held-out text better than a context-free (unigram) byte model",
            "val_bpb of the GPT", val_bpb, "val_bpb < the unigram model's bits/byte on the same text", unigram,
            [seed], holds=val_bpb < unigram, must_hold=required,
            false_positive_rate="one seed; at workshop scale the margin (~2 bits/byte) is about 100x the "
                                "seed-to-seed spread lesson 03 measures",
            detail=f"margin {unigram - val_bpb:+.3f} bits/byte"),
        "zlib": record(
            "02", "The trained GPT compresses held-out text better than zlib -9",
            "val_bpb of the GPT", val_bpb, "val_bpb < zlib -9 bits/byte on the same text", zlib_,
            [seed], holds=val_bpb < zlib_, must_hold=False, false_positive_rate="one seed, a reported comparison",
            detail=f"margin {zlib_ - val_bpb:+.3f} bits/byte")}
