"""eval's inputs, read and checked: test sets (data_prep's jsonl) and prediction files (ours or LLaMA-Factory's
generated_predictions.jsonl); InputError names the file and line of anything unusable."""

from __future__ import annotations

import codecs
import json
import logging
import re
from pathlib import Path

from contract.datasets import REPORT_FIELDS

from .detokenize import bert_decoded, join_bert_spaces
from .scored import Sample
from .tasks import TASKS

logger = logging.getLogger(__name__)


class InputError(ValueError):
    """Bad or missing input, with a message naming the file and line."""


_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
         (codecs.BOM_UTF16_BE, "UTF-16"))
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value) -> str | None:
    """The first string (key or value) holding a lone surrogate, which no UTF-8 file can store; walked
    without recursion so any depth json accepted is safe."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _parse_line(path: Path, line_no: int, raw: bytes):
    """One jsonl line -> a JSON object, or an InputError that says what is wrong with it."""
    where = f"{path}:{line_no}"
    if b"\x00" in raw:
        raise InputError(f"{where}: NUL bytes (a UTF-16 file without byte-order mark?); save the file as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}); "
                         "save the file as UTF-8") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    except ValueError:  # Python refuses to convert integers this long
        raise InputError(f"{where}: a number too long to read (over Python's integer digit limit)") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    bad = _lone_surrogate(record)
    if bad is not None:
        raise InputError(f"{where}: a lone surrogate escape (\\ud800-\\udfff) in {bad[:40]!r} is not valid "
                         "Unicode")
    return record


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a UTF-8 (BOM allowed) jsonl file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    records = []
    try:
        with path.open("rb") as handle:
            for line_no, raw in enumerate(handle, 1):
                if line_no == 1:
                    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
                    if encoding:
                        raise InputError(f"{path}:1: {encoding} text (byte-order mark); save the file as UTF-8")
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                if raw.strip():
                    records.append((line_no, _parse_line(path, line_no, raw)))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return records


def _check_report(where: str, report, what: str) -> None:
    """A gold report: an object with the six string fields; any other key must hold a string too."""
    if (not isinstance(report, dict) or any(not isinstance(report.get(k), str) for k in REPORT_FIELDS)
            or any(not isinstance(v, str) for v in report.values())):
        raise InputError(f"{where}: {what} must be a report object with string fields "
                         f"{', '.join(REPORT_FIELDS)} (and only string values)")


def _parse_gold(where: str, text: str, what: str) -> dict:
    try:
        gold = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: {what} is not a JSON report ({exc.msg})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{where}: {what} is not a JSON report (a number too long or nesting too deep)") from None
    _check_report(where, gold, what)
    return gold


def load_test_set(path: Path, task: str, limit: int | None = None) -> list[dict]:
    """Records with `instruction`, `input`, `output` (and a report task's `references`), checked; first `limit`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: test file not found (run `make data` to prepare data/sft, or pass --data-dir)")
    lines = read_jsonl(path)
    if not lines:
        raise InputError(f"{path}: no records")
    for line_no, record in lines:
        where = f"{path}:{line_no}"
        for key in ("instruction", "input", "output"):
            if not isinstance(record.get(key), str):
                raise InputError(f"{where}: `{key}` must be a string, got {record.get(key)!r:.60}")
        if not (record["instruction"] or record["input"]):
            raise InputError(f"{where}: empty prompt (`instruction` and `input` both empty)")
        _check_history(where, record.get("history"))
        if TASKS[task].reports:
            _parse_gold(where, record["output"], "`output`")
            refs = record.get("references")
            if refs is not None:
                if not isinstance(refs, list) or not refs:
                    raise InputError(f"{where}: `references` must be a non-empty list")
                for ref in refs:
                    _check_report(where, ref, "each of `references`")
    records = [record for _, record in lines]
    return records[:limit] if limit else records


def _check_history(where: str, history) -> None:
    """`history` (med_qa's earlier turns): null, or a list of [question, answer] string pairs."""
    if history is None:
        return
    if not isinstance(history, list) or any(
            not isinstance(turn, list) or len(turn) != 2 or not all(isinstance(t, str) for t in turn)
            for turn in history):
        raise InputError(f"{where}: `history` must be a list of [question, answer] string pairs, got "
                         f"{history!r:.60}")


def user_content(record: dict) -> str:
    """The user turn exactly as LLaMA-Factory's alpaca converter builds it: instruction, then input."""
    return "\n".join(part for part in (record["instruction"], record["input"]) if part)


def conversation(record: dict) -> list[dict]:
    """The messages before the answer, as LLaMA-Factory's alpaca converter builds them: each `history`
    [question, answer] pair as an earlier user and assistant turn, then the user turn."""
    turns = []
    for question, answer in record.get("history") or []:
        turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return [*turns, {"role": "user", "content": user_content(record)}]


def load_predictions(path: Path, task: str, test_records: list[dict] | None = None) -> list[Sample]:
    """Samples from a predictions jsonl: ours (`predict`, `label`, `finish_reason`) or LLaMA-Factory's
    `generated_predictions.jsonl` (`prompt`, `predict`, `label`). With the test records, lines are
    matched to records in order, each label checked against the record's output, and mrg gets every
    annotator's report as references. Without them an mrg label must itself be a report."""
    path = Path(path)
    rows = read_jsonl(path)
    if not rows:
        raise InputError(f"{path}: no predictions")
    if test_records is not None and len(rows) > len(test_records):
        raise InputError(f"{path}: {len(rows)} predictions but the test file has only {len(test_records)} records")
    samples, truncated_labels, seen = [], 0, {}
    # LLaMA-Factory's predict decodes labels and answers with the model's tokenizer: a BERT vocab (seeds 000,
    # 002) spaces Chinese characters and lower-cases, so both are joined back and compared case-insensitively
    spaced = bert_decoded(row["label"] for _, row in rows if isinstance(row.get("label"), str))
    if spaced:
        logger.warning("%s: labels decoded by a BERT-vocab tokenizer (spaces between Chinese characters): "
                       "predictions and labels are scored without those spaces", path)
    for position, (line_no, row) in enumerate(rows):
        where = f"{path}:{line_no}"
        for key in ("predict", "label"):
            if not isinstance(row.get(key), str):
                raise InputError(f"{where}: `{key}` must be a string (expected LLaMA-Factory's "
                                 "generated_predictions.jsonl keys prompt/predict/label)")
        if spaced:
            row = {**row, "predict": join_bert_spaces(row["predict"]), "label": join_bert_spaces(row["label"])}
        if not isinstance(row.get("prompt", ""), str):
            raise InputError(f"{where}: `prompt` must be a string")
        if row.get("finish_reason") not in (None, "stop", "length"):
            raise InputError(f"{where}: `finish_reason` must be \"stop\", \"length\" or null")
        index = row.get("index", position)  # our files carry it; LLaMA-Factory's are in test order
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise InputError(f"{where}: `index` must be a non-negative integer")
        if index in seen:
            raise InputError(f"{where}: index {index} again (first on line {seen[index]})")
        seen[index] = line_no
        references = None
        if test_records is not None:
            if index >= len(test_records):
                raise InputError(f"{where}: index {index} is past the test file's {len(test_records)} records")
            record = test_records[index]
            label, output = row["label"].strip(), record["output"].strip()
            if spaced:  # the BERT tokenizer lower-cased the label and dropped spaces next to Chinese characters
                label, output = label.lower(), join_bert_spaces(output).lower()
            # LLaMA-Factory decodes labels after cutting them at cutoff_len: a prefix is the same record
            if label != output and not (label and output.startswith(label)):
                raise InputError(f"{where}: label differs from test record {index + 1}'s output; "
                                 "is --test the file these predictions were made from?")
            if label != output:
                truncated_labels += 1
            row = {**row, "label": record["output"]}  # score against the full reference
            references = record.get("references") if TASKS[task].reports else None
        elif TASKS[task].reports:
            _parse_gold(where, row["label"], "`label` (pass --test to score against the test file)")
        samples.append(Sample(index=index, prompt=row.get("prompt", ""), predict=row["predict"],
                              label=row["label"], finish_reason=row.get("finish_reason"),
                              references=references))
    if truncated_labels:
        logger.warning("%s: %d labels were cut short (cutoff_len at prediction time); scored against the "
                       "full test outputs", path, truncated_labels)
    return samples
