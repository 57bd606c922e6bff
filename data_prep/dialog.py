"""dialog: Chinese-medical-dialogue, from the ModelScope JSON array or the Toyhom department CSVs."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import csvrows, holdout
from .discover import RawDir, first_file, sorted_files
from .errors import PrepError, require_file
from .jsonstream import iter_json_array
from .quality import cap, clean, convert, dedup, drop_leaked
from .tally import SplitResult, Tally
from .taskspec import PrepTask, shown_paths

JSON_FILE = "train_0001_of_0001.json"  # the ModelScope download
CSV_HEADER = ["department", "title", "ask", "answer"]
# the seed recipe's format, verbatim
TEMPLATE = "主题:{title}\n内容:{ask}"
JSON_KEYS = ("instruction", "input", "output")


@dataclass(frozen=True)
class BadRow:
    """A raw row the reader could already tell is unusable (counted as a skip with this reason)."""

    reason: str


def instruction(title: str, ask: str) -> str:
    return TEMPLATE.format(title=title, ask=ask)


def to_sft(raw) -> dict | str:
    """One raw record {instruction: title, input: ask, output: answer} -> SFT record, or a skip reason."""
    if not isinstance(raw, dict):
        return "not_an_object"
    if any(k not in raw for k in JSON_KEYS):
        return "missing_field"
    title, ask, answer = raw["instruction"], raw["input"], raw["output"]
    if ask is None:
        ask = ""
    if not all(isinstance(v, str) for v in (title, ask, answer)):
        return "not_a_string"
    title, ask, answer = clean(title), clean(ask), clean(answer)
    if not answer or not (title or ask):
        return "empty_field"
    return {"instruction": instruction(title, ask), "input": "", "output": answer}


def read_modelscope_json(path: Path) -> Iterator[tuple[str, object]]:
    require_file(path, "the dialog JSON array (train_0001_of_0001.json)")
    for index, obj in iter_json_array(path, desc=f"read {path.name}"):
        yield f"record {index}", obj


def read_toyhom_csv(path: Path, info: dict) -> Iterator[tuple[str, object]]:
    text, enc = csvrows.decode(path)
    info.setdefault("encodings", {})[path.name] = enc
    departments = info.setdefault("departments", Counter())
    rows = csvrows.rows(path, text)
    _, header = next(rows, (1, None))
    if header is None or [clean(h) for h in header] != CSV_HEADER:
        raise PrepError(path, "line 1 (header)", f"the columns {','.join(CSV_HEADER)}",
                        found=",".join(header) if header else "an empty file")
    for line, row in rows:
        rid = f"{path.name} line {line}"
        if len(row) != len(CSV_HEADER):
            yield rid, BadRow("wrong_field_count")
            continue
        departments[row[0].strip()] += 1
        yield rid, {"instruction": row[1], "input": row[2], "output": row[3], "department": row[0]}


def iter_source(source: Path | list[Path], info: dict) -> Iterator[tuple[str, object]]:
    paths = source if isinstance(source, list) else [source]
    for path in paths:
        if path.suffix.lower() == ".csv":
            yield from read_toyhom_csv(path, info)
        else:
            yield from read_modelscope_json(path)


def prepare(source: Path | list[Path], limit: int, test_size: int, seed: int) -> SplitResult:
    """Read all, clean and dedup, shuffle (seeded), hold out `test_size` for test, cap train at `limit`.

    Skips before the split (bad records, duplicates) are counted under train: dialog_test.read is the
    number of records drawn for test, dialog_train.read is everything else read.
    """
    info: dict = {}
    train_tally, test_tally = Tally(), Tally()
    records, ids = convert(iter_source(source, info),
                           lambda raw: raw.reason if isinstance(raw, BadRow) else to_sft(raw), train_tally)
    read = train_tally.read
    records, ids = dedup(records, ids, train_tally)
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_test = holdout.test_count(len(order), test_size)
    test_idx, train_idx = order[len(order) - n_test:], order[:len(order) - n_test]
    test = [records[i] for i in test_idx]
    train, train_ids = [records[i] for i in train_idx], [ids[i] for i in train_idx]
    del records
    train, train_ids = drop_leaked(train, train_ids, test, train_tally)
    train, train_ids = cap(train, train_ids, limit, train_tally)
    test_tally.read = n_test
    train_tally.read = read - n_test
    if "departments" in info:
        info["departments"] = dict(sorted(info["departments"].items()))
    cut = holdout.note("dialog", len(order), test_size, "--dialog-test-size")
    return SplitResult(train, test, train_tally, test_tally, info, [cut] if cut else [])


def find(raw: RawDir, notes: list[str]) -> Path | list[Path] | None:
    """The ModelScope JSON below `raw`, else the Toyhom CSVs (which triage reads either way)."""
    json_file = first_file(raw, "dialog", (JSON_FILE,), notes)
    csvs = raw.toyhom_csvs
    if json_file and csvs:
        notes.append(f"dialog: using the JSON; {len(csvs)} Toyhom CSV file(s) also found, read for triage only")
    return json_file or csvs or None


def source(path: Path) -> Path | list[Path]:
    """`--dialog` accepts the JSON file, one CSV, or a folder holding Toyhom CSVs (or the JSON)."""
    if path.is_dir():
        jsons = sorted_files(path, JSON_FILE)
        if jsons:
            return jsons[0]
        return sorted_files(path, "*.csv")  # asked for explicitly: a CSV with a wrong header is an error
    return path


def add_arguments(sources, sizes) -> None:
    sources.add_argument("--dialog", type=Path, help=f"{JSON_FILE}, a Toyhom CSV, or a folder of them")
    sizes.add_argument("--dialog-limit", type=int, default=5000, help="dialog train records (seed: 5000)")
    sizes.add_argument("--dialog-test-size", type=int, default=100, help="dialog test records held out (100)")


TASK = PrepTask("dialog", find, add_arguments,
                prepare=lambda src, a: prepare(src, a.dialog_limit, a.dialog_test_size, a.seed),
                source_info=lambda src, r: {"path": shown_paths(src), **r.info}, from_path=source)
