"""Synthetic IMCS-V2-MRG: `IMCS-V2_train.json`/`IMCS-V2_dev.json` (id -> sample with self_report, dialogue
with every key, two reports, diagnosis, explicit_info, implicit_info) in the seed's download layout. Every
report has the six keys in order with short formulaic values taken from the dialogue."""

from __future__ import annotations

import json
import random
from pathlib import Path

from .tables import DISEASES, DURATIONS, pick


def utterance(sid: int, speaker: str, sentence: str, act: str, symptoms: list[str]) -> dict:
    found = [s for s in symptoms if s in sentence]
    return {
        "sentence_id": str(sid),
        "speaker": speaker,
        "sentence": sentence,
        "dialogue_act": act,
        "BIO_label": " ".join("O" for _ in sentence[:12]),
        "symptom_norm": found,
        "symptom_type": ["1" for _ in found],
        "local_implicit_info": {s: "1" for s in found},
    }


def mrg_sample(rng: random.Random, k: int) -> dict:
    disease, _, sub, symptoms, exam, drug, advice = pick(rng, DISEASES)
    s1, s2 = rng.sample(symptoms, 2)
    dur = pick(rng, DURATIONS)
    self_report = pick(rng, [f"孩子{s1}{dur}了,怎么办?", f"宝宝{s1},还有{s2},{dur}了。", f"{s1}{dur},有{s2}"])
    turns = [
        ("医生", f"你好,{s1}多长时间了?", "Request-Symptom"),
        ("患者", f"{dur}了", "Inform-Symptom"),
        ("医生", f"有没有{s2}?", "Request-Symptom"),
        ("患者", f"有{s2}", "Inform-Symptom"),
    ]
    if k % 3 == 0:
        turns.append(("患者", "我发个图片给您看看", "Other"))
        turns.append(("医生", "从图片看情况不算严重", "Inform-Etiology"))
    if k % 4 == 1:
        turns.append(("患者", f"医生,之前吃过{drug}", "Inform-Medical_Exam"))
    checked = k % 5 == 0
    if checked:
        turns.append(("医生", f"做过{exam}吗?", "Request-Medical_Exam"))
        turns.append(("患者", f"做过{exam},说是有点问题", "Inform-Medical_Exam"))
    turns += [
        ("医生", f"考虑是{disease}", "Diagnose"),
        ("医生", f"建议{advice}", "Inform-Precautions"),
        ("患者", "好的,谢谢医生", "Other"),
    ]
    dialogue = [utterance(i + 1, sp, text, act, symptoms) for i, (sp, text, act) in enumerate(turns)]
    history = pick(rng, ["不详。", "", "无", "否认过敏史。"])
    report_a = {
        "主诉": f"{s1}{dur}。",
        "现病史": f"患儿{dur}前出现{s1},伴{s2}。",
        "辅助检查": f"{exam}。" if checked else "暂缺。",
        "既往史": history,
        "诊断": f"{disease}。",
        "建议": f"{advice}。",
    }
    report_b = {
        "主诉": f"{s1}伴{s2}{dur}。",
        "现病史": f"患儿{dur}前无明显诱因出现{s1}、{s2}。",
        "辅助检查": f"{exam}。" if checked else "",
        "既往史": "不详。",
        "诊断": f"考虑{disease}。",
        "建议": f"{advice},不适随诊。",
    }
    return {
        "diagnosis": disease,
        "self_report": self_report,
        "dialogue": dialogue,
        "report": [report_a, report_b],
        "explicit_info": {"Symptom": [s1]},
        "implicit_info": {"Symptom": {s2: "1"}},
    }


def write_mrg(out: Path, rng: random.Random) -> None:
    base = out / "IMCS-V2-MRG" / "IMCS-V2-MRG"
    base.mkdir(parents=True, exist_ok=True)
    k = 0
    for name, n in (("IMCS-V2_train.json", 300), ("IMCS-V2_dev.json", 100)):
        data = {}
        for _ in range(n):
            k += 1
            data[str(10000 + k)] = mrg_sample(rng, k)
        (base / name).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
