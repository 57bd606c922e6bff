"""cmb: CMB-Exam (FreedomIntelligence/CMB, Apache-2.0). JSON arrays (UTF-8, CRLF, 4-space indent, no final
newline) of `{exam_type, exam_class, exam_subject, question, answer, question_type, option}`, `option` a dict
A–E (sometimes F) whose empty options the official code drops. The test questions
(`CMB-Exam/CMB-test/CMB-test-choice-question-merge.json`) carry no answers: they are joined by `id` with the
answer file (`CMB-test-choice-answer.json`, `{id, exam_type, exam_class, exam_subject, question_type, answer}`),
and `CMB-Exam/CMB-val/CMB-val-merge.json` (280 items) is the few-shot pool. Without the answer file the val
items are scored instead (and there is no pool). `question_type` 单项选择题 is single choice, 多项选择题 multiple
answers (a few of them one letter); answers are kept exactly as published, order included (`EB`): the official
score.py compares strings. subject = exam_subject; id = the official id (`<exam_subject>/<row>` where none)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from contract.datasets import DEV, TEST

from ..discover import sorted_files
from ..errors import PrepError
from ..jsonstream import iter_json_array
from ..quality import clean
from ..tally import Tally
from .common import BadRow, Items, McqRequest, McqResult, RawItem, collect, first_of, pool_sizes

BENCHMARK = "cmb"
QUESTIONS = "CMB-test-choice-question-merge.json"
ANSWERS = "CMB-test-choice-answer.json"
VAL = "CMB-val-merge.json"
QUESTION_TYPES = {"单项选择题": False, "多项选择题": True}
EXAM_KEYS = ("exam_type", "exam_class")
LAYOUT = f"CMB-Exam/CMB-test/{QUESTIONS} with {ANSWERS}, and/or CMB-Exam/CMB-val/{VAL}"


def locate(folder: Path) -> tuple[Path | None, list[str]]:
    """`folder` itself when a CMB-Exam file lies below it (each file is then found by its own name)."""
    return (folder if sorted_files(folder, QUESTIONS) or sorted_files(folder, VAL) else None), []


def item_key(value) -> str | None:
    """An id as the join key: integers and digit strings alike (1 == "1"); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return str(int(value.strip()))
    return None


def read_answers(path: Path) -> dict[str, str]:
    """id -> answer from the answer file; a malformed entry or an id given two answers is an error."""
    answers: dict[str, str] = {}
    for index, entry in iter_json_array(path, desc=f"read {path.name}"):
        key = item_key(entry.get("id")) if isinstance(entry, dict) else None
        if key is None or not isinstance(entry.get("answer"), str):
            raise PrepError(path, f"record {index}", "an object {id, ..., answer} with an integer id and a "
                            "letter-string answer", found=repr(entry)[:120])
        if key in answers and answers[key] != entry["answer"]:
            raise PrepError(path, f"record {index}", "one answer per id", found=f"id {key} answered "
                            f"{answers[key]!r} and {entry['answer']!r}")
        answers[key] = entry["answer"]
    return answers


def read_items(path: Path, answers: dict[str, str] | None, joined: set[str]):
    """(where, RawItem | BadRow) for each question of a CMB-Exam file; `answers` (test): the answer by id,
    recording in `joined` every id that has its question here."""
    for index, obj in iter_json_array(path, desc=f"read {path.name}"):
        where = f"{path.name} record {index}"
        if not isinstance(obj, dict):
            yield where, BadRow("not_an_object")
            continue
        key = item_key(obj["id"]) if "id" in obj else None
        if answers is not None and key in answers:
            joined.add(key)  # the answer has its question, whether or not the item turns out usable
        exam = {k: obj.get(k) for k in (*EXAM_KEYS, "exam_subject")}
        if "id" in obj and key is None:
            reason = "bad_id"
        elif not all(isinstance(v, str) and clean(v) for v in exam.values()):
            reason = "missing_field"
        elif obj.get("question_type") not in QUESTION_TYPES:
            reason = "bad_question_type"
        elif not isinstance(obj.get("option"), dict):
            reason = "no_options"
        elif answers is not None and key is None:
            reason = "missing_id"  # nothing to join the answer file by
        elif answers is not None and key not in answers:
            reason = "no_answer_in_answer_file"
        else:
            subject = clean(exam.pop("exam_subject"))
            yield where, RawItem(key if key is not None else f"{subject}/{index}", subject, obj.get("question"),
                                 list(obj["option"].items()), obj.get("answer") if answers is None else answers[key],
                                 multi=QUESTION_TYPES[obj["question_type"]], exam={k: clean(v) for k, v in exam.items()})
            continue
        yield where, BadRow(reason)


def prepare(request: McqRequest) -> McqResult:
    src, notes = request.source, []
    questions = first_of(sorted_files(src, QUESTIONS), src, f"{BENCHMARK}: {QUESTIONS}", notes)
    answers_path = first_of(sorted_files(src, ANSWERS), src, f"{BENCHMARK}: {ANSWERS}", notes)
    val = first_of(sorted_files(src, VAL), src, f"{BENCHMARK}: {VAL}", notes)
    items = Items(BENCHMARK, request.groups, single_choice=False, drop_empty_options=True)
    test_tally, dev_tally = Tally(), Tally()
    info: dict = {}
    if questions is not None and answers_path is not None:
        answers, joined = read_answers(answers_path), set()
        test = collect(read_items(questions, answers, joined), items, test_tally)
        if answers and not joined:
            raise PrepError(answers_path, "whole file", f"the answers to {questions.name}, joined by id",
                            found=f"none of its {len(answers)} ids is a question id there",
                            hint="is it the answer file of another CMB release?")
        info["scored"] = "CMB-test (answers joined by id)"
        if len(answers) > len(joined):
            info["answers_without_question"] = len(answers) - len(joined)
            notes.append(f"{BENCHMARK}: {len(answers) - len(joined)} answers in {answers_path.name} have no "
                         f"question in {questions.name}")
        files = {TEST: [questions, answers_path]}
        dev = None
        if val is not None:
            dev = collect(read_items(val, None, set()), items, dev_tally)
            files[DEV] = [val]
            info["few_shot_pool"] = pool_sizes(dev, None, BENCHMARK, notes)
        else:
            notes.append(f"{BENCHMARK}: no {VAL}: no few-shot pool (0-shot only)")
    elif val is not None:
        test, dev, files = collect(read_items(val, None, set()), items, test_tally), None, {TEST: [val]}
        info["scored"] = "CMB-val (no answer file for CMB-test)"
        why = f"{QUESTIONS} has no answers without {ANSWERS}" if questions is not None else f"no {QUESTIONS}"
        notes.append(f"{BENCHMARK}: {why}; scoring the {VAL} items instead (no few-shot pool)")
    else:
        raise PrepError(src, "--cmb", f"the CMB-Exam download ({LAYOUT})",
                        found=f"{QUESTIONS} without {ANSWERS}, and no {VAL}")
    classes = Counter((r["exam_type"], r["exam_class"]) for r in test)
    info["exam_classes"] = {t: {c: n for (t2, c), n in sorted(classes.items()) if t2 == t}
                            for t in sorted({t for t, _ in classes})}
    info["multi_answer_items"] = sum(r["multi"] for r in test)
    if items.normalised:
        info["normalised"] = dict(sorted(items.normalised.items()))
    return McqResult(test, dev, test_tally, dev_tally, files=files, info=info, notes=notes)
