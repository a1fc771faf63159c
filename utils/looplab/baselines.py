"""Lesson 02's verdicts: the trained model against the yardsticks the lesson computes in front of the
learner (the uniform 8 bits per byte, a unigram byte model fitted on train and scored on validation, and
zlib -9 on the validation text).
"""
from __future__ import annotations

from .verdict import Verdict, record


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
