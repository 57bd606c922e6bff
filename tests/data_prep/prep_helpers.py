"""Small helpers shared by the data_prep tests (a unique module name: conftest modules can collide)."""

from __future__ import annotations

import json
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"  # the command lines (make_qa_sample.py)


def read_jsonl(path: Path) -> list[dict]:
    # LF only, as LLaMA-Factory's json loader splits: a raw U+2028 inside a string is not a line end
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
