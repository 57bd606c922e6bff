"""What the multiple-choice readers share: the request every benchmark's `prepare` takes and the result it
returns, strict UTF-8 reading of the published tables, and one raw item -> the prepared record (contract
MCQ_FIELDS) or a skip reason: option letters and answers normalised (full-width Ａ -> A), empty options,
answers not among the options, multiple answers where the benchmark has single choice, duplicate ids."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contract.datasets import DEV, MCQ_SHOTS, TEST, split

from .. import csvrows
from ..errors import PrepError, require_file
from ..quality import DEFAULT_SCREEN, SCREEN, clean
from ..tally import Tally
from . import subjects
from .subjects import DEFAULT

LETTERS = "ABCDEFGHIJ"
_FULL_WIDTH = {ord("Ａ") + i: ord("A") + i for i in range(26)}  # Ａ..Ｚ -> A..Z
# Lettered options written into the stem ("A. 肝 B. 肾"): the item has no option cells, so it cannot be scored.
_OPTION_MARK = re.compile(r"(?:^|[\s(（])[A-EＡ-Ｅ]\s*[.．、:：)）]")


@dataclass(frozen=True)
class McqRequest:
    """What every benchmark module's `prepare` takes.

    source    the benchmark's download folder (its files are found by name below it: the module's `locate`)
    subjects  names, `default` (the default medical + general subjects) and/or `all`; benchmarks without
              per-subject files (cmb, cmexam, medqa) take every item
    groups    subject -> medical|general, over the defaults (subjects.DEFAULT_GROUPS)
    """

    source: Path
    subjects: tuple[str, ...] = (DEFAULT,)
    groups: Mapping[str, str] = field(default_factory=dict)


@dataclass
class McqResult:
    """One benchmark prepared: scored items and the few-shot pool (None: the benchmark has none), the tally of
    each, the files read per split, facts for the manifest and sentences for the run's notes."""

    test: list[dict]
    dev: list[dict] | None
    test_tally: Tally
    dev_tally: Tally
    files: dict[str, list[Path]] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def splits(self, task: str) -> dict[str, tuple[list[dict], Tally]]:
        """Split name -> (records, tally): `<task>_test`, and `<task>_dev` when there is a pool."""
        out = {split(task, TEST): (self.test, self.test_tally)}
        if self.dev is not None:
            out[split(task, DEV)] = (self.dev, self.dev_tally)
        return out


@dataclass(frozen=True)
class BadRow:
    """A raw row the reader could already tell is unusable (counted as a skip with this reason)."""

    reason: str


@dataclass
class RawItem:
    """One item as a reader found it, before any check: options as (letter as published, text) in order."""

    item_id: str
    subject: str
    question: object
    options: list[tuple[str, object]]
    answer: object
    multi: bool | None = None  # None: decided by the answer (more than one letter)
    exam: dict | None = None  # cmb: exam_type and exam_class


def ascii_letters(text: str) -> str:
    """Full-width capital letters (Ａ) as ASCII (A); nothing else changes."""
    return text.translate(_FULL_WIDTH)


class Items:
    """One benchmark's raw items -> prepared records (contract MCQ_FIELDS order) or skip reasons.

    single_choice        a multi-letter answer is skipped (multi_answer_in_single_choice)
    drop_empty_options   CMB: empty options are dropped, as its official code drops them from the prompt;
                         elsewhere an empty option is a skip (empty_option)
    """

    def __init__(self, benchmark: str, groups: Mapping[str, str], single_choice: bool,
                 drop_empty_options: bool = False):
        self.benchmark, self.groups = benchmark, groups
        self.single_choice, self.drop_empty_options = single_choice, drop_empty_options
        self.normalised: Counter = Counter()  # what was rewritten, by kind, in the records kept

    def options(self, raw: RawItem, question: str) -> dict[str, str] | str:
        pairs = []
        for letter, text in raw.options:
            if text is None:
                text = ""
            if not isinstance(letter, str) or not isinstance(text, str):
                return "not_a_string"
            pairs.append((ascii_letters(letter.strip()), clean(text)))
        if not any(text for _, text in pairs):
            return "options_only_in_question" if len(_OPTION_MARK.findall(question)) >= 2 else "no_options"
        if self.drop_empty_options:
            pairs = [(letter, text) for letter, text in pairs if text]
        letters = [letter for letter, _ in pairs]
        if any(not text for _, text in pairs) or (self.drop_empty_options and letters != list(LETTERS[:len(pairs)])):
            return "empty_option"  # (CMB: an empty option between filled ones leaves a gap in the letters)
        if letters != list(LETTERS[:len(pairs)]):
            return "bad_option_letters"
        return dict(pairs)

    def answer(self, raw: RawItem, options: dict[str, str]) -> tuple[str, bool] | str:
        if raw.answer is None:
            return "no_answer"
        if not isinstance(raw.answer, str):
            return "not_a_string"
        published = clean(raw.answer)
        if not published:
            return "no_answer"
        answer = ascii_letters(published)
        if not re.fullmatch(r"[A-Z]+", answer) or len(set(answer)) != len(answer):
            return "bad_answer"
        if any(letter not in options for letter in answer):
            return "answer_not_in_options"
        multi = raw.multi if raw.multi is not None else len(answer) > 1
        if len(answer) > 1 and (self.single_choice or not multi):
            return "multi_answer_in_single_choice"
        return answer, multi

    def record(self, raw: RawItem) -> dict | str:
        if not isinstance(raw.question, str):
            return "not_a_string"
        question = clean(raw.question)
        if not question:
            return "empty_question"
        options = self.options(raw, question)
        if isinstance(options, str):
            return options
        answer = self.answer(raw, options)
        if isinstance(answer, str):
            return answer
        letters, multi = answer
        rec = {"id": raw.item_id, "benchmark": self.benchmark, "subject": raw.subject,
               "subject_zh": subjects.subject_zh(self.benchmark, raw.subject),
               "group": subjects.group_of(self.benchmark, raw.subject, self.groups),
               "question": question, "options": options, "answer": letters, "multi": multi}
        if raw.exam is not None:
            rec.update(raw.exam)
        reason = (SCREEN.get() or DEFAULT_SCREEN)(screened_text(rec))
        if reason:
            return reason
        if letters != clean(raw.answer):
            self.normalised["full_width_answer"] += 1
        return rec


def screened_text(rec: dict) -> dict:
    """The record as the shared screen (control tokens, NUL, surrogates, length) and the token counter read it:
    question and lettered options as the prompt, the answer as the response."""
    options = "\n".join(f"{letter}. {text}" for letter, text in rec["options"].items())
    return {"instruction": f"{rec['question']}\n{options}", "input": "", "output": rec["answer"]}


def collect(rows: Iterable[tuple[str, RawItem | BadRow]], items: Items, tally: Tally) -> list[dict]:
    """Every (where, raw item) through `items`, counted as read; skips counted by reason with where they were.
    A repeated id keeps the first item and skips the later one (duplicate_id)."""
    records, seen = [], set()
    for where, raw in rows:
        tally.read += 1
        rec = raw.reason if isinstance(raw, BadRow) else (
            "duplicate_id" if raw.item_id in seen else items.record(raw))
        if isinstance(rec, str):
            tally.skip(rec, where)
            continue
        seen.add(rec["id"])
        records.append(rec)
    return records


# -- files -------------------------------------------------------------------------------------------------
def decode_utf8(path: Path, what: str) -> tuple[str, bool]:
    """(text, whether it began with a BOM) of a benchmark file, which is published as UTF-8; GBK/GB18030 bytes
    (a re-save on a Chinese Windows) are an error naming the line, never guessed at."""
    require_file(path, what)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        try:
            data.decode("gb18030")
            found = "bytes that are not UTF-8 (the file reads as GBK/GB18030: re-saved in a Chinese locale?)"
        except UnicodeDecodeError:
            found = "bytes that are not UTF-8"
        raise PrepError(path, f"line {line} (byte {exc.start})", f"UTF-8 text ({what})", found=found,
                        hint="save it as UTF-8 and rerun") from exc
    bom = text.startswith("\ufeff")
    return (text[1:] if bom else text), bom


def read_table(path: Path, header: list[str], what: str, info: dict,
               prefix: bool = False) -> Iterator[tuple[int, list[str] | BadRow]]:
    """(line, cells) for every data row of a published CSV whose first row must be `header` exactly (`prefix`:
    begin with it; more columns may follow). Quoted cells keep their line breaks (LF or CRLF) as published; a
    row with another number of cells is BadRow('wrong_field_count')."""
    text, bom = decode_utf8(path, what)
    if bom:
        info.setdefault("bom_files", []).append(path.name)
    rows = csvrows.rows(path, text)
    _, first = next(rows, (1, None))
    if first is None or (first[:len(header)] if prefix else first) != header:
        raise PrepError(path, "line 1 (header)", f"the published header {','.join(header)}"
                        + (" (more columns may follow)" if prefix else ""),
                        found=",".join(first) if first else "an empty file")
    width = len(first)
    for line, row in rows:
        yield line, row if len(row) == width else BadRow("wrong_field_count")


def first_of(found: list[Path], base: Path, what: str, notes: list[str]) -> Path | None:
    """The first of several candidates below `base`, noting the others (a second copy of a download is common)."""
    if len(found) > 1:
        shown = ", ".join(p.relative_to(base).as_posix() or "." for p in found)
        notes.append(f"{what}: {len(found)} copies below the download folder ({shown}); using the first")
    return found[0] if found else None


# -- few-shot pools --------------------------------------------------------------------------------------------
def pool_sizes(dev: list[dict], subjects_: list[str] | None, benchmark: str, notes: list[str]) -> dict[str, int]:
    """Dev records per subject (`subjects_`: the scored subjects; None: one pool for the whole benchmark), and a
    note for each pool smaller than the papers' k: eval then uses as many shots as there are."""
    if subjects_ is None:
        sizes = {subjects.WHOLE: len(dev)}
    else:
        counts = Counter(r["subject"] for r in dev)
        sizes = {s: counts.get(s, 0) for s in subjects_}
    short = {s: n for s, n in sizes.items() if n < MCQ_SHOTS}
    if short:
        listed = ", ".join(f"{s} {n}" for s, n in short.items())
        notes.append(f"{benchmark}: few-shot pool smaller than {MCQ_SHOTS} ({listed}): eval uses fewer shots there")
    return sizes


def subject_summary(benchmark: str, chosen: list[str], missing: list[str], test: list[dict], dev: list[dict],
                    items: Items, info: dict, notes: list[str]) -> dict:
    """The manifest facts of a benchmark with per-subject files (cmmlu, ceval): each subject's Chinese name,
    group, scored items and few-shot pool; items per group; subjects asked for by name but absent; what was
    normalised; plus the reader's own facts in `info`."""
    pools = pool_sizes(dev, chosen, benchmark, notes)
    scored = Counter(r["subject"] for r in test)
    per_subject = {s: {"subject_zh": subjects.subject_zh(benchmark, s),
                       "group": subjects.group_of(benchmark, s, items.groups),
                       "test": scored.get(s, 0), "dev": pools[s]} for s in chosen}
    groups = Counter()
    for entry in per_subject.values():
        groups[entry["group"]] += entry["test"]
    out = {**info, "subjects": per_subject, "groups": dict(sorted(groups.items())), "few_shot_pool": pools}
    if missing:
        out["subjects_not_found"] = missing
    if items.normalised:
        out["normalised"] = dict(sorted(items.normalised.items()))
    return out
