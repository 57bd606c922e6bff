"""Builders of small benchmark downloads for the multiple-choice tests (a unique module name: conftest modules
can collide)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from contract.datasets import DEV, TEST

MCQ_SAMPLE_DIRS = ("CMMLU", "ceval-exam", "CMB", "CMExam", "MedQA")
CMMLU_HEADER = ["", "Question", "A", "B", "C", "D", "Answer"]
CEVAL_VAL = ["id", "question", "A", "B", "C", "D", "answer"]
CEVAL_DEV = [*CEVAL_VAL, "explanation"]


def csv_text(rows: list[list[object]], line_end: str = "\n") -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator=line_end).writerows(rows)
    return buf.getvalue()


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def cmmlu_download(root: Path, test_rows: list[list[str]], dev_rows: list[list[str]] | None = None,
                   subject: str = "anatomy") -> Path:
    """A CMMLU download holding one subject: rows are [question, A, B, C, D, answer]."""
    dev_rows = dev_rows if dev_rows is not None else [["肺属于哪个系统？", "呼吸", "消化", "循环", "神经", "A"]] * 5
    for part, rows in ((TEST, test_rows), (DEV, dev_rows)):
        write(root / "data" / part / f"{subject}.csv",
              csv_text([CMMLU_HEADER, *([i, *r] for i, r in enumerate(rows))]))
    return root


def ceval_download(root: Path, val_rows: list[list[object]], subject: str = "basic_medicine") -> Path:
    """A C-Eval download holding one subject: val rows are [id, question, A, B, C, D, answer]."""
    write(root / "val" / f"{subject}_val.csv", csv_text([CEVAL_VAL, *val_rows], "\r\n"))
    dev = [[i, "缺碘可引起____。", "甲状腺肿", "佝偻病", "夜盲症", "坏血病", "A", "碘。"] for i in range(5)]
    write(root / "dev" / f"{subject}_dev.csv", csv_text([CEVAL_DEV, *dev], "\r\n"))
    return root


GOOD = ["心脏属于哪个系统？", "呼吸系统", "循环系统", "消化系统", "神经系统", "B"]
