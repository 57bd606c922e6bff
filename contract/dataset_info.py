"""dataset_info.json, LLaMA-Factory's registration of datasets: data_prep writes our med_* entries through
`update`; launch and eval find a dataset's file (and the manifest beside it) through `read` and
`data_folder`. Entries that are not ours are kept as they were."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .datasets import DATASETS, OURS, PRETRAIN, PT_DIALOG, PT_TEXT, WITH_HISTORY
from .files import write_json

COLUMNS = {"prompt": "instruction", "query": "input", "response": "output"}  # alpaca records
HISTORY_COLUMNS = {**COLUMNS, "history": "history"}
# stage pt reads the user turn only: med_pt's "query" is the doctor's answer (question then answer as text)
PRETRAIN_COLUMNS = {PT_DIALOG: {"prompt": "instruction", "query": "output"}, PT_TEXT: {"prompt": "instruction"}}


class DatasetInfoError(ValueError):
    """A dataset_info.json that cannot be read: which file, where, what was expected and found."""

    def __init__(self, path: Path, where: str, expected: str, found: str):
        self.path, self.where, self.expected, self.found = Path(path), where, expected, found
        super().__init__(f"{path}: {where}: expected {expected}; found {found}")


def read(path: Path) -> dict:
    """The registration at `path` ({} when there is none); DatasetInfoError when it is not a JSON object."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetInfoError(path, f"line {exc.lineno}", "a JSON object (LLaMA-Factory dataset_info)",
                               exc.msg) from exc
    except UnicodeDecodeError as exc:
        raise DatasetInfoError(path, f"byte {exc.start}", "UTF-8 JSON", "bytes that are not UTF-8") from exc
    if not isinstance(info, dict):
        raise DatasetInfoError(path, "top level", "a JSON object", type(info).__name__)
    return info


def entries(written: dict[str, Path], base_dir: Path) -> dict[str, dict]:
    """Our entries for the split files written (split name -> path), `file_name` relative to `base_dir` in
    posix form, in registration order."""
    def relative(name: str) -> str:
        # not resolve(): the data folder is a symlink to the current generation; register its stable path
        return Path(os.path.relpath(os.path.abspath(written[name]), os.path.abspath(base_dir))).as_posix()

    out = {name: {"file_name": relative(split),
                  "columns": dict(HISTORY_COLUMNS if name in WITH_HISTORY else COLUMNS)}
           for split, name in DATASETS.items() if split in written}
    out.update({name: {"file_name": relative(split), "columns": dict(PRETRAIN_COLUMNS[name])}
                for name, split in PRETRAIN.items() if split in written})
    return out


def update(path: Path, written: dict[str, Path]) -> dict:
    """Rewrite our entries in `path` (atomically) for the files written, keeping anyone else's entries."""
    merged = {k: v for k, v in read(path).items() if k not in OURS}
    merged.update(entries(written, Path(path).parent))
    write_json(path, merged)
    return merged


def data_folder(path: Path, names: list[str], info: dict | None = None) -> Path | None:
    """The folder holding the file of the first of `names` registered at `path`: where data_prep put that
    run's manifest.json. None when none of them is registered."""
    info = read(path) if info is None else info
    for name in names:
        entry = info.get(name)
        file_name = entry.get("file_name") if isinstance(entry, dict) else None
        if isinstance(file_name, str) and file_name:
            return (Path(path).parent / file_name).parent
    return None
