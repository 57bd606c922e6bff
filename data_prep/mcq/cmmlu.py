"""cmmlu: CMMLU (haonan-li/CMMLU), `data/{dev,test}/<subject>.csv`, UTF-8, LF, header exactly
`,Question,A,B,C,D,Answer` (the first column an unnamed 0-based index: the official loader reads
`pd.read_csv(f, header=0, index_col=0)`). test -> scored items, dev (5 rows per subject) -> the few-shot pool.
Four options, one answer letter, single choice. Cells are read as published text (pandas would turn a cell
`NA` or `None` into NaN); an item's id is `<subject>/<0-based row>`."""

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

BENCHMARK = "cmmlu"
HEADER = ["", "Question", "A", "B", "C", "D", "Answer"]
LAYOUT = "data/{dev,test}/<subject>.csv with the header ,Question,A,B,C,D,Answer"


def _looks_like_cmmlu(path: Path) -> bool:
    """A CSV whose first line names a question column (a header other than the published one is then an error
    naming the file)."""
    with open(path, "rb") as f:
        head = f.readline(512)
    return b"question" in head.lower()


def locate(folder: Path) -> tuple[Path | None, list[str]]:
    """The folder holding `test/` (and `dev/`) of CMMLU subject CSVs, at or below `folder`."""
    notes: list[str] = []
    roots = [d.parent for d in sorted(p for p in folder.rglob(TEST) if p.is_dir())
             if any(not p.name.endswith(f"_{TEST}.csv") and _looks_like_cmmlu(p) for p in d.glob("*.csv"))]
    return first_of(roots, folder, f"{BENCHMARK}: the data folder", notes), notes


def subject_files(folder: Path) -> dict[str, Path]:
    """subject -> its CSV in `folder` (none when the folder is absent)."""
    return {p.stem: p for p in sorted(folder.glob("*.csv")) if not p.name.startswith(("~$", "."))}


def read_subject(path: Path, subject: str, info: dict):
    for index, (line, row) in enumerate(read_table(path, HEADER, "a CMMLU subject file", info)):
        where = f"{path.name} line {line}"
        if isinstance(row, BadRow):
            yield where, row
            continue
        yield where, RawItem(f"{subject}/{index}", subject, row[1],
                             list(zip("ABCD", row[2:6], strict=True)), row[6])


def prepare(request: McqRequest) -> McqResult:
    root, notes = locate(request.source)
    if root is None:
        raise PrepError(request.source, "--cmmlu", f"the CMMLU download ({LAYOUT})", found="no such files")
    tests, devs = subject_files(root / TEST), subject_files(root / DEV)
    chosen, missing, missing_defaults = subjects.select(BENCHMARK, list(tests), request.subjects)
    info: dict = {"root": root}
    if missing_defaults:
        notes.append(f"{BENCHMARK}: default subjects not in this download: {', '.join(missing_defaults)}")
    items = Items(BENCHMARK, request.groups, single_choice=True)
    test_tally, dev_tally = Tally(), Tally()
    test, dev = [], []
    for subject in chosen:
        test += collect(read_subject(tests[subject], subject, info), items, test_tally)
        if subject in devs:
            dev += collect(read_subject(devs[subject], subject, info), items, dev_tally)
    return McqResult(test, dev, test_tally, dev_tally,
                     files={TEST: [tests[s] for s in chosen], DEV: [devs[s] for s in chosen if s in devs]},
                     info=subject_summary(BENCHMARK, chosen, missing, test, dev, items, info, notes), notes=notes)

