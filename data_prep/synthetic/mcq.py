"""The synthetic samples of the multiple-choice benchmarks, deterministically, in the published layouts:

    CMMLU/data/{dev,test}/<subject>.csv                   ,Question,A,B,C,D,Answer (unnamed index), LF
    ceval-exam/{dev,val,test}/<subject>_<split>.csv       per-split headers, CRLF, quoted multi-line cells
    CMB/data/CMB-Exam/CMB-{test,val}/...json              JSON arrays, CRLF, 4-space indent, no final newline
    CMB/data/CMB-test-choice-answer.json                  the test answers, joined by id
    CMExam/data/{train,val,test_with_annotations}.csv     Options in one cell, one `X text` per line
    MedQA/data_clean/questions/Mainland/{train,dev,test}.jsonl

No published item is copied (C-Eval and CMMLU are CC BY-NC-SA): every item is written here from small fact
tables and arithmetic, so a tiny model can learn them. General items follow a rule (the answer is derivable:
sums, a dynasty's founder, the year of an event); medical items are fixed fact pairs (organ -> system,
deficiency -> disease, disease -> pathogen, emergency -> first drug), asked again with other distractors and
option orders. The published quirks are here too: U+3000 and trailing spaces around cells, a full-width letter
in a question, `$…$` LaTeX, a full duplicate row, `____` blanks, a C-Eval test split without answers, CMB empty
options, multiple answers (one of them ordered `EB`, one a single letter), a CMExam row without an answer.

    python -m data_prep.synthetic.mcq [--out data_prep/samples]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from pathlib import Path

from ..discover import SAMPLES_DIR

SEED = 20240617
LETTERS = "ABCDE"

# -- fact tables: (question template, [(subject of the fact, answer)]) --------------------------------------
ORGAN_SYSTEM = ("{x}属于人体的哪个系统？", "{x}属于人体的____。", [
    ("心脏", "循环系统"), ("肺", "呼吸系统"), ("肾脏", "泌尿系统"), ("胃", "消化系统"), ("甲状腺", "内分泌系统"),
    ("脊髓", "神经系统"), ("股骨", "运动系统"), ("卵巢", "生殖系统")])
DEFICIENCY = ("缺乏{x}可引起下列哪种疾病？", "缺乏{x}可引起____。", [
    ("维生素C", "坏血病"), ("维生素D", "佝偻病"), ("维生素B1", "脚气病"), ("维生素A", "夜盲症"),
    ("碘", "地方性甲状腺肿"), ("铁", "缺铁性贫血"), ("维生素B12", "巨幼细胞贫血")])
PATHOGEN = ("{x}的病原体是", "{x}的病原体是____。", [
    ("肺结核", "结核分枝杆菌"), ("乙型肝炎", "乙型肝炎病毒"), ("疟疾", "疟原虫"), ("艾滋病", "人类免疫缺陷病毒"),
    ("流行性感冒", "流感病毒"), ("梅毒", "梅毒螺旋体"), ("破伤风", "破伤风梭菌")])
FIRST_DRUG = ("抢救{x}的首选药物是", "抢救{x}首选____。", [
    ("过敏性休克", "肾上腺素"), ("有机磷农药中毒", "阿托品"), ("癫痫持续状态", "地西泮"),
    ("心绞痛急性发作", "硝酸甘油"), ("肝素过量", "鱼精蛋白"), ("吗啡中毒", "纳洛酮")])
FOUNDER = ("{x}的建立者是", "{x}的建立者是____。", [
    ("秦朝", "嬴政"), ("西汉", "刘邦"), ("西晋", "司马炎"), ("隋朝", "杨坚"), ("唐朝", "李渊"), ("北宋", "赵匡胤"),
    ("元朝", "忽必烈"), ("明朝", "朱元璋")])
EVENT_YEAR = ("{x}发生在哪一年？", "{x}发生在____年。", [
    ("鸦片战争爆发", "1840"), ("甲午中日战争爆发", "1894"), ("戊戌变法", "1898"), ("辛亥革命爆发", "1911"),
    ("五四运动爆发", "1919"), ("中国共产党成立", "1921"), ("中华人民共和国成立", "1949")])
MEDICAL = (ORGAN_SYSTEM, DEFICIENCY, PATHOGEN, FIRST_DRUG)
# organs by system, for the multiple-answer items (下列属于X的器官有)
ORGANS = {"消化系统": ["胃", "肝脏", "小肠", "胰腺"], "呼吸系统": ["肺", "气管", "喉"], "泌尿系统": ["肾脏", "膀胱", "输尿管"],
          "循环系统": ["心脏", "主动脉", "毛细血管"]}

CMMLU_SUBJECTS = {"anatomy": [ORGAN_SYSTEM], "clinical_knowledge": [PATHOGEN, FIRST_DRUG],
                  "chinese_history": [FOUNDER], "high_school_mathematics": None}  # None: arithmetic
CEVAL_SUBJECTS = {"basic_medicine": [DEFICIENCY, ORGAN_SYSTEM], "clinical_medicine": [FIRST_DRUG, PATHOGEN],
                  "modern_chinese_history": [EVENT_YEAR], "high_school_mathematics": None}
CMB_EXAMS = [("医师考试", "执业医师", "临床执业医师"), ("医师考试", "规培结业", "内科"), ("护理考试", "护士执业资格", "护理学")]


# -- items ---------------------------------------------------------------------------------------------------
def fact_item(rng: random.Random, table, n_options: int, blank: bool) -> tuple[str, list[str], int, str, str]:
    """(question, options, index of the answer, the fact's subject, its answer) for one fact of `table`."""
    question_form, blank_form, pairs = table
    x, y = rng.choice(pairs)
    others = rng.sample([b for _, b in pairs if b != y], n_options - 1)
    options = others + [y]
    rng.shuffle(options)
    return (blank_form if blank else question_form).format(x=x), options, options.index(y), x, y


def sum_item(rng: random.Random, blank: bool) -> tuple[str, list[str], int, str, str]:
    """An addition whose answer is derivable from the question (distractors near it, never equal)."""
    a, b = rng.randint(2, 49), rng.randint(2, 49)
    total = a + b
    others = rng.sample([total + d for d in (-10, -2, -1, 1, 2, 10)], 3)
    options = [str(v) for v in [*others, total]]
    rng.shuffle(options)
    question = f"${a}+{b}$ = ____" if blank else f"计算 ${a}+{b}$ 的值。"
    return question, options, options.index(str(total)), f"{a}+{b}", str(total)


def subject_items(rng: random.Random, tables, n: int, blank: bool) -> list[tuple[str, list[str], int, str, str]]:
    return [sum_item(rng, blank) if tables is None else fact_item(rng, rng.choice(tables), 4, blank)
            for _ in range(n)]


# -- writers -------------------------------------------------------------------------------------------------
def csv_text(rows: list[list[object]], line_end: str) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator=line_end).writerows(rows)
    return buf.getvalue()


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def cmb_json(data: list[dict]) -> str:
    """As CMB publishes: 4-space indent, CRLF line ends, no final newline (line breaks inside strings are \\n)."""
    return json.dumps(data, ensure_ascii=False, indent=4).replace("\n", "\r\n")


def write_cmmlu(out: Path, rng: random.Random) -> list[Path]:
    written = []
    for subject, tables in CMMLU_SUBJECTS.items():
        for part, n in (("dev", 5), ("test", 30)):
            rows = [[q, *opts, LETTERS[k]] for q, opts, k, _, _ in subject_items(rng, tables, n, blank=False)]
            if part == "test" and subject == "anatomy":
                rows[3][0] = f"\u3000{rows[3][0]} "  # U+3000 before, a space after (data_prep strips both)
                rows[4][2] += " "
                rows.append(list(rows[0]))  # one full duplicate row, as the published anatomy file has
            if part == "test" and subject == "high_school_mathematics":
                rows[1][0] = "已知Ａ=$3+4$，则Ａ的值为"  # a full-width letter inside a question
                rows[1][1:6] = ["5", "6", "7", "8", "C"]
            table = [["", "Question", "A", "B", "C", "D", "Answer"], *([i, *r] for i, r in enumerate(rows))]
            written.append(write_text(out / "CMMLU" / "data" / part / f"{subject}.csv", csv_text(table, "\n")))
    return written


def write_ceval(out: Path, rng: random.Random) -> list[Path]:
    headers = {"dev": ["id", "question", "A", "B", "C", "D", "answer", "explanation"],
               "val": ["id", "question", "A", "B", "C", "D", "answer"], "test": ["id", "question", "A", "B", "C", "D"]}
    written = []
    for subject, tables in CEVAL_SUBJECTS.items():
        for part, n in (("dev", 5), ("val", 20), ("test", 5)):
            rows = []
            for i, (q, opts, k, x, y) in enumerate(subject_items(rng, tables, n, blank=True)):
                row = [i, q, *opts]
                if part != "test":
                    row.append(LETTERS[k])
                if part == "dev":
                    row.append(f"{x}对应的是{y}。\n故选{LETTERS[k]}。")  # a multi-line explanation cell
                rows.append(row)
            if part == "val" and subject == "basic_medicine":
                rows[2][1] = f"阅读下面的题目：\n{rows[2][1]}"  # a quoted cell with a bare LF inside
                rows[5][1] = f"请作答：\r\n{rows[5][1]}"  # and one with CRLF inside
            table = [headers[part], *rows]
            written.append(write_text(out / "ceval-exam" / part / f"{subject}_{part}.csv", csv_text(table, "\r\n")))
    return written


def cmb_single(rng: random.Random) -> tuple[str, dict[str, str], str]:
    q, opts, k, _, _ = fact_item(rng, rng.choice(MEDICAL), 5 if rng.random() < 0.7 else 4, blank=False)
    option = dict(zip(LETTERS, opts, strict=False))
    option.setdefault("E", "")  # a 4-option question keeps an empty E, which the official code drops
    return q, option, LETTERS[k]


def cmb_multi(rng: random.Random, n_correct: int, at: str = "") -> tuple[str, dict[str, str], str]:
    """下列属于<system>的器官有: the organs of that system are the answers, in letter order (or at the letters
    `at`, in that order, as a few published answers are)."""
    system = rng.choice(list(ORGANS))
    correct = rng.sample(ORGANS[system], n_correct)
    wrong = rng.sample([o for s, organs in ORGANS.items() if s != system for o in organs], 5 - n_correct)
    options = correct + wrong
    rng.shuffle(options)
    if at:
        options = [o for o in options if o not in correct]
        for letter, organ in sorted(zip(at, correct, strict=True)):
            options.insert(LETTERS.index(letter), organ)
        return f"下列属于{system}的器官有", dict(zip(LETTERS, options, strict=True)), at
    answer = "".join(LETTERS[options.index(o)] for o in sorted(correct, key=options.index))
    return f"下列属于{system}的器官有", dict(zip(LETTERS, options, strict=True)), answer


def write_cmb(out: Path, rng: random.Random) -> list[Path]:
    root = out / "CMB" / "data"
    questions, answers, val = [], [], []
    for i in range(1, 31):
        multi = i % 6 == 0
        q, option, answer = cmb_multi(rng, 2 + i % 2) if multi else cmb_single(rng)
        if i == 12:  # published multi answers are mostly alphabetical; a few are not: this one is EB
            q, option, answer = cmb_multi(rng, 2, at="EB")
            multi = True
        if i == 30:  # a 多项选择题 whose answer is one letter
            q, option, answer = cmb_multi(rng, 1)
            multi = True
        exam_type, exam_class, subject = CMB_EXAMS[i % len(CMB_EXAMS)]
        qtype = "多项选择题" if multi else "单项选择题"
        questions.append({"id": i, "exam_type": exam_type, "exam_class": exam_class, "exam_subject": subject,
                          "question": q, "answer": "", "question_type": qtype, "option": option})
        answers.append({"id": i, "exam_type": exam_type, "exam_class": exam_class, "exam_subject": subject,
                        "question_type": qtype, "answer": answer})
    for i in range(10):
        multi = i in (4, 9)
        q, option, answer = cmb_multi(rng, 2) if multi else cmb_single(rng)
        exam_type, exam_class, subject = CMB_EXAMS[i % len(CMB_EXAMS)]
        val.append({"exam_type": exam_type, "exam_class": exam_class, "exam_subject": subject, "question": q,
                    "answer": answer, "question_type": "多项选择题" if multi else "单项选择题", "option": option,
                    "explanation": f"本题考查基础知识，答案为{answer}。"})
    return [write_text(root / "CMB-Exam" / "CMB-test" / "CMB-test-choice-question-merge.json", cmb_json(questions)),
            write_text(root / "CMB-Exam" / "CMB-val" / "CMB-val-merge.json", cmb_json(val)),
            write_text(root / "CMB-test-choice-answer.json", cmb_json(answers))]


def write_cmexam(out: Path, rng: random.Random) -> list[Path]:
    header = ["Question", "Options", "Answer", "Explanation", "Disease Group", "Clinical Department",
              "Medical Discipline", "Area of Competency", "Difficulty level"]
    written = []
    for name, n in (("train.csv", 8), ("val.csv", 8), ("test_with_annotations.csv", 30)):
        rows = []
        for i in range(n):
            if i % 7 == 3:
                q, option, answer = cmb_multi(rng, 2)
            else:
                q, opts, k, _, _ = fact_item(rng, rng.choice(MEDICAL), 5, blank=False)
                option, answer = dict(zip(LETTERS, opts, strict=True)), LETTERS[k]
            cell = "\n".join(f"{letter} {text}" for letter, text in option.items())
            rows.append([q, cell, answer, f"正确答案为{answer}。", "基础医学知识", "内科", "临床医学", "医学知识",
                         str(1 + i % 5)])
        if name.startswith("test"):
            rows[7][2] = ""  # the published test file has a row without an answer
        written.append(write_text(out / "CMExam" / "data" / name, csv_text([header, *rows], "\n")))
    return written


def write_medqa(out: Path, rng: random.Random) -> list[Path]:
    folder = out / "MedQA" / "data_clean" / "questions" / "Mainland"
    written = []
    for part, n in (("train", 8), ("dev", 8), ("test", 30)):
        lines = []
        for _ in range(n):
            q, opts, k, _, y = fact_item(rng, rng.choice(MEDICAL), 5, blank=False)
            item = {"question": q, "answer": y, "options": dict(zip(LETTERS, opts, strict=True)),
                    "meta_info": "synthetic", "answer_idx": LETTERS[k]}
            lines.append(json.dumps(item, ensure_ascii=False) + "\n")
        written.append(write_text(folder / f"{part}.jsonl", "".join(lines)))
    return written


def write(out: Path = SAMPLES_DIR) -> list[Path]:
    """Write every multiple-choice sample under `out`; return the files written."""
    out = Path(out)
    return [*write_cmmlu(out, random.Random(SEED)), *write_ceval(out, random.Random(SEED + 1)),
            *write_cmb(out, random.Random(SEED + 2)), *write_cmexam(out, random.Random(SEED + 3)),
            *write_medqa(out, random.Random(SEED + 4))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data_prep.synthetic.mcq",
                                 description="Write the bundled synthetic multiple-choice benchmark samples.")
    ap.add_argument("--out", type=Path, default=SAMPLES_DIR, help="default: data_prep/samples")
    args = ap.parse_args(argv)
    files = write(args.out)
    print(f"wrote {len(files)} files ({sum(p.stat().st_size for p in files)} bytes) under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
