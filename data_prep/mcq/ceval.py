"""ceval: C-Eval (the official ceval-exam zip), `{dev,val,test}/<subject>_{split}.csv`, UTF-8, CRLF row ends,
quoted cells holding line breaks, and a header per split: dev `id,question,A,B,C,D,answer,explanation`, val
`id,question,A,B,C,D,answer`, test `id,question,A,B,C,D`. The test split has no answers, so it is never scored:
val -> scored items (as lm-evaluation-harness's ceval-valid and the paper's open-model runs), dev (5 rows per
subject) -> the few-shot pool. Four options, one answer letter, single choice; id `<subject>/<id column>`."""

from __future__ import annotations

from pathlib import Path

from contract.datasets import DEV, TEST

from ..errors import PrepError
from ..tally import Tally
from . import subjects
from .common import (
    BadRow,
    Items,
    McqRequest,
    McqResult,
    RawItem,
    collect,
    first_of,
    read_table,
    subject_summary,
)

BENCHMARK = "ceval"
VAL = "val"
HEADERS = {
    DEV: ["id", "question", "A", "B", "C", "D", "answer", "explanation"],
    VAL: ["id", "question", "A", "B", "C", "D", "answer"],
}
LAYOUT = "val/<subject>_val.csv (and dev/<subject>_dev.csv), as in the ceval-exam zip"


def locate(folder: Path) -> tuple[Path | None, list[str]]:
    """The folder holding `val/` (and `dev/`, `test/`) of C-Eval subject CSVs, at or below `folder`."""
    notes: list[str] = []
    roots = [d.parent for d in sorted(p for p in folder.rglob(VAL) if p.is_dir()) if any(d.glob(f"*_{VAL}.csv"))]
    return first_of(roots, folder, f"{BENCHMARK}: the data folder", notes), notes


def subject_files(folder: Path, part: str) -> dict[str, Path]:
    suffix = f"_{part}.csv"
    return {p.name[:-len(suffix)]: p for p in sorted(folder.glob(f"*{suffix}"))} if folder.is_dir() else {}


def read_subject(path: Path, subject: str, part: str, info: dict):
    for line, row in read_table(path, HEADERS[part], f"a C-Eval {part} file", info):
        where = f"{path.name} line {line}"
        if isinstance(row, BadRow):
            yield where, row
            continue
        item_id = row[0].strip()
        if not item_id:
            yield where, BadRow("missing_id")
            continue
        yield where, RawItem(f"{subject}/{item_id}", subject, row[1], list(zip("ABCD", row[2:6], strict=True)), row[6])


def prepare(request: McqRequest) -> McqResult:
    root, notes = locate(request.source)
    if root is None:
        found = "only the test split, which has no answers" if any(request.source.rglob(f"*_{TEST}.csv")) else (
            "no such files")
        raise PrepError(request.source, "--ceval", f"the C-Eval download ({LAYOUT})", found=found)
    vals, devs = subject_files(root / VAL, VAL), subject_files(root / DEV, DEV)
    chosen, missing, missing_defaults = subjects.select(BENCHMARK, list(vals), request.subjects)
    info: dict = {"root": root, "scored_split": VAL}
    if missing_defaults:
        notes.append(f"{BENCHMARK}: default subjects not in this download: {', '.join(missing_defaults)}")
    tests = subject_files(root / TEST, TEST)
    if tests:
        info["test_split_not_scored"] = len(tests)
        notes.append(f"{BENCHMARK}: {TEST}/ ({len(tests)} files) has no answers and is not scored; "
                     f"the scored items are {VAL}/")
    items = Items(BENCHMARK, request.groups, single_choice=True)
    test_tally, dev_tally = Tally(), Tally()
    test, dev = [], []
    for subject in chosen:
        test += collect(read_subject(vals[subject], subject, VAL, info), items, test_tally)
        if subject in devs:
            dev += collect(read_subject(devs[subject], subject, DEV, info), items, dev_tally)
    return McqResult(test, dev, test_tally, dev_tally,
                     files={TEST: [vals[s] for s in chosen], DEV: [devs[s] for s in chosen if s in devs]},
                     info=subject_summary(BENCHMARK, chosen, missing, test, dev, items, info, notes), notes=notes)
