"""medqa: MedQA, the Mainland China (MCMLE) questions: `data_clean/questions/Mainland/{train,dev,test}.jsonl`,
one `{question, options: {"A": ..., "E": ...}, answer: <option text>, answer_idx: <letter>, meta_info}` per line
(5 options; `Mainland/4_options/` holds a 4-option version, used only when the 5-option files are absent).
test -> scored items, dev -> the few-shot pool. Single choice: `answer_idx` is the answer, and an `answer`
text that is not that option's text makes the item ambiguous (skipped). subject = `all`; id = `all/<0-based
line>`."""

from __future__ import annotations

import json
from pathlib import Path

from contract.datasets import DEV, TEST

from ..discover import sorted_files
from ..errors import PrepError
from ..jsonstream import decode_value
from ..quality import clean
from ..tally import Tally
from .common import (
    BadRow,
    Items,
    McqRequest,
    McqResult,
    RawItem,
    ascii_letters,
    collect,
    decode_utf8,
    first_of,
    pool_sizes,
)
from .subjects import WHOLE

BENCHMARK = "medqa"
REGION = "Mainland"
FOUR_OPTIONS = "4_options"
LAYOUT = f"data_clean/questions/{REGION}/{{dev,test}}.jsonl"


def locate(folder: Path) -> tuple[Path | None, list[str]]:
    """The Mainland folder holding test.jsonl at or below `folder` (its 4_options subfolder as a fallback)."""
    notes: list[str] = []
    tests = [p.parent for p in sorted_files(folder, f"{TEST}.jsonl")]
    five = [d for d in tests if d.name == REGION]
    four = [d for d in tests if d.name == FOUR_OPTIONS and d.parent.name == REGION]
    root = first_of(five or four, folder, f"{BENCHMARK}: the {REGION} folder", notes)
    if root is not None and not five:
        notes.append(f"{BENCHMARK}: only the {FOUR_OPTIONS} files found; scoring the 4-option version")
    return root, notes


def read_jsonl(path: Path, info: dict):
    """(where, RawItem | BadRow) per non-blank line; a line that is not JSON is an error naming it."""
    text, bom = decode_utf8(path, "MedQA jsonl")
    if bom:
        info.setdefault("bom_files", []).append(path.name)
    index = 0
    for number, line in enumerate(text.split("\n"), 1):  # LF only: U+2028 inside a JSON string is no line end
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            obj = decode_value(line, f"line {number}", path)
        except json.JSONDecodeError as exc:
            raise PrepError(path, f"line {number}", "one JSON object per line", found=exc.msg) from exc
        item_id, index = f"{WHOLE}/{index}", index + 1
        if not isinstance(obj, dict):
            yield where, BadRow("not_an_object")
            continue
        options, letter, text = obj.get("options"), obj.get("answer_idx"), obj.get("answer")
        if not isinstance(options, dict):
            yield where, BadRow("no_options")
            continue
        if isinstance(letter, str) and isinstance(text, str):
            chosen = options.get(ascii_letters(clean(letter)))
            if isinstance(chosen, str) and clean(chosen) != clean(text):
                yield where, BadRow("answer_text_mismatch")
                continue
        yield where, RawItem(item_id, WHOLE, obj.get("question"), list(options.items()), letter)


def prepare(request: McqRequest) -> McqResult:
    root, notes = locate(request.source)
    if root is None:
        raise PrepError(request.source, "--medqa", f"the MedQA download ({LAYOUT})", found="no such files")
    items = Items(BENCHMARK, request.groups, single_choice=True)
    test_tally, dev_tally = Tally(), Tally()
    test_path, dev_path = root / f"{TEST}.jsonl", root / f"{DEV}.jsonl"
    info: dict = {"root": root}
    test = collect(read_jsonl(test_path, info), items, test_tally)
    files, dev = {TEST: [test_path]}, None
    if dev_path.is_file():
        dev = collect(read_jsonl(dev_path, info), items, dev_tally)
        files[DEV] = [dev_path]
        info["few_shot_pool"] = pool_sizes(dev, None, BENCHMARK, notes)
    else:
        notes.append(f"{BENCHMARK}: no {dev_path.name} beside {test_path.name}: no few-shot pool (0-shot only)")
    info["options_per_item"] = sorted({len(r["options"]) for r in test})
    if items.normalised:
        info["normalised"] = dict(sorted(items.normalised.items()))
    return McqResult(test, dev, test_tally, dev_tally, files=files, info=info, notes=notes)
