"""Property tests of the multiple-choice readers: any CMMLU or C-Eval file pandas writes reads back as the items it
was written from (cells stripped, nothing else changed), and a damaged benchmark file (cut short, junk spliced
in) is either one PrepError or items that keep the prepared record's rules, every row accounted for.

Hypothesis runs derandomized (a fixed seed per test), so CI sees the same examples on every run."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contract.datasets import MCQ_EXAM_FIELDS, MCQ_FIELDS
from data_prep.discover import SAMPLES_DIR
from data_prep.errors import PrepError
from data_prep.mcq import ceval, cmb, cmexam, cmmlu, medqa
from data_prep.mcq.common import McqRequest

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# any text a cell can hold (line breaks, quotes, commas, U+3000, full-width letters) except what no benchmark file
# can carry as text: lone surrogates and NUL (the record screen's own business), and a CR alone: pandas writes it
# unquoted when its rows end in LF, so the row breaks there for any reader (pandas' own included; ours counts the
# pieces as wrong_field_count, see test_prep_mcq.py)
cells = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1,
                max_size=20).map(lambda s: re.sub(r"\r(?!\n)", "\r\n", s)).filter(str.strip)
rows = st.lists(st.tuples(cells, cells, cells, cells, cells, st.sampled_from("ABCD")), min_size=1, max_size=6)
COLUMNS = ["Question", "A", "B", "C", "D", "Answer"]


def expected(items) -> list[tuple]:
    return [tuple(c.strip() for c in item) for item in items]


def as_read(records: list[dict]) -> list[tuple]:
    return [(r["question"], *r["options"].values(), r["answer"]) for r in records]


@SETTINGS
@given(rows, rows)
def test_any_cmmlu_csv_written_by_pandas_reads_back_as_the_same_items(test_rows, dev_rows):
    with tempfile.TemporaryDirectory() as t:
        root = Path(t)
        for part, items in (("test", test_rows), ("dev", dev_rows)):
            (root / "data" / part).mkdir(parents=True)
            pd.DataFrame(items, columns=COLUMNS).to_csv(root / "data" / part / "anatomy.csv")  # the unnamed index
        r = cmmlu.prepare(McqRequest(root))
    assert as_read(r.test) == expected(test_rows) and as_read(r.dev) == expected(dev_rows)
    assert [rec["id"] for rec in r.test] == [f"anatomy/{i}" for i in range(len(test_rows))]


@SETTINGS
@given(rows)
def test_any_ceval_csv_with_crlf_rows_reads_back_as_the_same_items(val_rows):
    with tempfile.TemporaryDirectory() as t:
        root = Path(t)
        (root / "val").mkdir()
        df = pd.DataFrame(val_rows, columns=["question", "A", "B", "C", "D", "answer"])
        df.insert(0, "id", range(len(df)))
        df.to_csv(root / "val" / "physician_val.csv", index=False, lineterminator="\r\n")
        r = ceval.prepare(McqRequest(root))
    assert as_read(r.test) == expected(val_rows) and r.dev == []


# -- damaged files -----------------------------------------------------------------------------------------------
SAMPLE_FILES = {  # benchmark -> (its module, the sample file damaged, the folder given to prepare)
    "cmmlu": (cmmlu, "CMMLU/data/test/anatomy.csv", "CMMLU"),
    "ceval": (ceval, "ceval-exam/val/basic_medicine_val.csv", "ceval-exam"),
    "cmb": (cmb, "CMB/data/CMB-Exam/CMB-test/CMB-test-choice-question-merge.json", "CMB"),
    "cmb-answers": (cmb, "CMB/data/CMB-test-choice-answer.json", "CMB"),
    "cmexam": (cmexam, "CMExam/data/test_with_annotations.csv", "CMExam"),
    "medqa": (medqa, "MedQA/data_clean/questions/Mainland/test.jsonl", "MedQA"),
}
JUNK = st.sampled_from([b"", b"\x00", b'"', b",", b"\r\n", b"\xff\xfe", "Ａ".encode(), "\u3000".encode(), b"]",
                        b"{", b'"answer": "AB",', b"\n\n", "，".encode("gbk")])


@SETTINGS
@given(st.sampled_from(sorted(SAMPLE_FILES)), st.integers(0, 1 << 20), st.lists(JUNK, max_size=3), st.booleans())
def test_a_damaged_benchmark_file_is_one_sentence_or_items_that_keep_the_rules(which, cut, junk, truncate):
    module, rel, folder = SAMPLE_FILES[which]
    with tempfile.TemporaryDirectory() as t:
        root = Path(t) / folder
        shutil.copytree(SAMPLES_DIR / folder, root)
        path = Path(t) / rel
        data = path.read_bytes()
        cut %= len(data) + 1
        path.write_bytes(data[:cut] + b"".join(junk) + (b"" if truncate else data[cut:]))
        try:
            located, _ = module.locate(root)
            if located is None:
                event("not found")
                return  # damage to the first line can hide a download from the finder: nothing is read
            r = module.prepare(McqRequest(located))
        except PrepError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(str(Path(t)))
            event("PrepError")
            return
    event(f"read ({'skips' if r.test_tally.skipped else 'no skips'})")
    fields = [*MCQ_FIELDS, *MCQ_EXAM_FIELDS] if module is cmb else list(MCQ_FIELDS)
    for records, tally in ((r.test, r.test_tally), (r.dev or [], r.dev_tally)):
        assert tally.read == len(records) + sum(tally.skipped.values())
        assert len({rec["id"] for rec in records}) == len(records)
        for rec in records:
            assert list(rec) == fields and rec["question"] and rec["question"] == rec["question"].strip()
            assert list(rec["options"]) == list("ABCDEFGHIJ"[:len(rec["options"])]) and all(rec["options"].values())
            assert re.fullmatch(r"[A-J]+", rec["answer"]) and set(rec["answer"]) <= set(rec["options"])
            assert rec["multi"] or len(rec["answer"]) == 1
