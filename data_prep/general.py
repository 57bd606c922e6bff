"""Optional general-domain data mixed in (the seed: general:domain 1:1 keeps general ability)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

from .errors import PrepError, require_file
from .jsonstream import decode_value, iter_json_array
from .quality import cap, clean, convert, dedup
from .tally import Tally


def to_sft(raw) -> dict | str:
    """An alpaca record {instruction, input?, output} -> SFT record, or a skip reason."""
    if not isinstance(raw, dict):
        return "not_an_object"
    if "instruction" not in raw or "output" not in raw:
        return "missing_field"
    inst, inp, out = raw["instruction"], raw.get("input") or "", raw["output"]
    if not all(isinstance(v, str) for v in (inst, inp, out)):
        return "not_a_string"
    inst, inp, out = clean(inst), clean(inp), clean(out)
    if not inst or not out:
        return "empty_field"
    return {"instruction": inst, "input": inp, "output": out}


def iter_records(path: Path) -> Iterator[tuple[str, object]]:
    if path.suffix.lower() == ".jsonl":
        try:  # split on \n only: U+2028 and friends may stand raw inside a JSON string
            lines = path.read_bytes().decode("utf-8-sig").split("\n")
        except UnicodeDecodeError as exc:
            raise PrepError(path, f"byte {exc.start}", "UTF-8 text", found="undecodable bytes") from exc
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {n}", decode_value(line, f"line {n}", path)
            except json.JSONDecodeError as exc:
                raise PrepError(path, f"line {n}", "one JSON object per line", found=exc.msg) from exc
    else:
        for index, obj in iter_json_array(path, desc=f"read {path.name}"):
            yield f"record {index}", obj


def prepare(path: Path, ratio: float, domain_count: int, seed: int) -> tuple[list[dict], Tally]:
    """Shuffle (seeded) and keep round(ratio * domain_count) general records."""
    require_file(path, "an alpaca .json array or .jsonl file")
    if ratio <= 0:
        raise PrepError(path, "--general-ratio", "a ratio > 0 (general records per domain record)", found=str(ratio))
    tally = Tally()
    records, ids = dedup(*convert(iter_records(path), to_sft, tally), tally)
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    records, ids = [records[i] for i in order], [ids[i] for i in order]
    records, _ = cap(records, ids, max(1, round(ratio * domain_count)), tally)
    return records, tally
