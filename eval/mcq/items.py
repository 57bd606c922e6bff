"""Prepared multiple-choice files (data_prep's `<task>_test.jsonl`, `<task>_dev.jsonl`), read and checked:
anything eval cannot score is an InputError naming the file and line."""

from __future__ import annotations

import re
from pathlib import Path

from ..inputs import InputError, read_jsonl

_LETTERS = re.compile(r"[A-Z]+")
GROUPS = ("medical", "general")


def _check(where: str, item: dict) -> None:
    for key in ("id", "benchmark", "subject", "question"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise InputError(f"{where}: `{key}` must be a non-empty string, got {item.get(key)!r:.60}")
    if item.get("group") not in GROUPS:
        raise InputError(f"{where}: `group` must be one of {', '.join(GROUPS)}, got {item.get('group')!r:.60}")
    options = item.get("options")
    if (not isinstance(options, dict) or len(options) < 2
            or any(not isinstance(v, str) or not v for v in options.values())
            or list(options) != [chr(ord("A") + i) for i in range(len(options))]):
        raise InputError(f"{where}: `options` must map the letters A, B, ... in order to non-empty strings")
    answer = item.get("answer")
    if not isinstance(answer, str) or not _LETTERS.fullmatch(answer) or any(a not in options for a in answer):
        raise InputError(f"{where}: `answer` {answer!r:.20} is not letters among the item's options "
                         f"{''.join(options)}")
    if not isinstance(item.get("multi", False), bool) or (len(answer) > 1 and not item.get("multi")):
        raise InputError(f"{where}: `multi` must be true for the answer {answer!r}")


def load_items(path: Path, limit: int | None = None) -> list[dict]:
    """Checked items in file order; ids must be unique. `limit`: the first N of each subject (the whole file when
    None), so a limited run still covers every subject and group."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: test file not found (run `make data` with the benchmark's files, or pass "
                         "--data-dir)")
    lines = read_jsonl(path)
    if not lines:
        raise InputError(f"{path}: no records")
    seen: dict[str, int] = {}
    for line_no, item in lines:
        where = f"{path}:{line_no}"
        _check(where, item)
        if item["id"] in seen:
            raise InputError(f"{where}: duplicate id {item['id']!r} (first on line {seen[item['id']]})")
        seen[item["id"]] = line_no
    items = [item for _, item in lines]
    if not limit:
        return items
    taken: dict[str, int] = {}
    kept = []
    for item in items:
        taken[item["subject"]] = taken.get(item["subject"], 0) + 1
        if taken[item["subject"]] <= limit:
            kept.append(item)
    return kept


def shots_for(item: dict, pool: list[dict], k: int) -> list[dict]:
    """The first k dev items of the item's subject (lm-eval's first_n sampler, the papers' few-shot), else of
    the pool when the subject has none there (CMB, CMExam and MedQA share one pool)."""
    if k <= 0:
        return []
    same = [s for s in pool if s["subject"] == item["subject"]]
    return (same or pool)[:k]
