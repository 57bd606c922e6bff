"""The one writer: atomic files (temp + rename), sha256 of what was written, per-split tallies."""

from __future__ import annotations

import contextlib
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


@dataclass
class SplitResult:
    """One dataset prepared: its train and test records, the tally of each, and facts about the sources."""

    train: list[dict]
    test: list[dict]
    train_tally: Tally
    test_tally: Tally
    info: dict = field(default_factory=dict)


@contextlib.contextmanager
def atomic_open(path: Path):
    """A binary file handle whose contents replace `path` only once the block finishes without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def write_jsonl(path: Path, records: list[dict]) -> str:
    """Write one JSON object per line, atomically; return the sha256 of the bytes written."""
    digest = hashlib.sha256()
    encode = json.JSONEncoder(ensure_ascii=False).encode  # same bytes as json.dumps(r, ensure_ascii=False)
    with atomic_open(path) as f:
        for start in range(0, len(records), 4096):  # bounded chunks: fast, small memory
            data = "".join(encode(r) + "\n" for r in records[start:start + 4096]).encode("utf-8")
            digest.update(data)
            f.write(data)
    return digest.hexdigest()
