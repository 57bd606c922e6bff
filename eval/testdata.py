"""Read and check test sets (data_prep's contract) and prediction files (ours or LLaMA-Factory's)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .samples import Sample
from .tasks import REPORT_FIELDS

logger = logging.getLogger(__name__)


class InputError(ValueError):
    """Bad or missing input, with a message naming the file and record."""


def read_jsonl(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    records = []
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise InputError(f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}")
            records.append(record)
    return records


def _check_report(path: Path, line_no: int, report, what: str) -> None:
    if not isinstance(report, dict) or any(not isinstance(report.get(k), str) for k in REPORT_FIELDS):
        raise InputError(f"{path}:{line_no}: {what} must be a report object with string fields "
                         f"{', '.join(REPORT_FIELDS)}")


def load_test_set(path: Path, task: str, limit: int | None = None) -> list[dict]:
    """Records with `instruction`, `input`, `output` (and for mrg `references`), checked; first `limit`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: test file not found (run `make data` to prepare data/sft, or pass --data-dir)")
    records = read_jsonl(path)
    if not records:
        raise InputError(f"{path}: no records")
    for line_no, record in enumerate(records, 1):
        for key in ("instruction", "input", "output"):
            if not isinstance(record.get(key), str):
                raise InputError(f"{path}: record {line_no}: `{key}` must be a string, got {record.get(key)!r:.60}")
        if not (record["instruction"] or record["input"]):
            raise InputError(f"{path}: record {line_no}: empty prompt (`instruction` and `input` both empty)")
        if task == "mrg":
            try:
                gold = json.loads(record["output"])
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: record {line_no}: `output` is not a JSON report ({exc.msg})") from exc
            _check_report(path, line_no, gold, "`output`")
            refs = record.get("references")
            if refs is not None:
                if not isinstance(refs, list) or not refs:
                    raise InputError(f"{path}: record {line_no}: `references` must be a non-empty list")
                for ref in refs:
                    _check_report(path, line_no, ref, "each of `references`")
    return records[:limit] if limit else records


def user_content(record: dict) -> str:
    """The user turn exactly as LLaMA-Factory's alpaca converter builds it: instruction, then input."""
    return "\n".join(part for part in (record["instruction"], record["input"]) if part)


def load_predictions(path: Path, task: str, test_records: list[dict] | None = None) -> list[Sample]:
    """Samples from a predictions jsonl: ours (`predict`, `label`, `finish_reason`) or LLaMA-Factory's
    `generated_predictions.jsonl` (`prompt`, `predict`, `label`). With the test records, lines are
    matched to records in order, each label checked against the record's output, and mrg gets every
    annotator's report as references."""
    path = Path(path)
    rows = read_jsonl(path)
    if not rows:
        raise InputError(f"{path}: no predictions")
    if test_records is not None and len(rows) > len(test_records):
        raise InputError(f"{path}: {len(rows)} predictions but the test file has only {len(test_records)} records")
    samples, truncated_labels = [], 0
    for line_no, row in enumerate(rows, 1):
        for key in ("predict", "label"):
            if not isinstance(row.get(key), str):
                raise InputError(f"{path}:{line_no}: `{key}` must be a string (expected LLaMA-Factory's "
                                 "generated_predictions.jsonl keys prompt/predict/label)")
        index = row.get("index", line_no - 1)  # our files carry it; LLaMA-Factory's are in test order
        if not isinstance(index, int) or index < 0:
            raise InputError(f"{path}:{line_no}: `index` must be a non-negative integer")
        references = None
        if test_records is not None:
            if index >= len(test_records):
                raise InputError(f"{path}:{line_no}: index {index} is past the test file's {len(test_records)} records")
            record = test_records[index]
            label, output = row["label"].strip(), record["output"].strip()
            # LLaMA-Factory decodes labels after cutting them at cutoff_len: a prefix is the same record
            if label != output and not (label and output.startswith(label)):
                raise InputError(f"{path}:{line_no}: label differs from test record {index + 1}'s output; "
                                 "is --test the file these predictions were made from?")
            if label != output:
                truncated_labels += 1
            row = {**row, "label": record["output"]}  # score against the full reference
            references = record.get("references") if task == "mrg" else None
        samples.append(Sample(index=index, prompt=row.get("prompt", ""), predict=row["predict"],
                              label=row["label"], finish_reason=row.get("finish_reason"),
                              references=references))
    if truncated_labels:
        logger.warning("%s: %d labels were cut short (cutoff_len at prediction time); scored against the "
                       "full test outputs", path, truncated_labels)
    return samples
