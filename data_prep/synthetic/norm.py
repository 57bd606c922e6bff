"""Synthetic yidu-n7k: `train.xlsx`/`val.xlsx`/`answer.xlsx` (Sheet1, 原始词 | 标准词, `##` multi-terms,
`+`-joined raw terms, trailing 。, internal spaces, English, full-width, enumerations, prefixes) and `code.txt`
(code<TAB>name, no trailing newline, a few names with two codes). The xlsx files are byte-identical on every run."""

from __future__ import annotations

import io
import random
import re
import zipfile
from datetime import datetime
from pathlib import Path

from .tables import pick

FIXED_TIME = datetime(2024, 6, 1, 0, 0, 0)


# (standard term, site words used to build raw variants)
PROCEDURES = [
    "甲状腺部分切除术", "单侧甲状腺叶切除术", "腹腔镜下胆囊切除术", "阑尾切除术", "腹腔镜阑尾切除术",
    "单侧根治性乳房切除术", "乳房病损切除术", "肾上腺病损切除术", "横结肠造口闭合术", "经尿道前列腺电切术",
    "膝关节置换术", "髋关节置换术", "腰椎间盘切除术", "冠状动脉造影", "经皮冠状动脉支架置入术",
    "胃镜检查", "结肠镜检查", "胃部分切除术", "肝部分切除术", "脾切除术", "剖宫产术", "子宫肌瘤切除术",
    "输卵管结扎术", "白内障超声乳化抽吸术", "人工晶体植入术", "扁桃体切除术", "鼻中隔矫正术",
    "气管切开术", "胸腔闭式引流术", "肺叶切除术", "骨折切开复位内固定术", "骨折闭合复位术",
    "清创缝合术", "皮肤病损切除术", "静脉输液港植入术", "血液透析", "腹膜透析", "化学治疗", "放射治疗",
    "输血", "腰椎穿刺术", "骨髓穿刺术", "动脉造影", "静脉曲张剥脱术", "疝修补术", "包皮环切术",
    "膀胱镜检查", "输尿管镜取石术", "体外冲击波碎石", "心脏起搏器置入术",
]
SIDES = ["左侧", "右侧", "双侧", "", "", ""]
EXTRA = ["(全麻)", "(局麻)", "术", "", "", ""]
ENGLISH = {"冠状动脉造影": "CAG", "经皮冠状动脉支架置入术": "PCI", "胃镜检查": "EGD", "血液透析": "HD"}


def code_lines() -> list[str]:
    lines = []
    for i, name in enumerate(PROCEDURES):
        lines.append(f"{(i % 99) + 1:02d}.{(i * 37) % 100:02d}{i % 10}\t{name}")
        if i % 12 == 0:  # some names map to more than one code, as in the published file
            lines.append(f"{(i % 99) + 1:02d}.{(i * 37) % 100:02d}{(i + 5) % 10}x\t{name}")
    return lines


def raw_variant(rng: random.Random, term: str, k: int) -> str:
    side, extra = pick(rng, SIDES), pick(rng, EXTRA)
    core = term[:-1] if term.endswith("术") and extra == "术" else term
    raw = f"{side}{core}{extra}"
    quirk = k % 9
    if quirk == 0:
        raw += "。"
    elif quirk == 1 and len(raw) > 3:
        raw = raw[:2] + "  " + raw[2:]
    elif quirk == 2 and term in ENGLISH:
        raw = f"{raw}({ENGLISH[term]})"
    elif quirk == 3:
        raw = raw.replace("(", "(").replace(")", ")")
    elif quirk == 4:
        raw = "非血管介入: " + raw
    return raw


def norm_rows(rng: random.Random, n: int, seen: set[str]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    k = 0
    while len(rows) < n:
        k += 1
        if k % 12 == 0:  # multi-procedure raw term joined with +, standard terms joined with ##
            terms = rng.sample(PROCEDURES, rng.choice([2, 2, 3]))
            if k % 24 == 0:
                raw = " ".join(f"{j + 1}.{raw_variant(rng, t, k + j)}" for j, t in enumerate(terms))
            else:
                raw = "+".join(raw_variant(rng, t, k + j) for j, t in enumerate(terms))
            std = "##".join(terms)
        else:
            term = pick(rng, PROCEDURES)
            raw, std = raw_variant(rng, term, k), term
        if raw in seen:  # published splits share no raw term
            continue
        seen.add(raw)
        rows.append((raw, std))
    return rows


def write_xlsx(path: Path, rows: list[tuple[str, str]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["原始词", "标准词"])
    for raw, std in rows:
        ws.append([raw, std])
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_fixed_zip_times(buf.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """openpyxl stamps zip entries with the current time; rewrite them so reruns are byte-identical."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl sets `modified` to now when saving
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-06-01T00:00:00Z", body)
            dst.writestr(fixed, body)
    return out.getvalue()


# openpyxl serialises with lxml when lxml is installed (lm-eval's sacrebleu brings it), and lxml writes the same
# cells as other bytes ("/>" for " />", namespaces declared elsewhere). The committed xlsx samples come from the
# standard-library writer, which openpyxl takes when this variable is "False" at its first import.
XML_WRITER_SWITCH = "OPENPYXL_LXML"


def check_xml_writer() -> None:
    """Refuse to write the committed samples with lxml's serialiser: same cells, different bytes."""
    from openpyxl.xml import LXML

    if LXML:
        raise RuntimeError(f"openpyxl was imported with lxml as its XML writer, so the xlsx samples would not be "
                           f"byte-identical to the committed ones: run `python -m data_prep.synthetic` (or "
                           f"scripts/make_samples.py), which sets {XML_WRITER_SWITCH}=False before openpyxl loads")


def write_norm(out: Path, rng: random.Random) -> None:
    check_xml_writer()
    base = out / "yidu-n7k"
    base.mkdir(parents=True, exist_ok=True)
    (base / "code.txt").write_text("\n".join(code_lines()), encoding="utf-8")  # no trailing newline
    seen: set[str] = set()
    for name, n in (("train.xlsx", 300), ("val.xlsx", 100), ("answer.xlsx", 100)):
        write_xlsx(base / name, norm_rows(rng, n, seen))
