"""The prepared data a recipe reads: the datasets it names, where data_prep registered them (through
contract.dataset_info), and the cutoff_len that run's manifest recommends (through contract.manifest), after
contract.sftset has checked the folder is one complete data_prep output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract import dataset_info, manifest, mix, sftset
from contract.dataset_info import DatasetInfoError
from contract.datasets import DATASETS
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


def mix_counts(config: dict[str, Any]) -> tuple[int, int, float | None] | None:
    """(general records, domain records, data_prep's --general-ratio or None) a train config reads, counted from
    the manifest beside its data (contract.mix says what a ratio means). None when the config names no domain or
    general dataset, or the data has no readable manifest."""
    names = registered_datasets({"dataset": config.get("dataset")})
    general = [n for n in names if n == mix.GENERAL_DATASET]
    domain = [n for n in names if n in mix.DOMAIN_DATASETS]
    if not general and not domain:
        return None
    folder = dataset_info.data_folder(dataset_dir(config) / DATASET_INFO, names)
    data, _ = manifest.read(folder) if folder is not None else (None, None)
    if data is None:
        return None
    split_of = {name: split for split, name in DATASETS.items()}
    written = {n: (data["datasets"].get(split_of[n]) or {}).get("written", 0) for n in (*general, *domain)}
    ratio = (data.get("sources", {}).get("general") or {}).get("ratio") if general else None
    return (sum(written[n] for n in general), sum(written[n] for n in domain),
            ratio if isinstance(ratio, (int, float)) else None)


def mix_note(config: dict[str, Any]) -> str | None:
    """The general:domain mix a train config reads, for the run's launch_config.yaml: a single run and a sweep's
    run of the same ratio say the same."""
    counts = mix_counts(config)
    if counts is None:
        return None
    general, domain, ratio = counts
    note = f"mix {mix.describe(general, domain)}" + (f"; data_prep --general-ratio {ratio:g}" if ratio else "")
    strategy = config.get("mix_strategy") or "concat"
    if strategy != "concat":  # LLaMA-Factory then samples by interleave_probs: the counts are not what is trained
        note += (f"; warning: mix_strategy {strategy} (interleave_probs {config.get('interleave_probs')}) samples "
                 "the datasets instead, so the run trains on another mix than these records")
    return note
