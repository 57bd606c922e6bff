"""The prepared tasks, registered once: what the pipeline needs to know about each (LLaMA-Factory keeps its dataset
converters the same way). A task is its module (reader + record conversion + splits, a `prepare` function) plus one
entry here saying how a path given on the command line becomes its source, how the CLI's options reach its
`prepare`, what the manifest records about its source, and any extra files it writes beside its splits. Raw files
found below --raw-dir are matched by name in discover.py; the multiple-choice benchmarks have their own registry
(`mcq.BENCHMARKS`) since they are not SFT data."""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from contract.datasets import TASKS as TASK_NAMES

from . import dialog, mrg, norm, qa, triage
from .discover import MRG_FILES, dialog_source


def shown(path: Path) -> str:
    """Paths in the manifest relative to the working directory where possible (no machine paths)."""
    path = Path(path).absolute()
    return path.relative_to(Path.cwd()).as_posix() if path.is_relative_to(Path.cwd()) else str(path)


def _paths(src) -> list[str] | str:
    return [shown(p) for p in src] if isinstance(src, list) else shown(src)


@dataclass(frozen=True)
class PrepTask:
    name: str
    prepare: Callable[[object, Namespace], object]  # (source, CLI options) -> a split result (train/test + tallies)
    source_info: Callable[[object, object], dict]  # (source, result) -> the manifest's sources entry
    from_path: Callable[[Path], object] = lambda path: path  # --<name> PATH -> the source `prepare` takes
    extra_files: Callable[[object], dict] = lambda result: {}  # file name -> JSON object or records, beside the splits
    extra_files_key: str = "extra_files"  # where the manifest's sources entry lists them with their sha256


def _triage_paths(src) -> list[str]:
    paths = src if isinstance(src, list) else [p for p in (src.train, src.test, src.label2idx) if p]
    return [shown(p) for p in paths]


REGISTRY: dict[str, PrepTask] = {task.name: task for task in (
    PrepTask("dialog", lambda src, a: dialog.prepare(src, a.dialog_limit, a.dialog_test_size, a.seed),
             lambda src, r: {"path": _paths(src), **r.info}, from_path=dialog_source),
    PrepTask("norm", lambda src, a: norm.prepare(src, a.norm_limit, a.norm_test_limit, a.norm_test_source),
             lambda src, r: {**r.info, "train": shown(Path(r.info["train"])), "test": shown(Path(r.info["test"]))}),
    PrepTask("mrg", lambda src, a: mrg.prepare(src, a.mrg_limit, a.mrg_test_limit),
             lambda src, r: {"train": shown(src / MRG_FILES[0]), "test": shown(src / MRG_FILES[1])}),
    PrepTask("triage", lambda src, a: triage.prepare(src, a.triage_level, a.triage_limit, a.triage_test_size, a.seed),
             lambda src, r: {"path": _triage_paths(src), **r.info}, from_path=triage.source,
             extra_files=triage.classifier_files, extra_files_key="classifier_files"),
    PrepTask("qa", lambda src, a: qa.prepare(src, a.qa_limit, a.qa_test_size, a.seed, a.qa_max_len),
             lambda src, r: {"path": shown(src), **r.info}),
)}
assert tuple(REGISTRY) == TASK_NAMES, "register every task contract.datasets names, in its order"
