"""Multiple-choice benchmarks (issue 17), read from their published layouts into the prepared records of
contract.datasets.MCQ_FIELDS: `<task>_test.jsonl` (scored) and `<task>_dev.jsonl` (the few-shot pool), not SFT
data (never registered in dataset_info.json).

    cmmlu   CMMLU  data/{dev,test}/<subject>.csv
    ceval   C-Eval {dev,val}/<subject>_{split}.csv (test/ has no answers: val is scored)
    cmb     CMB-Exam test questions + the answer file joined by id; CMB-val the pool
    cmexam  CMExam data/test_with_annotations.csv (or test.csv); val.csv the pool
    medqa   MedQA data_clean/questions/Mainland/{test,dev}.jsonl

Each module has the same two functions: `locate(folder) -> (root or None, notes)` finds its files by name at or
below a folder, and `prepare(McqRequest) -> McqResult`. `common` holds what they share (the request and
result, strict UTF-8 tables, one raw item -> record or skip reason), `subjects` the subject names, default
groups and the user's selection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import PrepError
from . import ceval, cmb, cmexam, cmmlu, medqa
from .common import McqRequest, McqResult, screened_text
from .subjects import ALL, DEFAULT, parse_groups, parse_subjects

__all__ = ["BENCHMARKS", "McqRequest", "McqResult", "check_subjects", "manifest_info", "parse_groups",
           "parse_subjects", "requests", "screened_text"]

BENCHMARKS = {"cmmlu": cmmlu, "ceval": ceval, "cmb": cmb, "cmexam": cmexam, "medqa": medqa}  # contract MCQ's order
PER_SUBJECT = ("cmmlu", "ceval")  # the benchmarks `--mcq-subjects` chooses from


def requests(raw_dir: Path, explicit: dict[str, Path | None], wanted: list[str], required: set[str],
             subjects: tuple[str, ...], groups: dict[str, str],
             show: Callable[[Path], str] = str) -> tuple[dict[str, McqRequest], list[str]]:
    """One request per benchmark found: at its explicit folder (`--cmmlu DIR` ...; nothing there is an error),
    else below `raw_dir`. A benchmark in `required` (named in --only) that is found nowhere is an error."""
    out: dict[str, McqRequest] = {}
    notes: list[str] = []
    for task in wanted:
        module, path = BENCHMARKS[task], explicit.get(task)
        folder = path if path is not None else raw_dir
        if path is not None and not path.is_dir():
            raise PrepError(path, f"--{task}", f"the folder of the {task} download ({module.LAYOUT})",
                            found="a file" if path.exists() else "nothing there")
        root, found_notes = module.locate(folder)
        notes += found_notes
        if root is None:
            if path is not None or task in required:
                raise PrepError(folder, f"--{task}" if path is not None else task,
                                f"the published {task} files ({module.LAYOUT})", found="none below it",
                                hint="see docs/data.md for where to download it")
            notes.append(f"{task}: no raw files found under {show(raw_dir)}; left out")
            continue
        out[task] = McqRequest(root, subjects, groups)
    return out, notes


def check_subjects(requests: dict[str, McqRequest], results: dict[str, McqResult]) -> None:
    """A subject asked for by name must be in at least one of the per-subject benchmarks prepared."""
    prepared = [t for t in PER_SUBJECT if t in results]
    named = list(dict.fromkeys(s for r in requests.values() for s in r.subjects if s not in (DEFAULT, ALL)))
    if not prepared or not named:
        return
    chosen = {s for t in prepared for s in results[t].info["subjects"]}
    absent = [s for s in named if s not in chosen]
    if absent:
        raise PrepError("--mcq-subjects", ",".join(absent), f"subjects of the {' or '.join(prepared)} download "
                        "(file names without _val/.csv, e.g. anatomy)", found=f"none of them in {', '.join(prepared)}")


def manifest_info(result: McqResult, show: Callable[[Path], str]) -> dict:
    """The result's facts for manifest.json `sources`, every path as `show` writes it (no machine paths)."""
    files = {part: [show(p) for p in paths] for part, paths in result.files.items()}
    return {"files": files, **{k: show(v) if isinstance(v, Path) else v for k, v in result.info.items()}}
