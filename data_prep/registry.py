"""LLaMA-Factory registration (dataset_info.json) of the prepared files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import PrepError
from .writer import write_json

# output file stem -> dataset name, in the order they are registered
DATASETS = {
    "dialog_train": "med_dialog",
    "norm_train": "med_norm",
    "mrg_train": "med_mrg",
    "triage_train": "med_triage",
    "dialog_test": "med_dialog_test",
    "norm_test": "med_norm_test",
    "mrg_test": "med_mrg_test",
    "triage_test": "med_triage_test",
    "qa_train": "med_qa",
    "qa_test": "med_qa_test",
    "general_train": "med_general",
}
COLUMNS = {"prompt": "instruction", "query": "input", "response": "output"}
# Continued pre-training (stage pt) reads only the user turn (prompt + query): mapping `query` to the
# doctor's answer turns each dialog record into plain domain text, question then answer.
PRETRAIN = {
    "med_pt": ("dialog_train", {"prompt": "instruction", "query": "output"}),
    "med_text": ("text_train", {"prompt": "instruction"}),  # --text: a user's CSV/JSONL text column
}
# Multi-turn records (seed 000's dialogues) carry earlier (question, answer) pairs in `history`.
WITH_HISTORY = {"med_qa", "med_qa_test"}
OURS = set(DATASETS.values()) | set(PRETRAIN)


def entries(written: dict[str, Path], base_dir: Path) -> dict[str, dict]:
    """Entries for the files written this run, `file_name` relative to `base_dir` (posix separators)."""
    def relative(stem: str) -> str:
        # not resolve(): out_dir is a symlink to the current generation; register its stable path
        return Path(os.path.relpath(os.path.abspath(written[stem]), os.path.abspath(base_dir))).as_posix()

    out = {name: {"file_name": relative(stem),
                  "columns": {**COLUMNS, "history": "history"} if name in WITH_HISTORY else dict(COLUMNS)}
           for stem, name in DATASETS.items() if stem in written}
    out.update({name: {"file_name": relative(stem), "columns": dict(columns)}
                for name, (stem, columns) in PRETRAIN.items() if stem in written})
    return out


def read(info_path: Path) -> dict:
    """The existing registration ({} when there is none); PrepError when it is not a JSON object."""
    if not info_path.is_file():
        return {}
    try:
        existing = json.loads(info_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PrepError(info_path, f"line {exc.lineno}", "a JSON object (LLaMA-Factory dataset_info)",
                        found=exc.msg, hint="fix or delete it and rerun") from exc
    if not isinstance(existing, dict):
        raise PrepError(info_path, "top level", "a JSON object", found=type(existing).__name__)
    return existing


def update(info_path: Path, written: dict[str, Path]) -> dict:
    """Rewrite our med_* entries in `info_path`, keeping anyone else's entries as they were."""
    existing = read(info_path)
    merged = {k: v for k, v in existing.items() if k not in OURS}
    merged.update(entries(written, info_path.parent))
    write_json(info_path, merged)
    return merged
