"""The ledger: every experiment, appended to a JSONL file the moment it finishes.

One JSON object per line. A record is written (and flushed to disk) only after its experiment
has finished, so a loop killed at any point loses at most the experiment that was running, and on
resume the loop reads the ledger to skip everything already done -- nothing lost, nothing run
twice. A half-written last line (the process died mid-write) is cut off on open. Secrets are
scrubbed from every record before it is written (see :func:`scrub`).
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

# A record's status, one spelling for the whole package:
BASELINE = "baseline"     # a replicate of the base config (the noise floor)
KEPT = "kept"             # ran, and beat the best so far by more than the keep rule's bar
DISCARDED = "discarded"   # ran, and did not
FAILED = "failed"         # the run crashed (its slot is spent)
REJECTED = "rejected"     # never ran: outside the space, or rejected at sign-off
TEST = "test"             # the one read of the sealed test split for a choice
PENDING = "pending"       # an in-flight proposal of a batch: never written (Proposer.propose_batch)
RUN_STATUSES = (KEPT, DISCARDED)                  # ran and was judged by the keep rule
SLOT_DONE_STATUSES = RUN_STATUSES + (FAILED,)     # a run that crashed also spends its slot
STATUSES = (BASELINE, KEPT, DISCARDED, FAILED, REJECTED, TEST)

# Environment variables whose *values* must never reach a file.
SECRET_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LOOPLAB_LLM_API_KEY", "HF_TOKEN")
_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{16,})")
REDACTED = "[redacted]"
_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret (e.g. an API key passed as an argument) so :func:`scrub` removes it."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def scrub(obj: Any) -> Any:
    """A copy of ``obj`` with API keys removed from every string (keys of dicts included)."""
    if isinstance(obj, str):
        for name in SECRET_ENV:
            val = os.environ.get(name)
            if val and len(val) >= 6:
                obj = obj.replace(val, REDACTED)
        for val in _extra_secrets:
            obj = obj.replace(val, REDACTED)
        return _KEY_PATTERN.sub(REDACTED, obj)
    if isinstance(obj, dict):
        return {scrub(k): scrub(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else (1e300 if obj > 0 else -1e300)
    return obj


class Ledger:
    """An append-only JSONL log of experiments at ``path`` (created if missing)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dropped_partial = self._repair()

    def _repair(self) -> bool:
        """Cut a half-written last line (no trailing newline); return whether one was cut."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        data = self.path.read_bytes()
        if data.endswith(b"\n"):
            return False
        cut = data.rfind(b"\n") + 1
        with open(self.path, "r+b") as f:
            f.truncate(cut)
        return True

    def append(self, record: dict) -> dict:
        """Scrub, stamp and durably append one record; return what was written."""
        rec = scrub(dict(record))
        rec.setdefault("logged_at", time.time())
        line = json.dumps(rec, sort_keys=False, allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        return rec

    def records(self) -> list[dict]:
        """Every record, in order."""
        if not self.path.exists():
            return []
        out = []
        with open(self.path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise ValueError(f"{self.path}: line {i + 1} is not JSON ({e})") from None
        return out

    def where(self, **match) -> list[dict]:
        """Records whose fields equal every ``match`` value."""
        return [r for r in self.records() if all(r.get(k) == v for k, v in match.items())]

    def __len__(self) -> int:
        return len(self.records())

    def to_frame(self):
        """The ledger as a pandas DataFrame; the ``config`` dict is also spread into columns."""
        import pandas as pd
        recs = self.records()
        df = pd.DataFrame(recs)
        if "config" in df and len(df):
            cfg = pd.DataFrame([r.get("config") or {} for r in recs]).add_prefix("cfg.")
            df = pd.concat([df, cfg], axis=1)
        return df

