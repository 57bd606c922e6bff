"""The prepared data a recipe reads: the datasets it names, where data_prep registered them (through
contract.dataset_info), and the cutoff_len that run's manifest recommends (through contract.manifest), after
contract.sftset has checked the folder is one complete data_prep output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract import dataset_info, manifest, sftset
from contract.dataset_info import DatasetInfoError
from contract.paths import DATASET_INFO, MANIFEST, REPO_ROOT

from .errors import LaunchError

# Beyond any model's context: a manifest recommending more was made from broken data (one huge record).
MAX_SANE_CUTOFF = 1 << 20


def registered_datasets(config: dict[str, Any]) -> list[str]:
    """The dataset names a config trains or predicts on (LLaMA-Factory's comma-separated `dataset`/`eval_dataset`)."""
    names = []
    for key in ("dataset", "eval_dataset"):
        value = config.get(key)
        if isinstance(value, str):
            names += [n.strip() for n in value.split(",") if n.strip()]
        elif isinstance(value, list):
            names += [str(n) for n in value]
    return names


def dataset_dir(config: dict[str, Any]) -> Path:
    """LLaMA-Factory's dataset_dir: the folder holding dataset_info.json (the recipes' `.` is the repo root)."""
    return Path(config.get("dataset_dir") or REPO_ROOT)


def manifest_cutoff(config: dict[str, Any]) -> tuple[int, Path, str] | None:
    """(recommended_cutoff_len, manifest path, tokenizer it was counted with) from the manifest beside the first
    registered dataset's file, if any. LaunchError when that folder is not one complete data_prep output (files
    of two runs, a cut-short file, registrations of another run) or the cutoff is absurd."""
    info_path = dataset_dir(config) / DATASET_INFO
    try:
        folder = dataset_info.data_folder(info_path, registered_datasets(config))
    except DatasetInfoError as exc:
        raise LaunchError(f"{exc}: rerun `make data`.") from exc
    except OSError as exc:
        raise LaunchError(f"{info_path} is not readable ({exc}).") from exc
    if folder is None or not (folder / MANIFEST).is_file():
        return None
    problems = sftset.verify(folder, [info_path])
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise LaunchError(f"{folder} is not one complete data_prep output: {problems[0]}{more}; {sftset.FIX}.")
    data, _ = manifest.read(folder)  # readable: verify() checked it
    value, limit, tokenizer = manifest.cutoff(data)
    bound = limit if isinstance(limit, int) and limit > 0 else MAX_SANE_CUTOFF
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= bound:
        raise LaunchError(f"{folder / MANIFEST}: recommended_cutoff_len {value!r} is not a usable cutoff_len "
                          f"(1 to {bound}, the model's max_position_embeddings): rerun `make data`, or pass "
                          "cutoff_len=N.")
    return value, folder / MANIFEST, tokenizer
