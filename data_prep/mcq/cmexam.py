"""cmexam: CMExam (williamliujl/CMExam, Apache-2.0), CSVs under `data/`: `test_with_annotations.csv` (or a
`test.csv`) -> scored items, `val.csv` (or `dev.csv`) -> the few-shot pool. Columns `Question, Options, Answer,
Explanation` then the annotation columns (disease group, department, discipline, competency, difficulty).
`Options` is one cell, one `X text` per line (the official code splits it on line breaks and each line on its
first space); `Answer` is one letter or several (multiple answers), empty for at least one published row.
subject = `all`; id = `all/<0-based row>`."""

from __future__ import annotations

import re
from pathlib import Path

from contract.datasets import DEV, TEST

from ..discover import sorted_files
from ..errors import PrepError
from ..tally import Tally
from .common import (
    BadRow,
    Items,
    McqRequest,
    McqResult,
    RawItem,
    collect,
    first_of,
    pool_sizes,
    read_table,
)
from .subjects import WHOLE

BENCHMARK = "cmexam"
HEADER = ["Question", "Options", "Answer", "Explanation"]
TEST_FILES = ("test_with_annotations.csv", "test.csv")  # the repo's name first; a user's own export second
DEV_FILES = ("val.csv", "dev.csv")
# one option line: a letter (full-width too), then whitespace (or the 、/. users type), then its text
OPTION_LINE = re.compile(r"([A-ZＡ-Ｚ])(?:(?:[ \t\u3000]+|[.．、:：]\s*)(.*))?", re.S)
LAYOUT = f"data/{TEST_FILES[0]} (or {TEST_FILES[1]}) and data/{DEV_FILES[0]}, header {','.join(HEADER)},..."


def _has_header(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.readline(512).lstrip(b"\xef\xbb\xbf").startswith(",".join(HEADER[:3]).encode())


def locate(folder: Path) -> tuple[Path | None, list[str]]:
    """The folder holding a CMExam test CSV (named as published, with the CMExam header), at or below `folder`."""
    notes: list[str] = []
    tests = [p for name in TEST_FILES for p in sorted_files(folder, name) if _has_header(p)]
    return first_of(list(dict.fromkeys(p.parent for p in tests)), folder, f"{BENCHMARK}: the data folder",
                    notes), notes


def parse_options(cell: str) -> list[tuple[str, str]] | None:
    """(letter, text) per non-blank line of an Options cell, or None when a line is not `X text`."""
    pairs = []
    for line in cell.splitlines():
        if not line.strip():
            continue
        m = OPTION_LINE.fullmatch(line.strip())
        if m is None:
            return None
        pairs.append((m.group(1), m.group(2)))
    return pairs


def read_rows(path: Path, info: dict):
    for index, (line, row) in enumerate(read_table(path, HEADER, "a CMExam CSV", info, prefix=True)):
        where = f"{path.name} line {line}"
        if isinstance(row, BadRow):
            yield where, row
            continue
        options = parse_options(row[1])
        if options is None:
            yield where, BadRow("bad_options_cell")
            continue
        yield where, RawItem(f"{WHOLE}/{index}", WHOLE, row[0], options, row[2])


def prepare(request: McqRequest) -> McqResult:
    root, notes = locate(request.source)
    if root is None:
        raise PrepError(request.source, "--cmexam", f"the CMExam download ({LAYOUT})", found="no such files")
    test_path = next(root / name for name in TEST_FILES if (root / name).is_file())
    dev_path = next((root / name for name in DEV_FILES if (root / name).is_file()), None)
    items = Items(BENCHMARK, request.groups, single_choice=False)
    test_tally, dev_tally = Tally(), Tally()
    info: dict = {"root": root}
    test = collect(read_rows(test_path, info), items, test_tally)
    files = {TEST: [test_path]}
    dev = None
    if dev_path is not None:
        dev = collect(read_rows(dev_path, info), items, dev_tally)
        files[DEV] = [dev_path]
        info["few_shot_pool"] = pool_sizes(dev, None, BENCHMARK, notes)
    else:
        notes.append(f"{BENCHMARK}: no {' or '.join(DEV_FILES)} beside {test_path.name}: no few-shot pool (0-shot only)")
    info["multi_answer_items"] = sum(r["multi"] for r in test)
    if items.normalised:
        info["normalised"] = dict(sorted(items.normalised.items()))
    return McqResult(test, dev, test_tally, dev_tally, files=files, info=info, notes=notes)
