"""Documents with provenance (lesson 04): every training document knows who wrote it.

:class:`Doc` is one document and its origin (real text, or generation k of a chain, with the
sampling settings); :func:`real_docs` cuts real documents of a chain's shape from a corpus;
:func:`docs_to_tokens` turns a set of documents into one training token stream.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..checks import whole

@dataclass(frozen=True)
class Doc:
    """One training document and its provenance.

    ``origin`` is ``"real"`` (human-written, from ``source``) or ``"synthetic"`` (sampled from model
    ``model_id``, which is generation ``generation`` of the chain, with the sampling settings
    given). Real documents have ``generation = -1``.
    """

    text: str
    origin: str                    # "real" | "synthetic"
    generation: int                # the generation of the model that wrote it; -1 for real text
    model_id: str                  # who wrote it: "<chain>/gen<k>@<weights hash>" or "real:<corpus>"
    index: int                     # position within its generation's batch
    seed: int | None = None        # sampling seed (synthetic)
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None

    def __post_init__(self):
        if self.origin not in ("real", "synthetic"):
            raise ValueError(f"origin={self.origin!r} must be 'real' or 'synthetic'")

    @property
    def is_synthetic(self) -> bool:
        return self.origin == "synthetic"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Doc":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})




def provenance_counts(docs: Sequence[Doc]) -> dict:
    """Bytes of training text per writer: ``{"real": ..., "gen0": ..., "gen1": ...}``."""
    out: dict[str, int] = {}
    for d in docs:
        key = "real" if d.origin == "real" else f"gen{d.generation}"
        out[key] = out.get(key, 0) + len(d.text.encode("utf-8"))
    return out


def weights_hash(model) -> str:
    """A short fingerprint of a torch model's weights (sha1 of every parameter's bytes)."""
    h = hashlib.sha1()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def real_docs(text: str, n: int, doc_bytes: int, seed: int, source: str = "real") -> list[Doc]:
    """``n`` real documents of ``doc_bytes`` characters, each starting at a random line start of ``text``.

    They have the shape of the synthetic documents (the model is prompted with a newline), so a
    real and a synthetic training set of the same size are comparable.
    """
    n = whole("n", n, 1)
    doc_bytes = whole("doc_bytes", doc_bytes, 1)
    if len(text) < doc_bytes + 2:
        raise ValueError(f"the real text ({len(text)} chars) is shorter than one document ({doc_bytes})")
    rng = np.random.default_rng(seed)
    starts = np.array([m.start() + 1 for m in re.finditer("\n", text[:len(text) - doc_bytes - 1])],
                      dtype=np.int64)
    if len(starts) == 0:
        starts = np.arange(len(text) - doc_bytes)
    pick = rng.choice(starts, size=n, replace=len(starts) < n)
    return [Doc(text[s:s + doc_bytes], "real", -1, f"real:{source}", i) for i, s in enumerate(pick)]


def docs_to_tokens(docs: Sequence[Doc], seed: int = 0):
    """One training token stream: the documents in a seeded random order, each after a newline."""
    import torch
    order = np.random.default_rng(seed).permutation(len(docs))
    text = "".join("\n" + docs[i].text for i in order)
    return torch.frombuffer(bytearray(text.encode("utf-8")), dtype=torch.uint8).long()

