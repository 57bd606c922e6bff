"""triage: patient question -> department label(s), for seed 004's multi-label classifier and the LLM route.

Sources:
- Toyhom department CSVs (as for dialog). A question's label is its department at one of two levels:
  `folder` (default: 内科, 外科, 儿科, 妇产科, 男科, 肿瘤科; from the `<English>_<中文>` folder, else the
  file name's leading non-digits) or `department` (the CSV column: sub-departments such as 消化科, 肝病科).
  The folder level is the default: six balanced, always-present classes, the front-desk triage decision;
  the column is long-tailed in the published data and is a choice (`--triage-level department`).
- The seed's own format for a user's data: jsonl lines `{"text": ..., "label": [...]}` (a single file, or a
  folder with `train.json(l)`, optional `test.json(l)` and `label2idx.json`).

The same question (same cleaned text) posted more than once is one record: its labels are the union
(multi-label), and every repeat is counted as a skip (`merged_label` when it added a label,
`duplicate_question` when it did not). Outputs, record for record the same questions:
- alpaca `triage_{train,test}.jsonl` for the generative route: the answer is the label set in label2idx
  order joined by `、` (LABEL_SEP); test records also carry `text` and `labels`;
- the seed's classifier files `triage_cls_{train,test}.jsonl` (`text`, `label`) and `triage_label2idx.json`.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from contract.datasets import LABEL_SEP, TRIAGE_CLS_TEST, TRIAGE_CLS_TRAIN, TRIAGE_LABEL2IDX

from . import holdout
from .dialog import BadRow, read_toyhom_csv
from .discover import RawDir
from .errors import PrepError
from .jsonstream import decode_value
from .quality import cap, clean
from .tally import SplitResult, Tally
from .taskspec import PrepTask, shown

LEVELS = ("folder", "department")
SEED_FILES = {"train": ("train.jsonl", "train.json"), "test": ("test.jsonl", "test.json")}
LABEL2IDX = "label2idx.json"
# The answer is the label set, in label2idx order, joined by LABEL_SEP (labels never contain it).
PROMPT = (
    "你是一名医院分诊护士,请根据患者的问题判断应就诊的科室。\n"
    "可选科室:{labels}\n"
    "可以选择一个或多个科室,多个科室用" + LABEL_SEP + "分隔,只输出科室名称。\n"
    "患者问题:{question}\n"
    "科室:"
)
# Characters a label may not contain: they separate labels in the generative answer.
FORBIDDEN_IN_LABEL = re.compile(r"[、,，;；/\s]")
EMPTY_ASK = {"", "无"}  # Toyhom's literal 无: the title alone is the question


@dataclass(frozen=True)
class SeedSource:
    """The seed's format: a train jsonl, an optional test jsonl and an optional label2idx.json."""

    train: Path
    test: Path | None = None
    label2idx: Path | None = None


def instruction(question: str, labels: str) -> str:
    return PROMPT.format(labels=labels, question=question)


def folder_label(path: Path) -> str:
    """内科 from `.../IM_内科/内科5000-33000.csv`; from `内科5000-33000.csv` when the folder is not Toyhom's."""
    match = re.fullmatch(r"[A-Za-z]+_(.+)", path.parent.name)
    if match:
        return match.group(1)
    lead = re.match(r"\D+", path.stem)
    if lead and lead.group(0).strip(" _-"):
        return lead.group(0).strip(" _-")
    raise PrepError(path, "file name", "a Toyhom department file (`内科5000-33000.csv`) or folder (`IM_内科`)",
                    found=path.name, hint="or pass --triage-level department to label by the CSV column")


def question_text(title: str, ask: str) -> str:
    title, ask = clean(title), clean(ask)
    if ask in EMPTY_ASK:
        return title
    return f"{title}\n{ask}" if title else ask


def check_label(label) -> str | None:
    """A skip reason for an unusable label, else None."""
    if not isinstance(label, str):
        return "not_a_string"
    if not label.strip():
        return "missing_label"
    if FORBIDDEN_IN_LABEL.search(label.strip()):
        return "label_has_separator"
    return None


def from_toyhom(raw, folder: str, level: str) -> dict | str:
    """A Toyhom row {instruction: title, input: ask, department} -> {text, labels} or a skip reason."""
    if isinstance(raw, BadRow):
        return raw.reason
    text = question_text(raw["instruction"], raw["input"])
    if not text:
        return "empty_field"
    label = folder if level == "folder" else raw["department"].strip()
    return check_label(label) or {"text": text, "labels": [label]}


def from_seed(raw) -> dict | str:
    """A seed line {"text": str, "label": [str, ...]} -> {text, labels} or a skip reason."""
    if not isinstance(raw, dict):
        return "not_an_object"
    if "text" not in raw or "label" not in raw:
        return "missing_field"
    text, labels = raw["text"], raw["label"]
    if not isinstance(text, str) or not isinstance(labels, list):
        return "not_a_string" if not isinstance(text, str) else "label_not_a_list"
    if not clean(text):
        return "empty_field"
    if not labels:
        return "no_label"  # the seed allows an all-zero row; a question with no department is not triage
    for label in labels:
        reason = check_label(label)
        if reason:
            return reason
    return {"text": clean(text), "labels": list(dict.fromkeys(label.strip() for label in labels))}


def read_seed_jsonl(path: Path) -> Iterator[tuple[str, object]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise PrepError(path, f"line {line}", "UTF-8 jsonl (the seed's format)", found="bytes that are not UTF-8") from exc
    for number, line in enumerate(text.split("\n"), 1):  # LF only: U+2028 inside a JSON string is not a line end
        if not line.strip():
            continue
        try:
            yield f"{path.name} line {number}", decode_value(line, f"line {number}", path)
        except json.JSONDecodeError:
            yield f"{path.name} line {number}", BadRow("not_json")


def read_label2idx(path: Path) -> list[str]:
    """Labels in index order from the seed's label2idx.json ({label: index}, indices 0..n-1)."""
    try:
        mapping = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # undecodable, invalid, over-long integers, too deep
        raise PrepError(path, "whole file", "a JSON object {label: index}", found=str(exc).splitlines()[0]) from exc
    if not isinstance(mapping, dict) or not mapping:
        raise PrepError(path, "top level", "a non-empty JSON object {label: index}", found=type(mapping).__name__)
    if sorted(mapping.values()) != list(range(len(mapping))) or any(check_label(k) for k in mapping):
        raise PrepError(path, "entries", "labels without separators mapped to the indices 0..n-1, each once",
                        found=json.dumps(mapping, ensure_ascii=False)[:200])
    return sorted(mapping, key=mapping.get)


def source(path: Path) -> list[Path] | SeedSource:
    """`--triage` accepts Toyhom CSVs (a file or a folder of them), a seed jsonl, or a seed folder."""
    if path.is_dir():
        found = {split: next((path / n for n in names if (path / n).is_file()), None)
                 for split, names in SEED_FILES.items()}
        if found["train"] is not None:
            label2idx = path / LABEL2IDX
            return SeedSource(found["train"], found["test"], label2idx if label2idx.is_file() else None)
        csvs = sorted(p for p in path.rglob("*.csv") if p.is_file() and not p.name.startswith((".", "~$")))
        if not csvs:
            raise PrepError(path, "--triage", "Toyhom department CSVs, or the seed's train.json(l) "
                            "[+ test.json(l), label2idx.json]", found="neither")
        return csvs
    if path.suffix.lower() == ".csv":
        return [path]
    return SeedSource(path)


def _rows(src: list[Path] | SeedSource, split: str, level: str, info: dict):
    """(record id, {text, labels} or skip reason) for one split of the source."""
    if isinstance(src, SeedSource):
        path = src.train if split == "train" else src.test
        for rid, raw in read_seed_jsonl(path):
            yield rid, raw.reason if isinstance(raw, BadRow) else from_seed(raw)
        return
    for path in src:
        folder = folder_label(path) if level == "folder" else ""
        for rid, raw in read_toyhom_csv(path, info):
            yield rid, from_toyhom(raw, folder, level)


def merge(rows, tally: Tally) -> list[dict]:
    """One record per question text, labels unioned in first-seen order; every row read is counted."""
    by_text: dict[str, dict] = {}
    for rid, rec in rows:
        tally.read += 1
        if isinstance(rec, str):
            tally.skip(rec, rid)
            continue
        first = by_text.get(rec["text"])
        if first is None:
            by_text[rec["text"]] = {"text": rec["text"], "labels": list(rec["labels"])}
            continue
        new = [label for label in rec["labels"] if label not in first["labels"]]
        first["labels"] += new
        tally.skip("merged_label" if new else "duplicate_question", rid)
    return list(by_text.values())


def drop(records: list[dict], keep, reason: str, tally: Tally) -> list[dict]:
    kept = [r for r in records if keep(r)]
    if len(kept) < len(records):
        tally.skip(reason, n=len(records) - len(kept))
    return kept


def format_labels(labels: list[str], order: dict[str, int]) -> str:
    return LABEL_SEP.join(sorted(labels, key=order.__getitem__))


@dataclass
class TriageResult(SplitResult):
    labels: list[str] | None = None  # label2idx order
    cls_train: list[dict] | None = None
    cls_test: list[dict] | None = None


def prepare(src: list[Path] | SeedSource, level: str, limit: int, test_size: int, seed: int) -> TriageResult:
    """Read, merge repeats into multi-label records, split (seeded; or the seed's own test file), cap train.

    Like dialog, skips before a random split are counted under train; with the seed's test file each
    split counts its own file."""
    if level not in LEVELS:
        raise PrepError("--triage-level", level, " or ".join(LEVELS))
    info: dict = {"level": level if not isinstance(src, SeedSource) else "seed labels"}
    cut = None
    train_tally, test_tally = Tally(), Tally()
    records = merge(_rows(src, "train", level, info), train_tally)
    if isinstance(src, SeedSource) and src.test is not None:
        test = merge(_rows(src, "test", level, info), test_tally)
        test_texts = {r["text"] for r in test}
        train = drop(records, lambda r: r["text"] not in test_texts, "leaked_into_test", train_tally)
    else:
        order = list(range(len(records)))
        random.Random(seed).shuffle(order)
        n_test = holdout.test_count(len(order), test_size)
        cut = holdout.note("triage", len(order), test_size, "--triage-test-size")
        test = [records[i] for i in order[len(order) - n_test:]]
        train = [records[i] for i in order[:len(order) - n_test]]
        train_tally.read -= n_test
        test_tally.read = n_test
    if isinstance(src, SeedSource) and src.label2idx is not None:
        labels = read_label2idx(src.label2idx)
        train = drop(train, lambda r: set(r["labels"]) <= set(labels), "unknown_label", train_tally)
        train, _ = cap(train, [""] * len(train), limit, train_tally)
    else:
        train, _ = cap(train, [""] * len(train), limit, train_tally)
        labels = sorted({label for r in train for label in r["labels"]})  # sorted: the seed's set() order varies
    known = set(labels)
    test = drop(test, lambda r: set(r["labels"]) <= known, "unknown_label", test_tally)

    order = {label: i for i, label in enumerate(labels)}
    listed = LABEL_SEP.join(labels)

    def alpaca(r: dict, with_gold: bool) -> dict:
        rec = {"instruction": instruction(r["text"], listed), "input": "",
               "output": format_labels(r["labels"], order)}
        if with_gold:
            rec.update(text=r["text"], labels=sorted(r["labels"], key=order.__getitem__))
        return rec

    def cls(r: dict) -> dict:
        return {"text": r["text"], "label": sorted(r["labels"], key=order.__getitem__)}

    if "departments" in info:
        info["departments"] = dict(sorted(info["departments"].items()))
    info.pop("encodings", None)  # already in the dialog source info when read from the same CSVs
    info["labels"] = len(labels)
    info["multi_label_records"] = {"train": sum(len(r["labels"]) > 1 for r in train),
                                   "test": sum(len(r["labels"]) > 1 for r in test)}
    return TriageResult([alpaca(r, False) for r in train], [alpaca(r, True) for r in test], train_tally,
                        test_tally, info, notes=[cut] if cut else [], labels=labels,
                        cls_train=[cls(r) for r in train], cls_test=[cls(r) for r in test])


def classifier_files(result: TriageResult) -> dict[str, object]:
    """The seed classifier's inputs: output file name -> jsonl records (list) or JSON object (dict)."""
    return {TRIAGE_CLS_TRAIN: result.cls_train, TRIAGE_CLS_TEST: result.cls_test,
            TRIAGE_LABEL2IDX: {label: i for i, label in enumerate(result.labels)}}


def find(raw: RawDir, notes: list[str]) -> list[Path] | None:
    """The Toyhom CSVs below `raw` (the same files dialog reads when there is no JSON)."""
    return raw.toyhom_csvs or None


def add_arguments(sources, sizes) -> None:
    sources.add_argument("--triage", type=Path, help="Toyhom CSVs (file or folder; default: those under --raw-dir), "
                         "or the seed's jsonl {text, label: [...]}: a file, or a folder with train.json(l) "
                         "[+ test.json(l), label2idx.json]")
    sources.add_argument("--triage-level", choices=LEVELS, default="folder",
                         help="Toyhom label: department folder (default, 6 classes) or the department column")
    sizes.add_argument("--triage-limit", type=int, default=5000, help="triage train questions")
    sizes.add_argument("--triage-test-size", type=int, default=100,
                       help="triage test questions held out (100; a seed folder's test file is used as is)")


def _paths(src) -> list[str]:
    paths = src if isinstance(src, list) else [p for p in (src.train, src.test, src.label2idx) if p]
    return [shown(p) for p in paths]


TASK = PrepTask("triage", find, add_arguments,
                prepare=lambda src, a: prepare(src, a.triage_level, a.triage_limit, a.triage_test_size, a.seed),
                source_info=lambda src, r: {"path": _paths(src), **r.info}, from_path=source,
                extra_files=classifier_files, extra_files_key="classifier_files")
