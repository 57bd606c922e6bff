"""mrg: IMCS-V2 medical report generation (IMCS-V2_train.json -> train, IMCS-V2_dev.json -> test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from contract.datasets import REPORT_FIELDS

from .discover import RawDir, complete_folder
from .errors import require_file
from .jsonstream import iter_json_object
from .quality import cap, clean, convert, dedup, drop_leaked
from .tally import SplitResult, Tally
from .taskspec import PrepTask, shown

FILES = ("IMCS-V2_train.json", "IMCS-V2_dev.json")  # train, test: found together below --raw-dir
SPEAKERS = ("医生", "患者")
# The seed's prompt, extended with the patient's self_report (the official task input is self_report + dialogue).
SELF_REPORT = "患者自述:\n{self_report}\n"
PROMPT = (
    "{self_report_block}"
    "问诊对话历史:\n"
    "{dialog}\n"
    "根据上述对话,给出诊疗报告\n"
    f"说明:诊疗报告分为{', '.join(REPORT_FIELDS)}这六个章节,以标准的json格式输出。\n"
    "答:"
)
# The task docs misspell two keys; accept them so users' hand-made files work too.
KEY_ALIASES = {"即往史": "既往史"}
SELF_REPORT_KEYS = ("self_report", "self-report")


def instruction(self_report: str, dialog_lines: list[str]) -> str:
    block = SELF_REPORT.format(self_report=self_report) if self_report else ""
    return PROMPT.format(self_report_block=block, dialog="\n".join(dialog_lines))


def normalize_report(report) -> dict | None:
    """A report dict with the six sections in canonical order, or None when it is not one."""
    if not isinstance(report, dict):
        return None
    report = {KEY_ALIASES.get(k, k): v for k, v in report.items()}
    if any(k not in report or not isinstance(report[k], str) for k in REPORT_FIELDS):
        return None
    return {k: report[k].strip() for k in REPORT_FIELDS}


def dialog_lines(dialogue) -> list[str] | None:
    lines = []
    for utt in dialogue:
        if not isinstance(utt, dict) or utt.get("speaker") not in SPEAKERS or not isinstance(utt.get("sentence"), str):
            return None
        sentence = clean(utt["sentence"])
        if sentence:
            lines.append(f"{utt['speaker']}:{sentence}")
    return lines


def to_sft(sample, with_references: bool = False) -> dict | str:
    """One IMCS-V2 sample -> SFT record (output = first report as JSON), or a skip reason."""
    if not isinstance(sample, dict):
        return "not_an_object"
    if "dialogue" not in sample or "report" not in sample:
        return "missing_field"
    if not isinstance(sample["dialogue"], list):
        return "not_a_list"
    lines = dialog_lines(sample["dialogue"])
    if lines is None:
        return "bad_utterance"
    self_report = next((sample[k] for k in SELF_REPORT_KEYS if k in sample), "")
    if not isinstance(self_report, str):
        return "not_a_string"
    self_report = clean(self_report)
    if not lines and not self_report:
        return "empty_field"
    reports = sample["report"]
    if not isinstance(reports, list) or not reports:
        return "no_report"
    normalized = [normalize_report(r) for r in reports]
    if any(r is None for r in normalized) or any(not isinstance(v, str) for r in reports for v in r.values()):
        return "bad_report"
    rec = {
        "instruction": instruction(self_report, lines),
        "input": "",
        "output": json.dumps(normalized[0], ensure_ascii=False, indent=2),
    }
    if with_references:
        # The official scorer renders each annotator's report as published (its own keys, in its own order),
        # so references keep that form; only the training target is put in canonical order.
        rec["references"] = reports
    return rec


DUPLICATE_ID = object()  # a sample whose id already appeared in the file: json.loads would drop the first


def read_imcs(path: Path) -> Iterator[tuple[str, object]]:
    """(record id, sample) in file order; a repeated id yields DUPLICATE_ID (counted, the first is kept)."""
    require_file(path, "the IMCS-V2 file here")
    seen: set[str] = set()
    for sid, sample in iter_json_object(path, desc=f"read {path.name}"):
        yield f"{path.name} id {sid}", DUPLICATE_ID if sid in seen else sample
        seen.add(sid)


def convert_file(path: Path, tally: Tally, with_references: bool) -> tuple[list[dict], list[str]]:
    def one(sample):
        return "duplicate_id" if sample is DUPLICATE_ID else to_sft(sample, with_references)

    return dedup(*convert(read_imcs(path), one, tally), tally)


def prepare(mrg_dir: Path, limit: int, test_limit: int) -> SplitResult:
    train_path, test_path = mrg_dir / FILES[0], mrg_dir / FILES[1]
    for p in (train_path, test_path):
        require_file(p, "the IMCS-V2 file here")
    train_tally, test_tally = Tally(), Tally()
    test, test_ids = convert_file(test_path, test_tally, with_references=True)
    test, _ = cap(test, test_ids, test_limit, test_tally)
    train, train_ids = convert_file(train_path, train_tally, with_references=False)
    train, train_ids = drop_leaked(train, train_ids, test, train_tally)
    train, _ = cap(train, train_ids, limit, train_tally)
    return SplitResult(train, test, train_tally, test_tally, {"train": str(train_path), "test": str(test_path)})


def find(raw: RawDir, notes: list[str]) -> Path | None:
    return complete_folder(raw, "mrg", FILES, notes)


def add_arguments(sources, sizes) -> None:
    sources.add_argument("--mrg", type=Path, help=f"folder with {FILES[0]} and {FILES[1]}")
    sizes.add_argument("--mrg-limit", type=int, default=5000)
    sizes.add_argument("--mrg-test-limit", type=int, default=100)


TASK = PrepTask("mrg", find, add_arguments, prepare=lambda src, a: prepare(src, a.mrg_limit, a.mrg_test_limit),
                source_info=lambda src, r: {"train": shown(src / FILES[0]), "test": shown(src / FILES[1])})
