"""Synthetic consultations in both published layouts: a ModelScope-style JSON array
(`Chinese-medical-dialogue/data/train_0001_of_0001.json`) and Toyhom-style department CSVs in GB18030
(`Chinese-medical-dialogue-data/Data_数据/*/*.csv`), with duplicates, the literal `无`, quoted
newlines/commas/quotes, stray and full-width spaces, and questions posted again under a second department
(triage's multi-label cases)."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

from .tables import AGES, DISEASES, DURATIONS, PATIENTS, pick


def dialog_record(rng: random.Random) -> dict:
    disease, dept, sub, symptoms, exam, drug, advice = pick(rng, DISEASES)
    s1, s2 = rng.sample(symptoms, 2)
    who, age, dur = pick(rng, PATIENTS), pick(rng, AGES), pick(rng, DURATIONS)
    title = pick(rng, [f"{s1}{dur}了怎么办", f"{s1}伴{s2}是什么原因", f"{s1}{s2}怎么治疗", f"{s1}需要做什么检查"])
    ask = pick(rng, [
        f"{who}{age},{s1}{dur}了,还有点{s2},请问是怎么回事?",
        f"最近{who}{s1},{dur}了,{s2}也有,吃了点药没好,想得到怎样的帮助:{title}?",
        f"{who}{s1}{dur},以前没有这种情况,需要去医院吗?",
    ])
    answer = pick(rng, [
        f"您好,根据您的描述,{s1}伴{s2}考虑是{disease}引起的。建议{advice},必要时做{exam}检查。",
        f"您好,{s1}{dur}可能是{disease}。建议到{sub}就诊,做{exam},可以在医生指导下使用{drug}。",
        f"您好,这种情况要考虑{disease}。建议{advice},如果症状加重请及时就医。",
    ])
    return {"department": sub, "title": title, "ask": ask, "answer": answer, "dept_file": dept}


def write_dialog(out: Path, rng: random.Random) -> None:
    # ModelScope-style JSON array: 360 records, ~5% exact duplicates, stray spaces, a literal 无 ask.
    records = []
    for i in range(342):
        r = dialog_record(rng)
        ask = r["ask"]
        if i % 37 == 5:
            ask = "无"
        if i % 29 == 3:
            ask = "  " + ask + "\u3000"
        records.append({"instruction": r["title"], "input": ask, "output": r["answer"], "history": None})
    for i in range(18):
        records.append(dict(records[(i * 17) % len(records)]))
    rng.shuffle(records)
    path = out / "Chinese-medical-dialogue" / "data" / "train_0001_of_0001.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=4) + "\n", encoding="utf-8")

    # Toyhom-style department CSVs, GB18030, header department,title,ask,answer, LF line endings.
    folders = {"男科": "Andriatria_男科", "内科": "IM_内科", "妇产科": "OAGD_妇产科",
               "肿瘤科": "Oncology_肿瘤科", "儿科": "Pediatric_儿科", "外科": "Surgical_外科"}
    rows_by_dept: dict[str, list[list[str]]] = {d: [] for d in folders}
    for i in range(240):
        r = dialog_record(rng)
        ask, answer = r["ask"], r["answer"]
        if i % 23 == 1:
            ask = "无"
        if i % 19 == 2:
            answer = answer.replace("。建议", "。\n建议", 1)  # newline inside a quoted field
        if i % 17 == 4:
            ask = ask + ' 医生说"没事", 真的吗'  # ASCII comma and quote inside the field
        if i % 13 == 6:
            ask = "\u3000" + ask + " "
        rows_by_dept[r["dept_file"]].append([r["department"], r["title"], ask, answer])
    cross_posts = cross_posted_rows(rows_by_dept, rng)
    for dept, rows in rows_by_dept.items():
        rows = rows + [list(rows[k]) for k in range(0, len(rows), 20)]  # ~5% exact duplicate rows
        rows += cross_posts[dept]
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["department", "title", "ask", "answer"])
        writer.writerows(rows)
        path = out / "Chinese-medical-dialogue-data" / "Data_数据" / folders[dept] / f"{dept}5-{len(rows)}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue().encode("gb18030"))


# Where a question is posted a second time (its department folder -> the other one): the triage task's
# multi-label cases. Real users re-post the same question to a second department and get another answer.
CROSS_POST = {"内科": "外科", "儿科": "内科", "妇产科": "肿瘤科", "肿瘤科": "外科", "外科": "内科", "男科": "外科"}
N_CROSS_POSTS, N_SAME_FOLDER_POSTS = 9, 3


def cross_posted_rows(rows_by_dept: dict[str, list[list[str]]], rng: random.Random) -> dict[str, list[list[str]]]:
    """Copies of existing questions (title and ask verbatim) under another department with a new answer:
    N_CROSS_POSTS under another folder, N_SAME_FOLDER_POSTS under another sub-department of the same folder."""
    out: dict[str, list[list[str]]] = {d: [] for d in rows_by_dept}
    depts = sorted(rows_by_dept)
    for k in range(N_CROSS_POSTS + N_SAME_FOLDER_POSTS):
        src = depts[k % len(depts)]
        row = pick(rng, rows_by_dept[src])
        dst = CROSS_POST[src] if k < N_CROSS_POSTS else src
        subs = sorted({sub for _, dept, sub, *_ in DISEASES if dept == dst and sub != row[0]} or {f"{dst}门诊"})
        sub = pick(rng, subs)
        answer = f"您好,这个问题也可以到{sub}看看。建议{pick(rng, ['先做相关检查', '注意休息,观察变化', '尽快面诊'])}。"
        out[dst].append([sub, row[1], row[2], answer])
    return out
