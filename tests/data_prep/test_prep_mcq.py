"""The multiple-choice readers (data_prep/mcq): the bundled synthetic samples in the published formats, what
each reader makes of them, and every bad input as a sentence naming file and row or a counted skip."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from mcq_helpers import (
    CEVAL_DEV,
    CEVAL_VAL,
    GOOD,
    MCQ_SAMPLE_DIRS,
    ceval_download,
    cmmlu_download,
    csv_text,
    write,
)

from contract.datasets import DEV, MCQ, MCQ_EXAM_FIELDS, MCQ_FIELDS, MCQ_SHOTS, TEST, split
from data_prep import mcq
from data_prep.discover import SAMPLES_DIR
from data_prep.errors import PrepError
from data_prep.mcq import ceval, cmb, cmexam, cmmlu, medqa
from data_prep.mcq.common import McqRequest
from data_prep.synthetic import mcq as synthetic


def cmmlu_prepare(root: Path):
    return cmmlu.prepare(McqRequest(root))




# -- the bundled samples ----------------------------------------------------------------------------------
def test_generator_reproduces_the_committed_mcq_samples(tmp_path):
    written = synthetic.write(tmp_path)
    committed = sorted(p.relative_to(SAMPLES_DIR) for d in MCQ_SAMPLE_DIRS for p in (SAMPLES_DIR / d).rglob("*")
                       if p.is_file())
    assert sorted(p.relative_to(tmp_path) for p in written) == committed  # no stale file, none missing
    for rel in committed:
        assert (tmp_path / rel).read_bytes() == (SAMPLES_DIR / rel).read_bytes(), rel
    assert sum((SAMPLES_DIR / rel).stat().st_size for rel in committed) < 300_000


def test_samples_have_the_published_formats():
    raw = (SAMPLES_DIR / "CMMLU/data/test/anatomy.csv").read_bytes()
    assert raw.startswith(b",Question,A,B,C,D,Answer\n") and b"\r" not in raw
    assert "\u3000" in raw.decode() and re.search(r" ,", raw.decode())  # U+3000 and trailing spaces in cells
    assert "Ａ" in (SAMPLES_DIR / "CMMLU/data/test/high_school_mathematics.csv").read_text("utf-8")
    for part, header in (("dev", CEVAL_DEV), ("val", CEVAL_VAL), ("test", CEVAL_VAL[:-1])):
        text = (SAMPLES_DIR / f"ceval-exam/{part}/basic_medicine_{part}.csv").read_bytes().decode()
        assert text.startswith(",".join(header) + "\r\n")
        assert text.count("\r\n") > text.count("\n") - text.count("\r\n")  # CRLF row ends, a few bare LF in cells
    val = (SAMPLES_DIR / "ceval-exam/val/basic_medicine_val.csv").read_bytes().decode()
    assert '"阅读下面的题目：\n' in val and '"请作答：\r\n' in val and "____" in val
    for name in ("CMB-Exam/CMB-test/CMB-test-choice-question-merge.json", "CMB-Exam/CMB-val/CMB-val-merge.json",
                 "CMB-test-choice-answer.json"):
        data = (SAMPLES_DIR / "CMB/data" / name).read_bytes()
        assert data.startswith(b"[\r\n    {\r\n        \"") and data.endswith(b"}\r\n]")  # 4 spaces, no final newline
    questions = json.loads((SAMPLES_DIR / "CMB/data/CMB-Exam/CMB-test/CMB-test-choice-question-merge.json").read_text("utf-8"))
    answers = json.loads((SAMPLES_DIR / "CMB/data/CMB-test-choice-answer.json").read_text("utf-8"))
    assert [q["id"] for q in questions] == [a["id"] for a in answers] == list(range(1, 31))
    assert any(a["answer"] == "EB" for a in answers)
    assert any(a["question_type"] == "多项选择题" and len(a["answer"]) == 1 for a in answers)
    assert any(q["option"].get("E") == "" for q in questions)
    rows = list(csv.DictReader(io.StringIO((SAMPLES_DIR / "CMExam/data/test_with_annotations.csv").read_text("utf-8"))))
    assert sum(not r["Answer"] for r in rows) == 1 and any(len(r["Answer"]) > 1 for r in rows)
    assert all(re.fullmatch(r"(?:[A-E] \S+\n){4}[A-E] \S+", r["Options"]) for r in rows)
    for line in (SAMPLES_DIR / "MedQA/data_clean/questions/Mainland/test.jsonl").read_text("utf-8").splitlines():
        item = json.loads(line)
        assert item["options"][item["answer_idx"]] == item["answer"] and list(item["options"]) == list("ABCDE")


def prepared(task: str):
    root, _ = mcq.BENCHMARKS[task].locate(SAMPLES_DIR)
    return mcq.BENCHMARKS[task].prepare(McqRequest(root))


@pytest.mark.parametrize("task, n_test, n_dev, skipped", [
    ("cmmlu", 4 * 30 + 1, 4 * 5, {}), ("ceval", 4 * 20, 4 * 5, {}), ("cmb", 30, 10, {}),
    ("cmexam", 29, 8, {"no_answer": 1}), ("medqa", 30, 8, {})])
def test_each_benchmark_reads_its_sample(task, n_test, n_dev, skipped):
    r = prepared(task)
    assert (len(r.test), len(r.dev), dict(r.test_tally.skipped), dict(r.dev_tally.skipped)) == (n_test, n_dev,
                                                                                                   skipped, {})
    assert r.test_tally.read == n_test + sum(skipped.values()) and r.dev_tally.read == n_dev
    fields = [*MCQ_FIELDS, *MCQ_EXAM_FIELDS] if task == "cmb" else list(MCQ_FIELDS)
    for rec in r.test + r.dev:
        assert list(rec) == fields and rec["benchmark"] == task
        letters = list(rec["options"])
        assert letters == list("ABCDE"[:len(letters)]) and all(rec["options"].values())
        assert re.fullmatch(r"[A-E]+", rec["answer"]) and set(rec["answer"]) <= set(letters)
        assert rec["question"] == rec["question"].strip() and rec["group"] in ("medical", "general")
        assert rec["multi"] == (len(rec["answer"]) > 1) or (task == "cmb" and rec["multi"])
    assert len({rec["id"] for rec in r.test}) == len(r.test)
    assert set(r.splits(task)) == {split(task, TEST), split(task, DEV)}


def test_cmmlu_sample_items_as_published():
    r = prepared("cmmlu")
    by_id = {rec["id"]: rec for rec in r.test}
    anatomy = [rec for rec in r.test if rec["subject"] == "anatomy"]
    assert anatomy[3]["question"] == "肺属于人体的哪个系统？"  # U+3000 and the trailing space stripped
    assert not any(v != v.strip() for rec in r.test for v in rec["options"].values())
    first, dup = by_id["anatomy/0"], by_id["anatomy/30"]  # the full duplicate row is kept, as the papers score it
    assert {**first, "id": None} == {**dup, "id": None}
    assert by_id["high_school_mathematics/1"]["question"] == "已知Ａ=$3+4$，则Ａ的值为"  # question text as published
    assert r.info["groups"] == {"general": 60, "medical": 61}
    assert r.info["subjects"]["anatomy"] == {"subject_zh": "解剖学", "group": "medical", "test": 31, "dev": 5}
    assert r.info["few_shot_pool"] == dict.fromkeys(r.info["subjects"], MCQ_SHOTS)
    assert any("default subjects not in this download" in n and "virology" in n for n in r.notes)


def test_general_items_are_learnable_sums():
    """The retention check's mathematics: the answer follows from the question (a later demo trains on this)."""
    for task in ("cmmlu", "ceval"):
        maths = [rec for rec in prepared(task).test if rec["subject"] == "high_school_mathematics"]
        for rec in maths:
            m = re.search(r"\$(\d+)\+(\d+)\$", rec["question"])
            if m:
                assert rec["options"][rec["answer"]] == str(int(m[1]) + int(m[2]))
        assert len(maths) == 30 if task == "cmmlu" else 20


def test_ceval_scores_val_and_notes_the_unanswered_test_split():
    r = prepared("ceval")
    assert all(rec["subject"] in r.info["subjects"] for rec in r.test)
    assert r.info["scored_split"] == "val" and r.info["test_split_not_scored"] == 4
    assert any("has no answers and is not scored" in n for n in r.notes)
    assert [f.parent.name for f in r.files[TEST]] == ["val"] * 4
    multiline = [rec["question"] for rec in r.test if rec["id"] in ("basic_medicine/2", "basic_medicine/5")]
    assert multiline[0].startswith("阅读下面的题目：\n") and multiline[1].startswith("请作答：\r\n")  # as published
    assert r.info["groups"] == {"general": 40, "medical": 40}


def test_cmb_joins_answers_keeps_their_order_and_drops_empty_options():
    r = prepared("cmb")
    by_id = {rec["id"]: rec for rec in r.test}
    assert by_id["12"]["answer"] == "EB" and by_id["12"]["multi"]
    single_letter_multi = [rec for rec in r.test if rec["multi"] and len(rec["answer"]) == 1]
    assert [rec["id"] for rec in single_letter_multi] == ["30"]
    assert any(len(rec["options"]) == 4 for rec in r.test)  # the empty E dropped
    assert r.info["scored"].startswith("CMB-test") and r.info["few_shot_pool"] == {"all": 10}
    assert r.info["exam_classes"] == {"医师考试": {"执业医师": 10, "规培结业": 10}, "护理考试": {"护士执业资格": 10}}
    assert all(rec["subject"] == rec["subject_zh"] and rec["group"] == "medical" for rec in r.test)


# -- locating the files -------------------------------------------------------------------------------------
def test_every_contract_benchmark_has_a_module_with_the_same_interface():
    assert tuple(mcq.BENCHMARKS) == MCQ
    for module in mcq.BENCHMARKS.values():
        assert callable(module.locate) and callable(module.prepare) and module.LAYOUT


def test_locate_finds_each_download_below_a_folder_and_notes_a_second_copy(tmp_path):
    synthetic.write(tmp_path / "a")
    synthetic.write(tmp_path / "b")
    for task, module in mcq.BENCHMARKS.items():
        root, notes = module.locate(tmp_path)
        assert root is not None, task
        if task != "cmb":  # cmb finds each of its files by name below the folder it is given
            assert root.is_relative_to(tmp_path / "a") and "2 copies" in notes[0], (task, notes)
            assert str(tmp_path) not in notes[0]  # the note names folders relative to the download folder
    assert all(module.locate(tmp_path / "nothing-here")[0] is None for module in mcq.BENCHMARKS.values())


def test_medqa_prefers_the_five_option_files(tmp_path):
    line = json.dumps({"question": "q", "answer": "x", "options": {"A": "x", "B": "y", "C": "z", "D": "w"},
                       "meta_info": "m", "answer_idx": "A"}, ensure_ascii=False) + "\n"
    write(tmp_path / "Mainland/4_options/test.jsonl", line)
    root, notes = medqa.locate(tmp_path)
    assert root.name == "4_options" and "4_options" in notes[0]
    write(tmp_path / "Mainland/test.jsonl", line)
    assert medqa.locate(tmp_path)[0].name == "Mainland"


# -- bad input: counted skips -------------------------------------------------------------------------------
@pytest.mark.parametrize("row, reason", [
    (["心脏属于哪个系统？", "呼吸", "循环", "消化", "神经", "E"], "answer_not_in_options"),
    (["心脏属于哪个系统？", "呼吸", "", "消化", "神经", "B"], "empty_option"),
    (["心脏属于哪个系统？", "呼吸", "\u3000 ", "消化", "神经", "B"], "empty_option"),
    (["心脏属于哪个系统？A. 呼吸 B. 循环 C. 消化 D. 神经", "", "", "", "", "B"], "options_only_in_question"),
    (["心脏属于哪个系统？", "", "", "", "", "B"], "no_options"),
    (["心脏属于哪个系统？", "呼吸", "循环", "消化", "神经", "AB"], "multi_answer_in_single_choice"),
    (["心脏属于哪个系统？", "呼吸", "循环", "消化", "神经", ""], "no_answer"),
    (["心脏属于哪个系统？", "呼吸", "循环", "消化", "神经", "B."], "bad_answer"),
    (["心脏属于哪个系统？", "呼吸", "循环", "消化", "神经", "b"], "bad_answer"),
    (["\u3000", "呼吸", "循环", "消化", "神经", "B"], "empty_question"),
    (["心脏属于哪个系统？\x00", "呼吸", "循环", "消化", "神经", "B"], "nul_character"),
])
def test_a_bad_cmmlu_row_is_a_counted_skip_with_where_it_was(tmp_path, row, reason):
    r = cmmlu_prepare(cmmlu_download(tmp_path, [GOOD, row]))
    assert [rec["id"] for rec in r.test] == ["anatomy/0"]
    assert dict(r.test_tally.skipped) == {reason: 1} and r.test_tally.examples[reason] == ["anatomy.csv line 3"]


def test_a_row_with_another_number_of_cells_is_counted(tmp_path):
    root = cmmlu_download(tmp_path, [GOOD])
    path = root / "data/test/anatomy.csv"
    path.write_text(path.read_text("utf-8") + "1,只有题目,A\n", encoding="utf-8")
    r = cmmlu_prepare(root)
    assert len(r.test) == 1 and dict(r.test_tally.skipped) == {"wrong_field_count": 1}


def test_a_bare_cr_in_an_unquoted_cell_breaks_the_row_into_counted_pieces(tmp_path):
    """pandas writes a lone CR unquoted when rows end in LF; no reader can tell it from a row end."""
    root = cmmlu_download(tmp_path, [GOOD])
    path = root / "data/test/anatomy.csv"
    path.write_bytes(path.read_bytes() + "1,心脏属于哪个\r系统？,呼吸,循环,消化,神经,B\n".encode())
    r = cmmlu_prepare(root)
    assert len(r.test) == 1 and dict(r.test_tally.skipped) == {"wrong_field_count": 2}


def test_full_width_answer_letters_are_normalised_and_counted(tmp_path):
    r = cmmlu_prepare(cmmlu_download(tmp_path, [GOOD[:5] + ["Ｂ"], GOOD[:5] + [" Ｃ "]]))
    assert [rec["answer"] for rec in r.test] == ["B", "C"] and r.info["normalised"] == {"full_width_answer": 2}


def test_crlf_inside_quoted_cells_and_a_bom_are_read_as_published(tmp_path):
    root = cmmlu_download(tmp_path, [["第一行\r\n第二行", "甲\r\n乙", "循环", "消化", "神经", "A"]])
    path = root / "data/test/anatomy.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    r = cmmlu_prepare(root)
    assert r.test[0]["question"] == "第一行\r\n第二行" and r.test[0]["options"]["A"] == "甲\r\n乙"
    assert r.info["bom_files"] == ["anatomy.csv"]


def test_a_dev_pool_smaller_than_k_is_noted_and_counted(tmp_path):
    r = cmmlu_prepare(cmmlu_download(tmp_path, [GOOD], dev_rows=[GOOD] * 3))
    assert r.info["few_shot_pool"] == {"anatomy": 3} and r.info["subjects"]["anatomy"]["dev"] == 3
    assert any(f"smaller than {MCQ_SHOTS} (anatomy 3)" in n for n in r.notes)


def test_ceval_duplicate_ids_keep_the_first(tmp_path):
    rows = [[0, "缺碘可引起____。", "甲状腺肿", "佝偻病", "夜盲症", "坏血病", "A"],
            [0, "缺铁可引起____。", "贫血", "佝偻病", "夜盲症", "坏血病", "A"],
            ["", "缺钙可引起____。", "佝偻病", "贫血", "夜盲症", "坏血病", "A"]]
    r = ceval.prepare(McqRequest(ceval_download(tmp_path, rows)))
    assert [rec["id"] for rec in r.test] == ["basic_medicine/0"] and "碘" in r.test[0]["question"]
    assert dict(r.test_tally.skipped) == {"duplicate_id": 1, "missing_id": 1}


def cmb_download(root: Path, questions: list[dict], answers: list[dict] | None, val: list[dict] | None = None):
    exam = root / "CMB" / "CMB-Exam"
    write(exam / "CMB-test" / cmb.QUESTIONS, json.dumps(questions, ensure_ascii=False))
    if answers is not None:
        write(root / "CMB" / cmb.ANSWERS, json.dumps(answers, ensure_ascii=False))
    if val is not None:
        write(exam / "CMB-val" / cmb.VAL, json.dumps(val, ensure_ascii=False))
    return root


def cmb_item(i: int, qtype: str = "单项选择题", option: dict | None = None, answer: str | None = None) -> dict:
    item = {"id": i, "exam_type": "医师考试", "exam_class": "执业医师", "exam_subject": "内科", "question": f"题{i}",
            "question_type": qtype, "option": option or {"A": "甲", "B": "乙", "C": "丙", "D": "丁", "E": ""}}
    return {**item, "answer": answer} if answer is not None else item


def test_cmb_bad_items_are_counted(tmp_path):
    questions = [cmb_item(1), cmb_item(2), cmb_item(3, option={"A": "甲", "B": "", "C": "丙"}),
                 cmb_item(4, qtype="判断题"), cmb_item(5), cmb_item(6, qtype="多项选择题"), cmb_item(7), cmb_item(7)]
    answers = [{"id": 1, "answer": "B"}, {"id": 2, "answer": "AB"}, {"id": 3, "answer": "A"}, {"id": 4, "answer": "A"},
               {"id": "6", "answer": "DA"}, {"id": 7, "answer": "Ｃ"}, {"id": 99, "answer": "A"}]
    r = cmb.prepare(McqRequest(cmb_download(tmp_path, questions, answers)))
    assert [(rec["id"], rec["answer"], rec["multi"]) for rec in r.test] == [("1", "B", False), ("6", "DA", True),
                                                                           ("7", "C", False)]
    assert dict(r.test_tally.skipped) == {"multi_answer_in_single_choice": 1, "empty_option": 1,
                                          "bad_question_type": 1, "no_answer_in_answer_file": 1, "duplicate_id": 1}
    assert r.info["answers_without_question"] == 1 and any("1 answers in" in n for n in r.notes)
    assert r.dev is None and any("no few-shot pool" in n for n in r.notes)


def test_cmb_without_an_answer_file_scores_val(tmp_path):
    val = [cmb_item(i, answer="A") for i in range(3)]
    r = cmb.prepare(McqRequest(cmb_download(tmp_path, [cmb_item(1)], None, val)))
    assert len(r.test) == 3 and r.dev is None and r.info["scored"].startswith("CMB-val")
    assert any("has no answers without" in n for n in r.notes)


def test_cmexam_options_cell_and_answers(tmp_path):
    header = ["Question", "Options", "Answer", "Explanation", "Disease Group"]
    rows = [["缺碘可引起", "A 甲状腺肿\nB 佝偻病\nC 夜盲症", "A", "", ""],
            ["下列属于消化系统的有", "A 胃\nB 肺\nC 小肠", "AC", "", ""],
            ["题", "A 甲\nB乙", "A", "", ""], ["题", "A 甲\nC 丙", "A", "", ""], ["题", "A 甲\nB", "A", "", ""],
            ["题", "Ａ 甲\nＢ 乙", "Ｂ", "", ""]]
    write(tmp_path / "data" / "test_with_annotations.csv", csv_text([header, *rows]))
    r = cmexam.prepare(McqRequest(tmp_path / "data"))
    assert [(rec["answer"], rec["multi"]) for rec in r.test] == [("A", False), ("AC", True), ("B", False)]
    assert r.test[2]["options"] == {"A": "甲", "B": "乙"}
    assert dict(r.test_tally.skipped) == {"bad_options_cell": 1, "bad_option_letters": 1, "empty_option": 1}
    assert r.dev is None and any("no few-shot pool" in n for n in r.notes)


def test_medqa_answer_text_must_be_the_answer_option(tmp_path):
    def item(idx, text):
        return {"question": "缺碘可引起", "answer": text, "options": {"A": "甲状腺肿", "B": "佝偻病"},
                "meta_info": "m", "answer_idx": idx}
    lines = [item("A", "甲状腺肿"), item("B", "甲状腺肿"), item("AB", "甲状腺肿"), [1, 2]]
    write(tmp_path / "Mainland/test.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n")
    r = medqa.prepare(McqRequest(tmp_path))
    assert [rec["id"] for rec in r.test] == ["all/0"]
    assert dict(r.test_tally.skipped) == {"answer_text_mismatch": 1, "multi_answer_in_single_choice": 1,
                                          "not_an_object": 1}


# -- bad input: one sentence naming file and row ------------------------------------------------------------
def sentence(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_gbk_bytes_are_a_sentence_naming_file_and_line(tmp_path):
    root = cmmlu_download(tmp_path, [GOOD])
    path = root / "data/test/anatomy.csv"
    path.write_bytes(path.read_text("utf-8").encode("gbk"))
    with pytest.raises(PrepError) as exc:
        cmmlu_prepare(root)
    text = sentence(exc)
    assert text.startswith(f"{path}: line 2 (byte ") and "GBK/GB18030" in text and "UTF-8" in text


@pytest.mark.parametrize("header", ["Unnamed: 0,Question,A,B,C,D,Answer", ",question,A,B,C,D,answer",
                                    ",Question,A,B,C,D"])
def test_a_header_that_is_not_the_published_one_is_a_sentence(tmp_path, header):
    root = cmmlu_download(tmp_path, [GOOD])
    path = root / "data/test/anatomy.csv"
    path.write_text(header + "\n0,q,a,b,c,d,A\n", encoding="utf-8")
    with pytest.raises(PrepError) as exc:
        cmmlu_prepare(root)
    assert sentence(exc) == (f"{path}: line 1 (header): expected the published header ,Question,A,B,C,D,Answer; "
                             f"found {header}")


def test_ceval_val_with_the_test_header_is_a_sentence(tmp_path):
    write(tmp_path / "val" / "physician_val.csv", csv_text([CEVAL_VAL[:-1], [0, "q", "a", "b", "c", "d"]], "\r\n"))
    with pytest.raises(PrepError) as exc:
        ceval.prepare(McqRequest(tmp_path))
    assert "expected the published header id,question,A,B,C,D,answer; found id,question,A,B,C,D" in sentence(exc)


def test_ceval_with_only_the_test_split_is_never_scored(tmp_path):
    write(tmp_path / "test" / "physician_test.csv", csv_text([CEVAL_VAL[:-1], [0, "q", "a", "b", "c", "d"]], "\r\n"))
    with pytest.raises(PrepError) as exc:
        ceval.prepare(McqRequest(tmp_path))
    assert "found only the test split, which has no answers" in sentence(exc)


def test_cmb_answer_file_of_other_questions_is_a_sentence(tmp_path):
    root = cmb_download(tmp_path, [cmb_item(1), cmb_item(2)], [{"id": 7, "answer": "A"}, {"id": 8, "answer": "B"}])
    with pytest.raises(PrepError) as exc:
        cmb.prepare(McqRequest(root))
    assert sentence(exc).startswith(f"{root / 'CMB' / cmb.ANSWERS}: whole file: expected the answers to "
                                    f"{cmb.QUESTIONS}, joined by id; found none of its 2 ids")


@pytest.mark.parametrize("answers, found", [
    ([{"id": 1, "answer": "A"}, {"id": 1, "answer": "B"}], "id 1 answered 'A' and 'B'"),
    ([{"id": 1}], "{'id': 1}"), ([{"id": True, "answer": "A"}], "'id': True")])
def test_a_malformed_answer_file_is_a_sentence(tmp_path, answers, found):
    root = cmb_download(tmp_path, [cmb_item(1)], answers)
    with pytest.raises(PrepError) as exc:
        cmb.prepare(McqRequest(root))
    assert f"{cmb.ANSWERS}: record " in sentence(exc) and found in str(exc.value)


def test_a_truncated_cmb_file_and_a_broken_medqa_line_are_sentences(tmp_path):
    root = cmb_download(tmp_path, [cmb_item(1)], [{"id": 1, "answer": "A"}])
    path = root / "CMB/CMB-Exam/CMB-test" / cmb.QUESTIONS
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(PrepError) as exc:
        cmb.prepare(McqRequest(root))
    assert sentence(exc).startswith(f"{path}: record 0: expected a complete JSON value")
    write(tmp_path / "m/Mainland/test.jsonl", '{"question": "q"}\n{"question": \n')
    with pytest.raises(PrepError) as exc:
        medqa.prepare(McqRequest(tmp_path / "m/Mainland"))
    assert sentence(exc).startswith(f"{tmp_path / 'm/Mainland/test.jsonl'}: line 2: expected one JSON object per line")
