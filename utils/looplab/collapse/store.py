"""The on-disk chain store (lesson 04): atomic JSON / JSONL, so an interrupted chain resumes."""
from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from pathlib import Path

from ..files import atomic_write_bytes, atomic_write_json, atomic_write_text
from .documents import Doc

def atomic_write_jsonl(path: str | Path, rows: Sequence[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class ChainStore:
    """A chain's folder: ``chain.json`` (its config), one ``gen_KKK/`` per finished generation.

    ``gen_KKK/docs.jsonl`` holds the documents generation k's model wrote (with provenance) and
    ``gen_KKK/metrics.json`` its metrics; metrics are written LAST, so a generation counts as done
    only when both are on disk. ``gen_KKK/model.pt`` (optional) holds its weights.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def gen_dir(self, k: int) -> Path:
        return self.root / f"gen_{k:03d}"

    def open(self, config: dict, fresh: bool = False) -> None:
        """Start or resume: a stored chain with a different config is an error unless ``fresh``."""
        meta = self.root / "chain.json"
        if meta.exists() and not fresh:
            stored = json.loads(meta.read_text(encoding="utf-8"))
            if stored.get("config") != config:
                diff = sorted(k for k in set(stored.get("config", {})) | set(config)
                              if stored.get("config", {}).get(k) != config.get(k))
                raise ValueError(
                    f"{self.root} holds a chain with a different config (differs in: {', '.join(diff)}); "
                    "pass fresh=True to overwrite it, or choose another folder")
            return
        if fresh and self.root.exists():
            for k in range(10_000):
                d = self.gen_dir(k)
                if not d.exists():
                    break
                for f in d.iterdir():
                    f.unlink()
                d.rmdir()
        atomic_write_json(meta, {"config": config, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def done(self, k: int) -> bool:
        return (self.gen_dir(k) / "metrics.json").exists() and (self.gen_dir(k) / "docs.jsonl").exists()

    def finished(self) -> int:
        """Number of consecutive finished generations from 0."""
        k = 0
        while self.done(k):
            k += 1
        return k

    def save_generation(self, k: int, docs: Sequence[Doc], metrics: dict, model=None) -> None:
        d = self.gen_dir(k)
        if model is not None:
            import torch
            buf = io.BytesIO()
            torch.save(model.state_dict(), buf)
            atomic_write_bytes(self._mk(d) / "model.pt", buf.getvalue())
        atomic_write_jsonl(d / "docs.jsonl", [doc.to_json() for doc in docs])
        atomic_write_json(d / "metrics.json", metrics)   # last: marks the generation done

    @staticmethod
    def _mk(d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        return d

    def load_docs(self, k: int) -> list[Doc]:
        return [Doc.from_json(r) for r in read_jsonl(self.gen_dir(k) / "docs.jsonl")]

    def load_metrics(self, k: int) -> dict:
        return json.loads((self.gen_dir(k) / "metrics.json").read_text(encoding="utf-8"))

    def load_state_dict(self, k: int):
        import torch
        p = self.gen_dir(k) / "model.pt"
        if not p.exists():
            raise FileNotFoundError(f"{p} not found: run the chain with save_models=True to keep weights")
        return torch.load(p, map_location="cpu", weights_only=True)

