"""Where things live: the repo's folders and the names of the files the packages hand to each other."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE_DIR = REPO_ROOT / "llamafactory_configs"
MODELS_DIR = REPO_ROOT / "models"
SAVES_DIR = REPO_ROOT / "saves"
REPORTS_DIR = REPO_ROOT / "reports"

# data_prep's default outputs, relative to the folder it runs in (the CLI's defaults; LLaMA-Factory's
# dataset_dir is the folder holding DATASET_INFO).
SFT_DIR = Path("data") / "sft"
WEBUI_DATA_DIR = Path("data")  # LLaMA-Factory's web UI looks for DATASET_INFO here by default

DATASET_INFO = "dataset_info.json"  # LLaMA-Factory's registration (contract.dataset_info reads and writes it)
MANIFEST = "manifest.json"  # beside the prepared files (contract.manifest reads and writes it)
LAUNCH_CONFIG = "launch_config.yaml"  # in every run folder: the resolved recipe it was trained with


def repo_relative(path: Path) -> str:
    """`path` as the repo-relative posix string users type (models/tiny-qwen2)."""
    return Path(path).relative_to(REPO_ROOT).as_posix()
