"""Optional general-domain data mixed in (the seed: general:domain 1:1 keeps general ability).

Three published shapes, told apart record by record, so one pool may hold several files of different shapes:
- alpaca (alpaca_gpt4_data_zh.json, COIG ...): {instruction, input?, output}
- ShareGPT: {"conversations": [{"from": "human"|"gpt", "value": ...}, ...]}: alternating turns, human first and
  gpt last; the last exchange becomes instruction/output, the earlier ones LLaMA-Factory's `history`
- firefly (firefly-train-1.1M.jsonl): {kind, input, target}
Every record gets `history` (empty for single-turn ones): med_general is registered with the history column."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import PrepError, require_file
from .jsonstream import decode_value, iter_json_array
from .quality import cap, clean, convert, dedup
from .tally import Tally

ALPACA, SHAREGPT, FIREFLY = "alpaca", "sharegpt", "firefly"
# ShareGPT role tags as the published dumps spell them (LLaMA-Factory's defaults are human/gpt)
USER_ROLES = {"human", "user"}
ASSISTANT_ROLES = {"gpt", "assistant", "chatgpt", "bard", "bing"}
SYSTEM_ROLES = {"system"}  # a system turn has no column in med_general: such a record is a counted skip


def shape(raw) -> str | None:
    """Which published shape a record has (None: no recognisable one)."""
    if not isinstance(raw, dict):
        return None
    if "conversations" in raw:
        return SHAREGPT
    if "target" in raw or "kind" in raw:
        return FIREFLY
    if "instruction" in raw or "output" in raw:
        return ALPACA
    return None


def record(instruction: str, output: str, inp: str = "", history: list | None = None) -> dict:
    return {"instruction": instruction, "input": inp, "output": output, "history": history or []}


def alpaca_to_sft(raw: dict) -> dict | str:
    if "instruction" not in raw or "output" not in raw:
        return "missing_field"
    inst, inp, out = raw["instruction"], raw.get("input") or "", raw["output"]
    if not all(isinstance(v, str) for v in (inst, inp, out)):
        return "not_a_string"
    inst, inp, out = clean(inst), clean(inp), clean(out)
    if not inst or not out:
        return "empty_field"
    return record(inst, out, inp)


def firefly_to_sft(raw: dict) -> dict | str:
    if "input" not in raw or "target" not in raw:
        return "missing_field"
    inp, out = raw["input"], raw["target"]
    if not isinstance(inp, str) or not isinstance(out, str):
        return "not_a_string"
    inp, out = clean(inp), clean(out)
    if not inp or not out:
        return "empty_field"
    return record(inp, out)


def sharegpt_to_sft(raw: dict) -> dict | str:
    turns = raw["conversations"]
    if not isinstance(turns, list) or not turns:
        return "not_a_conversation"
    texts, roles = [], []
    for turn in turns:
        if not isinstance(turn, dict):
            return "not_a_conversation"
        if "from" not in turn or "value" not in turn:
            return "missing_field"
        role, value = turn["from"], turn["value"]
        if not isinstance(role, str) or not isinstance(value, str):
            return "not_a_string"
        role = role.strip().lower()
        if role in SYSTEM_ROLES:
            return "system_turn"
        if role not in USER_ROLES | ASSISTANT_ROLES:
            return "unknown_role"
        roles.append(role in USER_ROLES)
        texts.append(clean(value))
    # human, gpt, human, gpt ... ending on gpt: what LLaMA-Factory's sharegpt reader accepts
    if len(roles) % 2 or any(is_user != (i % 2 == 0) for i, is_user in enumerate(roles)):
        return "bad_turn_order"
    if not all(texts):
        return "empty_field"
    pairs = [[texts[i], texts[i + 1]] for i in range(0, len(texts), 2)]
    return record(pairs[-1][0], pairs[-1][1], history=pairs[:-1])


CONVERTERS = {ALPACA: alpaca_to_sft, SHAREGPT: sharegpt_to_sft, FIREFLY: firefly_to_sft}


def to_sft(raw) -> dict | str:
    """A general record of any supported shape -> SFT record with `history`, or a skip reason."""
    if not isinstance(raw, dict):
        return "not_an_object"
    kind = shape(raw)
    return CONVERTERS[kind](raw) if kind else "missing_field"


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


def pool(paths: Sequence[Path], shapes: Counter) -> Iterator[tuple[str, object]]:
    """Every file's records in order; ids name the file when the pool has several; shapes counted."""
    for path in paths:
        for rid, raw in iter_records(path):
            shapes[shape(raw) or "unrecognised"] += 1
            yield (f"{path.name} {rid}" if len(paths) > 1 else rid), raw


def prepare(paths: Path | Sequence[Path], ratio: float, domain_count: int,
            seed: int) -> tuple[list[dict], Tally, dict]:
    """Shuffle (seeded) and keep round(ratio * domain_count) general records (at least 1). Returns the records,
    the tally and the records read per shape."""
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    for path in paths:
        require_file(path, "an alpaca / ShareGPT .json array or an alpaca / ShareGPT / firefly .jsonl file")
    if ratio <= 0:
        raise PrepError(paths[0], "--general-ratio", "a ratio > 0 (general records per domain record)",
                        found=str(ratio))
    tally, shapes = Tally(), Counter()
    records, ids = dedup(*convert(pool(paths, shapes), to_sft, tally), tally)
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    records, ids = [records[i] for i in order], [ids[i] for i in order]
    records, _ = cap(records, ids, max(1, round(ratio * domain_count)), tally)
    return records, tally, dict(shapes)
