"""The one writer: atomic files (temp + rename), sha256 of what was written, per-split tallies."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MAX_SKIP_EXAMPLES = 5


@dataclass
class Tally:
    """What happened to every raw record of one output split: read == written + sum(skipped)."""

    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, record_id: str = "", n: int = 1) -> None:
        self.skipped[reason] += n
        if record_id and len(self.examples.setdefault(reason, [])) < MAX_SKIP_EXAMPLES:
            self.examples[reason].append(record_id)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def write_jsonl(path: Path, records: list[dict]) -> str:
    """Write one JSON object per line, atomically; return the sha256 of the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            encode = json.JSONEncoder(ensure_ascii=False).encode  # same bytes as json.dumps(r, ensure_ascii=False)
            for start in range(0, len(records), 4096):  # bounded chunks: fast, small memory
                chunk = "".join(encode(r) + "\n" for r in records[start:start + 4096])
                data = chunk.encode("utf-8")
                digest.update(data)
                f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return digest.hexdigest()
