"""norm: yidu-n7k clinical procedure term normalization (train.xlsx / val.xlsx / answer.xlsx + code.txt)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from contract.datasets import TEST, split

from .discover import RawDir, complete_folder
from .errors import PrepError, require_file
from .quality import cap, clean, convert, dedup, drop_leaked
from .tally import SplitResult, Tally
from .taskspec import PrepTask, shown

FILES = ("train.xlsx", "val.xlsx")  # found together below --raw-dir; answer.xlsx and code.txt are optional
COLUMNS = ("原始词", "标准词")
# the seed recipe's prompt, verbatim
PROMPT = (
    "你是一个医疗专家,你的任务是临床术语标准化。\n"
    "具体来说,针对给出的通用语,转换为相应的标准化医学术语,确保转换后的内容符合医学专业标准,"
    "直接输出转换后的临床标准术语。\n"
    "原始词:{word}\n"
    "该词的标准术语为:"
)
MULTI_SEP = "##"


def instruction(word: str) -> str:
    return PROMPT.format(word=word)


def to_sft(raw_term, standard) -> dict | str:
    """(原始词, 标准词) -> SFT record, or a skip reason. `##` multi-term outputs are kept exactly."""
    if not isinstance(raw_term, str) or not isinstance(standard, str):
        return "not_a_string"
    raw_term, standard = clean(raw_term), clean(standard)
    if not raw_term or not standard:
        return "empty_field"
    if any(not clean(part) for part in standard.split(MULTI_SEP)):
        return "empty_standard_term"
    return {"instruction": instruction(raw_term), "input": "", "output": standard}


def read_xlsx(path: Path) -> list[tuple[str, object, object]]:
    """Rows of the first sheet as (record id, 原始词, 标准词); every cell read as text."""
    import pandas as pd

    require_file(path, "an .xlsx workbook (Sheet1 with columns 原始词 | 标准词)")
    if not zipfile.is_zipfile(path):
        raise PrepError(path, "whole file", "an .xlsx workbook (Sheet1 with columns 原始词 | 标准词)",
                        found="not an xlsx (zip) file")
    try:
        df = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:
        raise PrepError(path, "whole file", "a readable .xlsx workbook",
                        found=f"{type(exc).__name__}: {exc}") from exc
    header = [str(c).strip() for c in df.columns]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise PrepError(path, "row 1 (header)", f"the columns {' | '.join(COLUMNS)}",
                        found=" | ".join(header) or "an empty sheet")
    df.columns = header
    rows = []
    for i, (raw, std) in enumerate(zip(df[COLUMNS[0]].tolist(), df[COLUMNS[1]].tolist(), strict=True)):
        raw = "" if pd.isna(raw) else raw  # an empty cell is an empty field, counted as such
        std = "" if pd.isna(std) else std
        rows.append((f"{path.name} row {i + 2}", raw, std))
    return rows


def read_code_names(path: Path) -> set[str]:
    """Standard names from code.txt (`code<TAB>name` per line)."""
    require_file(path, "code.txt, one `code<TAB>name` per line")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PrepError(path, f"byte {exc.start}", "UTF-8 text", found="undecodable bytes") from exc
    names = set()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip():
            raise PrepError(path, f"line {n}", "code<TAB>name", found=repr(line[:60]))
        names.add(parts[1].strip())
    return names


def convert_rows(rows, tally: Tally) -> tuple[list[dict], list[str]]:
    pairs = ((rid, (raw, std)) for rid, raw, std in rows)
    return dedup(*convert(pairs, lambda pair: to_sft(*pair), tally), tally)


def prepare(norm_dir: Path, limit: int, test_limit: int, test_source: str = "val") -> SplitResult:
    """train.xlsx -> train (first `limit`), val.xlsx (or answer.xlsx) -> test (first `test_limit`)."""
    train_path, test_path = norm_dir / "train.xlsx", norm_dir / f"{test_source}.xlsx"
    for p in (train_path, test_path):
        require_file(p, "the yidu-n7k workbook here")
    train_tally, test_tally = Tally(), Tally()
    test, test_ids = convert_rows(read_xlsx(test_path), test_tally)
    test, _ = cap(test, test_ids, test_limit, test_tally)
    train, train_ids = convert_rows(read_xlsx(train_path), train_tally)
    train, train_ids = drop_leaked(train, train_ids, test, train_tally)
    train, _ = cap(train, train_ids, limit, train_tally)
    info = {"train": str(train_path), "test": str(test_path)}
    code_path = norm_dir / "code.txt"
    if code_path.exists():
        names = read_code_names(code_path)
        unknown = sum(part not in names for r in train + test for part in r["output"].split(MULTI_SEP))
        info["code_txt_names"] = len(names)
        info["standard_terms_not_in_code_txt"] = unknown
    return SplitResult(train, test, train_tally, test_tally, info)


def find(raw: RawDir, notes: list[str]) -> Path | None:
    return complete_folder(raw, "norm", FILES, notes)


def add_arguments(sources, sizes) -> None:
    sources.add_argument("--norm", type=Path, help="folder with yidu-n7k train.xlsx, val.xlsx (answer.xlsx, code.txt)")
    sizes.add_argument("--norm-limit", type=int, default=5000)
    sizes.add_argument("--norm-test-limit", type=int, default=100)
    sizes.add_argument("--norm-test-source", choices=("val", "answer"), default="val",
                       help=f"workbook for {split('norm', TEST)}: val.xlsx (the seed) or the labelled answer.xlsx")


TASK = PrepTask("norm", find, add_arguments,
                prepare=lambda src, a: prepare(src, a.norm_limit, a.norm_test_limit, a.norm_test_source),
                source_info=lambda src, r: {**r.info, "train": shown(Path(r.info["train"])),
                                            "test": shown(Path(r.info["test"]))})
