"""text: a plain-text corpus for continued pre-training (stage pt), seed 002's setup: any CSV or JSONL
with a text column (the seed loads a CSV with `datasets.load_dataset("csv")` and reads one column).
Each row becomes one record whose `instruction` is the text (registered as `med_text`, prompt column only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from . import csvrows
from .errors import PrepError
from .jsonstream import decode_value
from .quality import clean, convert, dedup
from .tally import Tally

MISSING = object()


def to_record(value) -> dict | str:
    if value is MISSING:
        return "missing_field"
    if not isinstance(value, str):
        return "not_a_string"
    value = clean(value)
    if not value:
        return "empty_text"
    return {"instruction": value, "input": "", "output": ""}


def read_csv(path: Path, column: str) -> Iterator[tuple[str, object]]:
    rows = csvrows.rows(path, csvrows.decode(path)[0])
    _, header = next(rows, (1, None))
    if not header or column not in [h.strip() for h in header]:
        raise PrepError(path, "line 1 (header)", f"a column named '{column}' (choose one with --text-column)",
                        found=",".join(header) if header else "an empty file")
    index = [h.strip() for h in header].index(column)
    for line, row in rows:
        yield f"line {line}", row[index] if index < len(row) else MISSING


def read_jsonl(path: Path, column: str) -> Iterator[tuple[str, object]]:
    # split on LF only: a raw U+2028 inside a JSON string is legal and must not end the line (splitlines would)
    for n, line in enumerate(csvrows.decode(path)[0].split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = decode_value(line, f"line {n}", path)
        except json.JSONDecodeError as exc:
            raise PrepError(path, f"line {n}", "one JSON object per line", found=exc.msg) from exc
        if not isinstance(obj, dict):
            raise PrepError(path, f"line {n}", f"a JSON object with a '{column}' field", found=type(obj).__name__)
        yield f"line {n}", obj.get(column, MISSING)


def prepare(path: Path, column: str) -> tuple[list[dict], Tally]:
    """Every row's text, cleaned and exact-deduplicated, in file order; skips counted by reason."""
    if not path.is_file():
        raise PrepError(path, "whole file", "a .csv or .jsonl file with a text column", found="no such file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise PrepError(path, "whole file", "a .csv or .jsonl file", found=f"a '{suffix}' file")
    rows = read_csv(path, column) if suffix == ".csv" else read_jsonl(path, column)
    tally = Tally()
    records, ids = dedup(*convert(rows, to_record, tally), tally)
    return records, tally
