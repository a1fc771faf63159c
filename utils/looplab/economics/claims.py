"""Grading published claims about training cost (lesson 01): the claims, the cited paper's figures,
compute measured from hardware, and the statistics that grade them.

* ``ESSAY`` / ``ESSAY_CLAIMS`` -- the essay the course grades and its checkable claims, quoted as
  claims (never as facts);
* ``PAPER`` -- what Cottier et al. (2024), the study the essay cites, actually report;
* ``HARDWARE_RUNS`` / :func:`hardware_flops` / :func:`hardware_table` -- training compute from
  chips x hours x peak x utilisation, with every figure linked to its primary source, to check
  ``6 N D`` against something that is not ``6 N D``;

The statistics that grade them live in :mod:`looplab.economics.growthtests`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..checks import positive
from .costs import CHIPS, training_flops

# ----------------------------------------------------------------------------------------------
# The claims and the paper
# ----------------------------------------------------------------------------------------------
ESSAY = ('Tarry Singh, "Karpathy Joins Anthropic, and the Training Loop Starts to Close" (2026), '
         'an essay (the author writes at tarrysingh.com)')


@dataclass(frozen=True)
class Claim:
    """One checkable sentence of the essay, and the number(s) it commits to."""

    key: str
    quote: str            # the essay's words, quoted as a claim to grade
    value: float | tuple  # the number (or range) the sentence commits to
    unit: str
    attributed_to: str    # whom the essay credits for it


ESSAY_CLAIMS: dict[str, Claim] = {c.key: c for c in [
    Claim("rate_since_2020", "rising about 3.5x a year since 2020", 3.5, "x per year",
          "Epoch AI's cost work"),
    Claim("doubling", "a doubling roughly every seven months", 7.0, "months", "Epoch AI's cost work"),
    Claim("run_2026", "A 2026-class run sits somewhere between $200M and $500M", (200e6, 500e6), "USD",
          "(no source given)"),
    Claim("billion_2027", "the largest runs past a billion dollars by 2027", 1e9, "USD",
          "the underlying study"),
]}


@dataclass(frozen=True)
class Paper:
    citation: str
    url: str
    rate: float                 # x per year since 2016, amortized hardware + energy cost
    rate_ci: tuple              # its interval
    rate_ci_level: float
    data_end: float             # the paper's data run to the end of 2023
    revision_note: str
    projection: str             # the paper's own forward claim, quoted


PAPER = Paper(
    citation=("Cottier, Rahman, Fattorini, Maslej, Besiroglu, Owen (2024), 'The rising costs of training "
              "frontier AI models', arXiv:2405.21015 (Epoch AI)"),
    url="https://arxiv.org/abs/2405.21015",
    rate=2.4, rate_ci=(2.0, 2.9), rate_ci_level=0.90, data_end=2024.0,
    revision_note="a later arXiv revision of the abstract gives the same 2.4x with a 95% CI of 2.0-3.1",
    projection="the largest training runs will cost more than a billion dollars by 2027",
)


# ----------------------------------------------------------------------------------------------
# Compute from the hardware: chips x hours x peak x utilisation
# ----------------------------------------------------------------------------------------------
def hardware_flops(chip_hours: float, peak_flops: float, utilization: float) -> float:
    """FLOPs a run's hardware did: ``chip_hours * 3600 * peak_flops * utilization``.

    ``utilization`` is the share of peak the chips delivered (MFU, or an achieved FLOP/s per chip
    divided by the peak), in (0, 1].
    """
    h = positive("chip_hours", chip_hours)
    p = positive("peak_flops", peak_flops)
    u = positive("utilization", utilization, hi=1.0)
    return h * 3600.0 * p * u


@dataclass(frozen=True)
class HardwareRun:
    """A training run whose chip-hours and utilisation were published, with the sources."""

    name: str
    params: float
    tokens: float                # tokens the run processed (not the dataset's size)
    chip: str                    # key of economics.CHIPS, for the peak
    chip_hours: float
    util_low: float              # share of peak delivered (a range where the source gives one)
    util_high: float
    util_kind: str               # "MFU" (model FLOPs) or "achieved" (hardware FLOP/s per chip)
    sources: str                 # what each figure is and where it is published (with links)
    note: str = ""
    published_flops: float = math.nan   # a total the team itself published, where there is one

    @property
    def peak(self) -> float:
        return CHIPS[self.chip].peak_flops

    def hardware(self) -> tuple[float, float]:
        """(low, high) compute from chip-hours x peak x utilisation."""
        return (hardware_flops(self.chip_hours, self.peak, self.util_low),
                hardware_flops(self.chip_hours, self.peak, self.util_high))

    def six_nd(self) -> float:
        return training_flops(self.params, self.tokens)


OPT_LOGBOOK = "https://github.com/facebookresearch/metaseq/blob/main/projects/OPT/chronicles/final_update.md"
HARDWARE_RUNS: dict[str, HardwareRun] = {r.name: r for r in [
    HardwareRun(
        "OPT-175B", 175e9, 300e9, "A100", 1024 * 33 * 24, 147 / 312, 147 / 312, "achieved",
        "1,024 A100s for ~33 days, 300B tokens and ~4.30e23 FLOPs: the OPT team's final logbook note, "
        f"{OPT_LOGBOOK}; 147 TFLOP/s per GPU: Zhang et al. 2022, section 2.3, https://arxiv.org/abs/2205.01068",
        note="the 33 days are the logbook's own FLOPs at full speed ('assuming no hardware issues'); "
             "the notes cover ~90 restarts. The paper's corpus is 180B tokens, the run processed 300B",
        published_flops=4.30e23),
    HardwareRun(
        "BLOOM-176B", 176.247e9, 366e9, "A100", 1_082_990, 156 / 312, 156 / 312, "achieved",
        "1,082,990 GPU-hours on A100 80GB, 156 TFLOP/s per GPU in the fastest configuration, 366B tokens: "
        "BigScience 2022, https://arxiv.org/abs/2211.05100 (the hours and rate also in GENCI's note, "
        "https://www.genci.fr/en/news/bloom-one-largest-open-multilingual-nlp-models-awarded-best-hpc-collaboration-hpc-wire-readers)",
        note="156 TFLOP/s was the best configuration's rate; the hours are the whole 3.5-month run"),
    HardwareRun(
        "PaLM 540B", 540.35e9, 780e9, "TPUv4", 6144 * 1200 + 3072 * 336, 0.462, 0.462, "MFU",
        "6,144 TPU v4 chips for 1,200 h and 3,072 for 336 h 'including some downtime and repeated steps', "
        "MFU 46.2% (hardware FLOPs utilisation 57.8% with rematerialization), 780B tokens: Chowdhery et "
        "al. 2022, section 4 and Appendix B, https://arxiv.org/abs/2204.02311",
        note="MFU is measured at steady state; the chip-hours include downtime and repeated steps"),
    HardwareRun(
        "Llama 3.1 405B", 405e9, 15.6e12, "H100", 30.84e6, 0.38, 0.43, "MFU",
        "30.84M H100-80GB GPU-hours ('total GPU time required for training'): the Llama 3.1 model card, "
        "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/MODEL_CARD.md; BF16 MFU "
        "38-43% and 15.6T tokens: Llama Team 2024, Table 4 and section 3, https://arxiv.org/abs/2407.21783",
        note="the GPU-hours cover the whole training, the MFU only the main pre-training configurations"),
]}

# Llama 3 405B's shape (Llama Team 2024, Table 3): 126 layers, width 16,384; main pre-training at 8,192 tokens.
LLAMA3_405B_SHAPE = {"n_layer": 126, "d_model": 16384, "context": 8192}
PALM_HFU_MFU = (0.578, 0.462)   # PaLM 540B with and without rematerialization FLOPs (Appendix B)


def hardware_table():
    """One row per ``HARDWARE_RUNS`` entry: 6ND, the hardware estimate (low/high), their ratio and
    the utilisation 6ND implies over all the chip-hours."""
    import pandas as pd
    rows = []
    for r in HARDWARE_RUNS.values():
        lo, hi = r.hardware()
        six = r.six_nd()
        rows.append({"run": r.name, "chip-hours": r.chip_hours, "chip": r.chip,
                     "utilisation": (f"{r.util_low:.2f}" if r.util_low == r.util_high
                                     else f"{r.util_low:.2f}-{r.util_high:.2f}") + f" ({r.util_kind})",
                     "6ND": six, "hardware low": lo, "hardware high": hi,
                     "6ND / hw (min)": six / hi, "6ND / hw (max)": six / lo,
                     "implied util of 6ND": six / (r.chip_hours * 3600.0 * r.peak),
                     "published total": r.published_flops})
    return pd.DataFrame(rows).set_index("run")


